"""vmtop: top for one process's address space."""

__version__ = "0.1.0"
