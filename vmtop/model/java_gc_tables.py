"""A HotSpot JVM's collector's tables, found in its map by their pattern of committed
and no-access parts (``java_native_regions`` names them; ``java_gc_whole`` finds the
structures committed whole by their size alone, ``java_zgc_tables`` ZGC's).

The collector's data structures mirror the heap: tables of a byte for every 512 heap
bytes (card tables, block offset tables) and bitmaps of a bit for every 8 or 4 (mark
bitmaps), each reserved for the whole heap and committed, a page at a time, where the
heap is. From the named heap's committed parts, the collector and the generations'
sizes (hsperfdata), each table's size and its exact pattern of committed and
no-access parts are known, and it is found where the map has that pattern: G1 three
tables (heap/512) and two mark bitmaps (heap/64) in JDK 17, two tables and one bitmap
in JDK 25, then its mark stack (32 MiB, committed whole) where it lies right below
them; Parallel and Serial a card table (JDK 17: heap/512 and a committed guard page;
JDK 25: heap/512) and an object start array / block offset table over the old
generation (Serial's one entry longer); Shenandoah its marking bitmap (heap/32). A
pattern must be seen as many times as the collector makes the table, and only a
committed edge may run on past it (a no-access one that does belongs to a bigger
reservation, a glibc arena's); one with a glibc arena's shape is seen but not named.
Where the JVM's release is not among the facts (``JavaFacts.version``: hsperfdata
unread), each release's layout is tried, and one is taken only where it alone explains
the map (``collector_tables``).
With transparent huge pages (-XX:+UseTransparentHugePages) G1 and Shenandoah commit
their tables of 2 MiB or more in 2 MiB pages: that layout is tried where no other
explains the map.
Shenandoah's collection set map (a byte per region, indexed by address, so reserved
from a low address up to the heap's end's byte: 254 MiB for a 1 GiB heap without
compressed oops) is a table like the others; Shenandoah's second bitmap, never
committed, is named only where it is the one no-access region of its size above no
committed memory (JDK 17; JDK 25 maps it right below the first, where it merges with a
glibc arena's no-access top).
G1's tables over a heap committed whole (-Xms = -Xmx, or grown to its maximum) have no
pattern: reserved one after the other and all committed, the kernel merges those
placed side by side into regions of their summed sizes (JDK 17: 2 × heap/64 + 3 ×
heap/512, 38 MiB in all for 1 GiB; JDK 25: heap/64 + 2 × heap/512, 20 MiB), taken
where exactly one set of free rw-p regions of such sizes adds up to all of one
layout's, of both layouts. G1's mark stack mapped away from the bitmaps is found by
its size alone (``java_gc_whole``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import combinations, product
from typing import NamedTuple

from vmtop.model.facts import JavaFacts
from vmtop.model.java_anon_rows import (
    NONE,
    PAGE,
    RW,
    AnonRows,
    anonymous,
    arena_shaped,
    free,
    merged,
    overlaps,
)
from vmtop.model.java_gc_sizes import (
    G1,
    G1_MARK_STACK,
    PARALLEL,
    SERIAL,
    SHENANDOAH,
    align,
    free_rw_of_size,
    of_release,
    region_sizes,
)
from vmtop.model.java_gc_whole import g1_lone_mark_stack
from vmtop.model.region_rows import END, PERMS, START

# More free rw-p regions of a size G1's tables committed whole can have than this: no
# choice among them is made.
_WHOLE_CANDIDATES_MAX = 12
# Releases from which JDK 25's layouts are certain, and before which JDK 17's are: G1's
# one mark bitmap and no card counts table came with JDK 20 (JDK-8210708); the guard
# card of Parallel's and Serial's card tables went between 18 and 25 (measured on 17
# and 25 only).
_G1_ONE_BITMAP_FROM = (20, 20)
_NO_GUARD_CARD_BY = (18, 25)
_LARGE_PAGE = 2 << 20  # a transparent huge page (x86-64)
# Shenandoah's collection set map is looked for only with a no-access part this big.
_CSET_GAP_MIN = 1 << 20
_NO_END = 1 << 64  # sorts after any end: (lo, _NO_END) bisects past parts starting at lo


class HeapSpan(NamedTuple):
    """The named Java heap: the index of its first and last region wholly inside (none
    where ``last`` is below ``first``), its base and its end. The base lies below the
    first region's start where the kernel merged the heap's committed base with a
    neighbour's committed memory (that region, partly the heap's, is committed up to
    the first's start); the end above the last region's end where it merged the heap's
    committed top with what lies above (the class space's committed base, JDK 17)."""

    first: int
    last: int
    base: int
    end: int


class Table(NamedTuple):
    """A reservation of the collector that mirrors the heap."""

    size: int
    count: int  # how many of it the collector reserves
    committed: tuple[tuple[int, int], ...]  # its committed parts, from its base
    bitmap: bool = False  # G1's mark bitmap (its mark stack lies right below)


def collector_tables(
    rows: AnonRows, java: JavaFacts, heap: HeapSpan, no_access: list[tuple[int, int, int]]
) -> tuple[list[tuple[int, int]], bool]:
    """The [start, end) of each table of the collector found, and whether every one
    that has a pattern was seen (one unseen could pass for a metaspace node). Of the
    layouts HotSpot releases give the collector (``_gc_layouts``), the one that
    explains the map: where every table is seen as many times as it makes it. Two
    that do must agree on where the tables start (a card table with a guard page or
    without, from the same base), or none is taken; where none does, the tables the
    first (JDK 17's) sees as many times as it makes them."""
    layouts = _gc_layouts(java, rows, heap)
    if layouts is None:
        return [], False  # a collector not known here
    if java.collector == G1 and all(t.committed == ((0, t.size),) for t in layouts[0]):
        return _with_lone_mark_stack(rows, _g1_tables_committed_whole(rows, layouts)), True
    by_size = sorted((end - start, start, end) for _, start, end in no_access)
    results = [_layout_places(rows, java, by_size, tables) for tables in layouts]
    explained = [found for found, complete in results if complete]
    if not explained and java.collector in (G1, SHENANDOAH):
        # Transparent huge pages (-XX:+UseTransparentHugePages): G1 and Shenandoah
        # commit each table of 2 MiB or more in 2 MiB pages. Tried only where no layout
        # of small pages explains the map, and taken only where a table is seen (G1's
        # tables of 2 MiB, committed whole, have no pattern).
        large = _gc_layouts(java, rows, heap, _LARGE_PAGE) or []
        found_large = [_layout_places(rows, java, by_size, tables) for tables in large]
        explained = [found for found, complete in found_large if complete and found]
    if not explained:
        return results[0][0], False
    if len({frozenset(lo for lo, _ in found) for found in explained}) > 1:
        return [], False  # the map fits two layouts that disagree: no choice is made
    if java.collector == SHENANDOAH:
        size = heap.end - heap.base
        return [*explained[0], *_shenandoah_aux_bitmap(rows, no_access, size)], True
    if java.collector == G1:
        return _with_lone_mark_stack(rows, explained[0]), True
    return explained[0], True


def _with_lone_mark_stack(rows: AnonRows, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """G1's tables ``found``, and its mark stack where it lies on its own."""
    lone = g1_lone_mark_stack(rows)
    return found if not lone or overlaps(lone[0], found) else [*found, *lone]


def _shenandoah_aux_bitmap(
    rows: AnonRows, no_access: list[tuple[int, int, int]], heap_size: int
) -> list[tuple[int, int]]:
    """Shenandoah's second marking bitmap (heap/32, for heap dumps and verification),
    reserved and never committed: taken where exactly one free no-access region is of
    its size and lies right above no committed memory (the uncommitted top of a glibc
    arena, a metaspace node, another reservation committed from its base, lies right
    above its committed part). JDK 17 maps it on its own; JDK 25 right below the first
    bitmap, where the kernel merges it with the no-access top of what lies below (a
    glibc arena's): that region, not only the bitmap, is never of its size."""
    size = heap_size // 32
    found = []
    for i, start, end in no_access:
        if end - start != size or not free(rows[i]):
            continue
        below = rows[i - 1] if i else None
        if below is not None and below[END] == start and below[PERMS] != NONE:
            continue
        found.append((start, end))
    return found if len(found) == 1 else []


def _layout_places(
    rows: AnonRows, java: JavaFacts, by_size: list, tables: list[Table]
) -> tuple[list[tuple[int, int]], bool]:
    """The tables of one layout found, and whether every one with a pattern was."""
    found: list[tuple[int, int]] = []
    seen: list[tuple[int, int]] = []  # found, and those with an arena's shape too
    complete = True
    bitmaps: list[tuple[int, int]] = []
    # In the order _gc_layouts gives, the most telling pattern first: a place inside one
    # already seen is not another's (a block offset table's is a card table's top).
    for table in tables:
        placed = [p for p in _table_places(rows, by_size, table) if not overlaps(p, seen)]
        if len(placed) == table.count:
            seen.extend((lo, hi) for lo, hi, _ in placed)
            found.extend((lo, hi) for lo, hi, arena in placed if not arena)
            if table.bitmap:
                bitmaps = [(lo, hi) for lo, hi, _ in placed]
        elif _gaps(table) and table.committed:
            complete = False
    if bitmaps:
        found.extend(_g1_mark_stack(rows, min(bitmaps)[0]))
    return found, complete


def _gc_layouts(
    java: JavaFacts, rows: AnonRows, heap: HeapSpan, large_page: int = 0
) -> list[list[Table]] | None:
    """The tables of the collector, sized and committed after the heap as it is now,
    in each layout HotSpot releases give it, JDK 17's first; None for a collector not
    known here. G1: three tables of a byte per 512 heap bytes (block offsets, cards,
    card counts) and two mark bitmaps in JDK 17; two tables and one bitmap in JDK 25
    (JDK 20 dropped the card counts and the second bitmap). Parallel and Serial: the
    card table one byte longer than heap/512, its last page committed (a guard card),
    in JDK 17, and Serial's block offset table committed one entry further; heap/512
    and not in JDK 25. ``large_page``: G1's and Shenandoah's tables of at least that
    size committed in pages of that size (transparent huge pages)."""
    base = heap.base
    size = heap.end - base
    inside = heap.first <= heap.last
    lo = rows[heap.first][START] if inside else heap.end
    hi = rows[heap.last][END] if inside else heap.end
    committed: list[tuple[int, int]] = []
    if base < lo:  # (its committed base, merged with what lies below)
        committed.append((0, lo - base))
    if hi < heap.end:  # (its committed top, merged with what lies above)
        committed.append((hi - base, size))
    for i in range(heap.first, heap.last + 1):
        r = rows[i]
        if r[PERMS] != NONE:
            committed.append((r[START] - base, r[END] - base))
    committed = list(merged(committed))
    c = java.collector
    if c == G1:
        page = large_page if large_page and size // 512 >= large_page else PAGE
        tables = _scaled(committed, 0, size, 512, size // 512, page=page)
        page = large_page if large_page and size // 64 >= large_page else PAGE
        bitmap = _scaled(committed, 0, size, 64, size // 64, page=page)
        return of_release(
            java.version,
            [Table(size // 512, 3, tables), Table(size // 64, 2, bitmap, True)],
            [Table(size // 512, 2, tables), Table(size // 64, 1, bitmap, True)],
            _G1_ONE_BITMAP_FROM,
        )
    if c == SHENANDOAH:
        page = large_page if large_page and size // 32 >= large_page else PAGE
        bitmap = Table(size // 32, 1, _scaled(committed, 0, size, 32, size // 32, page=page))
        cset = _shenandoah_cset_map(heap)
        if max((hi - lo for lo, hi in _gaps(cset)), default=0) < _CSET_GAP_MIN:
            return [[bitmap]]  # (too small a pattern to be told from any other)
        return [[bitmap, cset]]
    if c not in (PARALLEL, SERIAL) or large_page:
        return None
    young, old = java.young_max, java.old_max
    if not young or not old or young + old != size:
        return None
    # The card table: a byte per 512 heap bytes (JDK 17: and one more, a guard card
    # whose page is committed).
    guarded = align(size // 512 + 1)
    guarded_parts = merged((*_scaled(committed, 0, size, 512, guarded), (guarded - PAGE, guarded)))
    cards = align(size // 512)
    starts = starts_then = align(old // 512)
    if c == PARALLEL:  # the old generation at the heap's base; its object start array
        start_parts = start_parts_now = _scaled(committed, 0, old, 512, starts)
    else:  # Serial: the young generation first; its block offset table (JDK 17: one
        # entry more, reserved and committed: a page more where old/512 fills its pages,
        # -Xmx3g's 2 GiB old generation)
        starts_then = align(old // 512 + 1)
        start_parts = _scaled(committed, young, size, 512, starts_then, extra=1)
        start_parts_now = _scaled(committed, young, size, 512, starts)
    return of_release(
        java.version,
        [Table(guarded, 1, guarded_parts), Table(starts_then, 1, start_parts)],  # (cards first)
        [
            Table(cards, 1, _scaled(committed, 0, size, 512, cards)),
            Table(starts, 1, start_parts_now),
        ],
        _NO_GUARD_CARD_BY,
    )


def _shenandoah_cset_map(heap: HeapSpan) -> Table:
    """Shenandoah's collection set map: a byte per heap region, indexed by address
    (address >> log2(region size)) from its base, so reserved from its base up to
    the byte of the heap's end (a low address, tried at powers of two from a page;
    without compressed oops the heap lies high: 254 MiB for 1 GiB), committed in the
    heap's bytes and in its first page (a zero page, for null). The region size is
    HotSpot's default: heap/2048, rounded down to a power of two, 256 KiB to 32 MiB
    (with transparent huge pages 2 MiB at least: the map is not found where that made
    it other). With compressed oops, a few pages, committed whole or all but one: no
    pattern to tell (``_CSET_GAP_MIN``)."""
    size = heap.end - heap.base
    region = min(max(size // 2048, 256 << 10), 32 << 20)
    shift = region.bit_length() - 1
    end = align(heap.end >> shift)
    return Table(end, 1, merged(((0, PAGE), ((heap.base >> shift) // PAGE * PAGE, end))))


def _scaled(
    committed, lo: int, hi: int, factor: int, size: int, extra: int = 0, page: int = PAGE
) -> tuple:
    """The parts of a table of a byte per ``factor`` heap bytes of [lo, hi) that are
    committed for the heap's committed parts: whole pages, a page if any of it is."""
    parts = []
    for a, b in committed:
        a, b = max(a, lo), min(b, hi)
        if a < b:
            start = (a - lo) // factor // page * page
            parts.append((start, min(size, align(-(-(b - lo) // factor) + extra, page))))
    return merged(parts)


def _gaps(table: Table) -> list[tuple[int, int]]:
    """The no-access parts of a table, from its base."""
    out, at = [], 0
    for lo, hi in table.committed:
        out.append((at, lo))
        at = hi
    out.append((at, table.size))
    return [(lo, hi) for lo, hi in out if lo < hi]


def _table_places(rows: AnonRows, by_size: list, table: Table) -> list[tuple[int, int, bool]]:
    """Every (start, end, arena) in the map where the table is, ``arena`` where that
    has a glibc arena's shape too: found from a no-access part of its pattern (one
    with committed memory on both sides if it has one: its size is exact) among the
    no-access regions ``by_size`` ((size, start, end), sorted), checked over the
    whole pattern."""
    gaps = _gaps(table)
    if not gaps or not table.committed:
        return []  # all no-access, or all committed: no pattern to find
    inner = [g for g in gaps if 0 < g[0] and g[1] < table.size]
    lo, hi = (inner or gaps)[0]
    first = bisect_left(by_size, (hi - lo,))
    if inner:
        found = by_size[first : bisect_left(by_size, (hi - lo + 1,))]
        bases = {start - lo for _, start, _ in found}
    elif lo > 0:  # at its top: the no-access region may go on above it
        bases = {start - lo for _, start, _ in by_size[first:]}
    else:  # at its base
        bases = {end - hi for _, _, end in by_size[first:]}
    out = []
    for base in sorted(bases):
        arena = _pattern_at(rows, base, table)
        if arena is not None:
            out.append((base, base + table.size, arena))
    return out


def _pattern_at(rows: AnonRows, base: int, table: Table) -> bool | None:
    """Whether the regions over [base, base + size) are free anonymous memory committed
    just where the table is: None if not, else whether they have a glibc arena's shape
    too. Only a committed edge may run on past the table (merged with a neighbour's
    committed memory): a no-access one that does is a bigger reservation's (a glibc
    arena whose head is a table's committed part, its no-access rest going on past)."""
    end = base + table.size
    first = rows.containing(base)
    if first is None:
        return None
    k, at = first, rows[first][START]
    while True:
        r = rows[k]
        if r[START] != at:
            return None
        if not (free(r) or anonymous(r) and r[PERMS] == RW):
            return None
        if r[PERMS] == NONE and (r[START] < base or r[END] > end):
            return None
        lo, hi = max(r[START], base) - base, min(r[END], end) - base
        if _committed_over(table.committed, lo, hi) != (r[PERMS] == RW):
            return None
        if r[END] >= end:
            break
        at, k = r[END], k + 1
        if k >= len(rows):
            return None
    # (Every transition is seen, and a no-access edge ends there: two points at least.)
    return arena_shaped(rows, first, k, base, end)


def _committed_over(parts, lo: int, hi: int) -> bool | None:
    """True where [lo, hi) is all committed, False where none of it is, else None."""
    k = bisect_right(parts, (lo, _NO_END)) - 1
    if k >= 0 and lo < parts[k][1]:
        return True if hi <= parts[k][1] else None
    return False if k + 1 >= len(parts) or hi <= parts[k + 1][0] else None


def _g1_tables_committed_whole(rows: AnonRows, layouts: list[list[Table]]) -> list[tuple[int, int]]:
    """G1's tables over a heap committed whole (five in JDK 17, three in JDK 25): each
    committed whole, and those reserved next to each other merged by the kernel (the
    mark stack, committed whole too, with them where it lies beside them), so the map
    has free rw-p regions of i bitmaps, j tables and k mark stacks (i × heap/64 + j ×
    heap/512 + k × 32 MiB). Taken where exactly one set of such regions, each holding
    a table, holds a layout's tables (and the stack or not), of all layouts; where the
    sizes allow several such sets, the regions in all of them. (Sizes found in C: a
    JVM's map can have 250 000 regions.)"""
    bitmap = next(t.size for t in layouts[0] if t.bitmap)
    table = next(t.size for t in layouts[0] if not t.bitmap)
    wanted = {
        (sum(t.count for t in tables if t.bitmap), sum(t.count for t in tables if not t.bitmap))
        for tables in layouts
    }
    most_i, most_j = max(i for i, _ in wanted), max(j for _, j in wanted)
    shapes: dict[int, list[tuple[int, int, int]]] = {}
    for i, j, k in product(range(most_i + 1), range(most_j + 1), range(2)):
        if i or j:  # (a region of the stack alone, 32 MiB of anything, says nothing)
            shapes.setdefault(i * bitmap + j * table + k * G1_MARK_STACK, []).append((i, j, k))
    sizes = region_sizes(rows)
    found: list[tuple[int, int, list[tuple[int, int, int]]]] = []
    for size, made_of in shapes.items():
        for r in free_rw_of_size(rows, sizes, size):
            found.append((r[START], r[END], made_of))
            if len(found) > _WHOLE_CANDIDATES_MAX:
                return []
    ways = []
    for n in range(1, min(len(found), 6) + 1):
        for pick in combinations(found, n):
            for parts in product(*(made_of for _, _, made_of in pick)):
                i, j, k = map(sum, zip(*parts, strict=True))
                if (i, j) in wanted and k <= 1:
                    ways.append(pick)
    if not ways:
        return []
    # Where the sizes allow more than one reading, the regions every reading takes: a
    # lone 32 MiB (the mark stack, or two 16 MiB bitmaps) beside the five merged in
    # 38 MiB (or three tables and the stack) leaves the 38 MiB named, the 32 not.
    common = set.intersection(*({(lo, hi) for lo, hi, _ in way} for way in ways))
    return sorted(common)


def _g1_mark_stack(rows: AnonRows, bitmaps: int) -> list[tuple[int, int]]:
    """G1's mark stack, reserved and committed whole right after the two mark bitmaps,
    so mapped right below them where there is room: taken where a free rw-p region
    starts exactly its size below the lower bitmap (``bitmaps``) and runs into it."""
    k = rows.containing(bitmaps - 1)
    if k is None:
        return []
    r = rows[k]
    if r[START] != bitmaps - G1_MARK_STACK or r[PERMS] != RW or not free(r):
        return []
    return [(bitmaps - G1_MARK_STACK, bitmaps)]
