"""A HotSpot JVM's metaspace and its collector's data structures, named in its map.

Both are anonymous memory like the malloc'd blocks, glibc arenas and thread stacks
around them, so a region is named only where the map's shape leaves no doubt, and only
if it lies wholly inside what was found (the kernel merges a reservation's committed
edge with a neighbour's rw-p memory: such a region is partly something else, and never
named). ``java_gc_tables`` finds the collector's tables by their pattern of committed
parts, which mirrors the heap's, ``java_gc_whole`` its structures committed whole by
their size alone, ``java_zgc_tables`` ZGC's; ``java_metaspace`` finds metaspace's 64
MiB nodes, but only while nothing that could pass for one is left unnamed.

Checked against the JVM's own account (NMT) on OpenJDK 17.0.15: every collector, heaps
of 64 MiB to 40 GiB, CDS and compressed class pointers off, programs loading 3000
classes and unloading most (tests/test_java_native_regions.py), and on Temurin 25.0.3
(every collector, 512 MiB to 40 GiB, CDS off, compact object headers, 3000 classes):
never a region outside what NMT says was reserved for Metaspace or GC.
"""

from __future__ import annotations

from collections.abc import MutableSequence

from vmtop.model import kinds
from vmtop.model.facts import JavaFacts
from vmtop.model.java_anon_rows import RW, AnonRows, free, merged, overlapping, overlaps
from vmtop.model.java_gc_sizes import G1, G1_MARK_STACK, PARALLEL, ZGC
from vmtop.model.java_gc_tables import HeapSpan, collector_tables
from vmtop.model.java_gc_whole import (
    g1_lone_mark_stack,
    g1_merged_mark_stack,
    parallel_lone_mark_bitmap,
)
from vmtop.model.java_metaspace import NODE, metaspace_nodes
from vmtop.model.java_zgc_tables import zgc_tables
from vmtop.model.region import Region
from vmtop.model.region_rows import END, KIND, OBJECT, PERMS, START, TID, relabel

METASPACE = "Java metaspace"
GC_DATA = "Java GC data"
# A table's committed edge and what lies beside it, merged by the kernel into one region.
GC_DATA_AND_MORE = "Java GC data + other memory"


def mark_java_native_regions(
    regions: MutableSequence[Region],
    java: JavaFacts,
    heap: HeapSpan | None,
    class_space_named: bool,
    fresh: frozenset[int] = frozenset(),
) -> None:
    """In place: regions of the collector's data structures get the object "Java GC
    data", metaspace nodes' "Java metaspace" (kind anon where committed, reserved
    where not). ``heap``: the named Java heap's regions and base (None: not named;
    ZGC's needs none). ``fresh``: see AnonRows."""
    if heap is None and java.collector == G1:
        # (G1's mark stack on its own needs no heap: found by its size alone.)
        rows = AnonRows(regions, fresh)
        _name_inside(rows, g1_lone_mark_stack(rows), GC_DATA)
        _name_merged_mark_stack(rows)
    if heap is None and java.collector == PARALLEL:
        # (Parallel's mark bitmap, committed whole, neither: by its size for MaxHeapSize.)
        rows = AnonRows(regions, fresh)
        _name_inside(rows, parallel_lone_mark_bitmap(rows, java, None), GC_DATA)
    if heap is None and java.collector != ZGC:
        return
    rows = AnonRows(regions, fresh)
    no_access = rows.no_access()
    if java.collector == ZGC:
        found, complete = zgc_tables(rows, java, no_access)
    else:
        found, complete = collector_tables(rows, java, heap, no_access)
    if java.collector == PARALLEL and heap is not None:
        # (Its mark bitmap, committed whole, has no pattern: found by its size alone.)
        lone = parallel_lone_mark_bitmap(rows, java, heap.end - heap.base)
        found = [*found, *(b for b in lone if not overlaps(b, found))]
    if overlapping(found):
        return
    named = _name_inside(rows, found, GC_DATA)
    _name_merged_edges(rows, found, heap)
    if java.collector == G1 and not any(hi - lo == G1_MARK_STACK for lo, hi in found):
        # (Not where the stack was found right below the bitmaps, or alone.)
        _name_merged_mark_stack(rows)
    # Metaspace only where nothing unnamed could pass for a node: the collector's
    # tables all seen, the class space named or of another size than a node.
    if not complete or java.class_space_size is None:
        return
    if java.class_space_size == NODE and not class_space_named:
        return
    unnamed = [n for n in no_access if n[0] not in named]
    _name_inside(rows, metaspace_nodes(rows, unnamed), METASPACE)


def _name_merged_mark_stack(rows: AnonRows) -> None:
    """G1's mark stack on its own, merged by the kernel with what lies right below it
    (``g1_merged_mark_stack``), once the tables and a stack found otherwise are named
    (not free any more): that region holds GC data and more."""
    for lo, _ in g1_merged_mark_stack(rows):
        k = rows.containing(lo)
        if k is not None:
            r = rows[k]
            rows[k] = relabel(r, kinds.ANON, GC_DATA_AND_MORE, r[TID])


def _name_merged_edges(rows: AnonRows, spans: list[tuple[int, int]], heap: HeapSpan | None) -> None:
    """The regions that hold a table's committed edge and run on past it, the kernel
    having merged it with committed memory beside it (a malloc'd block, a thread's
    stack, the code cache's first pages): each found table's pattern says that edge is
    committed (``java_gc_tables``), so the region holds the collector's data and more:
    named so, kind anon. Not one merged with the heap's committed base or top (JDK
    25, G1, the heap right above its card table): left as it was."""
    for lo, hi in merged(spans):
        for k in {rows.containing(lo), rows.containing(hi - 1)} - {None}:
            r = rows[k]
            if r[START] >= lo and r[END] <= hi:
                continue  # (wholly inside: named so, or not free)
            if heap is not None and r[START] < heap.end and heap.base < r[END]:
                continue
            if r[PERMS] == RW and r[OBJECT] is None and r[KIND] == kinds.ANON:
                rows[k] = relabel(r, kinds.ANON, GC_DATA_AND_MORE, r[TID])


def _name_inside(rows: AnonRows, spans: list[tuple[int, int]], name: str) -> set[int]:
    """Name every free region wholly inside the union of ``spans``; their indexes."""
    named: set[int] = set()
    for lo, hi in merged(spans):
        k = rows.containing(lo)
        if k is None:
            continue
        if rows[k][START] < lo:
            k += 1  # merged with what lies below: not only this
        while k < len(rows) and rows[k][END] <= hi:
            r = rows[k]
            if free(r):
                kind = kinds.ANON if r[PERMS] == RW else kinds.RESERVED
                rows[k] = relabel(r, kind, name, r[TID])
                named.add(k)
            k += 1
    return named
