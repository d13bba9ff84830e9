"""Widgets of the vmtop process screen."""
