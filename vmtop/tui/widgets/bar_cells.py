"""What the address-space bar is made of, whichever scale lays it out: cells, the
layout, the regions it shows, and the steps both scales take over the columns of a huge
map (pure arithmetic, no terminal)."""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import accumulate, compress, repeat
from operator import add, ge, lt
from operator import sub as sub_
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.address_space import user_top
from vmtop.model.column_steps import chunked_extend, distinct, steps, where_pair
from vmtop.model.columns import RegionColumns, field_values
from vmtop.model.region import Region

COMPACT = "compact"

SCALE = "scale"


def user_regions(regions: Sequence[Region]) -> Sequence[Region]:
    """The regions the bar shows: everything below the top of user space (of columns,
    the first so many: a view, no copy, no Region made)."""
    top = user_top(regions)
    if isinstance(regions, RegionColumns):
        below = bisect_left(regions.starts, top)
        meaning = regions.distinct("kind")
        if kinds.VSYSCALL not in map(
            meaning.__getitem__, distinct(regions.codes("kind", 0, below))
        ):
            return regions.head(below)
    return [r for r in regions if r.kind != kinds.VSYSCALL and r.start < top]


class BarCell(NamedTuple):
    kind: str | None  # colour of the cell; None for empty space or a break
    fill: float  # share of the cell that is mapped (true scale); 1.0 in compact
    lo: int  # first region index (into BarLayout.regions) the cell shows
    hi: int  # one past the last (lo == hi: no region)
    pick: int  # region a click selects, -1 for none
    start: int  # the address range the cell stands for
    end: int
    gap_char: str = ""  # a break cell in compact mode: the character to draw
    resident: float | None = None  # RSS / size of what the cell shows; None: not known
    swapped: float | None = None  # swap / size of what the cell shows; None: not known


class HugetlbPages:
    """Each region's memory in hugetlb pages (``Snapshot.hugetlb``), by region start.

    No Rss counts hugetlb pages, so without this the bar drew PostgreSQL's shared
    buffers with huge_pages=on (or any MAP_HUGETLB memory) as untouched however much of
    them the process used: the bar counts them resident. A few regions at most have
    any, so they are summed by address range, not looked up region by region."""

    __slots__ = ("_starts", "_sums")

    def __init__(self, figures: Iterable[tuple[int, int]] | None = ()) -> None:
        pairs = sorted(figures or ())
        self._starts = [start for start, _ in pairs]
        self._sums = [0, *accumulate(size for _, size in pairs)]

    def __bool__(self) -> bool:
        return bool(self._starts)

    def between(self, lo: int, hi: int) -> int:
        """Memory in hugetlb pages of the regions starting in [lo, hi)."""
        if not self._starts:
            return 0
        return self._sums[bisect_left(self._starts, hi)] - self._sums[bisect_left(self._starts, lo)]

    def of(self, start: int) -> int:
        """Of the region starting at ``start``."""
        return self.between(start, start + 1)


NO_HUGETLB = HugetlbPages()


class BarLayout(NamedTuple):
    mode: str
    regions: list[Region]  # user-space regions, sorted by start
    cells: list[BarCell]
    top: int
    view_start: int  # address range in view
    view_end: int
    axis: list[tuple[int, str]]  # (column, label)
    zoomed: bool
    # Kinds of the regions in view (compact mode), for the legend: worked out with the
    # layout, off the UI thread, not by the legend over a million regions.
    kinds_in_view: frozenset = frozenset()

    def columns_of(self, start: int, end: int) -> list[int]:
        """Columns showing any byte of [start, end) (or the break where it would be)."""
        out = []
        for i, c in enumerate(self.cells):
            if c.start < end and c.end > start:
                out.append(i)
        if not out and self.cells:
            # Fully inside an area no cell stands for (compact: a gap not marked): the
            # cell just after it.
            for i, c in enumerate(self.cells):
                if c.start >= start:
                    return [i]
            return [len(self.cells) - 1]
        return out

    def columns_of_region(self, index: int) -> list[int]:
        return [i for i, c in enumerate(self.cells) if c.lo <= index < c.hi]


def dominant_kind(counts: dict[str, float]) -> str | None:
    if not counts:
        return None
    return max(counts.items(), key=lambda kv: kv[1])[0]


def place_labels(labels: list[tuple[int, str]], width: int) -> list[tuple[int, str]]:
    """Drop labels that would overlap the one before (the last one always stays)."""
    placed: list[tuple[int, str]] = []
    end = -1
    for k, (col, text) in enumerate(labels):
        col = max(0, min(col, width - len(text)))
        if col <= end:
            if k == len(labels) - 1 and placed:
                # Keep the right end: drop what it would overlap.
                while placed and placed[-1][0] + len(placed[-1][1]) >= col:
                    placed.pop()
            else:
                continue
        placed.append((col, text))
        end = col + len(text)
    return placed


def number_column(regions: Sequence[Region], name: str, lo: int, hi: int) -> Sequence[int]:
    """regions[lo:hi]'s values of a number field, to index: of columns, the column's own
    slice; else an array."""
    values = field_values(regions, name, lo, hi)
    if isinstance(values, (array, memoryview)):
        return values
    return chunked_extend(array("Q"), values)


def kind_codes(regions: Sequence[Region], lo: int, hi: int) -> tuple[Sequence, tuple | None]:
    """Each region's kind as a code, and what each code stands for: of columns, their
    own numbers (no string per region); else the kinds themselves, and None."""
    if isinstance(regions, RegionColumns):
        return regions.codes("kind", lo, hi), regions.distinct("kind")
    return list(field_values(regions, "kind", lo, hi)), None


def largest_gaps(starts: Sequence[int], ends: Sequence[int], count: int) -> list[tuple]:
    """The ``count`` biggest gaps between neighbours (earlier first among equals), as
    (position of the region after the gap, gap start, gap end), in address order.

    Passes in C find where the gaps are and their sizes; only the gaps that make it
    are looked at one by one (a million regions can have a million gaps, or none)."""
    before = list(where_pair(lt, ends, starts, len(ends) - 1, shift=1))

    def sizes():  # of the gaps, in address order, a chunk of gaps at a time
        for lo, hi in steps(len(before)):
            part = before[lo:hi]
            after = map(starts.__getitem__, map(add, part, repeat(1)))
            yield from map(sub_, after, map(ends.__getitem__, part))

    biggest = heapq.nlargest(count, sizes())
    if not biggest:
        return []
    least = biggest[-1]
    above = sum(1 for size in biggest if size > least)
    ties = len(biggest) - above  # of size ``least``: the first ones in address order
    out = []
    for pos in compress(before, map(ge, sizes(), repeat(least))):
        a, b = ends[pos], starts[pos + 1]
        if b - a > least:
            above -= 1
        elif ties:
            ties -= 1
        else:
            continue
        out.append((pos + 1, a, b))
        if not above and not ties:
            break
    return out
