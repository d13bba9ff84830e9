"""Thread stacks and the guard pages below stacks and beside JIT code.

Pure, like the rest of classification: the threads' stack pointers come in the facts.

- The anonymous region holding a thread's stack pointer is its ``thread_stack``
  (``tid``; when the kernel merged several threads' stacks into one region, ``tid`` is
  the lowest and ``object`` lists them all: "threads 12, 13").
- When some thread's stack pointer is unknown, rw-p anonymous regions directly above a
  small no-access region (glibc's pthread_create layout) are taken for thread stacks
  without a TID, at most one per such thread.
- The small no-access region (at most ``GUARD_MAX``) right below a stack is its
  ``guard``, with ``object`` saying whose.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Mapping
from itertools import compress, count, repeat
from operator import eq, itemgetter

from vmtop.model import kinds
from vmtop.model.go_heap import GO_HEAP
from vmtop.model.kinds import NO_ACCESS_KINDS
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, KIND, OBJECT, PATH, START, Patched, relabel

# The most a no-access region can be and still be called a guard: "a few pages". glibc
# puts one page below a thread's stack, the JVM four, V8 one beside its code space.
GUARD_MAX = 64 * 1024

# The least a pthread stack's rw part can be: glibc's PTHREAD_STACK_MIN on x86-64 (the
# stack, its TLS and thread descriptor). Smaller rw- memory above a guard page is no
# thread's stack: Rust maps a 12 KiB signal stack so for every thread (std's stack
# overflow handler), and with threads running it was taken for their stacks.
THREAD_STACK_MIN = 16 * 1024

_STACK_CANDIDATE_KINDS = frozenset((kinds.ANON, kinds.NAMED_ANON, kinds.THREAD_STACK))
_GET_KIND = itemgetter(KIND)
_RESERVED_KIND = kinds.RESERVED


def is_guard_beside(guard: Region | None, r: Region) -> bool:
    """Is ``guard`` a small no-access anonymous region touching ``r`` (either side)?"""
    return (
        guard is not None
        and (guard[KIND] is _RESERVED_KIND or guard[KIND] == kinds.GUARD)
        and (guard[END] == r[START] or guard[START] == r[END])
        and guard[END] - guard[START] <= GUARD_MAX
        and not guard[INODE]
        and not guard[PATH]
        and (guard[OBJECT] is None or guard[KIND] == kinds.GUARD)
    )


def reserve_above(r: Region, above: Region | None) -> bool:
    """Whether ``above`` is a no-access anonymous region bigger than a guard, right on
    top of ``r``: ``r`` is then a committed part of a runtime's reservation (a JVM's
    class space or metaspace, a V8 heap), which commits upwards in pieces that leave
    small no-access holes between them. A thread's stack has no such reserve above."""
    return (
        above is not None
        and above[START] == r[END]
        and above[KIND] in NO_ACCESS_KINDS
        and above[END] - above[START] > GUARD_MAX
        and not above[INODE]
        and not above[PATH]
    )


def mark_thread_stacks(
    regions: list[Region],
    stack_pointers: Mapping[int, int | None],
    names: Mapping[int, str] | None = None,
) -> None:
    """Mark, in place, the regions holding threads' stacks; a stack of one thread has
    the thread's name (``names``, where known) as its object."""
    starts = regions.base.starts if isinstance(regions, Patched) else [r.start for r in regions]
    unknown: list[int] = []
    held: dict[int, list[int]] = {}
    for tid, sp in sorted(stack_pointers.items()):
        if sp is None:
            unknown.append(tid)
            continue
        i = bisect.bisect_right(starts, sp) - 1
        if i < 0:
            continue
        r = regions[i]
        # (Go runs its threads on stacks it allocates in its heap: the heap is more.)
        if r.start <= sp < r.end and r.kind in _STACK_CANDIDATE_KINDS and r.object != GO_HEAP:
            held.setdefault(i, []).append(tid)
    for i, tids in held.items():
        r = regions[i]
        if len(tids) == 1:
            listed = (names or {}).get(tids[0]) or None
        else:
            listed = "threads " + ", ".join(map(str, tids))
        regions[i] = relabel(r, kinds.THREAD_STACK, listed, tids[0])
    if not unknown:
        return
    # Candidates: rw-p anonymous right above a no-access anonymous region. There can be
    # more than unknown threads (other programs make that layout too): keep the ones
    # with the smallest guard, as glibc's default guard is one page.
    ANON = kinds.ANON
    candidates: list[tuple[int, int]] = []
    guard: Region | None = None
    last = len(regions) - 1
    for i, r in enumerate(regions):
        if (
            guard is not None
            and r.kind == ANON
            and r.object is None  # (no runtime's heap: a PartitionAlloc super page)
            and guard.end == r.start
            and r.perms == "rw-p"
            and not r.path
            and r.end - r.start >= THREAD_STACK_MIN
            and not reserve_above(r, regions[i + 1] if i < last else None)
        ):
            candidates.append((guard.end - guard.start, i))
        guard = r if r.kind in NO_ACCESS_KINDS and not r.inode and not r.path else None
    # One thread unknown and exactly one such region: by elimination, it is that thread's.
    tid = unknown[0] if len(unknown) == 1 == len(candidates) else None
    if len(candidates) > len(unknown):
        candidates = _likeliest_stacks(regions, candidates, held, len(unknown))
    for _guard_size, i in candidates:
        r = regions[i]
        regions[i] = relabel(r, kinds.THREAD_STACK, r.object, tid)


def _likeliest_stacks(
    regions: list[Region],
    candidates: list[tuple[int, int]],
    held: Mapping[int, list[int]],
    wanted: int,
) -> list[tuple[int, int]]:
    """Of more candidates than threads whose stack pointer is unknown (a running one's
    cannot be read), the ``wanted`` likeliest: where other threads' stacks were found,
    only regions of one of their sizes (pthread_create gives every thread the same
    size unless told otherwise); none where no region has one of them, rather than
    a guess: Chromium's 2 MiB malloc super pages have glibc's 4 KiB guard too, and the
    lowest was taken for a running thread's stack, its real 8 MiB one left anonymous.
    Else the smallest guards (glibc's is one page), the highest addresses first
    (thread stacks are mapped among the libraries, above the heaps)."""
    sizes = {regions[i].end - regions[i].start for i in held}
    if sizes:
        candidates = [c for c in candidates if regions[c[1]].end - regions[c[1]].start in sizes]
    return heapq.nsmallest(wanted, candidates, key=lambda c: (c[0], -c[1]))


# The object of a guard beside JIT code (classification).
JIT_CODE = "JIT code"
# What a guard page's object says it guards (name_stack_guards), and what one below rw-
# memory that no thread's stack pointer was found in says (classification).
MAIN_STACK_OWNER = "the main thread's stack"
STACK_SHAPE = "the rw- region above it (the shape of a thread's stack)"
THREAD_STACK_OWNERS = ("the stack of ", "a thread's stack")


def stack_owner(r: Region) -> str:
    if r.kind == kinds.STACK and not r.path.startswith("[stack:"):
        return MAIN_STACK_OWNER
    if r.object and r.object.startswith("threads "):
        return f"the stack of {r.object}"
    if r.tid is not None and r.object:
        return f"the stack of thread {r.tid} ({r.object})"
    if r.tid is not None:
        return f"the stack of thread {r.tid}"
    return "a thread's stack"


def name_stack_guards(regions: list[Region]) -> None:
    """In place: the small no-access region right below each thread stack is its guard,
    and says whose."""
    THREAD_STACK = kinds.THREAD_STACK
    if isinstance(regions, Patched):
        stacks = regions.indexes_of_kind(THREAD_STACK)
    else:
        stacks = list(compress(count(), map(eq, map(_GET_KIND, regions), repeat(THREAD_STACK))))
    for i in stacks:
        below = regions[i - 1] if i else None
        if is_guard_beside(below, regions[i]) and below.end == regions[i].start:
            owner = stack_owner(regions[i])
            if below.kind != kinds.GUARD or below.object != owner:
                regions[i - 1] = relabel(below, kinds.GUARD, owner, None)
