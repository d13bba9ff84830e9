"""`vmtop watch`: events of a real child that says what it does, and of a /proc tree
the test rewrites between snapshots (exact ranges, exec, PID reuse)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers_diff import (
    HEAP,
    VDSO,
    VMTOP,
    KiB,
    MiB,
    WatchProcess,
    base_regions,
    covers,
    maps_text,
    region,
    span,
    write_atomically,
)

pytestmark = pytest.mark.live

PAGE = os.sysconf("SC_PAGE_SIZE")


def wait_for(predicate, timeout: float = 10.0, what: str = "the event") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- a /proc tree rewritten between snapshots ------------------------------------------

PID = 4242


def stat_line(start_time: int, comm: str = "demo") -> str:
    # Fields 4..22: ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
    # stime cutime cstime priority nice num_threads itrealvalue starttime.
    fields = f"1 {PID} {PID} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 {start_time}"
    return f"{PID} ({comm}) S {fields} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"


@pytest.fixture
def proc_tree(tmp_path):
    root = tmp_path / "proc"
    pid_dir = root / str(PID)
    pid_dir.mkdir(parents=True)
    write_atomically(pid_dir / "stat", stat_line(1000))
    write_atomically(
        pid_dir / "status", f"Name:\tdemo\nPid:\t{PID}\nUid:\t0\t0\t0\t0\nThreads:\t1\n"
    )
    (pid_dir / "cmdline").write_bytes(b"./demo\0")
    write_atomically(pid_dir / "maps", maps_text(base_regions()))
    return root


def test_watch_a_proc_tree_reports_exact_ranges_then_pid_reuse_ends_it(proc_tree):
    pid_dir = proc_tree / str(PID)
    watch = WatchProcess(PID, "--proc-root", str(proc_tree))
    try:
        watch.wait_ready()
        anon = 0x7F10_0000_0000
        grown = base_regions(heap_end=HEAP + MiB) + [region(anon, anon + MiB + PAGE)]
        write_atomically(pid_dir / "maps", maps_text(grown))
        wait_for(lambda: len(watch.events) >= 2, what="heap_grew and mapped")
        heap, mapped = sorted(watch.events, key=lambda e: e["start"])
        assert heap["event"] == "heap_grew"
        assert span(heap) == (HEAP + 132 * KiB, HEAP + MiB)
        assert heap["delta"] == MiB - 132 * KiB and heap["kind"] == "heap"
        assert heap["path"] == "[heap]"
        assert mapped["event"] == "mapped" and span(mapped) == (anon, anon + MiB + PAGE)
        assert mapped["size"] == MiB + PAGE and mapped["kind"] == "anon"
        for key in ("time", "event", "start", "end", "size", "delta", "kind", "path"):
            assert key in heap

        # Another process gets the PID: the watch says the one it watched exited, and stops
        # without comparing the two processes' maps.
        write_atomically(pid_dir / "maps", maps_text(base_regions()))
        write_atomically(pid_dir / "stat", stat_line(2000, comm="other"))
        assert watch.wait(10) == 0
    finally:
        watch.stop()
    assert watch.events[-1]["event"] == "exited"
    assert "another process" in watch.events[-1]["detail"]
    assert len(watch.events) == 3  # nothing about the new process's regions
    # About the whole process: no range, kind or path made up for it (0x0, "").
    assert not {"start", "end", "kind", "path"} & set(watch.events[-1])


def test_watch_a_proc_tree_sees_an_exec_then_diffs_the_new_program(proc_tree):
    pid_dir = proc_tree / str(PID)
    watch = WatchProcess(PID, "--proc-root", str(proc_tree))
    try:
        watch.wait_ready()
        new_image = dict(exe="/usr/bin/python3", exe_base=0x5600_0000_0000, vdso=VDSO - 0x10_0000)
        write_atomically(pid_dir / "maps", maps_text(base_regions(**new_image)))
        wait_for(lambda: watch.of("exec"), what="exec")
        write_atomically(
            pid_dir / "maps", maps_text(base_regions(heap_end=HEAP + MiB, **new_image))
        )
        wait_for(lambda: watch.of("heap_grew"), what="heap_grew after the exec")
    finally:
        assert watch.stop() == 0
    names = [e["event"] for e in watch.events]
    assert names == ["exec", "heap_grew"]
    assert watch.events[0]["path"] == "/usr/bin/python3"
    assert "start" not in watch.events[0] and "end" not in watch.events[0]
    assert span(watch.events[1]) == (HEAP + 132 * KiB, HEAP + MiB)


# -- a live child that maps, protects and unmaps on command ------------------------------

CHILD = textwrap.dedent(
    """
    import ctypes, mmap, sys
    libc = ctypes.CDLL(None)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    P = mmap.PAGESIZE
    RW = mmap.PROT_READ | mmap.PROT_WRITE
    if len(sys.argv) > 1:  # a huge map first: every other page read-only, one region each
        n = int(sys.argv[1])
        b = libc.mmap(None, 2 * n * P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        for i in range(n):
            libc.mprotect(b + (2 * i + 1) * P, P, mmap.PROT_READ)
    def step(text):
        print(text, flush=True)
        sys.stdin.readline()
    step("ready")
    a = libc.mmap(None, 16 * P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    ctypes.memset(a, 1, 16 * P)  # 64 KiB resident: the rss threshold
    step(f"mapped {a:#x} {16 * P}")
    libc.mprotect(a + 4 * P, 4 * P, mmap.PROT_READ)
    step(f"protected {a + 4 * P:#x} {4 * P}")
    libc.mprotect(a + 4 * P, 4 * P, RW)
    step("unprotected")
    libc.madvise(a, 8 * P, 4)  # MADV_DONTNEED: 32 KiB less resident
    step(f"dropped {a:#x} {8 * P}")
    libc.munmap(a, 16 * P)
    step("unmapped")
    """
)


class Commanded:
    """The child above: one step per line written to it."""

    def __init__(self, split_pages: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, *([str(split_pages)] if split_pages else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.read() == ["ready"]

    def read(self) -> list[str]:
        return self.proc.stdout.readline().split()

    def next(self) -> list[str]:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def commanded():
    child = Commanded()
    yield child
    child.close()


def test_watch_follows_mmap_mprotect_munmap_and_the_exit(commanded):
    watch = WatchProcess(commanded.proc.pid, interval=0.05)
    # A second watch with a lower resident-size threshold: it alone sees 32 KiB go.
    fine = WatchProcess(commanded.proc.pid, "--threshold", "16384", interval=0.05)
    try:
        watch.wait_ready()
        fine.wait_ready()
        word, addr, size = commanded.next()
        assert word == "mapped"
        a, size = int(addr, 16), int(size)
        wait_for(lambda: watch.of("mapped"), what="mapped")
        (mapped,) = watch.of("mapped")
        # The child's range exactly, even if the kernel merged it into a neighbour.
        assert span(mapped) == (a, a + size) and mapped["kind"] == "anon"

        word, middle, length = commanded.next()
        m, length = int(middle, 16), int(length)
        wait_for(lambda: watch.of("protection_changed"), what="protection_changed")
        (changed,) = watch.of("protection_changed")
        assert span(changed) == (m, m + length)
        assert changed["detail"].startswith("rw-p -> r--p")
        (split,) = watch.of("split")
        assert covers(split, a, a + size)

        commanded.next()
        wait_for(lambda: watch.of("merged"), what="merged")
        (merged,) = watch.of("merged")
        assert covers(merged, a, a + size)

        word, addr, dropped = commanded.next()
        assert word == "dropped"
        fine_fell = lambda: [e for e in fine.of("rss_changed") if e["delta"] < 0]  # noqa: E731
        wait_for(fine_fell, what="rss_changed with --threshold 16384")
        (fell,) = fine_fell()
        assert covers(fell, a, a + size) and fell["delta"] == -int(dropped)

        commanded.next()
        wait_for(lambda: watch.of("unmapped"), what="unmapped")
        (unmapped,) = watch.of("unmapped")
        assert span(unmapped) == (a, a + size)

        commanded.proc.stdin.close()  # the child reads EOF and exits
        assert watch.wait(10) == 0
        assert fine.wait(10) == 0
    finally:
        watch.stop()
        fine.stop()
    # 32 KiB dropped is under the default 64 KiB threshold. (The 64 KiB the mapping came
    # with is in its mapped event when smaps was read on the tick that saw it, else in
    # an rss_changed at the next smaps read.)
    assert not [e for e in watch.of("rss_changed") if e["delta"] < 0], watch.events
    assert mapped.get("rss") in (None, 16 * PAGE), mapped
    assert watch.events[-1]["event"] == "exited"
    assert str(commanded.proc.pid) in watch.events[-1]["detail"]


# The regions of the split pages, and the program's own: past the watch's threshold
# once it is lowered to HUGE (raising vm.max_map_count past its default would need root).
HUGE = 12_000
LOWERED = [
    sys.executable,
    "-c",
    "import sys; import vmtop.commands.watch as w; from vmtop.cli import main; "
    f"w.WATCH_PIECES_FROM = {HUGE}; sys.exit(main())",
]


@pytest.fixture
def huge_commanded():
    child = Commanded(split_pages=HUGE)
    yield child
    child.close()


def test_a_huge_map_is_read_in_pieces_and_its_changes_still_reported(huge_commanded):
    pid = huge_commanded.proc.pid
    regions = len(Path(f"/proc/{pid}/maps").read_text().splitlines())
    assert regions > 2 * HUGE
    watch = WatchProcess(pid, interval=0.05, vmtop=LOWERED)
    try:
        watch.wait_ready(60)
        notice = "".join(watch.stderr)
        assert f"a huge map ({regions} regions): read in pieces, its text not held" in notice

        word, addr, size = huge_commanded.next()
        a, size = int(addr, 16), int(size)
        wait_for(lambda: watch.of("mapped"), 30, what="mapped")
        (mapped,) = watch.of("mapped")
        assert span(mapped) == (a, a + size) and mapped["kind"] == "anon"

        word, middle, length = huge_commanded.next()
        m, length = int(middle, 16), int(length)
        wait_for(lambda: watch.of("protection_changed"), 30, what="protection_changed")
        (changed,) = watch.of("protection_changed")
        assert span(changed) == (m, m + length)
        assert changed["detail"].startswith("rw-p -> r--p")

        huge_commanded.next()
        wait_for(lambda: watch.of("merged"), 30, what="merged")
        assert covers(watch.of("merged")[0], a, a + size)

        huge_commanded.next()  # (the resident drop: under the threshold)
        huge_commanded.next()
        wait_for(lambda: watch.of("unmapped"), 30, what="unmapped")
        (unmapped,) = watch.of("unmapped")
        assert span(unmapped) == (a, a + size)

        huge_commanded.proc.stdin.close()
        assert watch.wait(30) == 0
    finally:
        watch.stop()
    assert watch.events[-1]["event"] == "exited"
    # The split pages were there from the start: no event is about them.
    for e in watch.events[:-1]:
        assert int(e["start"], 16) < a + size and int(e["end"], 16) > a, e


def test_an_idle_process_gives_no_events_and_count_stops_the_watch(commanded):
    t0 = time.monotonic()
    result = subprocess.run(
        [*VMTOP, "watch", str(commanded.proc.pid), "--json", "--interval", "0.1", "--count", "5"]
        + ["--threshold", "131072"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()  # the header, and no event
    header = json.loads(line)
    assert header["format"] == "vmtop-watch" and header["format_version"] == 1
    assert header["pid"] == commanded.proc.pid and header["interval"] == 0.1
    # Which resident changes are events: a reader of the stream needs to know.
    assert header["threshold"] == 131072
    assert header["smaps_every"] >= 1 and header["smaps_budget"] > 0
    stat = Path(f"/proc/{commanded.proc.pid}/stat").read_text()
    assert header["start_time"] == int(stat[stat.rfind(")") + 2 :].split()[19])
    assert header["command"] == " ".join(
        Path(f"/proc/{commanded.proc.pid}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")
    )
    assert "smaps every" in result.stderr
    assert time.monotonic() - t0 >= 0.4  # four intervals between five snapshots


def test_human_lines_name_the_event_size_range_and_kind(commanded):
    watch = subprocess.Popen(
        [*VMTOP, "watch", str(commanded.proc.pid), "--interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "watching PID" in watch.stderr.readline()
        _, addr, size = commanded.next()
        a, size = int(addr, 16), int(size)
        # (The child's own pages faulting in may come first: an rss_changed of its heap.)
        lines = [watch.stdout.readline() for _ in range(1)]
        while lines[-1].split()[1:2] != ["mapped"] and len(lines) < 20:
            lines.append(watch.stdout.readline())
        line = lines[-1]
    finally:
        watch.terminate()
        watch.wait()
    fields = line.split()
    assert fields[1] == "mapped", lines
    assert fields[2] == f"+{size // 1024}.0" and fields[3] == "KiB"
    assert fields[4] == f"{a:#014x}-{a + size:#014x}"
    assert fields[5] == "anon"


def test_watch_of_no_such_process_exits_1_with_one_line():
    result = subprocess.run(
        [*VMTOP, "watch", "999999999", "--count", "2"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["vmtop: no such process: 999999999"]


def test_watch_of_a_quiet_process_ends_when_its_reader_leaves():
    """`vmtop watch --json PID | head -1` of a process with nothing to say: head left
    after the header, and watch ran on until killed (it learned of the closed pipe
    only by writing an event)."""
    import time

    quiet = subprocess.Popen(["sleep", "60"])
    try:
        watch = subprocess.Popen(
            [*VMTOP, "watch", "--json", str(quiet.pid), "--interval", "0.1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert b'"format": "vmtop-watch"' in watch.stdout.readline()
        watch.stdout.close()  # as head does, having its line
        t0 = time.monotonic()
        assert watch.wait(timeout=20) == 0
        assert time.monotonic() - t0 < 5
    finally:
        quiet.kill()
        quiet.wait()
