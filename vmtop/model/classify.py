"""Refine the per-line kinds with what needs the whole map and the process's facts.

Pure: the map plus ``ClassifyFacts`` (thread stack pointers, .bss sizes from program
headers, the SysV table), which ``vmtop.procfs.facts`` reads and hands in. The same code
classifies a live process, a copied ``/proc`` tree and a recording.

- ELF objects: regions of a file that has an executable mapping. r-x is ``text``, rw-
  ``data``, r-- ``rodata``, except the r-- region right below the object's rw- data,
  which is its RELRO part (``.got``, ``.dynamic``, ``.init_array`` made read-only after
  relocation): ``relro``. No-access parts of the object's file, and no-access anonymous
  regions between two regions of the same object, are the loader's alignment ``gap``.
  The anonymous rw- region right after the object's data is its ``bss`` (where .bss
  spills past the file-backed page) unless the program headers say it has no bss
  pages. Every region of an object carries ``object`` = the object's path.
- glibc malloc arenas of other threads: an rw- anonymous region starting on a 64 MiB
  boundary, followed by no-access memory up to the next boundary (or 64 MiB long), is
  an ``arena`` (``object`` "arena N", numbered from the top of the map down: in the
  order glibc made them, as each new one goes below the last); its no-access tail is
  ``reserved`` with the same object: the arena grows into it with mprotect. Where glibc
  names its mappings (``[anon: glibc: malloc arena]``, ``[anon: glibc: pthread stack:
  TID]``, glibc 2.40+ with ``glibc.mem.decorate_maps``), the names say it.
- Thread stacks: the anonymous region holding a thread's stack pointer is its
  ``thread_stack`` (``tid``; when the kernel merged several threads' stacks into one
  region, ``tid`` is the lowest and ``object`` lists them all: "threads 12, 13").
  When some thread's stack pointer is unknown, rw-p anonymous regions directly above a
  small no-access region (glibc's pthread_create layout) are taken for thread stacks
  without a TID, at most one per such thread.
- No-access anonymous regions: ``guard`` when small (GUARD_MAX) and right below a stack
  or beside JIT code, with ``object`` saying whose guard it is; any other is
  ``reserved``: address space kept for growth (runtime heap and code reserves, arena
  tails, the GPU's unified address space).
- In a process that maps /dev/nvidia-uvm (CUDA), a reserve bigger than a guard that
  touches an NVIDIA device mapping or shared anonymous memory is ``reserved`` with
  ``object`` "CUDA driver", and shared anonymous memory is ``shm`` with
  ``object`` "CUDA pinned host memory" (why: ``vmtop.model.cuda``).
- Devices get the device's short name as ``object``; SysV segments their shmid and key.

This runs on every snapshot, for processes with tens of thousands of regions: a few
passes over the list, no I/O.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress, count, repeat
from operator import eq, itemgetter

from vmtop.model import cuda, kinds
from vmtop.model.column_masks import after_mask, mask_and, mask_not, zero_mask
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.devices import device_name
from vmtop.model.facts import NO_FACTS, ClassifyFacts
from vmtop.model.region import Region
from vmtop.model.sysv import SYSV_PREFIX, describe_sysv

# glibc's per-thread malloc heaps are HEAP_MAX_SIZE apart and long (64-bit).
ARENA_HEAP = 64 << 20
# The most a no-access region can be and still be called a guard: "a few pages". glibc
# puts one page below a thread's stack, the JVM four, V8 one beside its code space.
GUARD_MAX = 64 * 1024

_NO_ACCESS = frozenset((kinds.RESERVED, kinds.GUARD, kinds.GAP))
_OBJECT_KINDS = (
    frozenset((kinds.TEXT, kinds.RODATA, kinds.RELRO, kinds.DATA, kinds.FILE)) | _NO_ACCESS
)
_RW_ANON_KINDS = frozenset((kinds.ANON, kinds.ARENA, kinds.BSS))
_STACK_CANDIDATE_KINDS = frozenset((kinds.ANON, kinds.NAMED_ANON, kinds.THREAD_STACK))
_START, _END, _PERMS, _OFFSET, _DEV, _INODE, _PATH = range(7)  # (by index: classify
# reads plain tuples of columns' rows as well as Regions)
_KIND = Region._fields.index("kind")
_OBJECT = Region._fields.index("object")
_TID = Region._fields.index("tid")
_GET_KIND = itemgetter(_KIND)
_AFTER_TID = _TID + 1
assert _OBJECT == _KIND + 1 and _TID == _KIND + 2  # _relabel replaces the three at once
_STACK_SHAPE = "the rw- region above it (the shape of a thread's stack)"
_JIT_CODE = "JIT code"
_RESERVED_KIND = kinds.RESERVED
_GLIBC_NAMED = "[anon: glibc: "
_GLIBC_STACKS = ("pthread stack: ", "pthread user stack: ")


def _relabel(r: Region, kind: str, obj: str | None, tid: int | None) -> Region:
    # Three times faster than Region._replace, which matters at 60 000 regions.
    return tuple.__new__(Region, r[:_KIND] + (kind, obj, tid) + r[_AFTER_TID:])


def classify_regions(regions: Sequence[Region], facts: ClassifyFacts | None = None) -> list[Region]:
    """A new list of regions with refined ``kind``, ``object`` and ``tid``."""
    facts = facts if facts is not None else NO_FACTS
    # Relabelling tens of thousands of regions allocates as many tuples, and each 700
    # allocations start a collection that walks the caller's heap too (a TUI's is big):
    # without the pause that more than doubled the time. Nothing here makes cycles.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        out = classify_objects(regions, facts)
        if facts.stack_pointers:
            mark_thread_stacks(out, facts.stack_pointers)
        name_stack_guards(out)
    finally:
        if paused:
            gc.enable()
    return out


def classify_columns(regions: RegionColumns, facts: ClassifyFacts | None = None) -> RegionColumns:
    """``classify_regions`` for a map held as columns, giving columns: the same regions,
    never a list of all of them (a Region is made for each in turn, and dropped)."""
    facts = facts if facts is not None else NO_FACTS
    # Most regions keep the kind their line gave them: only the relabelled ones are
    # kept (by index), and patched into a copy of the arrays at the end.
    patched = _Patched(regions)
    rows = patched.rows
    # Rows as plain tuples (no Region made: ~0.5 µs a row), read by index; and not the
    # runs of plain anonymous memory no rule can touch.
    rows_in = _PlainRows(regions)
    arena_rows: list[tuple[int, int]] = []
    classified = _classified_objects(_rows_to_classify(regions), rows_in, facts, arena_rows)
    for i, r, as_it_came in classified:
        if r is not as_it_came:
            rows[i] = r
    _number_arenas_from_the_top(patched, arena_rows)
    if facts.stack_pointers:
        mark_thread_stacks(patched, facts.stack_pointers)
    name_stack_guards(patched)
    return regions.replaced(rows)


def _rows_to_classify(regions: RegionColumns) -> Iterator[tuple[int, tuple]]:
    """(index, row as a plain tuple) of the regions classification must look at: all but
    those that are plain anonymous memory (no file, no name, kind ``anon``), not on a
    64 MiB boundary (no arena), right after another such region. For those no rule can
    apply: they are not an arena, the one before them is not an object's data (no bss)
    or a small no-access region (no guard shape), and as the one before the next region
    they are neither no-access nor code nor an object's part, so they make no rule
    apply to it either; a region after a skipped run is not next to the last one
    classified, and every rule that looks back wants the one right before it. A map of
    a million anonymous pages is classified in a few passes in C."""
    n = len(regions)
    kind_table, path_table = regions.distinct("kind"), regions.distinct("path")
    if n < 2 or kinds.ANON not in kind_table or "" not in path_table:
        yield from enumerate(regions.plain_rows())
        return
    # A byte a region, 1 where it is plain anonymous memory (in C: see columns' masks).
    plain = mask_and(
        zero_mask(regions.numbers[3]),  # no inode
        regions.name_mask("kind", kinds.ANON),
        regions.name_mask("path", ""),
    )
    aligned = zero_mask(regions.starts, low_bits=ARENA_HEAP.bit_length() - 1)
    skip = mask_and(plain, after_mask(plain), mask_not(aligned))
    for run in re.finditer(rb"\x00+", skip):
        lo, hi = run.span()
        yield from zip(range(lo, hi), regions.rows_between(lo, hi), strict=True)


class _PlainRows(Sequence):
    """Columns as a sequence of plain tuples in Region's field order (iterating makes
    no Region; indexing, rare here, gives a Region)."""

    def __init__(self, base: RegionColumns) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        return self.base[i]

    def __iter__(self) -> Iterator[tuple]:
        return self.base.plain_rows()


class _Patched:
    """Columns seen through the regions replaced in them (``rows``, by index): what
    mark_thread_stacks and name_stack_guards change in place in a list."""

    def __init__(self, base: RegionColumns) -> None:
        self.base = base
        self.rows: dict[int, Region] = {}

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> Region:
        if i < 0:
            i += len(self.base)
        row = self.rows.get(i)
        return row if row is not None else self.base[i]

    def __setitem__(self, i: int, region: Region) -> None:
        self.rows[i] = region

    def __iter__(self) -> Iterator[Region]:
        rows = self.rows
        for i, r in enumerate(self.base):
            yield rows.get(i, r)

    def indexes_of_kind(self, kind: str) -> list[int]:
        """The indexes of the regions of this kind, in order (in C but for the rows
        replaced)."""
        found = set(where(self.base.name_mask("kind", kind)))
        for i, r in self.rows.items():
            if r[_KIND] == kind:
                found.add(i)
            else:
                found.discard(i)
        return sorted(found)


def _is_arena(r: Region, nxt: Region | None) -> bool:
    """The usable part of a glibc heap of a non-main arena (see module docstring)."""
    if r[_START] % ARENA_HEAP or r[_PERMS] != "rw-p" or r[_PATH] or r[_INODE]:
        return False
    size = r[_END] - r[_START]
    if size == ARENA_HEAP:
        return True
    return (
        size < ARENA_HEAP
        and nxt is not None
        and nxt[_START] == r[_END]
        and nxt[_KIND] in _NO_ACCESS
        and not nxt[_INODE]
        and not nxt[_PATH]
        and nxt[_END] == r[_START] + ARENA_HEAP
    )


def _is_guard_below(guard: Region | None, r: Region) -> bool:
    """Is ``guard`` a small no-access anonymous region touching ``r`` (either side)?"""
    return (
        guard is not None
        and (guard[_KIND] is _RESERVED_KIND or guard[_KIND] == kinds.GUARD)
        and (guard[_END] == r[_START] or guard[_START] == r[_END])
        and guard[_END] - guard[_START] <= GUARD_MAX
        and not guard[_INODE]
        and not guard[_PATH]
        and (guard[_OBJECT] is None or guard[_KIND] == kinds.GUARD)
    )


def classify_objects(regions: Sequence[Region], facts: ClassifyFacts = NO_FACTS) -> list[Region]:
    """Everything but thread stacks and guards: ELF objects (text, rodata, relro, data,
    bss, gap), arenas and their reserved tails, devices, SysV segments."""
    arena_rows: list[tuple[int, int]] = []
    out = [r for _, r, _ in _classified_objects(enumerate(regions), regions, facts, arena_rows)]
    _number_arenas_from_the_top(out, arena_rows)
    return out


def _number_arenas_from_the_top(out, arena_rows: list[tuple[int, int]]) -> None:
    """In place: arena N of M (numbered going up the map) becomes arena M + 1 - N.
    glibc maps each new arena below the last (mmap goes down), so numbered from the
    top an arena keeps its number as the program makes more: the log's "arena 3" is
    the table's "arena 3" minutes later (numbered from the bottom, the newest arena was
    always 1 and every other one moved up)."""
    if not arena_rows:
        return
    total = max(n for _, n in arena_rows)
    for i, n in arena_rows:
        r = out[i]
        out[i] = _relabel(r, r[_KIND], f"arena {total + 1 - n}", r[_TID])


def _exec_objects(regions: Sequence[Region]) -> set[tuple[str, int]]:
    """(dev, inode) of every file with an executable (text) mapping."""
    if isinstance(regions, _PlainRows):
        regions = regions.base
    if isinstance(regions, RegionColumns):
        if kinds.TEXT not in regions.distinct("kind"):
            return set()
        rows = where(regions.name_mask("kind", kinds.TEXT))
        dev, inode = regions.distinct("dev"), regions.numbers[3]
        return {(dev[regions.names[1][i]], inode[i]) for i in rows if inode[i]}
    return {(r.dev, r.inode) for r in regions if r.kind == kinds.TEXT and r.inode}


def _uses_cuda(regions: Sequence[Region]) -> bool:
    """Does some region map /dev/nvidia-uvm (the process uses CUDA)?"""
    if isinstance(regions, _PlainRows):
        regions = regions.base
    if isinstance(regions, RegionColumns):
        return next(where(regions.name_mask("path", cuda.UVM)), None) is not None
    return any(r[_PATH] == cuda.UVM for r in regions)


def _touches_driver_mapping(r: Region, prev: Region | None, nxt: Region | None) -> bool:
    """Is the region right beside an NVIDIA device mapping or shared anonymous memory?"""
    return (
        prev is not None
        and prev[_END] == r[_START]
        and cuda.is_driver_mapping(prev[_PATH], prev[_PERMS])
    ) or (
        nxt is not None
        and nxt[_START] == r[_END]
        and cuda.is_driver_mapping(nxt[_PATH], nxt[_PERMS])
    )


def _classified_objects(
    rows: Iterable[tuple[int, Region]],
    regions: Sequence[Region],
    facts: ClassifyFacts,
    arena_rows: list[tuple[int, int]],
) -> Iterator[tuple[int, Region, Region]]:
    """classify_objects, one region at a time, in order: (index, classified, as it
    came). ``rows``: (index, region) of every region of ``regions``, or of all but runs
    that no rule can touch (see ``_rows_to_classify``). Arenas are numbered going up;
    ``arena_rows`` gets (index, number) of each arena and tail, for the caller to
    number them from the top once all are seen."""
    TEXT, DATA, RODATA, RELRO, BSS, GAP = (
        kinds.TEXT,
        kinds.DATA,
        kinds.RODATA,
        kinds.RELRO,
        kinds.BSS,
        kinds.GAP,
    )
    ANON, ARENA, RESERVED, STACK = kinds.ANON, kinds.ARENA, kinds.RESERVED, kinds.STACK
    GUARD, JIT = kinds.GUARD, kinds.JIT
    NO_ACCESS, OBJECT_KINDS, RW_ANON = _NO_ACCESS, _OBJECT_KINDS, _RW_ANON_KINDS
    bss_after = facts.bss_after_data
    exec_objects = _exec_objects(regions)
    uses_cuda = _uses_cuda(regions)
    # Each region is final once the next one is seen (only the one before can be
    # relabelled): ``held`` waits for that, and what is final is yielded, so classified
    # columns are built without a list of every region.
    held: Region | None = None
    held_as_it_came: Region | None = None
    held_at = -1
    prev: Region | None = None
    arenas = 0
    tail_start = -1  # start of the no-access tail of the arena just seen
    n = len(regions)
    for i, r in rows:
        as_it_came = r
        k = r[_KIND]
        if r[_INODE]:
            if k in OBJECT_KINDS and (r[_DEV], r[_INODE]) in exec_objects:
                p = r[_PERMS]
                if p[:3] == "---":
                    kind = GAP
                elif p[2] == "x":
                    kind = TEXT
                elif p[1] == "w":
                    kind = DATA
                    # The r-- part of the data segment right below: RELRO.
                    if (
                        prev is not None
                        and prev[_KIND] == RODATA
                        and prev[_END] == r[_START]
                        and prev[_INODE] == r[_INODE]
                        and prev[_DEV] == r[_DEV]
                    ):
                        prev = held = _relabel(prev, RELRO, prev[_OBJECT], prev[_TID])
                else:
                    kind = RODATA
                if kind != k or r[_OBJECT] != r[_PATH]:
                    r = _relabel(r, kind, r[_PATH], r[_TID])
            elif k == kinds.DEVICE:
                name = device_name(r[_PATH])
                if r[_OBJECT] != name:
                    r = _relabel(r, k, name, r[_TID])
            elif k == kinds.SHM and r[_PATH].startswith(SYSV_PREFIX):
                described = describe_sysv(r[_PATH], r[_INODE], facts.sysv)
                if r[_OBJECT] != described:
                    r = _relabel(r, k, described, r[_TID])
            elif uses_cuda and k == kinds.SHM and cuda.is_pinned_shape(r[_PATH], r[_PERMS]):
                if r[_OBJECT] != cuda.PINNED:
                    r = _relabel(r, k, cuda.PINNED, r[_TID])
        elif r[_PATH]:
            if k == STACK and r[_PATH].startswith("[stack:"):
                # Kernels before 4.5 named thread stacks themselves: "[stack:TID]".
                tid = r[_PATH][7:-1]
                if tid.isdigit():
                    r = _relabel(r, kinds.THREAD_STACK, r[_OBJECT], int(tid))
            elif r[_PATH].startswith(_GLIBC_NAMED):
                # glibc 2.40+ with glibc.mem.decorate_maps=1 names its own mappings.
                named = r[_PATH][len(_GLIBC_NAMED) :]
                if named == "malloc arena]":
                    arenas += 1
                    tail_start = r[_END]
                    r = _relabel(r, ARENA, f"arena {arenas}", None)
                    arena_rows.append((i, arenas))
                elif named.startswith(_GLIBC_STACKS) and named[-1:] == "]":
                    tid = named[named.rfind(" ") + 1 : -1]
                    tid_n = int(tid) if tid.isdigit() else None
                    r = _relabel(r, kinds.THREAD_STACK, r[_OBJECT], tid_n)
        elif k in RW_ANON:
            if not r[_START] % ARENA_HEAP and _is_arena(r, regions[i + 1] if i + 1 < n else None):
                arenas += 1
                tail_start = r[_END]
                r = _relabel(r, ARENA, f"arena {arenas}", r[_TID])
                arena_rows.append((i, arenas))
            elif (
                prev is not None
                and prev[_KIND] == DATA
                and prev[_END] == r[_START]
                and prev[_INODE]
                and r[_PERMS] == "rw-p"
                and bss_after.get(prev[_START]) != 0
            ):
                r = _relabel(r, BSS, prev[_OBJECT], r[_TID])
            elif k != ANON:
                r = _relabel(r, ANON, None, r[_TID])
            if (
                prev is not None
                and prev[_KIND] == RESERVED
                and prev[_END] == r[_START]
                and prev[_END] - prev[_START] <= GUARD_MAX
                and r[_KIND] == ANON
                and r[_PERMS] == "rw-p"
                and prev[_OBJECT] is None
                and not prev[_INODE]
                and not prev[_PATH]
            ):
                # A small no-access region below rw- memory: a thread stack's shape.
                # name_stack_guards says whose once thread stacks are known.
                held = _relabel(prev, GUARD, _STACK_SHAPE, None)
        elif k == JIT:
            if _is_guard_below(prev, r):
                held = _relabel(prev, GUARD, _JIT_CODE, None)
        elif k in NO_ACCESS:
            if r[_START] == tail_start:
                r = _relabel(r, RESERVED, f"arena {arenas}", None)
                arena_rows.append((i, arenas))
            elif (
                prev is not None
                and prev[_OBJECT]
                and prev[_END] == r[_START]
                and prev[_INODE]
                and i + 1 < n
                and (nxt := regions[i + 1])[_START] == r[_END]
                and nxt[_INODE] == prev[_INODE]
                and nxt[_DEV] == prev[_DEV]
                and (nxt[_DEV], nxt[_INODE]) in exec_objects
            ):
                # Between two parts of one object: the loader reserved the whole span.
                r = _relabel(r, GAP, prev[_OBJECT], None)
            elif prev is not None and prev[_KIND] == JIT and _is_guard_below(r, prev):
                r = _relabel(r, GUARD, _JIT_CODE, None)
            elif (
                uses_cuda
                # A guard's size is left to the guard rules: in the recording, a thread's
                # guard page sits right on a /dev/nvidia0 mapping.
                and r[_END] - r[_START] > GUARD_MAX
                and _touches_driver_mapping(r, prev, regions[i + 1] if i + 1 < n else None)
            ):
                if k != RESERVED or r[_OBJECT] != cuda.RESERVE:
                    r = _relabel(r, RESERVED, cuda.RESERVE, None)
            elif k != RESERVED or r[_OBJECT] is not None:
                r = _relabel(r, RESERVED, None, None)
        if held is not None:
            yield held_at, held, held_as_it_came
        held = prev = r
        held_as_it_came = as_it_came
        held_at = i
    if held is not None:
        yield held_at, held, held_as_it_came


def mark_thread_stacks(regions: list[Region], stack_pointers: dict[int, int | None]) -> None:
    """Mark, in place, the regions holding threads' stacks."""
    starts = regions.base.starts if isinstance(regions, _Patched) else [r.start for r in regions]
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
        if r.start <= sp < r.end and r.kind in _STACK_CANDIDATE_KINDS:
            held.setdefault(i, []).append(tid)
    for i, tids in held.items():
        r = regions[i]
        listed = None if len(tids) == 1 else "threads " + ", ".join(map(str, tids))
        regions[i] = _relabel(r, kinds.THREAD_STACK, listed, tids[0])
    if not unknown:
        return
    # Candidates: rw-p anonymous right above a no-access anonymous region. There can be
    # more than unknown threads (other programs make that layout too): keep the ones
    # with the smallest guard, as glibc's default guard is one page.
    ANON = kinds.ANON
    candidates: list[tuple[int, int]] = []
    guard: Region | None = None
    for i, r in enumerate(regions):
        if (
            guard is not None
            and r.kind == ANON
            and guard.end == r.start
            and r.perms == "rw-p"
            and not r.path
        ):
            candidates.append((guard.end - guard.start, i))
        guard = r if r.kind in _NO_ACCESS and not r.inode and not r.path else None
    # One thread unknown and exactly one such region: by elimination, it is that thread's.
    tid = unknown[0] if len(unknown) == 1 == len(candidates) else None
    if len(candidates) > len(unknown):
        candidates = heapq.nsmallest(len(unknown), candidates)
    for _guard_size, i in candidates:
        r = regions[i]
        regions[i] = _relabel(r, kinds.THREAD_STACK, r.object, tid)


# What a guard page's object says it guards (name_stack_guards).
MAIN_STACK_OWNER = "the main thread's stack"
THREAD_STACK_OWNERS = ("the stack of ", "a thread's stack")


def _stack_owner(r: Region) -> str:
    if r.kind == kinds.STACK and not r.path.startswith("[stack:"):
        return MAIN_STACK_OWNER
    if r.object and r.object.startswith("threads "):
        return f"the stack of {r.object}"
    if r.tid is not None:
        return f"the stack of thread {r.tid}"
    return "a thread's stack"


def name_stack_guards(regions: list[Region]) -> None:
    """In place: the small no-access region right below each thread stack is its guard,
    and says whose."""
    THREAD_STACK = kinds.THREAD_STACK
    if isinstance(regions, _Patched):
        stacks = regions.indexes_of_kind(THREAD_STACK)
    else:
        stacks = list(compress(count(), map(eq, map(_GET_KIND, regions), repeat(THREAD_STACK))))
    for i in stacks:
        below = regions[i - 1] if i else None
        if _is_guard_below(below, regions[i]) and below.end == regions[i].start:
            owner = _stack_owner(regions[i])
            if below.kind != kinds.GUARD or below.object != owner:
                regions[i - 1] = _relabel(below, kinds.GUARD, owner, None)
