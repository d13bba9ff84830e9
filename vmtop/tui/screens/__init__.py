"""Screens of the vmtop TUI."""
