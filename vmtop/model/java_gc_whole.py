"""A HotSpot JVM's collector's structures committed whole, found in its map by their
size alone (``java_native_regions`` names them).

Structures committed whole have no pattern (``java_gc_tables`` finds those that
have), and are left unnamed, but for G1's mark stack mapped away from the bitmaps
(JDK 25 maps it anywhere): 32 MiB of rw-p, taken where it is the map's one free region
of that size (``g1_lone_mark_stack``), or the one a little bigger that it tops, merged
with what lies below (``g1_merged_mark_stack``); and Parallel's mark bitmap (heap/32 in
JDK 17, heap/64 in JDK 25), taken the same way where it is 16 MiB or more
(``parallel_lone_mark_bitmap``).
"""

from __future__ import annotations

from vmtop.model.facts import JavaFacts
from vmtop.model.java_anon_rows import RW, AnonRows, arena_shaped, free
from vmtop.model.java_gc_sizes import (
    G1_MARK_STACK,
    align,
    free_rw_of_size,
    indexes_of,
    of_release,
    region_sizes,
)
from vmtop.model.region_rows import END, INODE, PATH, PERMS, START

# Parallel's mark bitmap: two bits a heap word in JDK 17 (heap/32), one in JDK 25 (heap/64;
# measured on 17 and 25 only); taken by its size alone from this size on (smaller rw-p
# regions of an exact size are made by others too: a thread's stack of 8 MiB and more).
_PARALLEL_BITMAP_ONE_BIT_BY = (18, 25)
_LONE_BITMAP_MIN = 16 << 20
# G1's mark stack merged with what lies right below it: at most this below it in the
# region (3.2 MiB seen: thread stacks), and its top on this boundary (Linux 6.7 and
# later put an anonymous mapping of a multiple of 2 MiB on a 2 MiB boundary; before,
# it is left unnamed).
_MERGED_BELOW_MAX = 4 << 20
_MARK_STACK_ALIGN = 2 << 20


def g1_lone_mark_stack(rows: AnonRows) -> list[tuple[int, int]]:
    """G1's mark stack mapped on its own: 32 MiB, reserved and committed whole after
    the mark bitmaps, right below them where there is room (``_g1_mark_stack`` in
    ``java_gc_tables``), else wherever mmap puts it (JDK 25: anywhere). Taken where the
    map has exactly one free rw-p region of its size: on 31 JVMs of G1 (JDK 17 and 25,
    NMT's account) every such region was G1's (its mark stack; with a heap of 2 GiB or
    16 GiB, a mark bitmap or a table committed whole has that size too: its data all
    the same); none else makes one (a glibc arena is 64 MiB, a malloc'd block a page
    more than it was asked for, a metaspace node 64 MiB). Nothing where there are two."""
    sizes = region_sizes(rows)
    found = []
    for r in free_rw_of_size(rows, sizes, G1_MARK_STACK):
        found.append((r[START], r[END]))
        if len(found) > 1:
            return []
    return found


def parallel_lone_mark_bitmap(
    rows: AnonRows, java: JavaFacts, heap_size: int | None
) -> list[tuple[int, int]]:
    """Parallel's mark bitmap (ParMarkBitMap), reserved and committed whole for the
    heap (``heap_size``, or each of ``java.heap_sizes`` where the heap is not named):
    heap/32 in JDK 17, heap/64 in JDK 25. Taken where the map has exactly one free rw-p
    region of such a size, 16 MiB or more: on JDK 17 and 25, with NMT's account, every
    such region of a Parallel JVM was its bitmap (a glibc arena is 64 MiB, a malloc'd
    block a page more than it was asked for; Parallel has no G1 mark stack). Not where
    the kernel merged it with a neighbour (one region of another size), nor where it
    has a glibc arena's shape (64 MiB at that boundary, a 2 GiB heap's in JDK 17: an
    arena's heap used up looks the same), seen but left as it is."""
    heaps = (heap_size,) if heap_size else java.heap_sizes
    sizes = set()
    for heap in heaps:
        for (size,) in of_release(
            java.version, [heap // 32], [heap // 64], _PARALLEL_BITMAP_ONE_BIT_BY
        ):
            if align(size) >= _LONE_BITMAP_MIN:
                sizes.add(align(size))
    sizes_of_regions = region_sizes(rows) if sizes else []
    found = []
    for size in sorted(sizes):
        for r in free_rw_of_size(rows, sizes_of_regions, size):
            found.append((r[START], r[END]))
            if len(found) > 1:
                return []
    if found:
        k = rows.containing(found[0][0])
        if k is not None and arena_shaped(rows, k, k, *found[0]):
            return []
    return found


def g1_merged_mark_stack(rows: AnonRows) -> list[tuple[int, int]]:
    """G1's mark stack mapped on its own, its base merged by the kernel with committed
    memory right below it (a thread's stack, malloc'd blocks): one free rw-p region a
    little bigger than the stack (up to ``_MERGED_BELOW_MAX`` more), the stack its top,
    on a 2 MiB boundary (``_MARK_STACK_ALIGN``). The region, taken where it is the
    map's one such region and no anonymous rw-p region is the stack's size alone (where
    one is, that is the stack, named or not); else nothing. On 11 JVMs of G1 (JDK 17 and
    25, NMT's account) with 1 to 3.2 MiB below the stack in its region, each was found,
    and nothing else."""
    sizes = region_sizes(rows)
    if any(_anonymous_rw(rows[i]) for i in indexes_of(sizes, G1_MARK_STACK)):
        return []
    low, high = G1_MARK_STACK, G1_MARK_STACK + _MERGED_BELOW_MAX
    found = []
    for i, size in enumerate(sizes):
        if low < size <= high:
            r = rows[i]
            if r[PERMS] == RW and free(r) and not r[END] % _MARK_STACK_ALIGN:
                found.append((r[START], r[END]))
                if len(found) > 1:
                    return []
    return found


def _anonymous_rw(r) -> bool:
    return r[PERMS] == RW and not r[PATH] and not r[INODE]
