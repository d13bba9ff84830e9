"""Helpers for the diff, watch and demo tests: hand-made snapshots, and live runs of
`vmtop watch --json` on a demo with the demo's narration."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

from vmtop.model.classify import classify_regions
from vmtop.model.kinds import kind_from_name
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals

KiB = 1024
MiB = 1024 * KiB
PAGE = 4 * KiB


def region(
    start: int,
    end: int,
    perms: str = "rw-p",
    path: str = "",
    *,
    inode: int = 0,
    dev: str = "00:00",
    offset: int = 0,
    rss: int | None = 0,
    kind: str | None = None,
    tid: int | None = None,
) -> Region:
    if path.startswith("/") and not inode:
        inode = 4242
        dev = "fe:00"
    return Region(
        start,
        end,
        perms,
        offset,
        dev,
        inode,
        path,
        rss=rss,
        kind=kind or kind_from_name(path, perms, inode),
        tid=tid,
    )


def snapshot(
    regions: list[Region],
    *,
    pid: int = 4321,
    start_time: int = 1000,
    comm: str = "demo",
    taken_at: float = 1_700_000_000.0,
    smaps: bool = True,
) -> Snapshot:
    # Classified as take_snapshot does (no facts: kinds given by hand are kept).
    regions = classify_regions(sorted(regions, key=lambda r: r.start))
    if not smaps:
        regions = [r._replace(rss=None) for r in regions]
    info = ProcessInfo(
        pid=pid,
        start_time=start_time,
        command=f"./{comm}",
        comm=comm,
        state="S",
        ppid=1,
        uid=0,
        threads=1,
        start_stack=None,
    )
    size = sum(r.end - r.start for r in regions)
    rss = sum(r.rss or 0 for r in regions) if smaps else None
    return Snapshot(
        info=info,
        taken_at=taken_at,
        regions=tuple(regions),
        totals=Totals(
            size=size, rss=rss, pss=None, private_dirty=None, shared_dirty=None, swap=None
        ),
        has_smaps=smaps,
        status={},
    )


# A small process: its executable, a heap, libc, a stack, the vDSO.
EXE = "/usr/bin/demo"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
EXE_BASE = 0x5555_5555_4000
HEAP = 0x5555_5557_0000
LIBC_BASE = 0x7F00_0000_0000
STACK_TOP = 0x7FFF_F000_0000
VDSO = 0x7FFF_F7FF_0000


def base_regions(
    *,
    heap_end: int = HEAP + 132 * KiB,
    stack_start: int = STACK_TOP - 132 * KiB,
    vdso: int = VDSO,
    exe: str = EXE,
    exe_base: int = EXE_BASE,
) -> list[Region]:
    return [
        region(exe_base, exe_base + 0x1000, "r--p", exe, inode=11, offset=0),
        region(exe_base + 0x1000, exe_base + 0x2000, "r-xp", exe, inode=11, offset=0x1000),
        region(exe_base + 0x2000, exe_base + 0x3000, "rw-p", exe, inode=11, offset=0x2000),
        region(HEAP, heap_end, "rw-p", "[heap]"),
        region(LIBC_BASE, LIBC_BASE + 0x28000, "r--p", LIBC, inode=22, offset=0),
        region(LIBC_BASE + 0x28000, LIBC_BASE + 0x1BD000, "r-xp", LIBC, inode=22, offset=0x28000),
        region(stack_start, STACK_TOP, "rw-p", "[stack]"),
        region(vdso, vdso + 0x2000, "r-xp", "[vdso]"),
    ]


# -- live: `vmtop watch --json` as a child, and a demo's narration ----------------------

VMTOP = [sys.executable, "-m", "vmtop"]


class WatchProcess:
    """``vmtop watch PID --json`` running as a child; its events parsed as they come."""

    def __init__(
        self, pid: int, *args: str, interval: float = 0.1, vmtop: list[str] = VMTOP
    ) -> None:
        self.proc = subprocess.Popen(
            [*vmtop, "watch", str(pid), "--json", "--interval", str(interval), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.header: dict | None = None
        self.events: list[dict] = []
        self.lines: list[str] = []
        self.stderr: list[str] = []
        self._ready = threading.Event()
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._out.start()
        self._err.start()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            record = json.loads(line)
            if record.get("format") == "vmtop-watch":  # the header line, first
                self.header = record
            else:
                self.events.append(record)

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)
            if "watching PID" in line:
                self._ready.set()

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Until the watch has taken its first snapshot."""
        if not self._ready.wait(timeout):
            raise AssertionError(f"vmtop watch did not start: {''.join(self.stderr)}")

    def stop(self, timeout: float = 10.0) -> int:
        """Ctrl-C, and the exit status (0 expected)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._out.join(5)
        self._err.join(5)
        return code

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self._out.join(5)
        self._err.join(5)
        return code

    def of(self, *names: str) -> list[dict]:
        return [e for e in self.events if e["event"] in names]


def span(event: dict) -> tuple[int, int]:
    return int(event["start"], 16), int(event["end"], 16)


def covers(event: dict, lo: int, hi: int | None = None) -> bool:
    """Whether the event's range holds [lo, hi) (or the address lo)."""
    start, end = span(event)
    return start <= lo and (hi if hi is not None else lo + 1) <= end


class Narration:
    """A demo's lines, collected as they come, with the time each arrived."""

    def __init__(self, demo) -> None:
        self.demo = demo
        self.lines: list[str] = []

    def collect(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            line = self.demo.wait_narration(min(left, 0.2))
            if line is not None:
                self.lines.append(line)

    def first_line(self, timeout: float = 20.0) -> str:
        line = self.demo.wait_narration(timeout)
        if line is None:
            raise AssertionError(
                f"the {self.demo.name} demo said nothing (exit {self.demo.poll()})"
            )
        self.lines.append(line)
        return line

    def until(self, pattern: str, timeout: float) -> re.Match:
        """Collect lines until one matches ``pattern``; that match."""
        regex = re.compile(pattern)
        for line in self.lines:
            if m := regex.search(line):
                return m
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            line = self.demo.wait_narration(min(left, 0.2))
            if line is None:
                continue
            self.lines.append(line)
            if m := regex.search(line):
                return m
        raise AssertionError(f"no line matching {pattern!r} in {timeout} s: {self.lines[-5:]}")

    def matches(self, pattern: str) -> list[re.Match]:
        regex = re.compile(pattern)
        return [m for line in self.lines if (m := regex.search(line))]


def hexint(text: str) -> int:
    return int(text, 16)


def start_watched_demo(name: str, *, pace: float, interval: float = 0.1, **kwargs):
    """A demo held at its start, a watch on it, and the demo released once the watch has
    its first snapshot: the watch sees every step. Returns (demo, narration, watch)."""
    from vmtop.demo.runner import start_demo

    demo = start_demo(name, pace=pace, start_delay=60, **kwargs)
    narration = Narration(demo)
    try:
        narration.first_line()
        watch = WatchProcess(demo.pid, interval=interval)
        watch.wait_ready()
    except BaseException:
        demo.stop()
        raise
    demo.begin()
    return demo, narration, watch


def process_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return True
    return state in (b"Z", b"X")


def smaps_figures(pid: int, address: int, *names: str) -> dict[str, int]:
    """The kernel's figures ``names`` ("Rss", "Swap", ...) of the region at ``address``
    of a live process, in bytes: the ground truth of live tests."""
    wanted = {name + ":" for name in names}
    fields, inside = {}, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                inside = int(head.split("-")[0], 16) == address
            elif inside and head in wanted:
                fields[head[:-1]] = int(line.split()[1]) * 1024
    return fields


def commanded(exe) -> subprocess.Popen:
    """A C test program that takes commands on stdin and answers on stdout, a line
    each (its first line, as a rule, the address it made)."""
    return subprocess.Popen(
        [str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )


@contextmanager
def watched_mapping(exe):
    """The commanded C child ``exe`` (its first line the address it mapped), watched by
    `vmtop watch --json` at 0.2 s and by the TUI's sampler (past its first reads):
    (child, address, watch, sampler); the watch stopped and the child killed after."""
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.sampler import Sampler

    child = commanded(exe)
    watch = None
    try:
        address = int(child.stdout.readline(), 16)
        watch = WatchProcess(child.pid, interval=0.2)
        watch.wait_ready()
        sampler = Sampler(ProcFS(), child.pid)
        sampler.sample()
        sampler.sample()
        yield child, address, watch, sampler
    finally:
        if watch is not None:
            watch.stop()
        child.kill()
        child.wait()


def maps_text(regions) -> str:
    """``regions`` as /proc/PID/maps prints them (for a /proc tree rewritten by a test)."""
    return "".join(
        f"{r.start:x}-{r.end:x} {r.perms} {r.offset:08x} {r.dev} {r.inode}"
        + (f"                          {r.path}" if r.path else "")
        + "\n"
        for r in regions
    )


def write_atomically(path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one,
    never half of one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
