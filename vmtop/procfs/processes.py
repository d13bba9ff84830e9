"""The process list for the picker: one row per process, from cheap reads only.

On this machine's /proc the rows come from psutil (``vmtop.procfs.live_processes``:
owner, state, CPU time, threads, RSS, virtual size, command line, identity); on a copied
tree (``--proc-root``), which psutil cannot read, from ``parse_process`` over the raw
files. Either way, per process only ``stat``, ``status``, ``cmdline`` (and, through
psutil, ``statm``) are read: each costs the kernel no page-table walk. ``smaps`` and
``smaps_rollup`` are never read here, and ``maps`` is only *opened* (never read) to learn
whether vmtop may read it: the kernel checks ptrace access at open time
(``proc_maps_open`` → ``mm_access``), so opening is enough and costs the target nothing
(a few microseconds per process). It is asked on every refresh, not cached: a process
can turn undumpable, or exec a setuid program, under the same PID and start time.

Parsing is pure (``parse_process``, over bytes); ``ProcessLister`` does the I/O, through
psutil on the live /proc and through a ``ProcFS`` on a copied tree.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

from vmtop.procfs.errors import (
    AccessDenied,
    KernelThread,
    ProcError,
    UnreadableFile,
    ZombieProcess,
)
from vmtop.procfs.live_processes import LiveProcess, LiveProcessReader, swap_of
from vmtop.procfs.parse_proc import parse_cmdline, parse_stat, parse_status, status_uid
from vmtop.procfs.reader import (
    ARGUMENTS_LIMIT,
    PF_KTHREAD,
    ProcFS,
    UnsafeFile,
    check_inside,
    is_zombie,
    open_regular,
    user_name,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# A refresh of the list may cost this share of one core, averaged over the interval:
# where one list costs more (thousands of processes, a slow machine), refreshes are
# spaced out instead (ProcessLister.interval).
CPU_SHARE = 0.10
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
    """Why vmtop cannot show this process's address space, or None when it can.

    A main thread that called pthread_exit() is a zombie while the other threads run:
    its maps is empty and opens for anyone (it has no memory of its own to guard), so
    the maps of a living thread is the one asked."""
    if row.kernel_thread:
        return KernelThread(row.pid, row.comm).message
    if is_zombie(row.state, row.threads):
        return ZombieProcess(row.pid).message
    name = "maps"
    if row.state in ("Z", "X"):
        living = procfs.living_thread(row.pid)
        if living is not None:
            name = f"task/{living[0]}/maps"
    try:
        path = procfs.path(row.pid, name)
        check_inside(path, procfs.confine_to)
        open_maps(path)
    except UnsafeFile as e:
        return UnreadableFile(row.pid, procfs.path(row.pid, name), e.reason).message
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
        return ProcError(row.pid, f"cannot open {procfs.path(row.pid, name)}: {e.strerror}")
    return None


def through_living_thread(procfs: ProcFS, row: ProcessRow) -> ProcessRow:
    """A row whose main thread has exited while others run on (pthread_exit): its own
    files show no memory, no command line and the state Z; a living thread's show the
    process's (statm, cmdline and state of ``task/TID``). Any other row as it is."""
    if row.state not in ("Z", "X") or is_zombie(row.state, row.threads):
        return row
    living = procfs.living_thread(row.pid)
    if living is None:
        return row
    tid, stat = living
    row = row._replace(state=stat.state)
    statm = (procfs.read_task_file(row.pid, tid, "statm") or b"").split()
    if len(statm) >= 2 and statm[0].isdigit() and statm[1].isdigit():
        row = row._replace(vsize=int(statm[0]) * PAGE_SIZE, rss=int(statm[1]) * PAGE_SIZE)
    argv = parse_cmdline(procfs.read_task_file(row.pid, tid, "cmdline") or b"")
    if argv:
        row = row._replace(command=" ".join(argv))
    return row


# -- the whole list --------------------------------------------------------------------


def row_from_live(
    process: LiveProcess, user: str | None, read_swap: Callable[[int], int | None] | None
) -> ProcessRow:
    """A picker row from what psutil said. ``read_swap`` reads a process's swap when the
    machine has swap in use (None: it has none, so every process's swap is 0)."""
    kernel_thread = process.kernel_thread
    argv = process.argv
    if kernel_thread:
        swap = 0
    elif read_swap is None:
        swap = 0
    else:
        swap = read_swap(process.pid)
    return ProcessRow(
        pid=process.pid,
        user=user or "?",
        uid=process.uid,
        state=process.state,
        rss=process.rss,
        swap=swap,
        vsize=process.vsize,
        threads=process.threads or None,
        command=" ".join(argv) if argv else f"[{process.comm}]",
        comm=process.comm,
        start_time=process.start_time,
        cpu_ticks=process.cpu_ticks,
        kernel_thread=kernel_thread,
    )


class ProcessLister:
    """Lists processes; remembers CPU ticks between calls for the CPU percentages.

    ``clock`` gives seconds (monotonic) for the CPU percentages; ``probe`` says why a
    process cannot be read (``probe_access``); both are injectable for tests.
    ``use_psutil`` (default: whether ``procfs`` is this machine's /proc) picks psutil or
    the raw files of the tree.
    """

    def __init__(
        self,
        procfs: ProcFS,
        *,
        clock: Callable[[], float] | None = None,
        probe: Callable[[ProcFS, ProcessRow], str | None] = probe_access,
        use_psutil: bool | None = None,
    ) -> None:
        self.procfs = procfs
        self.clock = clock or time.monotonic
        self.probe = probe
        self.use_psutil = procfs.is_live if use_psutil is None else use_psutil
        self._live = LiveProcessReader() if self.use_psutil else None
        self._ticks: dict[tuple[int, int], int] = {}
        self._last_time: float | None = None
        self.cost = 0.0  # CPU seconds the last list() took, in the thread that ran it
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

    def _rows(self, pids: Iterable[int] | None) -> Iterable[ProcessRow | None]:
        if not self.use_psutil:
            return (self._read(pid) for pid in (self.procfs.pids() if pids is None else pids))
        swap = self._read_swap if self._swap_in_use() else None
        return (
            row_from_live(process, self._user(process.uid), swap)
            for process in self._live.read(pids)
        )

    def _swap_in_use(self) -> bool:
        """Whether any swap is in use on the machine (meminfo): if not, none is used by
        any process, and no ``status`` need be read for it."""
        meminfo = self.procfs.read_any(os.path.join(self.procfs.root, "meminfo"))
        if not meminfo:
            return True  # cannot tell: read each process's
        fields = parse_meminfo(meminfo)
        return fields.get("SwapTotal", 0) - fields.get("SwapFree", 0) > 0

    def _read_swap(self, pid: int) -> int | None:
        return swap_of(lambda p: self.procfs.read_any(self.procfs.path(p, "status")), pid)

    def interval(self, base: float) -> float:
        """How often to list so that listing costs at most CPU_SHARE of a core: ``base``,
        or longer when one list costs more than CPU_SHARE × ``base``."""
        return max(base, self.cost / CPU_SHARE)

    def due(self, base: float) -> bool:
        """Whether a refresh every ``base`` seconds should list now. A timer that fires
        every ``base`` seconds and asks this lists every ``base`` seconds while a list is
        cheap, and skips ticks while it is not."""
        if self._last_time is None:
            return True
        # A quarter of an interval of slack: timers fire a little early or late.
        return self.clock() - self._last_time >= self.interval(base) - 0.25 * base

    def list(self, pids: Iterable[int] | None = None) -> list[ProcessRow]:
        """Every process in the tree (kernel threads included, marked), unsorted."""
        cpu_start = time.thread_time()
        now = self.clock()
        elapsed = None if self._last_time is None else now - self._last_time
        rows = []
        ticks: dict[tuple[int, int], int] = {}
        for row in self._rows(pids):
            if row is None:
                continue
            key = row.identity
            reason = self.probe(self.procfs, row)
            row = through_living_thread(self.procfs, row)
            ticks[key] = row.cpu_ticks
            cpu = None
            if elapsed and elapsed > 0 and key in self._ticks:
                used = (row.cpu_ticks - self._ticks[key]) / CLOCK_TICKS
                cpu = max(0.0, 100.0 * used / elapsed)
            rows.append(row._replace(denied=reason, cpu_percent=cpu))
        self._ticks = ticks
        self._last_time = now
        self.cost = time.thread_time() - cpu_start
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
