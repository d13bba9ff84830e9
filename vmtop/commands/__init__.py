"""Headless subcommands: where, watch, demo."""
