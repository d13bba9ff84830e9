"""Where each region lands on the address-space bar: pure arithmetic, no terminal.

Two scales:

- **true to scale**: cell ``i`` of ``W`` stands for ``1/W`` of the address range in
  view. The user address space is vast (128 TiB), so a whole process lives in a few
  cells and the rest is empty: that emptiness is the point of this mode. A cell only
  partly mapped is drawn thin, so a 4 KiB region in a 1 TiB cell does not look like 1 TiB.
- **compact**: every empty gap collapses to a marked break labelled with its size (the
  largest gaps when there are too many to mark), and regions share the remaining cells
  by the square root of their size, each at least one cell while there are fewer
  regions than cells; beyond that, neighbouring regions share a cell, drawn in the
  colour of the kind that holds most of it.

``[vsyscall]`` (and anything else above user space) is never part of the scale.
"""

from __future__ import annotations

import heapq
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate, chain, compress, repeat
from operator import add, ge, lt, ne
from operator import sub as sub_
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.column_steps import chunked_extend, distinct, steps, where_pair
from vmtop.model.columns import RegionColumns, field_values, starts_of
from vmtop.model.region import Region
from vmtop.tui.formatting import format_bytes

TOP_47 = 1 << 47  # x86-64 4-level paging: user space ends at 0x7fff_ffff_ffff
TOP_56 = 1 << 56  # 5-level paging

COMPACT = "compact"
SCALE = "scale"

COMPACT_ZOOM = 4  # each zoom step shows a quarter as many regions
SCALE_ZOOM = 16  # each zoom step shows a sixteenth of the address range
MIN_REGIONS_IN_VIEW = 3


def user_top(regions: Sequence[Region]) -> int:
    """One past the highest user address: 2**47, or 2**56 when a region is above 47 bits."""
    for r in reversed(regions):
        if r.kind == kinds.VSYSCALL or r.start >= TOP_56:
            continue
        return TOP_56 if r.end > TOP_47 else TOP_47
    return TOP_47


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


def _dominant(counts: dict[str, float]) -> str | None:
    if not counts:
        return None
    return max(counts.items(), key=lambda kv: kv[1])[0]


# -- true to scale ---------------------------------------------------------------------


def scale_layout(
    regions: list[Region], top: int, width: int, view: tuple[int, int] | None = None
) -> BarLayout:
    lo, hi = view or (0, top)
    span = max(1, hi - lo)
    starts = starts_of(regions)
    cells: list[BarCell] = []
    for i in range(width):
        a = lo + span * i // width
        b = lo + span * (i + 1) // width
        if b <= a:
            b = a + 1
        j0 = bisect_right(starts, a) - 1
        if j0 < 0 or regions[j0].end <= a:
            j0 += 1
        j1 = bisect_left(starts, b)
        counts: dict[str, float] = {}
        mapped = 0
        resident = 0.0
        known = False
        best, best_bytes = -1, 0
        for j in range(j0, j1):
            r = regions[j]
            overlap = min(r.end, b) - max(r.start, a)
            if overlap <= 0:
                continue
            mapped += overlap
            counts[r.kind] = counts.get(r.kind, 0) + overlap
            if r.rss is not None:
                known = True
                resident += r.rss * overlap / r.size
            if overlap > best_bytes:
                best, best_bytes = j, overlap
        fill = mapped / (b - a)
        share = resident / mapped if known and mapped else None
        cells.append(BarCell(_dominant(counts), fill, j0, max(j0, j1), best, a, b, "", share))
    axis = _scale_axis(lo, hi, width)
    return BarLayout(SCALE, regions, cells, top, lo, hi, axis, (lo, hi) != (0, top))


def _scale_axis(lo: int, hi: int, width: int) -> list[tuple[int, str]]:
    """Tick labels at the ends and at evenly spaced columns between them."""
    from vmtop.tui.formatting import format_address_short

    labels: list[tuple[int, str]] = []
    last = format_address_short(hi - 1)
    ticks = max(1, min(4, width // 24))
    for t in range(ticks):
        col = width * t // ticks
        addr = lo + (hi - lo) * t // ticks
        labels.append((col, format_address_short(addr)))
    labels.append((width - len(last), last))
    return _place(labels, width)


def _place(labels: list[tuple[int, str]], width: int) -> list[tuple[int, str]]:
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


# -- compact ---------------------------------------------------------------------------


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
) -> BarLayout:
    """Layout of regions[window[0]:window[1]] with gaps collapsed to breaks."""
    i0, i1 = window or (0, len(regions))
    zoomed = (i0, i1) != (0, len(regions))
    sub = range(i0, i1)
    if not sub or width <= 0:
        return BarLayout(COMPACT, regions, [], top, 0, top, [], zoomed)
    codes, meaning = _kind_codes(regions, i0, i1)
    in_view = frozenset(
        distinct(codes) if meaning is None else map(meaning.__getitem__, distinct(codes))
    )

    # Arrays (columns: their own, no copy), a pass each in C: at a million regions each
    # pass over them costs ~0.1 s, so there are as few as the layout allows.
    starts = _number_column(regions, "start", i0, i1)
    ends = _number_column(regions, "end", i0, i1)
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
    inner = _largest_gaps(starts, ends, keep + 1)
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
            share = r.rss / r.size if r.rss is not None and r.size else None
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
                )
                for j in range(c)
            ]
    else:
        # Running sums of the weights, square roots of the sizes, in one pass: region p
        # covers [cum[p - 1], cum[p]) of the whole.
        weights = map(math.sqrt, map(sub_, ends, starts))
        cum = chunked_extend(array("d"), accumulate(weights))
        _bucket(regions, i0, _Span(starts, ends, cum, codes, meaning), max(1, room), region_cells)

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
    return BarLayout(COMPACT, regions, cells, top, start, end, _place(axis, width), zoomed, in_view)


def _number_column(regions: Sequence[Region], name: str, lo: int, hi: int) -> Sequence[int]:
    """regions[lo:hi]'s values of a number field, to index: of columns, the column's own
    slice; else an array."""
    values = field_values(regions, name, lo, hi)
    if isinstance(values, (array, memoryview)):
        return values
    return chunked_extend(array("Q"), values)


def _kind_codes(regions: Sequence[Region], lo: int, hi: int) -> tuple[Sequence, tuple | None]:
    """Each region's kind as a code, and what each code stands for: of columns, their
    own numbers (no string per region); else the kinds themselves, and None."""
    if isinstance(regions, RegionColumns):
        return regions.codes("kind", lo, hi), regions.distinct("kind")
    return list(field_values(regions, "kind", lo, hi)), None


def _largest_gaps(starts: Sequence[int], ends: Sequence[int], count: int) -> list[tuple]:
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


def _gap_size(gap: tuple[int, int, int]) -> int:
    return gap[2] - gap[1]


class _Span(NamedTuple):
    """What bucketing needs of the regions in view (position p: regions[i0 + p])."""

    starts: Sequence[int]
    ends: Sequence[int]
    cum: Sequence[float]  # running sums of the weights
    codes: Sequence  # each region's kind, or its code
    meaning: tuple | None  # code -> kind; None: codes are the kinds

    def resident(self, regions: Sequence[Region], lo: int, hi: int) -> tuple[int, bool]:
        """(RSS of regions[lo:hi], None counting 0; whether any of them has one)."""
        if isinstance(regions, RegionColumns) and not regions.mixed:
            if regions.figures is None:  # a maps-only look: nothing resident known yet
                return 0, False
            return sum(regions.figures[0][lo:hi]), hi > lo
        known = [v for v in field_values(regions, "rss", lo, hi) if v is not None]
        return sum(known), bool(known)


def _bucket(
    regions: list[Region],
    i0: int,
    span: _Span,
    room: int,
    region_cells: dict[int, list[BarCell]],
) -> None:
    """More regions than cells: each cell covers an equal share of the summed weights;
    its colour is the kind with most weight in it, a click picks the region in its
    middle. Cells are filed under the position of the first region they show, so breaks
    land between the right cells."""
    cum, codes, meaning = span.cum, span.codes, span.meaning
    n = len(cum)
    total = cum[-1]
    step = total / room
    # Where each run of regions of one kind starts.
    runs = [0, *where_pair(ne, codes, codes, n - 1, shift=1, first=1)]
    for c in range(room):
        a = step * c
        b = step * (c + 1) if c < room - 1 else total
        first = min(n - 1, bisect_right(cum, a))
        last = max(first, min(n - 1, bisect_left(cum, b)))
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
        middle = min(n - 1, bisect_right(cum, (a + b) / 2))
        size = sum(span.ends[first : last + 1]) - sum(span.starts[first : last + 1])
        rss, known = span.resident(regions, i0 + first, i0 + last + 1)
        cell = BarCell(
            _dominant(counts),
            1.0,
            i0 + first,
            i0 + last + 1,
            i0 + middle,
            span.starts[first],
            span.ends[last],
            "",
            rss / size if known and size else None,
        )
        region_cells.setdefault(first, []).append(cell)


# -- what the bar shows, as one value -----------------------------------------------------


class BarView(NamedTuple):
    """The bar's own state that its layout depends on (besides the regions): taken on
    the UI thread and handed to the sampling worker, which lays the bar out for it."""

    width: int
    mode: str
    zoom: int
    center: int | None  # compact zoom: the region index in the middle
    view: tuple[int, int] | None  # true scale zoom: the address range in view


def layout_for(regions: list[Region], top: int, bar: BarView) -> BarLayout:
    """The layout of ``regions`` (user space, by start) as a bar in state ``bar`` shows
    them."""
    if bar.mode == COMPACT:
        window = compact_window(len(regions), bar.zoom, bar.center or 0) if bar.zoom else None
        return compact_layout(regions, top, bar.width, window)
    window = (bar.view or (0, top)) if bar.zoom else None
    return scale_layout(regions, top, bar.width, window)


# -- zoom windows ----------------------------------------------------------------------


def compact_window(n: int, zoom: int, center: int) -> tuple[int, int]:
    """Region index range in view at this zoom level, centred on ``center``."""
    if zoom <= 0 or n <= MIN_REGIONS_IN_VIEW:
        return (0, n)
    count = max(MIN_REGIONS_IN_VIEW, math.ceil(n / COMPACT_ZOOM**zoom))
    lo = max(0, min(center - count // 2, n - count))
    return (lo, lo + count)


def scale_window(top: int, zoom: int, center: int) -> tuple[int, int]:
    """Address range in view at this zoom level, centred on ``center``."""
    if zoom <= 0:
        return (0, top)
    span = max(4096 * 16, top // SCALE_ZOOM**zoom)
    lo = max(0, min(center - span // 2, top - span))
    return (lo, lo + span)


MIN_SCALE_VIEW = 4096 * 16  # the smallest address range true scale zooms in to


def scale_zoom_view(
    regions: Sequence[Region], view: tuple[int, int], focus: int | None
) -> tuple[int, int] | None:
    """The next, closer view of true scale, still linear (every cell the same number of
    bytes), framing what is there rather than a fixed fraction:

    - the mapped part of the view, when it fills less than a quarter of it;
    - else, when the largest empty gap inside is more than half of the mapped part (the
      program and heap far below the libraries and stack), the side holding ``focus``
      (an address: the selected region), framed;
    - else a sixteenth of the view around ``focus``.

    None when the view is already as close as it goes.
    """
    lo, hi = view
    if hi - lo <= MIN_SCALE_VIEW:
        return None
    # By addresses alone (columns of a huge map: bisected and subtracted in C).
    starts = starts_of(regions)
    ends = regions.ends if isinstance(regions, RegionColumns) else [r[1] for r in regions]
    i0 = bisect_right(ends, lo)  # the first region ending above lo
    i1 = bisect_left(starts, hi)  # one past the last starting below hi
    if focus is None:
        focus = (lo + hi) // 2
    if i0 < i1:
        first, last = max(lo, starts[i0]), min(hi, ends[i1 - 1])
        occupied = last - first
        if occupied * 4 < hi - lo:
            return _framed(first, last, view)
        gap, at = 0, -1
        if i1 - i0 > 1:
            gaps = array("q", map(sub_, starts[i0 + 1 : i1], ends[i0 : i1 - 1]))
            at = max(range(len(gaps)), key=gaps.__getitem__)  # the first of the largest
            gap = gaps[at]
            at += i0  # the region below the gap
        if at >= 0 and gap > 0 and gap * 2 > occupied:
            below_end, above_start = ends[at], starts[at + 1]
            if below_end <= focus < above_start:
                # In the gap itself: the side nearer to it.
                near_below = focus - below_end < above_start - focus
                side = (i0, at + 1) if near_below else (at + 1, i1)
            else:
                side = (i0, at + 1) if focus < above_start else (at + 1, i1)
            return _framed(max(lo, starts[side[0]]), min(hi, ends[side[1] - 1]), view)
    span = max(MIN_SCALE_VIEW, (hi - lo) // SCALE_ZOOM)
    start = max(lo, min(focus - span // 2, hi - span))
    return (start, start + span)


def _framed(first: int, last: int, view: tuple[int, int]) -> tuple[int, int]:
    """[first, last) with a margin of a sixteenth on each side, inside ``view``."""
    span = max(MIN_SCALE_VIEW, last - first)
    margin = max(4096, span // 16)
    lo = max(view[0], first - margin)
    hi = min(view[1], first + span + margin)
    return (lo, hi)


def max_zoom(mode: str, n: int, top: int) -> int:
    if mode == COMPACT:
        z = 0
        while math.ceil(n / COMPACT_ZOOM**z) > MIN_REGIONS_IN_VIEW:
            z += 1
        return z
    z = 0
    while top // SCALE_ZOOM ** (z + 1) >= 4096 * 16:
        z += 1
    return z
