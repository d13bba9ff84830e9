"""What the finders of a HotSpot JVM's collector's data structures share
(``java_gc_tables``, ``java_gc_whole``, ``java_zgc_tables``): the collectors' names,
G1's mark stack's size, the layout of a JVM's release, and the map's free rw-p regions
of an exact size (searched in C: a JVM's map can have 250 000 regions).
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import sub
from typing import TypeVar

from vmtop.model.java_anon_rows import PAGE, RW, AnonRows, free
from vmtop.model.region_rows import END, PERMS, START, Patched

# The collectors as JavaFacts names them.
G1, PARALLEL, SERIAL, SHENANDOAH, ZGC = "G1", "Parallel", "Serial", "Shenandoah", "Z"

G1_MARK_STACK = 32 << 20  # MarkStackSize (4 Mi entries unless set or many GC threads)

Part = TypeVar("Part")  # what makes a layout: a Table, or a size


def of_release(
    version: int | None, old: list[Part], new: list[Part], new_from: tuple[int, int]
) -> list[list[Part]]:
    """The layouts a JVM of ``version`` can have: JDK 17's (``old``) before
    ``new_from[0]``, JDK 25's from ``new_from[1]`` on, both where the release is
    between (where the layout changed is not measured) or not known."""
    if version is not None and version < new_from[0]:
        return [old]
    if version is not None and version >= new_from[1]:
        return [new]
    return [old, new]


def align(n: int, page: int = PAGE) -> int:
    return -(-n // page) * page


def free_rw_of_size(rows: AnonRows, sizes, size: int) -> Iterator:
    """The free rw-p rows of exactly ``size`` bytes (``sizes``: ``region_sizes``;
    usually no region has the size, and the search is in C)."""
    for at in indexes_of(sizes, size):
        r = rows[at]
        if r[PERMS] == RW and free(r):
            yield r


def indexes_of(sizes: list[int], size: int) -> Iterator[int]:
    at = -1
    while True:
        try:
            at = sizes.index(size, at + 1)
        except ValueError:
            return
        yield at


def region_sizes(rows: AnonRows) -> list[int]:
    """The size of every region of the map, without reading it whole (of columns:
    from the start and end columns)."""
    regions = rows.regions
    if isinstance(regions, Patched):
        starts, ends = regions.base.starts, regions.base.ends
    else:
        starts, ends = [r[START] for r in regions], [r[END] for r in regions]
    return list(map(sub, ends, starts))
