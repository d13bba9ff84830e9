"""A running thread's stack stays its own (model.stack_owners).

The kernel gives no stack pointer for a thread running on a CPU: its stack was a stack
"of some thread", or plain anonymous memory, and which thread's flickered from sample
to sample on a busy program (4 of 16 busy threads of a C++ program had none). Pure
tests on hand-made snapshots, then a live one: two threads that block (their stacks
found by their stack pointers), then spin, sampled by the TUI's sampler.
"""

from __future__ import annotations

import subprocess
import time

from helpers_diff import region, snapshot
from helpers_elf import gcc

from vmtop.model import kinds
from vmtop.model.stack_owners import keep_stack_owners, keep_thread_stacks

M = 1 << 20
GUARD, STACK = 0x7F0010000000, 0x7F0010001000
T = 4400


def pair(kind: str, *, tid=None, obj=None, guard_obj=None, at: float = 0.0):
    regions = [
        region(GUARD, STACK, "---p", kind="guard" if guard_obj else "reserved"),
        region(STACK, STACK + 8 * M, kind=kind, tid=tid),
    ]
    regions[0] = regions[0]._replace(object=guard_obj)
    regions[1] = regions[1]._replace(object=obj)
    snap = snapshot(regions, taken_at=1_700_000_000.0 + at)
    # (classification as take_snapshot does it, with no facts, keeps the kinds given)
    out = list(snap.regions)
    out[0] = out[0]._replace(kind=kinds.GUARD if guard_obj else kinds.RESERVED, object=guard_obj)
    out[1] = out[1]._replace(kind=kind, tid=tid, object=obj)
    return snap._replace(regions=tuple(out))


def test_a_stack_whose_thread_runs_stays_its_own():
    before = pair(kinds.THREAD_STACK, tid=T, obj="worker", guard_obj="the stack of thread 4400")
    for now in (
        pair(kinds.THREAD_STACK, guard_obj="a thread's stack", at=1),  # taken by its shape
        pair(kinds.ANON, at=1),  # not even that
    ):
        kept = keep_stack_owners(before, now, {before.info.pid, T})
        stack, guard = kept.regions[1], kept.regions[0]
        assert (stack.kind, stack.tid, stack.object) == (kinds.THREAD_STACK, T, "worker")
        assert (guard.kind, guard.object) == (kinds.GUARD, "the stack of thread 4400 (worker)")


def test_not_when_the_thread_is_gone_or_its_stack_is_elsewhere():
    before = pair(kinds.THREAD_STACK, tid=T, guard_obj="the stack of thread 4400")
    now = pair(kinds.ANON, at=1)
    assert keep_stack_owners(before, now, {before.info.pid}) is now  # T exited
    # ...and then glibc's cached stack, as before.
    cached = keep_thread_stacks(before, now, {before.info.pid}).regions[1]
    assert cached.tid is None and cached.object == f"cached stack of exited thread {T}"
    # T's stack pointer is in another region now: this one is not T's.
    other = region(0x7F0020000000, 0x7F0020800000, kind=kinds.THREAD_STACK, tid=T)
    moved = now._replace(regions=(*now.regions, other))
    assert keep_stack_owners(before, moved, {T}).regions[1].tid is None
    # Not the same mapping (unmapped and mapped again bigger): no longer known.
    bigger = now.regions[1]._replace(end=STACK + 16 * M)
    changed = now._replace(regions=(now.regions[0], bigger))
    assert keep_stack_owners(before, changed, {T}) is changed


def test_a_live_program_whose_threads_spin_keeps_their_stacks(tmp_path, spawn):
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.sampler import Sampler

    exe = gcc("threads_spin.c", tmp_path / "threads_spin", "-pthread")
    child = spawn([exe], stdin=subprocess.PIPE)
    locals_ = {}
    for line in child.read_until("ready"):
        if line.startswith("thread "):
            _, tid, address = line.split()
            locals_[int(tid)] = int(address, 16)
    assert len(locals_) == 2
    sampler = Sampler(ProcFS(), child.pid)
    first = sampler.sample().snapshot
    assert {first.region_at(a).tid for a in locals_.values()} == set(locals_)  # blocked
    child.proc.stdin.write(b"go\n")
    child.proc.stdin.flush()
    child.read_until("spinning")
    deadline = time.monotonic() + 10
    while True:
        syscalls = [
            open(f"/proc/{child.pid}/task/{tid}/syscall").read().split()[0] for tid in locals_
        ]
        if syscalls == ["running", "running"]:
            break
        assert time.monotonic() < deadline, syscalls
        time.sleep(0.01)
    for _ in range(3):
        snap = sampler.sample().snapshot
        for tid, address in locals_.items():
            stack = snap.region_at(address)
            assert (stack.kind, stack.tid) == (kinds.THREAD_STACK, tid), (tid, stack)
    child.kill()
