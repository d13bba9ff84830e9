"""Regions, snapshots, kinds, diffs, ELF overlay. Never imports textual or rich."""
