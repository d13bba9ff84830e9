"""Open the file a region maps, the safe way.

A path printed in ``maps`` belongs to the target's mount namespace and may have been
deleted, replaced or turned into something else since it was mapped, so it is never
opened in vmtop's own view. Two routes, in this order:

1. ``/proc/PID/map_files/START-END``: the very file of that mapping, even when deleted
   (needs root, or CAP_CHECKPOINT_RESTORE);
2. ``/proc/PID/root/PATH``: the name in the target's root (needs ptrace read access).

Either way the file must be a regular file whose device and inode are the ones the
maps line printed (``dev`` is "major:minor" in hex). Failures become a short reason.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, NamedTuple

from vmtop.model.file_facts import (
    DELETED_SUFFIX,
    FILE_DELETED,
    FILE_GONE,
    NO_ACCESS,
    NOT_FILE_BACKED,
    NOT_LIVE,
    NOT_REGULAR,
    PROCESS_EXITED,
    REPLACED,
    FileIdentity,
)
from vmtop.model.region import Region

_DENIED = (errno.EACCES, errno.EPERM)


class FoundFile(NamedTuple):
    path: str  # the /proc path that reached it
    identity: FileIdentity
    via_map_files: bool


class MappedFileError(Exception):
    """The mapped file cannot be used; ``str(e)`` is the reason, for people."""


def _identity(st: os.stat_result) -> FileIdentity:
    return FileIdentity(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _matches(st: os.stat_result, region: Region, via_map_files: bool) -> bool:
    if st.st_ino != region.inode:
        return False
    if (os.major(st.st_dev), os.minor(st.st_dev)) == region.dev_major_minor:
        return True
    # map_files reaches the mapping's own file, so only the inode needs checking; its
    # device can still differ from maps on btrfs subvolumes, whose stat() shows an
    # anonymous device while maps shows the superblock's.
    return via_map_files


def _routes(procfs, pid: int, region: Region, use_map_files: bool) -> Iterator[tuple[str, bool]]:
    if use_map_files:
        yield procfs.path(pid, "map_files", f"{region.start:x}-{region.end:x}"), True
    if not region.path.startswith("/"):
        return
    # The kernel appends " (deleted)" to a deleted file's name and prints a newline in
    # a name as "\012"; a file can also really be called that. The inode check below
    # tells which candidate, if any, is the mapped file.
    names = []
    if region.path.endswith(DELETED_SUFFIX):
        names.append(region.path[: -len(DELETED_SUFFIX)])
    names.append(region.path)
    for name in list(names):
        if "\\012" in name:
            names.append(name.replace("\\012", "\n"))
    root = procfs.path(pid, "root")
    if not os.path.exists(root):
        # The main thread has exited (pthread_exit) and left a zombie without a root;
        # the other threads still share the process's view of the files.
        root = next(
            (
                procfs.path(pid, "task", str(tid), "root")
                for tid in procfs.task_ids(pid)
                if tid != pid and os.path.exists(procfs.path(pid, "task", str(tid), "root"))
            ),
            root,
        )
    for name in names:
        # String concatenation: os.path.join would drop the root for an absolute name.
        yield root + name, False


def stat_mapped_file(procfs, pid: int, region: Region, *, use_map_files: bool = True) -> FoundFile:
    """Find the region's file through /proc and check it is the one mapped."""
    if not region.is_file_backed:
        raise MappedFileError(NOT_FILE_BACKED)
    if not getattr(procfs, "is_live", False):
        raise MappedFileError(NOT_LIVE)
    deleted = region.path.endswith(DELETED_SUFFIX)
    replaced = denied = False
    for path, via_map_files in _routes(procfs, pid, region, use_map_files):
        try:
            st = os.stat(path)
        except OSError as e:
            # map_files is closed to users without CAP_CHECKPOINT_RESTORE, and gone
            # when the region changed since the snapshot: the names decide then.
            denied = denied or (e.errno in _DENIED and not via_map_files)
            continue
        if not _matches(st, region, via_map_files):
            replaced = True
            continue
        if not stat.S_ISREG(st.st_mode):
            raise MappedFileError(NOT_REGULAR)
        return FoundFile(path, _identity(st), via_map_files)
    if replaced:
        raise MappedFileError(REPLACED)
    if denied:
        raise MappedFileError(NO_ACCESS)
    if not os.path.isdir(os.path.join(procfs.root, str(pid))):
        raise MappedFileError(PROCESS_EXITED)  # not the file: the way to it went
    raise MappedFileError(FILE_DELETED if deleted else FILE_GONE)


@contextmanager
def open_mapped_file(
    procfs, pid: int, region: Region, identity: FileIdentity, *, use_map_files: bool = True
) -> Iterator[BinaryIO]:
    """Open the region's file read-only, checking it is still ``identity``."""
    found = stat_mapped_file(procfs, pid, region, use_map_files=use_map_files)
    if found.identity != identity:
        raise MappedFileError(REPLACED)
    try:
        # O_NONBLOCK and O_NOCTTY: if the name was swapped for a FIFO or a terminal
        # between stat and open, opening it must neither hang nor take a tty.
        fd = os.open(found.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as e:
        raise MappedFileError(NO_ACCESS if e.errno in _DENIED else FILE_GONE) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise MappedFileError(NOT_REGULAR)
        if _identity(st) != identity:
            raise MappedFileError(REPLACED)
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        yield stream
