"""Real runtimes and real glibc behaviour, live: a JVM and Node classified with JIT code
and only small guards; three thread exits seen as three thread-exit events; glibc's
dynamic mmap threshold told right; a PostgreSQL postmaster's SysV segment with its
shmid, key and creator. Each skips with a reason where its runtime is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import FIXTURES
from helpers_postgres import running_postgres

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.diff import diff_snapshots
from vmtop.model.java_regions import CLASS_SPACE, CODE_CACHE, JAVA_HEAP
from vmtop.model.stacks import GUARD_MAX
from vmtop.model.v8_pages import V8_PAGE
from vmtop.procfs.java_facts import read_java_facts
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.tui.sampler import Sampler

pytestmark = pytest.mark.live

SRC = FIXTURES / "real" / "src"


def all_threads_asleep(pid: int, count: int, timeout: float = 20.0) -> None:
    """Wait until the process has ``count`` threads, all blocked: a running thread's
    stack pointer cannot be read."""
    deadline = time.monotonic() + timeout
    while True:
        states = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                data = Path(f"/proc/{pid}/task/{tid}/stat").read_bytes()
            except OSError:
                continue
            states.append(data[data.rfind(b")") + 2 :][:1])
        if len(states) == count and all(s == b"S" for s in states):
            return
        assert time.monotonic() < deadline, f"threads of {pid}: {states}"
        time.sleep(0.01)


def check_runtime(regions) -> None:
    assert any(r.kind == kinds.JIT for r in regions), "no JIT code found"
    big_guards = [r for r in regions if r.kind == kinds.GUARD and r.size > GUARD_MAX]
    assert not big_guards
    reserved = sum(r.size for r in regions if r.kind == kinds.RESERVED)
    guard = sum(r.size for r in regions if r.kind == kinds.GUARD)
    assert reserved > 100 * guard


def test_a_jvm_has_jit_code_and_only_small_guards(spawn):
    if shutil.which("java") is None:
        pytest.skip("no java here (apt install default-jre-headless)")
    child = spawn(["java", "-Xmx256m", "-cp", str(SRC), "Sleeper"])
    child.read_until("READY", timeout=120)
    snap = take_snapshot(ProcFS(), child.pid)
    check_runtime(snap.regions)
    assert any(r.kind == kinds.ARENA for r in snap.regions)  # its threads' malloc arenas
    assert any(r.kind == kinds.THREAD_STACK and r.tid for r in snap.regions)
    # The Java heap: its size read from the JVM's hsperfdata, its 256 MiB named whole.
    assert (
        read_java_facts(ProcFS(), child.pid, {r.path for r in snap.regions}).source == "hsperfdata"
    )
    heap = [r for r in snap.regions if r.object == JAVA_HEAP]
    assert heap and heap[-1].end - heap[0].start == 256 << 20
    assert sum(r.size for r in heap) == 256 << 20  # one run, no hole
    assert any(r.object and r.object.startswith(CODE_CACHE) for r in snap.regions)
    space = [r for r in snap.regions if r.object == CLASS_SPACE]  # 1 GiB by default
    assert space and space[-1].end - space[0].start == 1 << 30
    # The TUI's sampler reads maps again parsing only what changed: the heap stays named.
    sampler = Sampler(ProcFS(), child.pid)
    for _ in range(3):
        again = sampler.sample(1.0).snapshot
    assert [(r.start, r.end) for r in again.regions if r.object == JAVA_HEAP] == [
        (r.start, r.end) for r in heap
    ]


def test_node_has_jit_code_and_only_small_guards(spawn):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("no node here (apt install nodejs)")
    child = spawn([node, str(SRC / "node_ready.js")])
    child.read_until("READY", timeout=120)
    regions = take_snapshot(ProcFS(), child.pid).regions
    check_runtime(regions)
    pages = [r for r in regions if r.object == V8_PAGE]
    assert len(pages) >= 8 and all(r.start % (256 << 10) == 0 for r in pages)


def thread_exits(compile_c, spawn, env):
    """threads_exit.c's three threads told to exit one by one: for each, its TID, the
    stack it had, and the snapshots before and after it was joined."""
    exe = compile_c("threads_exit.c", "-pthread")
    child = spawn([exe], stdin=subprocess.PIPE, env=env)
    lines = child.read_until("ready")
    tids = {int(p[1]): int(p[2]) for p in (line.split() for line in lines) if p[0] == "thread"}
    assert len(tids) == 3
    all_threads_asleep(child.pid, 4)
    procfs = ProcFS()
    prev = take_snapshot(procfs, child.pid)
    stacks = {r.tid: r for r in prev.regions if r.kind == kinds.THREAD_STACK}
    assert sorted(stacks) == sorted(tids.values())
    for n in range(3):
        child.proc.stdin.write(f"exit {n}\n".encode())
        child.proc.stdin.flush()
        assert child.read_line() == f"joined {n}"
        all_threads_asleep(child.pid, 3 - n)
        cur = take_snapshot(procfs, child.pid)
        yield tids[n], stacks[tids[n]], prev, cur
        prev = cur


def test_three_thread_exits_are_three_thread_exit_events(compile_c, spawn):
    # No stack cache: glibc unmaps a joined thread's stack at once instead of keeping it.
    env = dict(os.environ, GLIBC_TUNABLES="glibc.pthread.stack_cache_size=0")
    for tid, stack, prev, cur in thread_exits(compile_c, spawn, env):
        events = diff_snapshots(prev, cur)
        (exited,) = [e for e in events if e.event == ev.THREAD_EXITED]
        assert exited.tid == tid
        # The stack and the guard page below it, in one event.
        assert exited.end == stack.end and exited.start < stack.start
        assert "thread exited" in exited.detail
        assert not [e for e in events if "malloc" in e.detail or "free()" in e.detail]


def test_a_thread_whose_stack_glibc_keeps_still_exits_in_an_event(compile_c, spawn):
    """With glibc's stack cache (the default) a joined thread's stack stays mapped for
    the next thread: nothing is unmapped, and the exit was silent."""
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    for tid, stack, prev, cur in thread_exits(compile_c, spawn, env):
        kept = cur.region_at(stack.start)
        assert kept is not None and kept.end == stack.end, "glibc kept the stack"
        exited = [e for e in diff_snapshots(prev, cur) if e.event == ev.THREAD_EXITED]
        assert [e.tid for e in exited] == [tid]
        assert "stays mapped" in exited[0].detail and exited[0].delta == 0


def _event_at(events, address: int, name: str):
    found = [e for e in events if e.event == name and e.start <= address < e.end]
    assert len(found) == 1, [(e.event, hex(e.start), hex(e.end), e.detail) for e in events]
    return found[0]


def test_malloc_after_free_of_a_big_block_is_told_by_the_dynamic_threshold(compile_c, spawn):
    exe = compile_c("malloc_threshold.c")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    child = spawn([exe], stdin=subprocess.PIPE, env=env)
    child.read_until("ready")
    procfs = ProcFS()

    def step(command: str):
        before = take_snapshot(procfs, child.pid)
        child.proc.stdin.write(f"{command}\n".encode())
        child.proc.stdin.flush()
        said = child.read_line()
        return said, diff_snapshots(before, take_snapshot(procfs, child.pid))

    said, events = step("big")
    block = int(said.split()[1], 16)
    mapped = _event_at(events, block, ev.MAPPED)
    assert "malloc above its mmap threshold, or a direct mmap" in mapped.detail

    said, events = step("free")
    freed = _event_at(events, block, ev.UNMAPPED)
    assert "free() of a malloc block above its mmap threshold" in freed.detail

    said, events = step("again")
    again = int(said.split()[1], 16)
    # The block starts in the heap's free top and ends in what brk added.
    (grew,) = [e for e in events if e.event == ev.HEAP_GREW]
    assert grew.start < again + 256 * 1024 <= grew.end
    assert grew.size >= 256 * 1024
    assert "threshold is dynamic" in grew.detail
    assert not [e for e in events if e.event == ev.MAPPED]


def test_a_postgres_sysv_segment_has_shmid_key_and_creator():
    with running_postgres() as (server, _, _):
        snap = take_snapshot(ProcFS(), server.pid)
        sysv = [r for r in snap.regions if r.path.startswith("/SYSV")]
        assert sysv, "a postmaster attaches its SysV interlock segment"
        key = int(sysv[0].path[5:13], 16)
        assert f"SysV shmid {sysv[0].inode} key 0x{key:08x}" in sysv[0].object
        assert f"created by PID {server.pid}" in sysv[0].object
