"""Open the file a region maps, the safe way.

A path printed in ``maps`` belongs to the target's mount namespace and may have been
deleted, replaced or turned into something else since it was mapped, so no name is
trusted: whatever a route reaches must be the file maps names by device and inode.
The routes, in this order:

1. ``/proc/PID/map_files/START-END``: the very file of that mapping, even when deleted
   (needs root, or CAP_CHECKPOINT_RESTORE, and a main thread that has not exited);
2. ``/proc/PID/root/PATH``: the name in the target's root (needs ptrace read access);
3. for a process chroot'ed into a directory vmtop can reach, the kernel prints PATH
   from vmtop's root (``/srv/jail/usr/lib/libc.so.6``) and ``/proc/PID/root`` links to
   ``/srv/jail``: that prefix taken off, the name in the target's root again;
4. PATH in vmtop's own view (a live /proc only: a copied tree never leads to the
   reader's own files; and while the process exists), the last resort for a root that
   cannot be read as a link.

Whatever the route, the file must be a regular file whose device and inode are the ones
the maps line printed (``dev`` is "major:minor" in hex), and it is checked so before it
is opened for reading (``_open_checked``). A file the last route reaches that is not the
mapped one says nothing: that name was only a guess. Failures become a short reason.
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


# How a path was reached: what a file there that is not the mapped one means.
MAP_FILES = "map_files"  # the mapping itself: the inode alone decides
TARGET_ROOT = "root"  # the target's own name for it: the file was replaced
OWN_VIEW = "own view"  # vmtop's view of the name, a guess: nothing


class Route(NamedTuple):
    path: str
    way: str  # MAP_FILES, TARGET_ROOT or OWN_VIEW


def _routes(procfs, pid: int, region: Region, use_map_files: bool) -> Iterator[Route]:
    if use_map_files:
        yield Route(procfs.path(pid, "map_files", f"{region.start:x}-{region.end:x}"), MAP_FILES)
    if not region.path.startswith("/"):
        return
    names = _printed_names(region.path)
    root = _target_root(procfs, pid)
    for name in names:
        # String concatenation: os.path.join would drop the root for an absolute name.
        yield Route(root + name, TARGET_ROOT)
    chroot = _chroot_prefix(root)
    if chroot:
        for name in names:
            if name.startswith(chroot + "/"):
                yield Route(root + name[len(chroot) :], TARGET_ROOT)
    # Not once the process has exited: its file found by a name would say nothing of it.
    if getattr(procfs, "is_live", False) and procfs.exists(pid):
        for name in names:
            yield Route(name, OWN_VIEW)


def _printed_names(path: str) -> list[str]:
    """The names a maps path can stand for. The kernel appends " (deleted)" to a deleted
    file's name and prints a newline in a name as "\\012"; a file can also really be
    called that. The inode check tells which candidate, if any, is the mapped file."""
    names = []
    if path.endswith(DELETED_SUFFIX):
        names.append(path[: -len(DELETED_SUFFIX)])
    names.append(path)
    for name in list(names):
        if "\\012" in name:
            names.append(name.replace("\\012", "\n"))
    return names


def _target_root(procfs, pid: int) -> str:
    root = procfs.path(pid, "root")
    if os.path.exists(root):
        return root
    # The main thread has exited (pthread_exit) and left a zombie without a root;
    # the other threads still share the process's view of the files.
    for tid in procfs.task_ids(pid):
        task_root = procfs.path(pid, "task", str(tid), "root")
        if tid != pid and os.path.exists(task_root):
            return task_root
    return root


def _chroot_prefix(root: str) -> str | None:
    """Where the target's root is in vmtop's view ("/srv/jail"), when it is chroot'ed
    into a directory below vmtop's root; None for "/" or a root that cannot be read."""
    try:
        target = os.readlink(root)
    except OSError:
        return None
    target = target.rstrip("/")
    return target if target.startswith("/") else None


def stat_mapped_file(procfs, pid: int, region: Region, *, use_map_files: bool = True) -> FoundFile:
    """Find the region's file through /proc and check it is the one mapped."""
    if not region.is_file_backed:
        raise MappedFileError(NOT_FILE_BACKED)
    if not getattr(procfs, "is_live", False):
        raise MappedFileError(getattr(procfs, "no_files_reason", NOT_LIVE))
    deleted = region.path.endswith(DELETED_SUFFIX)
    replaced = denied = False
    for path, way in _routes(procfs, pid, region, use_map_files):
        try:
            st = os.stat(path)
        except OSError as e:
            # map_files is closed to users without CAP_CHECKPOINT_RESTORE, and gone
            # when the region changed since the snapshot: the names decide then.
            denied = denied or (e.errno in _DENIED and way == TARGET_ROOT)
            continue
        if not _matches(st, region, way == MAP_FILES):
            replaced = replaced or way == TARGET_ROOT
            continue
        if not stat.S_ISREG(st.st_mode):
            raise MappedFileError(NOT_REGULAR)
        return FoundFile(path, _identity(st), way == MAP_FILES)
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
    fd = _open_checked(found.path, identity)
    try:
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        yield stream


def _open_checked(path: str, identity: FileIdentity) -> int:
    """Open ``path`` for reading if it is still the regular file ``identity``.

    The name may have been swapped since it was checked, for a device (whose open can
    act: a watchdog starts), a FIFO (whose open blocks) or a terminal. So it is held
    with O_PATH first, which opens nothing, checked, and only then opened for reading,
    through /proc/self/fd: the very file checked, not the name again."""
    try:
        handle = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError as e:
        raise MappedFileError(NO_ACCESS if e.errno in _DENIED else FILE_GONE) from None
    try:
        st = os.fstat(handle)
        if not stat.S_ISREG(st.st_mode):
            raise MappedFileError(NOT_REGULAR)
        if _identity(st) != identity:
            raise MappedFileError(REPLACED)
        flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
        return os.open(f"/proc/self/fd/{handle}", flags)
    except OSError as e:
        raise MappedFileError(NO_ACCESS if e.errno in _DENIED else FILE_GONE) from None
    finally:
        os.close(handle)
