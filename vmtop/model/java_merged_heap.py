"""A HotSpot JVM's heap committed whole, merged by the kernel with its neighbours.

Where hsperfdata says the heap is committed whole (-Xms = -Xmx, or grown to its
maximum: its generations' capacities, ``JavaFacts.heap_committed``), each part of it is
rw-p, and the kernel merges it with committed anonymous memory right beside it into
one mapping: JDK 17 -Xms1g -Xmx1g -XX:-UseCompressedOops shows one region of 1062 MiB,
the heap above G1's five tables committed whole; Parallel, a malloc'd block and its card
table below the heap. No run of regions spans the heap's size then (``java_regions``);
the one region big enough to hold it is named "Java heap + GC data" (the rest G1's
tables to the byte, checked against NMT) or "Java heap + other memory". Also here: what
of a map a heap can be made of (``heap_part``), shared with ``java_regions``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableSequence
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.facts import JavaFacts
from vmtop.model.java_gc_sizes import G1, G1_MARK_STACK
from vmtop.model.java_gc_tables import HeapSpan
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, OBJECT, PATH, PERMS, START, TID, relabel

# A heap committed whole in one mapping with memory beside it, the kernel having merged
# them: G1's tables committed whole (all of them, of sizes that add up to nothing
# else's), or anything.
JAVA_HEAP_AND_GC_DATA = "Java heap + GC data"
JAVA_HEAP_AND_MORE = "Java heap + other memory"

_HUGETLB = kinds.HUGETLB_ANON_NAME + " "  # ("/anon_hugepage (deleted)")
HEAP_ALIGN = 2 << 20  # the heap's base is aligned to the card table's (512 pages) at least


class MergedHeap(NamedTuple):
    """The one region holding a heap committed whole and what the kernel merged with
    it (its index), and the heap's ``HeapSpan`` where one base alone fits in it (None:
    where in it the heap lies is not known)."""

    holder: int
    span: HeapSpan | None


def mark_heap_merged_whole(regions: MutableSequence[Region], java: JavaFacts) -> MergedHeap | None:
    """A heap committed whole (hsperfdata says so) that no run spans: the kernel merged
    it with committed memory beside it (JDK 17 -Xms1g -Xmx1g -XX:-UseCompressedOops:
    one rw-p region of 1062 MiB, the heap above G1's five tables committed whole; with
    Parallel, above a malloc'd block and its card table). Taken where the map has one
    run of adjacent committed memory at least the heap's size, no file in it (the
    heap is then one mapping, or the kernel's merge of it), and in it one free rw-p
    region that big, smaller than two heaps; named the heap and what else, G1's
    tables where they are the rest to the byte. That region, and the heap's
    ``HeapSpan`` (no region wholly inside) where one base alone on the heap's alignment
    fits in it; None where no such region is."""
    if not committed_whole(java) or len(java.heap_sizes) != 1:
        return None
    (size,) = java.heap_sizes
    runs = [run for run in _committed_runs(regions) if run[2] >= size]
    if len(runs) != 1:
        return None  # (the heap is in one of several)
    first, last, _ = runs[0]
    if any(regions[i][PATH] for i in range(first, last + 1)):
        return None  # (in pieces, maybe: the archived objects of a .jsa inside)
    big = [i for i in range(first, last + 1) if regions[i][END] - regions[i][START] >= size]
    if len(big) != 1:
        return None
    (k,) = big
    r = regions[k]
    if r[END] - r[START] >= 2 * size or r[INODE] or r[OBJECT] is not None:
        return None
    lowest = -(-r[START] // HEAP_ALIGN) * HEAP_ALIGN
    if lowest + size > r[END]:
        return None  # (no base on the heap's alignment fits: no heap in it)
    name = JAVA_HEAP_AND_GC_DATA if _g1_tables_whole(java, r[END] - r[START] - size) else None
    regions[k] = relabel(r, kinds.ANON, name or JAVA_HEAP_AND_MORE, r[TID])
    if lowest + HEAP_ALIGN + size <= r[END]:
        return MergedHeap(k, None)  # (two bases or more fit)
    return MergedHeap(k, HeapSpan(k + 1, k, lowest, lowest + size))


def mark_heap_holder(regions: MutableSequence[Region], heap: HeapSpan) -> None:
    """A heap found with no region wholly inside (JDK 17 without CDS, -Xms = -Xmx: the
    heap committed whole, its top merged with the class space's committed base right
    above, ``_merged_top_spans``): the one region that holds it all is the heap and
    other memory."""
    if heap.first <= heap.last:
        return
    k = heap.first if regions[heap.first][START] <= heap.base else heap.first - 1
    r = regions[k]
    if r[START] <= heap.base and heap.end <= r[END] and r[OBJECT] is None and r[PERMS] == "rw-p":
        regions[k] = relabel(r, kinds.ANON, JAVA_HEAP_AND_MORE, r[TID])


def adjacent_runs(regions, part: Callable[[Region], bool]) -> Iterator[tuple[int, int]]:
    """(first, last) index of each run of adjacent regions that are all ``part``."""
    n, i = len(regions), 0
    while i < n:
        if not part(regions[i]):
            i += 1
            continue
        j = i
        while j + 1 < n and regions[j + 1][START] == regions[j][END] and part(regions[j + 1]):
            j += 1
        yield i, j
        i = j + 1


def _committed_runs(regions) -> Iterator[tuple[int, int, int]]:
    """(first, last, size) of each run of adjacent committed regions a heap committed
    whole can lie in: rw-p anonymous memory, the archived heap objects of a .jsa, the
    heap in hugetlb pages."""
    for i, j in adjacent_runs(regions, _committed_heap_part):
        yield i, j, regions[j][END] - regions[i][START]


def _committed_heap_part(r: Region) -> bool:
    return r[PERMS] == "rw-p" and heap_part(r)


def _g1_tables_whole(java: JavaFacts, rest: int) -> bool:
    """Whether ``rest`` bytes are G1's tables committed whole for the heap, all of them
    and nothing else (JDK 17: two mark bitmaps of heap/64 and three tables of
    heap/512; from JDK 20 one bitmap and two tables), with its mark stack or not."""
    if java.collector != G1:
        return False
    heap = java.heap_sizes[0]
    tables = [bitmaps * heap // 64 + others * heap // 512 for bitmaps, others in ((2, 3), (1, 2))]
    return any(rest in (size, size + G1_MARK_STACK) for size in tables)


def heap_part(r: Region) -> bool:
    if r[PATH]:
        # Archived heap objects (G1 with CDS), or the heap in hugetlb pages.
        return r[PATH].endswith(".jsa") or hugetlb(r) and r[PERMS] == "rw-p"
    return not r[INODE] and r[PERMS] in ("rw-p", "---p")


def hugetlb(r: Region) -> bool:
    """Private memory in hugetlb pages (-XX:+UseLargePages with a pool of them:
    HotSpot maps the heap, its tables and the code cache with MAP_HUGETLB, each
    committed whole, so a file of the kernel's hugetlbfs, one inode per mapping)."""
    return r[PATH].startswith(_HUGETLB) and r[PERMS] in ("rw-p", "rwxp")


def committed_whole(java: JavaFacts) -> bool:
    """Whether hsperfdata says the heap is committed whole (-Xms = -Xmx, or grown to
    its maximum): then no part of it is no-access."""
    return (
        java.source == "hsperfdata"
        and java.heap_committed is not None
        and java.heap_committed >= max(java.heap_sizes)
    )
