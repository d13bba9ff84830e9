"""What a mapped file is known by, and the reasons one cannot be used.

The model's ELF overlay keys parsed files by ``FileIdentity`` and passes the reasons on
to people; ``vmtop.procfs.mapped_file`` is what opens the files and finds the reasons.
"""

from __future__ import annotations

from typing import NamedTuple

NOT_FILE_BACKED = "not file-backed"
FILE_GONE = "file gone"
FILE_DELETED = "file gone (deleted since mapped)"
REPLACED = "replaced since mapped"
NO_ACCESS = "no access"
NOT_REGULAR = "not a regular file"
NOT_LIVE = "not a live process (a copied /proc tree has no files)"
NOT_RECORDED_FILES = "not a live process (a recording holds no files)"
PROCESS_EXITED = "the process has exited: its files were reached through /proc/PID"
DELETED_SUFFIX = " (deleted)"


class FileIdentity(NamedTuple):
    """Which file, and which version of it: enough to cache a parse by."""

    dev: int  # st_dev
    inode: int
    size: int
    mtime_ns: int
