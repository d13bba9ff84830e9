"""Subcommands: where, watch, demo, serve, completion and man."""
