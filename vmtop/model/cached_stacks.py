"""Thread stacks that glibc keeps after their thread exited: still thread stacks.

glibc keeps the stacks of finished (joined or detached) threads for the next thread it
starts, up to 40 MiB of them (``glibc.pthread.stack_cache_size``): the mapping stays as
it was, with its guard page below, and no thread's stack pointer is in it any more.
Classification is pure, one snapshot at a time, and finds a thread's stack by its
stack pointer: such a stack would turn into plain anonymous memory the moment its
thread exits, and its resident memory would move from one kind to the other.

Between two snapshots of one process it can be known: a region that is the very same
mapping (same start, end, permissions, offset, device, inode and name) as one that was
a thread's stack in the previous snapshot, and that is plain anonymous memory now, is
that stack, kept. ``keep_cached_stacks`` relabels it a ``thread_stack`` without a
thread id, its ``object`` saying whose it was ("cached stack of exited thread 30028"),
and the guard below says so too. Only the previous snapshot's thread stacks are looked
at (a bisect each), so it costs next to nothing; of columns, no Region is made for the
others. Applied where snapshots follow each other: the sampler (TUI and ``record``) and
``watch``, each new snapshot against the one before as it was given out, so a cached
stack stays one for as long as it stays mapped.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import compress, count, repeat
from operator import eq, itemgetter

from vmtop.model import kinds
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.process_events import exec_event
from vmtop.model.region import Region, Snapshot
from vmtop.model.region_rows import KIND, OBJECT, TID, relabel
from vmtop.model.stacks import is_guard_beside

CACHED = "cached stack of "  # the object of a kept stack: "cached stack of exited thread 7"
EXITED = "exited "
CACHED_GUARD = " (cached by glibc)"  # how the guard of a kept stack's object ends
_MAPPING = slice(0, 7)  # start end perms offset dev inode path
_START = itemgetter(0)
_KIND = itemgetter(KIND)


def is_cached_stack(region: Region) -> bool:
    """Is this a thread's stack that glibc kept after its thread exited?"""
    return (
        region[KIND] == kinds.THREAD_STACK
        and region[TID] is None
        and (region[OBJECT] or "").startswith(CACHED)
    )


def cached_object(stack: Region) -> str | None:
    """The object of ``stack`` (a thread stack of the previous snapshot) once kept:
    whose it was. None for a stack whose thread was never known (taken for one by its
    shape alone): nothing says it was a stack, so nothing is kept."""
    obj = stack[OBJECT] or ""
    if obj.startswith(CACHED):
        return obj
    if obj.startswith("threads "):  # stacks the kernel merged: all their threads gone
        return f"{CACHED}{EXITED}{obj}"
    if stack[TID] is not None:
        name = f" ({obj})" if obj else ""  # the thread's name
        return f"{CACHED}{EXITED}thread {stack[TID]}{name}"
    return None


def guard_owner(obj: str) -> str:
    """What the guard below a kept stack says it guards (as name_stack_guards words it:
    "the stack of ...", so it goes with the thread stacks)."""
    return f"the stack of {obj[len(CACHED) :]}{CACHED_GUARD}"


def stack_rows(regions: Sequence[Region]) -> Iterable[int]:
    if isinstance(regions, RegionColumns):
        return where(regions.name_mask("kind", kinds.THREAD_STACK))
    return compress(count(), map(eq, map(_KIND, regions), repeat(kinds.THREAD_STACK)))


def index_at(regions: Sequence[Region], start: int) -> int | None:
    if isinstance(regions, RegionColumns):
        return regions.index_at(start)
    i = bisect_right(regions, start, key=_START) - 1
    return i if i >= 0 and regions[i][0] == start else None


def region_at_start(regions: Sequence[Region], start: int) -> Region | None:
    i = index_at(regions, start)
    return None if i is None else regions[i]


def kept_stacks(prev: Snapshot, cur: Snapshot, p_rows=None) -> dict[int, Region]:
    """The regions of ``cur`` to relabel, by index: kept stacks and their guards
    (``p_rows``: the thread stacks' rows of ``prev``, when already found)."""
    P, C = prev.regions, cur.regions
    rows: dict[int, Region] = {}
    for i in stack_rows(P) if p_rows is None else p_rows:
        p = P[i]
        obj = cached_object(p)
        if obj is None:
            continue
        k = index_at(C, p[0])
        if k is None:
            continue
        c = C[k]
        if c[_MAPPING] != p[_MAPPING] or c[KIND] != kinds.ANON or c[TID] is not None:
            continue  # unmapped, changed, or some thread's stack again
        kept = relabel(c, kinds.THREAD_STACK, obj, None)
        rows[k] = p if kept == p else kept  # (the same object: carried regions stay so)
        mark_guard_below(P, C, k, guard_owner(obj), rows)
    return rows


def mark_guard_below(P, C, k: int, owner: str, rows: dict[int, Region]) -> None:
    """Into ``rows``: the guard right below region ``k`` of ``C`` (if it has one) as the
    guard of ``owner``; the very region of ``P`` where it is that already."""
    guard = C[k - 1] if k else None
    if guard is None or guard[1] != C[k][0] or not is_guard_beside(guard, C[k]):
        return
    if guard[KIND] != kinds.GUARD or guard[OBJECT] != owner:
        was = region_at_start(P, guard[0])
        marked = relabel(guard, kinds.GUARD, owner, None)
        rows[k - 1] = was if was == marked else marked


def with_rows(cur: Snapshot, rows: dict[int, Region]) -> Snapshot:
    """``cur`` with its regions at the indexes of ``rows`` replaced."""
    C = cur.regions
    if isinstance(C, RegionColumns):
        return cur._replace(regions=C.replaced(rows))
    regions = list(C)
    for k, r in rows.items():
        regions[k] = r
    return cur._replace(regions=tuple(regions))


def keep_cached_stacks(prev: Snapshot | None, cur: Snapshot, p_rows=None) -> Snapshot:
    """``cur`` with the thread stacks of ``prev`` that glibc kept after their thread
    exited still thread stacks (module docstring). ``cur`` itself when there are none,
    or when the two are not one program (another process, an exec)."""
    if prev is None or prev.info.pid != cur.info.pid:
        return cur
    if prev.info.start_time != cur.info.start_time:
        return cur
    rows = kept_stacks(prev, cur, p_rows)
    if not rows or exec_event(prev, cur) is not None:
        return cur
    return with_rows(cur, rows)
