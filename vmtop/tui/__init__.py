"""The Textual interface of vmtop: screens, widgets, styles."""
