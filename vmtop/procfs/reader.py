"""All file access to /proc goes through ProcFS, built with a proc root.

The default root is ``/proc``; tests and ``--proc-root`` point it at a copied tree
(``PID/maps``, ``PID/smaps``, ``PID/stat``, ``PID/status``, ``PID/cmdline``), where any
of those files may be missing.

OS errors are translated here, once (as psutil's _pslinux does): EACCES/EPERM become
AccessDenied naming the owner; ENOENT/ESRCH become NoSuchProcess when the process
was never seen, ProcessGone when it was; an empty ``maps`` is explained as a zombie
or a kernel thread. Nothing here writes to /proc, ptraces or reads ``/proc/PID/mem``.
"""

from __future__ import annotations

import errno
import os
import pwd
from collections.abc import Iterator

from vmtop.procfs.background_read import CHUNK, Consume, read_chunks, read_file
from vmtop.procfs.errors import (
    AccessDenied,
    KernelThread,
    NoSuchProcess,
    ProcError,
    ProcessGone,
    ZombieProcess,
)
from vmtop.procfs.parse_proc import StatFields, parse_cmdline, parse_stat, parse_status

PF_KTHREAD = 0x00200000  # task flag (stat field 9) of kernel threads
PF_EXITING = 0x00000004  # task flag: do_exit has started (set before the mm goes away)

_GONE = (errno.ENOENT, errno.ESRCH)
_DENIED = (errno.EACCES, errno.EPERM)


def user_name(uid: int | None) -> str | None:
    if uid is None:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class ProcFS:
    """Reads one /proc tree. Cheap to build; holds no open files."""

    def __init__(self, root: str = "/proc") -> None:
        self.root = root

    @property
    def is_live(self) -> bool:
        """True for the real /proc of this machine (where map_files etc. exist)."""
        return os.path.realpath(self.root) == "/proc"

    def path(self, pid: int | str, *parts: str) -> str:
        return os.path.join(self.root, str(pid), *parts)

    def exists(self, pid: int) -> bool:
        return os.path.isdir(self.path(pid))

    def pids(self) -> list[int]:
        try:
            names = os.listdir(self.root)
        except OSError:
            return []
        return sorted(int(name) for name in names if name.isdigit())

    # -- raw reads -------------------------------------------------------------------

    def read_bytes(
        self, pid: int, name: str, *, seen: bool = True, consume: Consume | None = None
    ) -> bytes | memoryview:
        """One file of a process, with errors translated.

        ``seen`` says whether we already know the process existed (then a vanished
        file means it exited while being read, not that it never was). With
        ``consume``, the text is shown to it as it arrives, and what comes back may be
        a read-only memoryview instead of bytes (see background_read.read_file).
        """
        path = self.path(pid, name)
        try:
            if consume is not None:
                return read_file(path, consume)
            with open(path, "rb", buffering=0) as f:
                return f.read()
        except OSError as e:
            raise self._translate(pid, e, name, seen=seen) from None

    def read_pieces(self, pid: int, name: str, size: int = CHUNK) -> Iterator[bytes]:
        """One file of a process in pieces of a few MiB (background_read.read_chunks),
        with errors translated; for texts too long to hold at once."""
        path = self.path(pid, name)
        try:
            yield from read_chunks(path, size)
        except OSError as e:
            raise self._translate(pid, e, name, seen=True) from None

    def read_optional(
        self, pid: int, name: str, consume: Consume | None = None
    ) -> bytes | memoryview | None:
        """A file that a copied tree may lack: None when it is not there."""
        try:
            return self.read_bytes(pid, name, consume=consume)
        except ProcError:
            if not os.path.exists(self.path(pid, name)) and self.exists(pid):
                return None
            raise

    def _translate(self, pid: int, error: OSError, name: str, *, seen: bool) -> ProcError:
        if error.errno in _DENIED:
            return AccessDenied(pid, self.owner(pid), _describe(name))
        if error.errno in _GONE or error.errno == errno.EINVAL:
            if seen and not os.path.exists(self.path(pid, "stat")):
                return ProcessGone(pid)
            if not self.exists(pid):
                return NoSuchProcess(pid) if not seen else ProcessGone(pid)
            return ProcessGone(pid, f"{name}: {error.strerror}") if seen else NoSuchProcess(pid)
        return ProcError(pid, f"cannot read {self.path(pid, name)}: {error.strerror}")

    # -- parsed reads ----------------------------------------------------------------

    def read_stat(self, pid: int, *, seen: bool = False) -> StatFields:
        data = self.read_bytes(pid, "stat", seen=seen)
        try:
            return parse_stat(data)
        except ValueError:
            raise ProcessGone(pid, "unreadable stat") from None

    def read_status(self, pid: int) -> dict[str, str | int]:
        data = self.read_optional(pid, "status")
        return parse_status(data) if data else {}

    def read_cmdline(self, pid: int) -> list[str]:
        data = self.read_optional(pid, "cmdline")
        return parse_cmdline(data) if data else []

    def owner(self, pid: int) -> str | None:
        """Who owns the process, from the owner of its /proc directory."""
        try:
            return user_name(os.stat(self.path(pid)).st_uid)
        except OSError:
            return None

    def stat_flags(self, pid: int) -> int:
        try:
            data = self.read_bytes(pid, "stat")
            rest = data[data.rfind(b")") + 2 :].split()
            return int(rest[9 - 3])
        except (ProcError, IndexError, ValueError):
            return 0

    def explain_empty_maps(self, pid: int, stat: StatFields | None) -> ProcError:
        """Why a process has no regions: zombie, kernel thread, or it just exited."""
        if stat is None:
            return ProcessGone(pid, "no memory map")
        try:
            fresh = self.read_stat(pid, seen=True)
        except ProcError:
            return ProcessGone(pid)
        if fresh.state in ("Z", "X"):
            return ZombieProcess(pid)
        if self.stat_flags(pid) & PF_KTHREAD or pid == 2 or fresh.ppid == 2:
            return KernelThread(pid, fresh.comm)
        return ProcessGone(pid, "no memory map")

    # -- threads ---------------------------------------------------------------------

    def task_ids(self, pid: int) -> list[int]:
        try:
            return sorted(int(t) for t in os.listdir(self.path(pid, "task")) if t.isdigit())
        except OSError:
            return []

    def read_task_file(self, pid: int, tid: int, name: str) -> bytes | None:
        """A per-thread file, or None if it cannot be read (thread gone, no access)."""
        try:
            with open(self.path(pid, "task", str(tid), name), "rb", buffering=0) as f:
                return f.read()
        except OSError:
            return None


def _describe(name: str) -> str:
    if name in ("maps", "smaps"):
        return "memory map"
    return name
