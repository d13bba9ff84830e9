"""A HotSpot JVM's ZGC's data structures, found in its map (``java_native_regions``
names them; ``java_gc_tables`` finds the other collectors').

ZGC's mark stack space (JDK 17) is 8 GiB committed from its base in 32 MiB steps
(``zgc_mark_stacks``), and its page and forwarding tables two of 16 MiB committed whole
(``zgc_granule_maps``: by their sizes alone, where the map leaves one reading); JDK
25's ZGC reserves no such space (NMT shows none: its mark stacks are malloc'd), and
nothing of it has a pattern (its page table and generations' data are committed
whole): so from 25 on, no table is looked for, and every one is seen (none could pass
for a metaspace node) (``zgc_tables``).
"""

from __future__ import annotations

from vmtop.model.facts import JavaFacts
from vmtop.model.java_anon_rows import RW, AnonRows, anonymous, free, overlaps
from vmtop.model.java_gc_sizes import free_rw_of_size, region_sizes
from vmtop.model.region_rows import END, PERMS, START

_ZGC_MARK_STACKS = 8 << 30  # ZMarkStackSpaceLimit
_ZGC_MARK_STEP = 32 << 20  # ZMarkStackSpaceExpandSize
# The release from which ZGC has no mark stack space (measured on 17 and 25 only: from
# 18 to 24 it is looked for).
_ZGC_NO_MARK_STACK_SPACE_FROM = 25
# JDK 17 ZGC's two granule maps (page table, forwarding table), each of a pointer per 2
# MiB of its address offset space, which is 4 TiB (2^42, its least) for a heap of up to
# 256 GiB: 16 MiB. Measured on 17 only (JDK 25's generational ZGC maps other tables).
_ZGC_GRANULE_MAPS_RELEASE = 17
_ZGC_SMALL_OFFSET_SPACE = 1 << 42
_ZGC_GRANULE_MAP = (_ZGC_SMALL_OFFSET_SPACE >> 21) * 8


def zgc_tables(
    rows: AnonRows, java: JavaFacts, no_access: list[tuple[int, int, int]]
) -> tuple[list[tuple[int, int]], bool]:
    """ZGC's structures found, and whether every one that has a pattern was seen: its
    mark stack space, before JDK 25 (where it is not seen, or seen twice, its committed
    base could pass for a metaspace node); from 25 on, nothing to find, all seen."""
    if java.version is not None and java.version >= _ZGC_NO_MARK_STACK_SPACE_FROM:
        return [], True
    found = zgc_mark_stacks(rows, no_access)
    complete = len(found) == 1
    if java.version == _ZGC_GRANULE_MAPS_RELEASE:
        found += zgc_granule_maps(rows, java, found)
    return found, complete


def zgc_granule_maps(
    rows: AnonRows, java: JavaFacts, taken: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """JDK 17 ZGC's page table and forwarding table: a pointer for every 2 MiB granule
    of its address offset space (4 TiB for a heap up to 256 GiB, 16 times the heap
    rounded up to a power of two, 4 TiB at least), so 16 MiB each, mapped and committed
    whole, apart or side by side (one region of 32 MiB). Taken where the map's free rw-p
    regions of those sizes make the two in one way only: two of 16 MiB and none of 32,
    or one of 32 and none of 16 (on JDK 17, NMT's account: both, 1 GiB to 6 GiB heaps);
    one merged with anything else leaves both unnamed. Regions in ``taken`` (the mark
    stack space, its committed base 32 MiB) are not counted."""
    if not java.heap_sizes or max(java.heap_sizes) > _ZGC_SMALL_OFFSET_SPACE // 16:
        return []
    sizes = region_sizes(rows)
    apart, side_by_side = [
        [
            (r[START], r[END])
            for r in free_rw_of_size(rows, sizes, size)
            if not overlaps((r[START], r[END]), taken)
        ]
        for size in (_ZGC_GRANULE_MAP, 2 * _ZGC_GRANULE_MAP)
    ]
    if (len(apart), len(side_by_side)) in ((2, 0), (0, 1)):
        return apart + side_by_side
    return []


def zgc_mark_stacks(rows: AnonRows, no_access: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """ZGC's mark stack space: 8 GiB, committed from its base in 32 MiB steps; taken
    where a no-access region ends it exactly with committed memory below it, and only
    once (a committed base merged with a neighbour below is not named)."""
    found = []
    for i, start, end in no_access:
        used = _ZGC_MARK_STACKS - (end - start)
        if used <= 0 or used % _ZGC_MARK_STEP or not i:
            continue
        below = rows[i - 1]
        if below[END] != start or below[START] > start - used or below[PERMS] != RW:
            continue
        if free(rows[i]) and anonymous(below):
            found.append((start - used, end))
    return found if len(found) == 1 else []
