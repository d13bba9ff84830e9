"""Whose thread stack a region is, kept from one snapshot to the next while the thread
runs.

A thread's stack is found by its stack pointer, which the kernel gives only for a
thread that is blocked (task/TID/syscall, or stat's kstkesp): one running on a CPU when
the snapshot is taken has none. Its stack was then a stack "of some thread" (taken by
its shape) or plain anonymous memory, and which thread's flickered from one sample to
the next on a busy program (4 of 16 busy threads in a C++ test program).

Between two snapshots of one process it can be kept: a region that is the very same
mapping (same start, end, permissions, offset, device, inode and name) as thread T's
stack in the previous snapshot, while T still runs (``live_tids``, read from
/proc/PID/task by the caller) and no other region of the new snapshot is T's, is still
T's stack; its guard below says so too. A thread that exited is not among the live
ones: its stack, if glibc keeps it, is a cached stack (``cached_stacks``), applied after
this. Pure; only the previous snapshot's thread stacks are looked at.
"""

from __future__ import annotations

from collections.abc import Collection

from vmtop.model import kinds
from vmtop.model.cached_stacks import (
    CACHED,
    index_at,
    keep_cached_stacks,
    mark_guard_below,
    stack_rows,
    with_rows,
)
from vmtop.model.region import Region, Snapshot
from vmtop.model.region_rows import KIND, OBJECT, TID, relabel
from vmtop.model.stacks import stack_owner

_MAPPING = slice(0, 7)  # start end perms offset dev inode path


def _owned(regions) -> set[int]:
    return {r[TID] for r in (regions[i] for i in stack_rows(regions)) if r[TID] is not None}


def kept_owners(
    prev: Snapshot, cur: Snapshot, live_tids: Collection[int], p_rows=None
) -> dict[int, Region]:
    """The regions of ``cur`` to relabel, by index: stacks of running threads, and the
    guards below them (``p_rows``: the thread stacks' rows of ``prev``, when found)."""
    P, C = prev.regions, cur.regions
    live = set(live_tids)
    owned = None  # the threads whose stack cur knows, once needed
    rows: dict[int, Region] = {}
    for i in stack_rows(P) if p_rows is None else p_rows:
        p = P[i]
        tid, obj = p[TID], p[OBJECT] or ""
        if tid is None or tid not in live or obj.startswith(("threads ", CACHED)):
            continue
        k = index_at(C, p[0])
        if k is None:
            continue
        c = C[k]
        if c[_MAPPING] != p[_MAPPING] or c[TID] is not None:
            continue  # unmapped or changed, or known to be some thread's now
        if c[KIND] not in (kinds.THREAD_STACK, kinds.ANON) or (c[OBJECT] or "").startswith(CACHED):
            continue
        if owned is None:
            owned = _owned(C)
        if tid in owned:
            continue  # its stack pointer is elsewhere now
        kept = relabel(c, kinds.THREAD_STACK, p[OBJECT], tid)
        rows[k] = p if kept == p else kept  # (the same object: carried regions stay so)
        mark_guard_below(P, C, k, stack_owner(kept), rows)
    return rows


def keep_stack_owners(
    prev: Snapshot | None, cur: Snapshot, live_tids: Collection[int], p_rows=None
) -> Snapshot:
    """``cur`` with the stacks of threads that run on (``live_tids``) and whose stack
    pointer it could not read still theirs, as in ``prev`` (module docstring). ``cur``
    itself when there are none, or when the two are not of one process."""
    if prev is None or prev.identity != cur.identity or not live_tids:
        return cur
    rows = kept_owners(prev, cur, live_tids, p_rows)
    return with_rows(cur, rows) if rows else cur


def keep_thread_stacks(
    prev: Snapshot | None, cur: Snapshot, live_tids: Collection[int]
) -> Snapshot:
    """``cur`` with the thread stacks of ``prev`` kept: those of threads that run on
    (``keep_stack_owners``), then those glibc keeps after their thread exited
    (``cached_stacks.keep_cached_stacks``)."""
    if prev is None:
        return cur
    p_rows = list(stack_rows(prev.regions))  # (a pass over a million regions: once)
    if not p_rows:
        return cur
    owned = keep_stack_owners(prev, cur, live_tids, p_rows)
    return keep_cached_stacks(prev, owned, p_rows)
