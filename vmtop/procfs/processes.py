"""The process list for the picker: one row per process, from cheap reads only.

Per process vmtop reads ``stat`` (state, threads, virtual size, CPU ticks, start time,
kernel-thread flag), ``status`` (owner, VmRSS, VmSwap) and ``cmdline``: each costs the
kernel no page-table walk. ``smaps`` and ``smaps_rollup`` are never read here, and
``maps`` is only *opened* (never read) to learn whether vmtop may read it: the kernel
checks ptrace access at open time (``proc_maps_open`` → ``mm_access``), so opening is
enough and costs the target nothing (a few microseconds per process). It is asked on
every refresh, not cached: a process can turn undumpable, or exec a setuid program,
under the same PID and start time.

Parsing is pure (``parse_process``, over bytes); ``list_processes`` does the I/O through a
``ProcFS``, so it works the same on ``/proc`` and on a copied fixture tree.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from typing import NamedTuple

from vmtop.procfs.errors import (
    AccessDenied,
    KernelThread,
    ProcError,
    UnreadableFile,
    ZombieProcess,
)
from vmtop.procfs.parse_proc import parse_cmdline, parse_stat, parse_status, status_uid
from vmtop.procfs.reader import (
    ARGUMENTS_LIMIT,
    PF_KTHREAD,
    ProcFS,
    UnsafeFile,
    check_inside,
    open_regular,
    user_name,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class ProcessRow(NamedTuple):
    """One line of the picker. Sizes in bytes; None when the tree did not say."""

    pid: int
    user: str
    uid: int | None
    state: str  # one letter from stat: R S D Z T t X I
    rss: int | None
    swap: int | None
    vsize: int | None
    threads: int | None
    command: str  # cmdline joined by spaces, or "[comm]" when it is empty
    comm: str
    start_time: int  # clock ticks after boot (stat field 22): identity across refreshes
    cpu_ticks: int  # utime + stime (stat fields 14 and 15)
    kernel_thread: bool
    # Why vmtop cannot open this process (a one-line message), None when it can.
    denied: str | None = None
    cpu_percent: float | None = None  # filled in by comparing two lists

    @property
    def readable(self) -> bool:
        return self.denied is None

    @property
    def identity(self) -> tuple[int, int]:
        return (self.pid, self.start_time)


def _stat_extra(stat: bytes) -> tuple[int, int]:
    """(task flags, utime + stime) from stat fields 9, 14 and 15."""
    rest = stat[stat.rfind(b")") + 2 :].split()
    try:
        flags = int(rest[9 - 3])
        ticks = int(rest[14 - 3]) + int(rest[15 - 3])
    except (IndexError, ValueError):
        return 0, 0
    return flags, ticks


def parse_process(
    pid: int,
    stat: bytes,
    status: bytes | None,
    cmdline: bytes | None,
    *,
    user_of: Callable[[int | None], str | None] = user_name,
) -> ProcessRow:
    """One picker row from the raw bytes of stat, status and cmdline.

    Raises ValueError when ``stat`` is malformed (the process vanished mid-read).
    """
    fields = parse_stat(stat)
    flags, ticks = _stat_extra(stat)
    parsed_status = parse_status(status) if status else {}
    uid = status_uid(parsed_status)
    argv = parse_cmdline(cmdline) if cmdline else []
    kernel_thread = bool(flags & PF_KTHREAD) or pid == 2 or fields.ppid == 2
    rss = parsed_status.get("VmRSS")
    swap = parsed_status.get("VmSwap")
    if not isinstance(rss, int):
        # No VmRSS line: a kernel thread, or a tree without status. stat field 24 is
        # in pages.
        rss = fields.rss_pages * PAGE_SIZE if not kernel_thread else 0
    if not isinstance(swap, int):
        swap = None if not kernel_thread else 0
    command = " ".join(argv) if argv else f"[{fields.comm}]"
    return ProcessRow(
        pid=pid,
        user=user_of(uid) or "?",
        uid=uid,
        state=fields.state,
        rss=rss,
        swap=swap,
        vsize=fields.vsize,
        threads=fields.num_threads or None,
        command=command,
        comm=fields.comm,
        start_time=fields.start_time,
        cpu_ticks=ticks,
        kernel_thread=kernel_thread,
    )


# -- may vmtop read this process? ------------------------------------------------------


def open_maps(path: str) -> None:
    """Open and close a maps file; the kernel answers EACCES here if we may not read it.
    Opened as every file is (``open_regular``): a FIFO in a copied tree must not block
    the picker. Raises UnsafeFile for a file vmtop will not read.

    A module-level function so tests can make a fixture process unreadable (as root,
    file modes cannot).
    """
    fd = open_regular(path)
    os.close(fd)


def probe_access(procfs: ProcFS, row: ProcessRow) -> str | None:
    """Why vmtop cannot show this process's address space, or None when it can."""
    if row.kernel_thread:
        return KernelThread(row.pid, row.comm).message
    if row.state in ("Z", "X"):
        return ZombieProcess(row.pid).message
    try:
        path = procfs.path(row.pid, "maps")
        check_inside(path, procfs.confine_to)
        open_maps(path)
    except UnsafeFile as e:
        return UnreadableFile(row.pid, procfs.path(row.pid, "maps"), e.reason).message
    except PermissionError:
        return AccessDenied(row.pid, row.user if row.user != "?" else None).message
    except FileNotFoundError:
        if procfs.is_live:
            return None  # it exited: the next refresh drops it
        if os.path.exists(procfs.path(row.pid, "smaps")):
            return None
        return ProcError(row.pid, f"{procfs.path(row.pid)} holds no memory map").message
    except OSError as e:
        if e.errno in (errno.ESRCH,):
            return None
        return ProcError(row.pid, f"cannot open {procfs.path(row.pid, 'maps')}: {e.strerror}")
    return None


# -- the whole list --------------------------------------------------------------------


class ProcessLister:
    """Lists processes; remembers CPU ticks between calls for the CPU percentages.

    ``clock`` gives seconds (monotonic) for the CPU percentages; ``probe`` says why a
    process cannot be read (``probe_access``); both are injectable for tests.
    """

    def __init__(
        self,
        procfs: ProcFS,
        *,
        clock: Callable[[], float] | None = None,
        probe: Callable[[ProcFS, ProcessRow], str | None] = probe_access,
    ) -> None:
        import time

        self.procfs = procfs
        self.clock = clock or time.monotonic
        self.probe = probe
        self._ticks: dict[tuple[int, int], int] = {}
        self._last_time: float | None = None
        self._users: dict[int | None, str | None] = {}

    def _user(self, uid: int | None) -> str | None:
        if uid not in self._users:
            self._users[uid] = user_name(uid)
        return self._users[uid]

    def _read(self, pid: int) -> ProcessRow | None:
        read = self.procfs.read_any
        stat = read(self.procfs.path(pid, "stat"))
        if stat is None:
            return None  # gone, or a copied tree without a readable stat: not listed
        status = read(self.procfs.path(pid, "status"))
        cmdline = read(self.procfs.path(pid, "cmdline"), ARGUMENTS_LIMIT)
        try:
            return parse_process(pid, stat, status, cmdline, user_of=self._user)
        except ValueError:
            return None

    def list(self, pids: Iterable[int] | None = None) -> list[ProcessRow]:
        """Every process in the tree (kernel threads included, marked), unsorted."""
        now = self.clock()
        elapsed = None if self._last_time is None else now - self._last_time
        rows = []
        ticks: dict[tuple[int, int], int] = {}
        for pid in self.procfs.pids() if pids is None else pids:
            row = self._read(pid)
            if row is None:
                continue
            key = row.identity
            reason = self.probe(self.procfs, row)
            ticks[key] = row.cpu_ticks
            cpu = None
            if elapsed and elapsed > 0 and key in self._ticks:
                used = (row.cpu_ticks - self._ticks[key]) / CLOCK_TICKS
                cpu = max(0.0, 100.0 * used / elapsed)
            rows.append(row._replace(denied=reason, cpu_percent=cpu))
        self._ticks = ticks
        self._last_time = now
        return rows


# -- sorting and filtering -------------------------------------------------------------

SORT_KEYS: dict[str, Callable[[ProcessRow], object]] = {
    "rss": lambda r: r.rss or 0,
    "swap": lambda r: r.swap or 0,
    "vsize": lambda r: r.vsize or 0,
    "threads": lambda r: r.threads or 0,
    "cpu": lambda r: r.cpu_percent or 0.0,
    "pid": lambda r: r.pid,
    "user": lambda r: r.user,
    "command": lambda r: r.command.lower(),
}

# Sizes and counts read best biggest-first; names and PIDs in ascending order.
DESCENDING_BY_DEFAULT = {"rss", "swap", "vsize", "threads", "cpu"}


def sort_rows(rows: Iterable[ProcessRow], key: str, descending: bool) -> list[ProcessRow]:
    """Sorted by ``key``; ties broken by PID ascending so the order is stable."""
    by_pid = sorted(rows, key=lambda r: r.pid)
    return sorted(by_pid, key=SORT_KEYS[key], reverse=descending)


def matches(row: ProcessRow, text: str) -> bool:
    """Filter-as-you-type: a PID prefix, or a case-insensitive part of name or command."""
    text = text.strip()
    if not text:
        return True
    if text.isdigit() and str(row.pid).startswith(text):
        return True
    needle = text.lower()
    return needle in row.comm.lower() or needle in row.command.lower()


# -- the machine, for the picker's meters ------------------------------------------------


class SystemSummary(NamedTuple):
    """Memory and load of the whole machine, as htop's meters show them (bytes)."""

    mem_total: int
    mem_used: int  # MemTotal - MemAvailable: what would not come back without swapping
    swap_total: int
    swap_used: int
    load: tuple[float, float, float] | None


def parse_meminfo(data: bytes) -> dict[str, int]:
    """/proc/meminfo: ``kB`` values in bytes, keyed by name."""
    fields = {}
    for line in data.split(b"\n"):
        key, sep, value = line.partition(b":")
        parts = value.split()
        if sep and parts and parts[0].isdigit():
            scale = 1024 if parts[1:2] == [b"kB"] else 1
            fields[key.decode("ascii", "replace")] = int(parts[0]) * scale
    return fields


def parse_loadavg(data: bytes) -> tuple[float, float, float] | None:
    parts = data.split()
    try:
        return float(parts[0]), float(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        return None


def read_system(procfs: ProcFS) -> SystemSummary | None:
    """The machine's memory and load from meminfo/loadavg; None when the tree lacks them."""
    meminfo = procfs.read_any(os.path.join(procfs.root, "meminfo"))
    if not meminfo:
        return None
    fields = parse_meminfo(meminfo)
    total = fields.get("MemTotal")
    if not total:
        return None
    available = fields.get("MemAvailable", fields.get("MemFree", 0))
    loadavg = procfs.read_any(os.path.join(procfs.root, "loadavg"))
    return SystemSummary(
        mem_total=total,
        mem_used=max(0, total - available),
        swap_total=fields.get("SwapTotal", 0),
        swap_used=max(0, fields.get("SwapTotal", 0) - fields.get("SwapFree", 0)),
        load=parse_loadavg(loadavg) if loadavg else None,
    )
