"""ZGC's Java heap, named in a HotSpot JVM's map (``java_regions`` calls it).

ZGC's heap is shared memory named ``/memfd:java_heap`` (``.hugetlb`` with large pages),
mapped into address space ZGC reserved for it: 16 times the maximum heap
(ZVirtualToPhysicalRatio), no-access where no heap page is mapped. JDK 17's ZGC
reserves three such views of the same pages (at 4, 8 and 16 TiB for a small heap, one
per colour of its pointers), generational ZGC (JDK 21 and later) one. The memfd's
regions are named wherever they are; the no-access rest only where a run of memfd and
no-access anonymous regions spans exactly 16 times the heap's size: a run longer or
shorter holds address space of something else (merged no-access neighbours) or is a
reservation made in pieces, and is left as it is.
Measured against NMT (its "Java Heap" reservations): JDK 17 with 1 and 3 GiB heaps
(three views, 16 and 48 GiB each), Temurin 25 with 64 MiB to 31 GiB heaps (one view,
1 to 496 GiB).
"""

from __future__ import annotations

from collections.abc import MutableSequence

from vmtop.model import kinds
from vmtop.model.column_steps import where
from vmtop.model.facts import JavaFacts
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, KIND, PATH, PERMS, START, TID, Patched, relabel

JAVA_HEAP_ZGC = "Java heap (ZGC)"
ZGC_MEMFD = "/memfd:java_heap"
VIRTUAL_TO_PHYSICAL = 16  # ZVirtualToPhysicalRatio: the views' size, in heaps


def mark_zgc_heap(regions: MutableSequence[Region], java: JavaFacts) -> bool:
    """In place: the memfd's regions and, where the view's size says so, the no-access
    rest of the views get the object "Java heap (ZGC)"; whether the map has the memfd
    (a ZGC heap)."""
    memfd = _memfd_indexes(regions)
    if not memfd:
        return False
    views = {VIRTUAL_TO_PHYSICAL * size for size in java.heap_sizes}
    done: set[int] = set()
    for i in memfd:
        if i in done:
            continue
        first, last = i, i
        while first > 0 and _view_part(regions[first - 1], regions[first]):
            first -= 1
        while last + 1 < len(regions) and _view_part(regions[last + 1], regions[last], below=False):
            last += 1
        done.update(range(first, last + 1))
        whole = regions[last][END] - regions[first][START] in views
        for k in range(first, last + 1):
            r = regions[k]
            if r[PATH].startswith(ZGC_MEMFD):
                regions[k] = relabel(r, r[KIND], JAVA_HEAP_ZGC, r[TID])
            elif whole:
                regions[k] = relabel(r, kinds.RESERVED, JAVA_HEAP_ZGC, r[TID])
    return True


def _memfd_indexes(regions) -> list[int]:
    """The indexes of the memfd's regions (of columns, found in C: no Region made)."""
    if isinstance(regions, Patched):
        base = regions.base
        names = [p for p in base.distinct("path") if p.startswith(ZGC_MEMFD)]
        return sorted(i for p in names for i in where(base.name_mask("path", p)))
    return [i for i, r in enumerate(regions) if r[PATH].startswith(ZGC_MEMFD)]


def _view_part(r: Region, neighbour: Region, below: bool = True) -> bool:
    """Whether ``r`` touches ``neighbour`` (below it, or above) and can be part of a
    view: the memfd, or anonymous no-access memory."""
    if (r[END] != neighbour[START]) if below else (r[START] != neighbour[END]):
        return False
    if r[PATH].startswith(ZGC_MEMFD):
        return True
    return not r[PATH] and not r[INODE] and r[PERMS] == "---p"
