"""All file access to /proc goes through ProcFS, built with a proc root.

The default root is ``/proc``; tests and ``--proc-root`` point it at a copied tree
(``PID/maps``, ``PID/smaps``, ``PID/stat``, ``PID/status``, ``PID/cmdline``), where any
of those files may be missing.

OS errors are translated here, once (as psutil's _pslinux does): EACCES/EPERM become
AccessDenied naming the owner; ENOENT/ESRCH become NoSuchProcess when the process
was never seen, ProcessGone when it was; an empty ``maps`` is explained as a zombie
or a kernel thread. Nothing here writes to /proc, ptraces or reads ``/proc/PID/mem``.

A copied tree is whatever someone handed over, so every file is opened defensively
(``open_regular``): without blocking (a FIFO would wait for a writer forever), only
when it is a regular file (the files of /proc are; a device such as /dev/zero never
ends), never through a symbolic link leading out of a copied tree, and read up to a
bound (``read_limit``): a maps text larger than any real one is an error, not a
MemoryError. Each refusal is an UnreadableFile naming the file.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat as stat_mode
from collections.abc import Iterator

from vmtop.model.file_facts import NOT_LIVE
from vmtop.procfs.background_read import (
    CHUNK,
    Consume,
    Ends,
    TooLong,
    read_fd,
    read_fd_chunks,
)
from vmtop.procfs.errors import (
    AccessDenied,
    KernelThread,
    NoLongerReadable,
    NoSuchProcess,
    PidReused,
    ProcError,
    ProcessGone,
    UnreadableFile,
    ZombieProcess,
)
from vmtop.procfs.parse_proc import StatFields, parse_cmdline, parse_stat, parse_status

PF_KTHREAD = 0x00200000  # task flag (stat field 9) of kernel threads
PF_EXITING = 0x00000004  # task flag: do_exit has started (set before the mm goes away)

_GONE = (errno.ENOENT, errno.ESRCH)
_DENIED = (errno.EACCES, errno.EPERM)

# The most vmtop reads of one file. smaps prints ~720 bytes per region (47 MB for
# 65 000 here), so 1 GiB is ~1.5 million regions, more than Fedora's vm.max_map_count
# (1 048 576) lets a process have; maps prints a seventh of that.
MAP_TEXT_LIMIT = 1 << 30
ARGUMENTS_LIMIT = 64 << 20  # cmdline, environ: the kernel caps argv at 1/4 of the stack
SMALL_FILE_LIMIT = 4 << 20  # stat, status, syscall, meminfo: a few KiB in truth


def read_limit(name: str) -> int:
    """The bound for reading the file ``name`` (``maps``, ``task/TID/smaps``, ...)."""
    base = name.rpartition("/")[2]
    if base in ("maps", "smaps"):
        return MAP_TEXT_LIMIT
    if base in ("cmdline", "environ"):
        return ARGUMENTS_LIMIT
    return SMALL_FILE_LIMIT


class UnsafeFile(Exception):
    """``open_regular`` refused a file; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_FILE_TYPES = (
    (stat_mode.S_ISFIFO, "a FIFO"),
    (stat_mode.S_ISCHR, "a character device"),
    (stat_mode.S_ISBLK, "a block device"),
    (stat_mode.S_ISDIR, "a directory"),
    (stat_mode.S_ISSOCK, "a socket"),
)


def _file_type(mode: int) -> str:
    return next((name for test, name in _FILE_TYPES if test(mode)), "not a regular file")


def check_inside(path: str, inside: str | None) -> None:
    """Raise UnsafeFile when ``path`` resolves to somewhere outside ``inside`` (a real
    path; None: anywhere is fine)."""
    if inside is None:
        return
    real = os.path.realpath(path)
    if not real.startswith(inside.rstrip("/") + "/"):
        raise UnsafeFile(f"a symbolic link leading out of the tree (to {real})")


def open_regular(path: str, *, inside: str | None = None) -> int:
    """A file descriptor of ``path``, opened read-only without blocking, when it is a
    regular file (the files of /proc are) and, with ``inside`` (a real path), when it
    does not lead out of that directory. Raises OSError as os.open would, UnsafeFile
    when it refuses."""
    check_inside(path, inside)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat_mode.S_ISREG(mode):
            raise UnsafeFile(f"{_file_type(mode)}, not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(
    path: str, *, inside: str | None = None, limit: int = SMALL_FILE_LIMIT, consume=None
) -> bytes | memoryview:
    """The whole of a regular file, opened as ``open_regular`` does, at most ``limit``
    bytes. Raises OSError as os.open and os.read would; UnsafeFile when it refuses the
    file or the file goes on past ``limit``."""
    fd = open_regular(path, inside=inside)
    try:
        return read_fd(fd, consume, limit)
    except TooLong:
        raise UnsafeFile(_too_long(limit)) from None
    finally:
        os.close(fd)


def _too_long(limit: int) -> str:
    size = f"{limit >> 30} GiB" if limit >= 1 << 30 else f"{limit >> 20} MiB"
    return f"larger than {size}, more than any real one"


def is_zombie(state: str, threads: int | None) -> bool:
    """Whether a process has exited and left nothing to read, from its main thread's
    state and its thread count (stat fields 3 and 20, status's Threads). Only when every
    thread has exited: a main thread that called pthread_exit() stays behind as a zombie
    (Z) while the others run on (Threads > 1), and that process is alive, its memory map
    read through a living thread."""
    return state in ("Z", "X") and (threads or 0) <= 1


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
        self._real: tuple[str, str] | None = None  # (root, its real path)

    @property
    def real_root(self) -> str:
        if self._real is None or self._real[0] != self.root:
            self._real = (self.root, os.path.realpath(self.root))
        return self._real[1]

    @property
    def is_live(self) -> bool:
        """True for the real /proc of this machine (where map_files etc. exist)."""
        return self.real_root == "/proc"

    @property
    def no_files_reason(self) -> str:
        """Why a mapped file cannot be read where this is no live /proc."""
        return NOT_LIVE

    @property
    def confine_to(self) -> str | None:
        """The directory no file may lead out of: a copied tree's; None for /proc."""
        return None if self.is_live else self.real_root

    def read_any(self, path: str, limit: int = SMALL_FILE_LIMIT) -> bytes | None:
        """A file of the tree (a full path under the root), or None when it cannot
        be read, for whatever reason (missing, not regular, too long, no access)."""
        try:
            return bytes(read_regular(path, inside=self.confine_to, limit=limit))
        except (OSError, UnsafeFile):
            return None

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
            return read_regular(
                path, inside=self.confine_to, limit=read_limit(name), consume=consume
            )
        except UnsafeFile as e:
            raise UnreadableFile(pid, path, e.reason) from None
        except OSError as e:
            raise self._translate(pid, e, name, seen=seen) from None

    def read_pieces(
        self, pid: int, name: str, size: int = CHUNK, ends: Ends | None = None
    ) -> Iterator[bytes]:
        """One file of a process in pieces of a few MiB (background_read.read_chunks),
        with errors translated; for texts too long to hold at once. ``ends``: where a
        text's complete units end, so that each piece holds whole ones."""
        path = self.path(pid, name)
        try:
            # Opened as every file is: a FIFO or a link out of a copied tree is refused.
            fd = open_regular(path, inside=self.confine_to)
            # A copy's file says its size (/proc's say 0): one larger than any real map
            # is refused before reading a GiB of it.
            if not self.is_live and os.fstat(fd).st_size > MAP_TEXT_LIMIT:
                os.close(fd)
                raise UnsafeFile(_too_long(MAP_TEXT_LIMIT))
        except UnsafeFile as e:
            raise UnreadableFile(pid, path, e.reason) from None
        except OSError as e:
            raise self._translate(pid, e, name, seen=True) from None
        try:
            total = 0
            for chunk in read_fd_chunks(fd, size, ends):
                total += len(chunk)
                if total > MAP_TEXT_LIMIT:  # larger than any real map: a broken tree
                    raise UnreadableFile(pid, path, _too_long(MAP_TEXT_LIMIT))
                yield chunk
        except OSError as e:
            raise self._translate(pid, e, name, seen=True) from None
        finally:
            os.close(fd)

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
            if not data and self.is_live:  # the kernel printed nothing: it was exiting
                raise ProcessGone(pid, "empty stat") from None
            raise UnreadableFile(
                pid, self.path(pid, "stat"), "malformed: not what the kernel prints in stat"
            ) from None

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
        if is_zombie(fresh.state, fresh.num_threads):
            return ZombieProcess(pid)
        if fresh.state in ("Z", "X"):  # its main thread exited; no other one was read
            if self.is_live:
                return ProcessGone(pid, "its last threads were exiting")
            return ProcError(
                pid,
                f"process {pid}'s main thread had exited (pthread_exit) and "
                f"{self.path(pid, 'task')} holds no other thread's memory map",
            )
        if self.stat_flags(pid) & PF_KTHREAD or pid == 2 or fresh.ppid == 2:
            return KernelThread(pid, fresh.comm)
        return ProcessGone(pid, "no memory map")

    def denied_again(self, pid: int, error: AccessDenied, start_time: int) -> ProcError:
        """Why a process read before (started at ``start_time``) is refused now.

        The same PID and start time (exec keeps both) and not exited: it still runs,
        but a program vmtop may not read (exec of a setuid program) or undumpable
        (NoLongerReadable, with its name now from stat, which anyone may read). Else it
        exited meanwhile, or its PID is another process's; ``error`` when stat cannot
        tell."""
        if isinstance(error, NoLongerReadable):
            return error
        try:
            stat = self.read_stat(pid, seen=True)
        except AccessDenied:
            return error
        except ProcError as gone:
            return gone
        if start_time and stat.start_time != start_time:
            return PidReused(pid)
        if is_zombie(stat.state, stat.num_threads) or stat.flags & PF_EXITING:
            return ProcessGone(pid)
        return NoLongerReadable(pid, self.owner(pid), stat.comm, error.what)

    # -- threads ---------------------------------------------------------------------

    def living_thread(self, pid: int) -> tuple[int, StatFields] | None:
        """A thread of the process that has not exited, other than the main one.

        When the main thread calls pthread_exit() the others go on, but it stays behind
        as a zombie whose maps are empty: the memory map is then read through another
        thread."""
        for tid in self.task_ids(pid):
            if tid == pid:
                continue
            data = self.read_task_file(pid, tid, "stat")
            try:
                thread_stat = parse_stat(data) if data else None
            except ValueError:
                continue
            if thread_stat is not None and thread_stat.state not in ("Z", "X"):
                return tid, thread_stat
        return None

    def task_ids(self, pid: int) -> list[int]:
        try:
            return sorted(int(t) for t in os.listdir(self.path(pid, "task")) if t.isdigit())
        except OSError:
            return []

    def read_task_file(self, pid: int, tid: int, name: str) -> bytes | None:
        """A per-thread file, or None if it cannot be read (thread gone, no access)."""
        return self.read_any(self.path(pid, "task", str(tid), name), read_limit(name))

    def shares_ipc_namespace(self, pid: int) -> bool:
        """Whether ``pid`` is in vmtop's own IPC namespace, whose SysV table
        /proc/sysvipc/shm lists (each namespace numbers its segments from its own 0, so
        another's shmid names a segment of ours that is not its). A copied tree's table
        is the copied process's own: true. False when it cannot be told."""
        if not self.is_live:
            return True
        try:
            return os.readlink(self.path(pid, "ns", "ipc")) == os.readlink("/proc/self/ns/ipc")
        except OSError:
            return False

    def read_global(self, name: str) -> bytes | None:
        """A file of the proc tree that belongs to no process (``sysvipc/shm``), or None
        when it cannot be read (a copied tree without it, no access)."""
        try:
            # Opened as every file is: a FIFO or a link out of a copied tree is refused.
            return bytes(read_regular(os.path.join(self.root, name), inside=self.confine_to))
        except (OSError, UnsafeFile):
            return None


def _describe(name: str) -> str:
    if name in ("maps", "smaps"):
        return "memory map"
    return name
