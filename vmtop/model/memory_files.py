"""What to call shared memory whose file is only the kernel's name for it.

Anonymous shared memory has a file in the map that no user made: ``/dev/zero
(deleted)`` (mmap MAP_SHARED|MAP_ANONYMOUS), ``/anon_hugepage (deleted)`` (the same in
hugetlb pages), ``/SYSV0022e4c4 (deleted)`` (a SysV segment), ``/memfd:java_heap
(deleted)`` (memfd_create). Where vmtop named what such memory holds ("PostgreSQL
shared memory", "Java heap (ZGC)"), that name says more than the file, which the
watch text, the region table and the report showed alone (review: a DBA read
PostgreSQL's shared buffers as "/dev/zero (deleted)"). Pure.
"""

from __future__ import annotations

from vmtop.model import kinds

_DELETED = " (deleted)"
_FILES = ("/dev/zero", "/anon_hugepage")
_PREFIXES = ("/SYSV", "/memfd:")


def is_memory_file(path: str) -> bool:
    """Is ``path`` the kernel's name for anonymous shared memory (see the note)?"""
    if not path.endswith(_DELETED):
        return False
    name = path[: -len(_DELETED)]
    return name in _FILES or name.startswith(_PREFIXES)


def shown_name(path: str, kind: str, obj: str | None) -> str:
    """The name of a region (or an event's) to show: its file's, but for shared memory
    vmtop named whose file is only the kernel's name for it, that name with the file
    after it ("PostgreSQL shared memory (/dev/zero)"). "" where it has no file."""
    if obj and kind == kinds.SHM and is_memory_file(path):
        return f"{obj} ({path[: -len(_DELETED)]})"
    return path
