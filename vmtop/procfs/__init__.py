"""Reading and parsing /proc. Never imports textual or rich."""
