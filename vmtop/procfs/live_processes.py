"""The picker's rows for this machine's own /proc, read through psutil.

psutil reads per process what the hand-written lister did, from the same cheap files
(``stat``, ``status``, ``statm``, ``cmdline``; never ``smaps``), once each inside
``Process.oneshot()``; its ``Process`` objects are kept between refreshes. A copied ``/proc`` tree (``--proc-root``) is still read by
``vmtop.procfs.processes.parse_process``: psutil reads only the machine's own /proc.

What psutil does not give cheaply is filled in here: swap (psutil has it only from
``smaps``, which vmtop never reads for the list) comes from ``status`` and only when the
machine has swap in use; otherwise every process's swap is 0. Errors stay at this
boundary: a process that vanished is left out, one that denies its files too.

Identity is (PID, start time in clock ticks), the start time from psutil's
``create_time`` (boot time + stat field 22). A ``Process`` kept from the last refresh is
checked with ``is_running()`` (psutil's PID-reuse check: its start time against the one
now in stat, one more stat read); where it is gone or its PID is now another process's,
a new ``Process`` is made: a PID another process took since the last refresh is listed
with the new process's identity at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

import psutil

from vmtop.procfs.parse_proc import parse_status

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# psutil's words for the one letter of stat's state field, back to the letter.
STATE_LETTERS = {
    psutil.STATUS_RUNNING: "R",
    psutil.STATUS_SLEEPING: "S",
    psutil.STATUS_DISK_SLEEP: "D",
    psutil.STATUS_STOPPED: "T",
    psutil.STATUS_TRACING_STOP: "t",
    psutil.STATUS_ZOMBIE: "Z",
    psutil.STATUS_DEAD: "X",
    psutil.STATUS_WAKING: "W",
    psutil.STATUS_IDLE: "I",
    psutil.STATUS_PARKED: "P",
}
for _name, _letter in (("STATUS_WAKE_KILL", "K"), ("STATUS_LOCKED", "L")):
    if hasattr(psutil, _name):
        STATE_LETTERS[getattr(psutil, _name)] = _letter


class LiveProcess:
    """What psutil says about one process, with vmtop's names. Sizes in bytes."""

    __slots__ = (
        "pid",
        "uid",
        "state",
        "comm",
        "argv",
        "rss",
        "vsize",
        "threads",
        "start_time",
        "cpu_ticks",
    )

    def __init__(self, **fields) -> None:
        for name in self.__slots__:
            setattr(self, name, fields[name])

    @property
    def kernel_thread(self) -> bool:
        # psutil does not expose stat's PF_KTHREAD flag. A kernel thread has no memory of
        # its own (statm all zeros) and no command line; so has a zombie, which says so.
        if self.pid == 2:
            return True
        return self.vsize == 0 and not self.argv and self.state not in ("Z", "X")


class LiveProcessReader:
    """Reads the live processes, keeping one psutil ``Process`` per PID between calls
    (its own table, not ``psutil.process_iter``'s, which after a PID reuse leaves the new
    process out of one more refresh). Holds only the PIDs of the last call."""

    def __init__(self) -> None:
        self._known: dict[int, psutil.Process] = {}

    def read(self, pids: Iterable[int] | None = None) -> Iterator[LiveProcess]:
        """Every process of this machine (or those of ``pids``) that can still be read."""
        boot = psutil.boot_time()
        known = self._known
        kept: dict[int, psutil.Process] = {}
        for pid in psutil.pids() if pids is None else pids:
            proc = known.get(pid)
            # is_running() compares the kept Process's start time with the one now in
            # stat: False when it is gone or its PID is now another process's.
            if proc is None or not proc.is_running():
                try:
                    proc = psutil.Process(pid)  # reads the start time anew
                except psutil.Error:
                    continue
            row = _read(proc, boot)
            if row is not None:
                kept[pid] = proc
                yield row
        if pids is None:
            self._known = kept
        else:
            known.update(kept)


def _read(proc: psutil.Process, boot: float) -> LiveProcess | None:
    try:
        with proc.oneshot():
            times = proc.cpu_times()
            state = proc.status()
            memory = proc.memory_info()
            row = LiveProcess(
                pid=proc.pid,
                uid=proc.uids().real,
                state=STATE_LETTERS.get(state, "?"),
                comm=proc.name(),
                argv=_argv(proc),
                rss=memory.rss,
                vsize=memory.vms,
                threads=proc.num_threads(),
                start_time=round((proc.create_time() - boot) * CLOCK_TICKS),
                cpu_ticks=round((times.user + times.system) * CLOCK_TICKS),
            )
    except psutil.Error:  # gone (NoSuchProcess), or its files denied (AccessDenied)
        return None
    return row


def _argv(proc: psutil.Process) -> list[str]:
    try:
        argv = proc.cmdline()
    except psutil.Error:  # a zombie's (or a denied) command line: none
        return []
    # A title written over argv (postgres, setproctitle) leaves NUL padding: psutil makes
    # it empty arguments at the end. They are not arguments (parse_cmdline agrees).
    while argv and not argv[-1]:
        argv.pop()
    return argv


def swap_of(read_status: Callable[[int], bytes | None], pid: int) -> int | None:
    """VmSwap from ``status`` (bytes), None when the file or the line is missing."""
    data = read_status(pid)
    if not data:
        return None
    swap = parse_status(data).get("VmSwap")
    return swap if isinstance(swap, int) else None
