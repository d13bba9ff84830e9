"""Thread stacks of a live program: three threads, three thread_stack regions, right TIDs.

Ground truth: each thread prints its TID (gettid) and the address of one of its locals;
the region holding that local is that thread's stack.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from helpers_elf import gcc, vmtop_json, where_results

from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def threads3(tmp_path_factory):
    return gcc("threads3.c", tmp_path_factory.mktemp("threads") / "threads3", "-pthread")


def start(exe, spawn):
    child = spawn([exe], stdin=subprocess.PIPE)
    lines = child.read_until("ready")
    threads = {}
    main = None
    for line in lines:
        parts = line.split()
        if parts[0] == "thread":
            threads[int(parts[1])] = int(parts[2], 16)
        elif parts[0] == "main":
            main = (int(parts[1]), int(parts[2], 16))
    assert len(threads) == 3 and main is not None, lines
    wait_until_all_threads_sleep(child.pid)
    return child, threads, main


def wait_until_all_threads_sleep(pid: int, timeout: float = 10.0) -> None:
    """Until every thread is blocked (in pause or read): a thread still running has no
    stack pointer to read, and the test wants to see each one's TID."""
    deadline = time.monotonic() + timeout
    while True:
        states = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                data = f.read()
            states.append(data[data.rfind(b")") + 2 :][:1])
        if len(states) == 4 and all(state == b"S" for state in states):
            return
        assert time.monotonic() < deadline, f"threads of {pid} are {states}"
        time.sleep(0.01)


def test_three_threads_three_thread_stacks_with_their_tids(threads3, spawn):
    child, threads, (main_tid, main_local) = start(threads3, spawn)
    assert main_tid == child.pid
    snapshot = take_snapshot(ProcFS(), child.pid)
    stacks = [r for r in snapshot.regions if r.kind == "thread_stack"]
    assert sorted(r.tid for r in stacks) == sorted(threads)
    for tid, local in threads.items():
        region = snapshot.region_at(local)
        assert region is not None and region.kind == "thread_stack" and region.tid == tid
        assert region.perms == "rw-p" and region.path == ""
        # glibc's layout: a ---p guard page right below the stack.
        below = snapshot.regions[snapshot.regions.index(region) - 1]
        assert below.end == region.start and below.perms == "---p"
    main_region = snapshot.region_at(main_local)
    assert main_region.kind == "stack" and main_region.path == "[stack]"
    assert main_region.tid is None
    child.kill()


def test_where_and_snapshot_json_name_the_thread(threads3, spawn):
    child, threads, (_main_tid, main_local) = start(threads3, spawn)
    tids = sorted(threads)
    results = where_results(child.pid, *(hex(threads[t]) for t in tids), hex(main_local))
    for tid, result in zip(tids, results[:-1], strict=True):
        assert result["kind"] == "thread_stack" and result["tid"] == tid
        assert result["region"]["tid"] == tid
        assert "reason" not in result  # nothing is missing: left out, not null
    # The main thread's stack is no thread stack: no tid (left out, not null).
    main = results[-1]
    assert main["kind"] == "stack" and "tid" not in main and "tid" not in main["region"]
    snapshot = vmtop_json("snapshot", "--format", "json", child.pid)
    stacks = {
        r["tid"]: (int(r["start"], 16), int(r["end"], 16))
        for r in snapshot["regions"]
        if r["kind"] == "thread_stack"
    }
    assert sorted(stacks) == tids
    for tid, (lo, hi) in stacks.items():
        assert lo <= threads[tid] < hi
    child.kill()


def test_a_thread_that_named_itself_has_its_stack_named_after_it(threads3, spawn):
    """pthread_setname_np (Java's, PostgreSQL's, a thread pool's names): the stack's
    object is the name, read from task/TID/comm, and its guard says whose; a thread
    that did not name itself (its comm is the process's) has none."""
    from vmtop.tui.widgets.table_columns import region_name

    child, threads, _main = start(threads3, spawn)
    names = {}
    for tid in threads:
        with open(f"/proc/{child.pid}/task/{tid}/comm") as f:
            names[tid] = f.read().strip()
    assert sorted(names.values()) == ["threads3", "worker-0", "worker-1"]  # premise
    snapshot = take_snapshot(ProcFS(), child.pid)
    for tid, local in threads.items():
        stack = snapshot.region_at(local)
        assert (stack.kind, stack.tid) == ("thread_stack", tid)
        guard = snapshot.regions[snapshot.regions.index(stack) - 1]
        if names[tid] == "threads3":
            assert stack.object is None
            assert region_name(stack)[0] == f"[stack of thread {tid}]"
            assert guard.object == f"the stack of thread {tid}"
        else:
            assert stack.object == names[tid]
            assert region_name(stack)[0] == f"[stack of thread {tid} ({names[tid]})]"
            assert guard.object == f"the stack of thread {tid} ({names[tid]})"
    child.kill()
