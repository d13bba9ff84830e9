"""The bar true to scale: cell ``i`` of ``W`` stands for ``1/W`` of the address range
in view (see bar_layout)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import compress, repeat
from operator import eq
from operator import sub as sub_
from typing import NamedTuple

from vmtop.model.column_steps import distinct, steps
from vmtop.model.columns import field_values
from vmtop.model.region import Region
from vmtop.tui.formatting import format_address_short
from vmtop.tui.widgets.bar_cells import (
    NO_HUGETLB,
    SCALE,
    BarCell,
    BarLayout,
    HugetlbPages,
    dominant_kind,
    kind_codes,
    number_column,
    place_labels,
)


def scale_layout(
    regions: list[Region],
    top: int,
    width: int,
    view: tuple[int, int] | None = None,
    hugetlb: HugetlbPages = NO_HUGETLB,
) -> BarLayout:
    lo, hi = view or (0, top)
    span = max(1, hi - lo)
    n = len(regions)
    columns = _ScaleColumns(
        regions,
        number_column(regions, "start", 0, n),
        number_column(regions, "end", 0, n),
        *kind_codes(regions, 0, n),
        hugetlb,
    )
    cells: list[BarCell] = []
    for i in range(width):
        a = lo + span * i // width
        b = lo + span * (i + 1) // width
        if b <= a:
            b = a + 1
        cells.append(columns.cell(a, b))
    axis = _scale_axis(lo, hi, width)
    return BarLayout(SCALE, regions, cells, top, lo, hi, axis, (lo, hi) != (0, top))


# A true-scale cell showing more regions than this adds up those wholly inside it a
# chunk at a time, in C (a cell can hold a million regions: a Region each cost 4 s).
_FEW = 16


class _ScaleColumns(NamedTuple):
    """The regions (user space, by start) as true scale reads them."""

    regions: Sequence[Region]
    starts: Sequence[int]
    ends: Sequence[int]
    codes: Sequence  # each region's kind, or its code
    meaning: tuple | None  # code -> kind; None: codes are the kinds
    hugetlb: HugetlbPages  # counted resident with the RSS

    def cell(self, a: int, b: int) -> BarCell:
        """The cell standing for addresses [a, b): the kind with most bytes in it, the
        share of it mapped, the share of that resident, the region with most bytes in
        it (what a click picks)."""
        starts, ends = self.starts, self.ends
        j0 = bisect_right(starts, a) - 1
        if j0 < 0 or ends[j0] <= a:
            j0 += 1
        j1 = bisect_left(starts, b)
        tally = _Tally()
        if j1 - j0 <= _FEW:
            for j in range(j0, j1):
                self._add_one(tally, j, a, b)
        else:
            inner0 = j0 + (starts[j0] < a)  # (the first and last may be partly outside)
            inner1 = j1 - (ends[j1 - 1] > b)
            if inner0 > j0:
                self._add_one(tally, j0, a, b)
            for s, e in steps(inner1, inner0):
                self._add_inside(tally, s, e)
            if inner1 < j1:
                self._add_one(tally, j1 - 1, a, b)
        known = tally.known and tally.mapped
        share = tally.resident / tally.mapped if known else None
        swapped = tally.swapped / tally.mapped if known else None
        fill = tally.mapped / (b - a)
        return BarCell(
            dominant_kind(tally.counts), fill, j0, max(j0, j1), tally.best, a, b, "", share,
            swapped,
        )  # fmt: skip

    def _kind(self, j: int) -> str:
        return self.codes[j] if self.meaning is None else self.meaning[self.codes[j]]

    def _add_one(self, tally: _Tally, j: int, a: int, b: int) -> None:
        start, end = self.starts[j], self.ends[j]
        overlap = min(end, b) - max(start, a)
        if overlap <= 0:
            return
        tally.mapped += overlap
        kind = self._kind(j)
        tally.counts[kind] = tally.counts.get(kind, 0) + overlap
        rss = next(iter(field_values(self.regions, "rss", j, j + 1)))
        if rss is not None:
            tally.known = True
            tally.resident += (rss + self.hugetlb.of(start)) * overlap / (end - start)
            swap = next(iter(field_values(self.regions, "swap", j, j + 1)))
            tally.swapped += (swap or 0) * overlap / (end - start)
        if overlap > tally.best_bytes:
            tally.best, tally.best_bytes = j, overlap

    def _add_inside(self, tally: _Tally, s: int, e: int) -> None:
        """Regions s..e-1, every byte of each inside the cell (at most a chunk)."""
        sizes = list(map(sub_, self.ends[s:e], self.starts[s:e]))
        tally.mapped += sum(sizes)
        largest = max(sizes)
        if largest > tally.best_bytes:
            tally.best, tally.best_bytes = s + sizes.index(largest), largest
        codes = self.codes[s:e]

        # Each kind's bytes, the kinds in the order they come (the first of equals wins
        # the cell's colour, as one region at a time would have it).
        def first(code) -> int:
            return next(compress(range(len(codes)), map(eq, codes, repeat(code))))

        for code in sorted(distinct(codes), key=first):
            kind = code if self.meaning is None else self.meaning[code]
            inside = sum(compress(sizes, map(eq, codes, repeat(code))))
            tally.counts[kind] = tally.counts.get(kind, 0) + inside
        # Wholly inside: a region's resident share of the cell is all of its RSS.
        known = [v for v in field_values(self.regions, "rss", s, e) if v is not None]
        if known:
            tally.known = True
            tally.resident += sum(known) + self.hugetlb.between(self.starts[s], self.ends[e - 1])
            tally.swapped += sum(v for v in field_values(self.regions, "swap", s, e) if v)


class _Tally:
    """What a true-scale cell adds up over the regions in it."""

    __slots__ = ("best", "best_bytes", "counts", "known", "mapped", "resident", "swapped")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.mapped = 0
        self.resident = 0.0
        self.swapped = 0.0
        self.known = False
        self.best = -1
        self.best_bytes = 0


def _scale_axis(lo: int, hi: int, width: int) -> list[tuple[int, str]]:
    """Tick labels at the ends and at evenly spaced columns between them."""
    labels: list[tuple[int, str]] = []
    last = format_address_short(hi - 1)
    ticks = max(1, min(4, width // 24))
    for t in range(ticks):
        col = width * t // ticks
        addr = lo + (hi - lo) * t // ticks
        labels.append((col, format_address_short(addr)))
    labels.append((width - len(last), last))
    return place_labels(labels, width)
