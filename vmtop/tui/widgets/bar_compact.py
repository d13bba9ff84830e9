"""The bar in compact mode: every empty gap collapses to a marked break, and regions
share the remaining cells by the square root of their size (see bar_layout)."""

from __future__ import annotations

import heapq
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate, chain
from operator import ne
from operator import sub as sub_
from typing import NamedTuple

from vmtop.model.column_fields import FIGURES
from vmtop.model.column_steps import chunked_extend, distinct, where_pair
from vmtop.model.columns import RegionColumns, field_values
from vmtop.model.region import Region
from vmtop.tui.formatting import format_bytes
from vmtop.tui.widgets.bar_cells import (
    COMPACT,
    NO_HUGETLB,
    BarCell,
    BarLayout,
    HugetlbPages,
    dominant_kind,
    kind_codes,
    largest_gaps,
    number_column,
    place_labels,
)


def _allocate(weights: Sequence[float], cells: int) -> list[int]:
    """Integer cell counts, at least one each, the rest in proportion to ``weights``."""
    n = len(weights)
    extra = cells - n
    total = sum(weights) or 1.0
    shares = [extra * w / total for w in weights]
    counts = [1 + int(s) for s in shares]
    left = cells - sum(counts)
    if left > 0:
        order = sorted(range(n), key=lambda i: shares[i] - int(shares[i]), reverse=True)
        for i in order[:left]:
            counts[i] += 1
    return counts


def compact_layout(
    regions: list[Region],
    top: int,
    width: int,
    window: tuple[int, int] | None = None,
    hugetlb: HugetlbPages = NO_HUGETLB,
) -> BarLayout:
    """Layout of regions[window[0]:window[1]] with gaps collapsed to breaks (what is
    resident counting ``hugetlb``)."""
    i0, i1 = window or (0, len(regions))
    zoomed = (i0, i1) != (0, len(regions))
    sub = range(i0, i1)
    if not sub or width <= 0:
        return BarLayout(COMPACT, regions, [], top, 0, top, [], zoomed)
    codes, meaning = kind_codes(regions, i0, i1)
    in_view = frozenset(
        distinct(codes) if meaning is None else map(meaning.__getitem__, distinct(codes))
    )

    # Arrays (columns: their own, no copy), a pass each in C: at a million regions each
    # pass over them costs ~0.1 s, so there are as few as the layout allows.
    starts = number_column(regions, "start", i0, i1)
    ends = number_column(regions, "end", i0, i1)
    # Gaps: (position in sub where the gap comes before, start, end).
    first: list[tuple[int, int, int]] = []
    last: list[tuple[int, int, int]] = []
    if not zoomed and starts[0] > 0:
        first.append((0, 0, starts[0]))
    if not zoomed and ends[-1] < top:
        last.append((i1 - i0, ends[-1], top))
    keep = max(1, width // 10)
    # The biggest ``keep`` (as sorted(..., reverse=True)[:keep] picks them), in address
    # order; not a list of every gap (a million, in a fragmented map).
    inner = largest_gaps(starts, ends, keep + 1)
    gaps = heapq.nlargest(keep + 1, chain(first, inner, last), key=_gap_size)
    if len(gaps) > keep:
        gaps = gaps[:keep]
    gaps.sort()
    labels = [format_bytes(b - a) for _, a, b in gaps]
    gap_widths = [len(t) + 2 for t in labels]
    if sum(gap_widths) > width * 0.3:
        gap_widths = [1] * len(gaps)
    room = width - sum(gap_widths)
    n = len(sub)

    # Cells by the position (in sub) of the first region they show.
    region_cells: dict[int, list[BarCell]] = {}
    if n <= room:
        counts = _allocate(list(map(math.sqrt, map(sub_, ends, starts))), room)
        for pos, k in enumerate(sub):
            r = regions[k]
            c = counts[pos]
            share = (r.rss + hugetlb.of(r.start)) / r.size if r.rss is not None and r.size else None
            swapped = r.swap / r.size if r.swap is not None and r.size else None
            region_cells[pos] = [
                BarCell(
                    r.kind,
                    1.0,
                    k,
                    k + 1,
                    k,
                    r.start + r.size * j // c,
                    r.start + r.size * (j + 1) // c,
                    "",
                    share,
                    swapped,
                )
                for j in range(c)
            ]
    else:
        # Running sums of the weights, square roots of the sizes, in one pass: region p
        # covers [cum[p - 1], cum[p]) of the whole.
        weights = map(math.sqrt, map(sub_, ends, starts))
        cum = chunked_extend(array("d"), accumulate(weights))
        # Where each run of regions of one kind starts.
        runs = [0, *where_pair(ne, codes, codes, n - 1, shift=1, first=1)]
        span = _Span(starts, ends, cum, codes, meaning, runs, hugetlb)
        # Each stretch between two breaks gets a cell at least (a [stack] alone between
        # two gaps, at a million regions, got none: two gap labels side by side), the
        # rest by weight.
        cuts = sorted({g[0] for g in gaps if 0 < g[0] < n})
        stretches = list(zip([0, *cuts], [*cuts, n], strict=True))
        if len(stretches) > max(1, room):
            stretches = [(0, n)]
        shares = [cum[hi - 1] - (cum[lo - 1] if lo else 0.0) for lo, hi in stretches]
        for (lo, hi), count in zip(stretches, _allocate(shares, max(1, room)), strict=True):
            _bucket(regions, i0, span, count, region_cells, lo, hi)

    cells: list[BarCell] = []
    axis: list[tuple[int, str]] = []
    gap_iter = iter(zip(gaps, gap_widths, labels, strict=True))
    next_gap = next(gap_iter, None)
    segment_start = True
    for pos in sorted({*region_cells, *(g[0] for g in gaps)}):
        while next_gap is not None and next_gap[0][0] == pos:
            (_, a, b), w, label = next_gap
            text = ("╌" + label + "╌") if w > 1 else "┊"
            boundary = regions[i0 + pos].start if pos < n else b
            for ch in text[:w]:
                cells.append(BarCell(None, 0.0, i0 + pos, i0 + pos, -1, a, boundary, ch))
            segment_start = True
            next_gap = next(gap_iter, None)
        if pos < n:
            for cell in region_cells.get(pos, ()):
                if segment_start:
                    axis.append((len(cells), f"{cell.start:x}"))
                    segment_start = False
                cells.append(cell)
    if not zoomed:
        last = f"{top - 1:x}"
        axis.append((width - len(last), last))
    else:
        end_label = f"{regions[i1 - 1].end:x}"
        axis.append((width - len(end_label), end_label))
    start = regions[i0].start if zoomed else 0
    end = regions[i1 - 1].end if zoomed else top
    return BarLayout(
        COMPACT, regions, cells, top, start, end, place_labels(axis, width), zoomed, in_view
    )


def _gap_size(gap: tuple[int, int, int]) -> int:
    return gap[2] - gap[1]


class _Span(NamedTuple):
    """What bucketing needs of the regions in view (position p: regions[i0 + p])."""

    starts: Sequence[int]
    ends: Sequence[int]
    cum: Sequence[float]  # running sums of the weights
    codes: Sequence  # each region's kind, or its code
    meaning: tuple | None  # code -> kind; None: codes are the kinds
    runs: list[int]  # where each run of regions of one kind starts
    hugetlb: HugetlbPages  # counted resident with the RSS

    def resident(
        self, regions: Sequence[Region], lo: int, hi: int, name: str = "rss"
    ) -> tuple[int, bool]:
        """(RSS of regions[lo:hi], None counting 0; whether any of them has one); or of
        another figure (``name``: "swap")."""
        if isinstance(regions, RegionColumns) and not regions.mixed:
            if regions.figures is None:  # a maps-only look: nothing resident known yet
                return 0, False
            return sum(regions.figures[FIGURES.index(name)][lo:hi]), hi > lo
        known = [v for v in field_values(regions, name, lo, hi) if v is not None]
        return sum(known), bool(known)


def _bucket(
    regions: list[Region],
    i0: int,
    span: _Span,
    room: int,
    region_cells: dict[int, list[BarCell]],
    lo_pos: int,
    hi_pos: int,
) -> None:
    """More regions than cells: the positions [lo_pos, hi_pos) in ``room`` cells, each covering
    an equal share of their summed weights; its colour is the kind with most weight in
    it, a click picks the region in its middle. Cells are filed under the position of
    the first region they show, so breaks land between the right cells."""
    cum, codes, meaning, runs = span.cum, span.codes, span.meaning, span.runs
    n = hi_pos
    base = cum[lo_pos - 1] if lo_pos else 0.0
    total = cum[hi_pos - 1]
    step = (total - base) / room
    for c in range(room):
        a = base + step * c
        b = base + step * (c + 1) if c < room - 1 else total
        first = max(lo_pos, min(n - 1, bisect_right(cum, a, lo_pos, hi_pos)))
        last = max(first, min(n - 1, bisect_left(cum, b, lo_pos, hi_pos)))
        counts: dict[str, float] = {}
        get = counts.get
        # By runs of one kind: the regions of a run are next to each other in weight,
        # so a run's share of the cell is one subtraction (a million regions of a few
        # kinds: a few runs per cell, not thousands of regions).
        r = bisect_right(runs, first) - 1
        while r < len(runs) and runs[r] <= last:
            p0 = max(runs[r], first)
            p1 = min(runs[r + 1] - 1 if r + 1 < len(runs) else n - 1, last)
            lo = cum[p0 - 1] if p0 else 0.0
            hi = cum[p1]
            w = (hi if hi < b else b) - (lo if lo > a else a)
            kind = codes[p0] if meaning is None else meaning[codes[p0]]
            counts[kind] = get(kind, 0.0) + w
            r += 1
        middle = max(lo_pos, min(n - 1, bisect_right(cum, (a + b) / 2, lo_pos, hi_pos)))
        size = sum(span.ends[first : last + 1]) - sum(span.starts[first : last + 1])
        rss, known = span.resident(regions, i0 + first, i0 + last + 1)
        rss += span.hugetlb.between(span.starts[first], span.ends[last])
        swap, _ = span.resident(regions, i0 + first, i0 + last + 1, "swap")
        cell = BarCell(
            dominant_kind(counts),
            1.0,
            i0 + first,
            i0 + last + 1,
            i0 + middle,
            span.starts[first],
            span.ends[last],
            "",
            rss / size if known and size else None,
            swap / size if known and size else None,
        )
        region_cells.setdefault(first, []).append(cell)
