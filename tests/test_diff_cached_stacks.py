"""A thread's stack that glibc keeps after its thread exited stays a thread stack.

glibc caches finished threads' stacks (up to 40 MiB) for the next thread: the mapping
stays, no stack pointer is in it. Classification, one snapshot at a time, would call
it plain anonymous memory from then on; ``keep_cached_stacks`` (previous snapshot, new
one) keeps it a ``thread_stack`` of no thread, saying whose it was. Unit tests on
hand-made snapshots (as tuples and as columns), then live: a C program whose thread
exits, watched with ``vmtop watch`` and sampled as the TUI and ``vmtop record`` do.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from helpers_diff import PAGE, KiB, MiB, WatchProcess, base_regions, covers, region, snapshot

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.cached_stacks import is_cached_stack, keep_cached_stacks
from vmtop.model.diff import diff_snapshots

T0 = 1_700_000_000.0
STACKS = 0x7F10_0000_0000
TID = 30028


def stack_regions(*, kind=kinds.THREAD_STACK, tid=TID, end=STACKS + 8 * MiB, rss=64 * KiB):
    guard = region(STACKS, STACKS + PAGE, "---p")
    stack = region(STACKS + PAGE, end, kind=kind, tid=tid, rss=rss)
    return [guard, stack]


def take(t, stacks, threads, *, start_time=1000):
    snap = snapshot(base_regions() + stacks, taken_at=T0 + t, start_time=start_time)
    return snap._replace(info=snap.info._replace(threads=threads))


def at(snap, address):
    regions = snap.regions
    for r in regions:
        if r.start == address:
            return r
    raise AssertionError(f"no region at {address:#x}")


def test_a_stack_kept_after_its_thread_exited_stays_a_thread_stack(held_as):
    alive = held_as(take(0, stack_regions(), threads=2))
    # What classification alone makes of it once no stack pointer is in it.
    raw = held_as(take(1, stack_regions(kind=kinds.ANON, tid=None), threads=1))
    assert at(raw, STACKS + PAGE).kind == kinds.ANON  # (the premise)
    kept = keep_cached_stacks(alive, raw)
    stack = at(kept, STACKS + PAGE)
    assert (stack.kind, stack.tid) == (kinds.THREAD_STACK, None)
    assert stack.object == f"cached stack of exited thread {TID}" and is_cached_stack(stack)
    guard = at(kept, STACKS)
    assert guard.kind == kinds.GUARD
    assert guard.object == f"the stack of exited thread {TID} (cached by glibc)"
    assert "shape" not in guard.object
    # Every other region as it was; the next sample keeps it so too.
    assert [r for r in kept.regions if r.start < STACKS] == [
        r for r in raw.regions if r.start < STACKS
    ]
    later = keep_cached_stacks(kept, held_as(take(2, stack_regions(kind=kinds.ANON, tid=None), 1)))
    assert at(later, STACKS + PAGE) == stack and at(later, STACKS) == guard


def test_only_the_very_same_mapping_is_kept(held_as):
    alive = held_as(take(0, stack_regions(), threads=2))
    # Another size (unmapped and mapped again), or another process at the same PID.
    other = held_as(take(1, stack_regions(kind=kinds.ANON, tid=None, end=STACKS + MiB), 1))
    assert keep_cached_stacks(alive, other) is other
    reborn = held_as(take(1, stack_regions(kind=kinds.ANON, tid=None), 1, start_time=2000))
    assert keep_cached_stacks(alive, reborn) is reborn
    # A region taken for a stack by its shape alone (no thread known): nothing to keep.
    shaped = held_as(take(0, stack_regions(tid=None), threads=2))
    raw = held_as(take(1, stack_regions(kind=kinds.ANON, tid=None), threads=1))
    assert keep_cached_stacks(shaped, raw) is raw
    # A new thread using the cached stack: its own again, with its TID.
    reused = held_as(take(1, stack_regions(tid=TID + 1), threads=2))
    assert keep_cached_stacks(alive, reused) is reused


def test_the_exit_is_said_once_and_later_changes_are_of_a_thread_stack(held_as):
    alive = held_as(take(0, stack_regions(), threads=2))
    kept = keep_cached_stacks(alive, held_as(take(1, stack_regions(kind=kinds.ANON, tid=None), 1)))
    (exited,) = diff_snapshots(alive, kept)
    assert exited.event == ev.THREAD_EXITED and exited.tid == TID
    assert "stays mapped" in exited.detail
    # glibc gives the stack's pages back (madvise): 176 KiB fewer resident, of a stack.
    freed = keep_cached_stacks(
        kept, held_as(take(2, stack_regions(kind=kinds.ANON, tid=None, rss=0), 1))
    )
    events = diff_snapshots(kept, freed, rss_threshold=16 * KiB)
    assert [(e.event, e.kind, e.delta) for e in events] == [
        (ev.RSS_CHANGED, kinds.THREAD_STACK, -64 * KiB)
    ]
    # glibc lets the cached stack go (its cache is full): unmapped, no second exit.
    gone = held_as(take(3, [], 1))
    events = diff_snapshots(freed, gone)
    assert ev.THREAD_EXITED not in [e.event for e in events]
    (stack,) = [e for e in events if e.kind == kinds.THREAD_STACK]
    assert stack.event == ev.UNMAPPED and "glibc let it go" in stack.detail


def test_pages_given_back_as_the_thread_exits_are_said_after_the_exit_with_its_tid(held_as):
    # One sample sees both: the thread gone, and glibc's madvise of its cached stack.
    # The rss_changed names the same thread as the exit it follows ("[stack of thread
    # N]"), not a nameless "[thread stack]" before the exit that explains it.
    alive = held_as(take(0, stack_regions(), threads=2))
    raw = held_as(take(1, stack_regions(kind=kinds.ANON, tid=None, rss=0), threads=1))
    events = diff_snapshots(alive, keep_cached_stacks(alive, raw), rss_threshold=16 * KiB)
    assert [(e.event, e.tid, e.delta) for e in events] == [
        (ev.THREAD_EXITED, TID, 0),
        (ev.RSS_CHANGED, TID, -64 * KiB),
    ]


# -- live ----------------------------------------------------------------------------------

TOUCHED = 1 << 20

EXITING_THREAD = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#define TOUCHED (1 << 20)
static char *volatile buffer;
static int release[2];
static void *worker(void *arg) {
    char local[TOUCHED];
    memset(local, 7, sizeof local);
    buffer = local;
    printf("thread %d %p\n", gettid(), (void *)local);
    char c;
    if (read(release[0], &c, 1) != 1) return NULL;
    return (void *)(uintptr_t)local[100];
}
int main(void) {
    char line[64];
    pthread_t t;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (pipe(release) || pthread_create(&t, NULL, worker, NULL)) return 1;
    if (!fgets(line, sizeof line, stdin)) return 1;
    if (write(release[1], "x", 1) != 1 || pthread_join(t, NULL)) return 1;
    printf("joined\n");
    if (!fgets(line, sizeof line, stdin)) return 1;
    /* The exited thread's stack, kept by glibc: touched again (glibc freed its pages). */
    long page = sysconf(_SC_PAGESIZE);
    char *lo = (char *)(((uintptr_t)buffer + page - 1) & ~(uintptr_t)(page - 1));
    memset(lo, 1, TOUCHED - 2 * page);
    printf("touched\n");
    if (!fgets(line, sizeof line, stdin)) return 1;
    return 0;
}
"""


def start_exiting_thread(compile_c, spawn):
    exe = compile_c(EXITING_THREAD, "-pthread")
    # glibc's stack cache on (the default): no tunable that turns it off.
    child = spawn([exe], stdin=subprocess.PIPE, env={"PATH": "/usr/bin:/bin"})
    word, tid, local = child.read_line().split()
    assert word == "thread"
    return child, int(tid), int(local, 16)


def say(child, line: str = "go") -> None:
    child.proc.stdin.write(line.encode() + b"\n")
    child.proc.stdin.flush()


def wait_for(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


def wait_blocked(pid: int, tid: int) -> None:
    """Until the thread sleeps in its read: its stack pointer can be read then."""

    def asleep():
        with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
            data = f.read()
        return data[data.rfind(b")") + 2 :][:1] == b"S"

    wait_for(asleep, "the thread to block")


@pytest.mark.live
def test_watch_keeps_an_exited_threads_cached_stack_a_thread_stack(compile_c, spawn):
    child, tid, local = start_exiting_thread(compile_c, spawn)
    wait_blocked(child.pid, tid)
    watch = WatchProcess(child.pid, interval=0.1)
    watch.wait_ready()
    time.sleep(0.3)
    say(child)
    assert child.read_line() == "joined"
    time.sleep(0.6)  # a few samples of the stack without its thread
    say(child)
    assert child.read_line() == "touched"

    def refills():
        return [e for e in watch.of("rss_changed") if covers(e, local) and e["delta"] > 0]

    # A sample can land while the child is still touching: then the refill comes as
    # two rss_changed events, not one. Wait for their sum, not for the first.
    wait_for(
        lambda: sum(e["delta"] for e in refills()) >= TOUCHED // 2,
        "the cached stack's pages faulted in",
    )
    refilled = refills()
    say(child)
    child.reap()
    assert watch.wait(15) == 0
    # The pages faulted into the exited thread's stack are a thread stack's, not anon.
    assert [e["kind"] for e in refilled] == ["thread_stack"] * len(refilled), refilled
    # Nothing of that range ever became anonymous memory in between.
    ranged = [e for e in watch.events if "start" in e and covers(e, local)]
    assert not [e for e in ranged if e["kind"] != "thread_stack"], ranged


@pytest.mark.live
def test_the_sampler_keeps_it_too_as_the_tui_and_record_see_it(compile_c, spawn):
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.sampler import Sampler

    child, tid, local = start_exiting_thread(compile_c, spawn)
    wait_blocked(child.pid, tid)
    sampler = Sampler(ProcFS(), child.pid)
    first = sampler.sample()
    stack = first.snapshot.region_at(local)
    assert (stack.kind, stack.tid) == (kinds.THREAD_STACK, tid)
    say(child)
    assert child.read_line() == "joined"

    def without_its_thread():
        # (pthread_join can return while the kernel still lists the exiting thread)
        result = sampler.sample()
        events.extend(result.events)
        return result if result.snapshot.region_at(local).tid is None else None

    events: list = []
    after = wait_for(without_its_thread, "a sample without the thread")
    kept = after.snapshot.region_at(local)
    assert kept[:7] == stack[:7], "glibc kept the stack mapped as it was"
    assert (kept.kind, kept.tid) == (kinds.THREAD_STACK, None)
    assert kept.object == f"cached stack of exited thread {tid}"
    assert not [e for e in events if e.start <= local < e.end and e.kind != kinds.THREAD_STACK]
    regions = list(after.snapshot.regions)
    guard = regions[regions.index(kept) - 1]
    assert guard.end == kept.start and guard.kind == kinds.GUARD
    assert "cached" in guard.object and "shape" not in guard.object
    say(child)
    assert child.read_line() == "touched"
    touched = sampler.sample()
    again = touched.snapshot.region_at(local)
    assert again.kind == kinds.THREAD_STACK and again.object == kept.object
    (refilled,) = [
        e for e in touched.events if e.event == ev.RSS_CHANGED and e.start <= local < e.end
    ]
    assert refilled.kind == kinds.THREAD_STACK and refilled.delta >= TOUCHED // 2
    say(child)
    child.reap()


def test_report_names_a_cached_stack_and_counts_it_as_a_thread_stack(tmp_path):
    """A recording (snapshots as the sampler gives them out) of a thread that started,
    filled its stack and exited: the report's stack is a thread stack, named whose."""
    from conftest import run_vmtop

    from vmtop.record.writer import RecordingWriter

    alive = take(1, stack_regions(rss=800 * KiB), threads=2)
    snaps = [take(0, [], threads=1), alive]
    for t in (2, 3):
        raw = take(t, stack_regions(kind=kinds.ANON, tid=None, rss=800 * KiB), threads=1)
        snaps.append(keep_cached_stacks(snaps[-1], raw))
    # (resident figures known: smaps read, which PSS says)
    snaps = [s._replace(totals=s.totals._replace(pss=s.totals.rss)) for s in snaps]
    path = str(tmp_path / "stack.jsonl.gz")
    with RecordingWriter(path, interval=1.0) as writer:
        for prev, snap in zip([None, *snaps], snaps, strict=False):
            writer.write_sample(snap, diff_snapshots(prev, snap) if prev else ())
    out = run_vmtop("report", path)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    regions = text.split("Largest growths by region")[1].split("\n\n")[0]
    (row,) = [r for r in regions.splitlines() if r.strip().startswith(f"{STACKS + PAGE:012x}-")]
    assert "thread_stack" in row and f"[cached stack of exited thread {TID}]" in row, row
    kinds_rows = text.split("Largest growths by kind")[1].split("\n\n")[0]
    assert "thread_stack" in kinds_rows and "anon" not in kinds_rows, kinds_rows
