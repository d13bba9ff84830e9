"""True scale adds up the regions in a cell a chunk at a time (a cell can hold a
million): the same cells as one region at a time, for Regions and columns alike."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tui.test_widgets import region
from vmtop.model import kinds
from vmtop.model.columns import RegionColumns
from vmtop.tui.widgets import bar_layout as bl

PAGE = 4096
KINDS = (kinds.ANON, kinds.HEAP, kinds.TEXT, kinds.GUARD)


def cells_one_region_at_a_time(regions, top, width, view=None) -> list[bl.BarCell]:
    """What the layout did before: each cell looks at each region in it."""
    lo, hi = view or (0, top)
    span = max(1, hi - lo)
    starts = [r.start for r in regions]
    cells = []
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
        mapped, resident, swapped, known, best, best_bytes = 0, 0.0, 0.0, False, -1, 0
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
                swapped += (r.swap or 0) * overlap / r.size
            if overlap > best_bytes:
                best, best_bytes = j, overlap
        kind = max(counts.items(), key=lambda kv: kv[1])[0] if counts else None
        share = resident / mapped if known and mapped else None
        swap = swapped / mapped if known and mapped else None
        cells.append(
            bl.BarCell(kind, mapped / (b - a), j0, max(j0, j1), best, a, b, "", share, swap)
        )
    return cells


@st.composite
def maps(draw):
    """Up to 300 regions in address order: runs of one kind, gaps or none, RSS known
    for all, none, or some."""
    rss_known = draw(st.sampled_from(["all", "none", "some"]))
    out, at = [], PAGE * draw(st.integers(1, 1 << 20))
    for _ in range(draw(st.integers(1, 300))):
        pages = draw(st.sampled_from([1, 1, 2, 3, 16, 1000]))
        at += PAGE * draw(st.sampled_from([0, 0, 0, 1, 7, 1 << 20]))
        size = pages * PAGE
        rss = draw(st.integers(0, pages)) * PAGE
        swap = draw(st.integers(0, pages)) * PAGE - rss
        if rss_known == "none" or (rss_known == "some" and draw(st.booleans())):
            rss = None
        kind = draw(st.sampled_from(KINDS[:2] if draw(st.booleans()) else KINDS))
        swap = None if rss is None else max(0, swap)  # (both from smaps, or neither)
        out.append(region(at, at + size, kind=kind, rss=rss)._replace(swap=swap))
        at += size
    return out


@settings(max_examples=150, deadline=None)
@given(
    regions=maps(),
    width=st.integers(1, 60),
    view=st.sampled_from(["whole", "regions", "part"]),
    cut=st.floats(0, 1),
    columns=st.booleans(),
)
def test_true_scale_cells_are_those_of_one_region_at_a_time(regions, width, view, cut, columns):
    first, last = regions[0].start, regions[-1].end
    window = {
        "whole": None,
        "regions": (first, last),
        "part": (
            first + int((last - first) * cut * 0.5),
            first + int((last - first) * (0.5 + cut / 2)) + 1,
        ),
    }[view]
    given_regions = RegionColumns.from_regions(regions) if columns else regions
    got = bl.scale_layout(given_regions, bl.TOP_47, width, window).cells
    expected = cells_one_region_at_a_time(regions, bl.TOP_47, width, window)
    assert len(got) == len(expected)
    for cell, want in zip(got, expected, strict=True):
        unset = {"resident": None, "swapped": None, "fill": 0}
        assert cell._replace(**unset) == want._replace(**unset)
        assert cell.fill == pytest.approx(want.fill)
        for name in ("resident", "swapped"):
            got_value, wanted = getattr(cell, name), getattr(want, name)
            assert (got_value is None) == (wanted is None), name
            if wanted is not None:
                assert got_value == pytest.approx(wanted), name


def test_a_cell_of_many_regions_adds_them_up_a_chunk_at_a_time(monkeypatch):
    """More regions in one cell than a chunk (made small here), of two kinds in turn:
    the whole of each, the kind with more bytes, the biggest region picked."""
    monkeypatch.setattr("vmtop.model.column_steps.CHUNK", 7)
    regions = []
    at = 1 << 30
    for i in range(100):
        size = PAGE * (3 if i % 2 else 1)
        regions.append(region(at, at + size, kind=KINDS[i % 2], rss=PAGE))
        at += size
    regions[41] = regions[41]._replace(end=regions[41].start + 2 * PAGE)  # a gap after
    cell = bl.scale_layout(RegionColumns.from_regions(regions), bl.TOP_47, 1, (1 << 30, at)).cells[
        0
    ]
    assert (cell.lo, cell.hi) == (0, 100)
    assert cell.kind == KINDS[1]  # 49 regions of 3 pages and one of 2, against 50 of 1
    assert cell.fill == pytest.approx((50 + 49 * 3 + 2) / (50 + 50 * 3))
    assert cell.resident == pytest.approx(100 / (50 + 49 * 3 + 2))
    assert cell.pick == 1  # the first of the largest


def test_kinds_with_as_many_bytes_in_a_cell_go_to_the_first_in_it():
    """Ties go to the kind that comes first in the cell, whatever order the columns
    learnt the kinds in (the heap is learnt first here, from a region outside the cell)."""
    heap = region(1 << 20, (1 << 20) + PAGE, kind=kinds.HEAP)
    inside = []
    at = 1 << 30
    for i in range(40):
        inside.append(region(at, at + PAGE, kind=(kinds.ANON, kinds.HEAP)[i % 2]))
        at += PAGE
    regions = [heap, *inside]
    for given_regions in (regions, RegionColumns.from_regions(regions)):
        cell = bl.scale_layout(given_regions, bl.TOP_47, 1, (1 << 30, at)).cells[0]
        assert cell.kind == kinds.ANON
        assert cell.pick == 1


@pytest.mark.parametrize("columns", [False, True])
def test_a_region_alone_between_two_breaks_keeps_a_cell(columns):
    """At 60 000 regions the compact bar shares cells by weight over the whole map, and
    the [stack], alone between the 826G and 3.9G breaks, got none: two gap labels side
    by side, and a legend entry with nothing in the bar."""
    page = 0x1000
    low = 0x7F00_0000_0000
    many = [region(low + 2 * k * page, low + (2 * k + 1) * page) for k in range(60_000)]
    stack_at = 0x7FFD_0000_0000
    stack = region(stack_at, stack_at + 0x21000, "rw-p", "[stack]", kinds.STACK)
    regions = [*many, stack]
    given_regions = RegionColumns.from_regions(regions) if columns else regions
    layout = bl.compact_layout(given_regions, bl.TOP_47, 156)
    assert len(layout.cells) == 156
    shown = [c for c in layout.cells if c.kind == kinds.STACK]
    assert shown and all((c.lo, c.pick) == (len(many), len(many)) for c in shown)
    # And the 60 000 pages still fill the bar before it.
    assert sum(c.kind == kinds.ANON for c in layout.cells) > 100
