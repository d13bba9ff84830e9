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

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from vmtop.model.address_space import TOP_32, TOP_47, TOP_56
from vmtop.model.columns import RegionColumns, starts_of
from vmtop.model.region import Region
from vmtop.tui.widgets.bar_cells import (
    COMPACT,
    NO_HUGETLB,
    SCALE,
    BarCell,
    BarLayout,
    HugetlbPages,
    largest_gaps,
    user_regions,
    user_top,
)
from vmtop.tui.widgets.bar_compact import compact_layout
from vmtop.tui.widgets.bar_scale import scale_layout

__all__ = [
    "COMPACT",
    "SCALE",
    "TOP_32",
    "TOP_47",
    "TOP_56",
    "BarCell",
    "BarLayout",
    "BarView",
    "HugetlbPages",
    "compact_layout",
    "layout_for",
    "scale_layout",
    "user_regions",
    "user_top",
]

COMPACT_ZOOM = 4  # each zoom step shows a quarter as many regions
SCALE_ZOOM = 16  # each zoom step shows a sixteenth of the address range
MIN_REGIONS_IN_VIEW = 3


# -- what the bar shows, as one value -----------------------------------------------------


class BarView(NamedTuple):
    """The bar's own state that its layout depends on (besides the regions): taken on
    the UI thread and handed to the sampling worker, which lays the bar out for it."""

    width: int
    mode: str
    zoom: int
    center: int | None  # compact zoom: the region index in the middle
    view: tuple[int, int] | None  # true scale zoom: the address range in view


def layout_for(
    regions: list[Region], top: int, bar: BarView, hugetlb: HugetlbPages = NO_HUGETLB
) -> BarLayout:
    """The layout of ``regions`` (user space, by start) as a bar in state ``bar`` shows
    them, their memory in ``hugetlb`` pages counted resident."""
    if bar.mode == COMPACT:
        window = compact_window(len(regions), bar.zoom, bar.center or 0) if bar.zoom else None
        return compact_layout(regions, top, bar.width, window, hugetlb)
    window = (bar.view or (0, top)) if bar.zoom else None
    return scale_layout(regions, top, bar.width, window, hugetlb)


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
        # The first of the largest gaps between the regions in view (passes in C, a
        # chunk at a time: this runs on the key press, over up to a million regions).
        biggest = largest_gaps(_part(starts, i0, i1), _part(ends, i0, i1), 1) if i1 - i0 > 1 else []
        if biggest:
            after, below_end, above_start = biggest[0]
            gap = above_start - below_end
            at = i0 + after - 1  # the region below the gap
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


def _part(column: Sequence[int], lo: int, hi: int) -> Sequence[int]:
    """column[lo:hi], without copying an array (8 MB at a million regions)."""
    if isinstance(column, (array, memoryview)):
        return memoryview(column)[lo:hi]
    return column[lo:hi]


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
