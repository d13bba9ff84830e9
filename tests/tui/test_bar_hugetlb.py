"""Memory in hugetlb pages is resident in the bar and in the process's RSS graph. No Rss
counts hugetlb pages, so PostgreSQL's shared buffers with huge_pages=on (or any
MAP_HUGETLB memory) looked untouched in the bar and flat in the graph however much of
them the process used."""

from __future__ import annotations

import re

import pytest
from conftest import FIXTURES

from vmtop.model import kinds
from vmtop.model.columns import RegionColumns
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.bar_layout import HugetlbPages, compact_layout, scale_layout
from vmtop.tui.widgets.rss_graph import RssGraph

from .test_process_screen import ScreenApp, settle
from .test_widgets import region

MiB = 1 << 20
HUGE_AT = 0x7F00_0000_0000
TOP = 1 << 47


def held(regions, form):
    return RegionColumns.from_regions(regions) if form == "columns" else regions


def shares(layout, start, end):
    """The resident share of every cell showing [start, end)."""
    return {round(layout.cells[c].resident, 3) for c in layout.columns_of(start, end)}


@pytest.mark.parametrize("form", ["tuples", "columns"])
def test_each_cell_of_a_hugetlb_region_counts_its_pages_resident(form):
    # 6 MiB of an 8 MiB region in hugetlb pages, its Rss 0 (as the kernel prints it).
    shown = held(
        [
            region(0x5555_0000_0000, 0x5555_0000_1000, rss=4096),
            region(HUGE_AT, HUGE_AT + 8 * MiB, kind=kinds.SHM, rss=0),
        ],
        form,
    )
    pages = HugetlbPages([(HUGE_AT, 6 * MiB)])
    for layout in (
        compact_layout(shown, TOP, 80, None, pages),
        scale_layout(shown, TOP, 80, (HUGE_AT, HUGE_AT + 8 * MiB), pages),
    ):
        assert shares(layout, HUGE_AT, HUGE_AT + 8 * MiB) == {0.75}, layout.mode
    # Without them: untouched, as before.
    assert shares(compact_layout(shown, TOP, 80), HUGE_AT, HUGE_AT + 8 * MiB) == {0.0}


@pytest.mark.parametrize("form", ["tuples", "columns"])
def test_cells_sharing_many_regions_add_the_hugetlb_pages_of_those_inside(form):
    # 400 regions of 64 KiB, no gaps: far more than cells (compact buckets them; true
    # scale finds them wholly inside its cells), every other one half in hugetlb pages.
    size = 64 << 10
    shown = held(
        [region(HUGE_AT + k * size, HUGE_AT + (k + 1) * size, rss=0) for k in range(400)],
        form,
    )
    pages = HugetlbPages([(HUGE_AT + k * size, size // 2) for k in range(0, 400, 2)])
    end = HUGE_AT + 400 * size
    compact = compact_layout(shown, TOP, 40, None, pages)
    scale = scale_layout(shown, TOP, 20, (HUGE_AT, end), pages)
    for layout in (compact, scale):
        got = [layout.cells[c].resident for c in layout.columns_of(HUGE_AT, end)]
        assert len(got) >= 10
        # A quarter of each cell's bytes, give or take the region a cut splits.
        assert all(0.2 <= share <= 0.3 for share in got), (layout.mode, got)
    # True scale's cells split the range exactly: together they hold all of it.
    held_in_cells = sum(c.resident * c.fill * (c.end - c.start) for c in scale.cells)
    assert held_in_cells == pytest.approx(100 * size)


def test_hugetlb_pages_are_summed_by_the_start_of_their_region():
    pages = HugetlbPages([(0x3000, 5), (0x1000, 2), (0x2000, 3)])  # in smaps' order or not
    assert pages.of(0x2000) == 3 and pages.of(0x2800) == 0
    assert pages.between(0x1000, 0x3000) == 5 and pages.between(0, 1 << 47) == 10
    assert not HugetlbPages(None) and HugetlbPages([(1, 1)])


ROOT = FIXTURES / "real" / "huge_pages"
PID = int(next(p.name for p in ROOT.iterdir() if p.name.isdigit()))
READY = dict(f.split("=") for f in (ROOT / "ready.txt").read_text().split()[1:])


def recorded_hugetlb(start: int) -> tuple[int, int]:
    """(size, memory in hugetlb pages) of the region at ``start``, from the recorded
    smaps itself."""
    text = (ROOT / str(PID) / "smaps").read_text()
    block = text[text.index(f"{start:x}-") :]
    block = block[: block.index("VmFlags:")]  # this region's lines only
    kib = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", block, re.M)}
    return kib["Size"] << 10, (kib["Shared_Hugetlb"] + kib["Private_Hugetlb"]) << 10


def recorded_status(field: str) -> int:
    text = (ROOT / str(PID) / "status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1)) << 10


async def test_the_recorded_database_like_process_shows_its_hugetlb_pages_resident():
    app = ScreenApp(ROOT, PID)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(AddressBar)
        for name in ("hugetlb_shared", "hugetlb_private"):
            start = int(READY[name], 16)
            size, huge = recorded_hugetlb(start)
            assert huge  # the recording has them touched
            layout = bar.layout
            got = {round(layout.cells[c].resident, 3) for c in layout.columns_of_region(
                next(k for k, r in enumerate(layout.regions) if r.start == start)
            )}  # fmt: skip
            assert got == {round(huge / size, 3)}, name
        graph = app.screen.query_one(RssGraph)
        assert graph.title == "RSS + hugetlb"
        expected = recorded_status("VmRSS") + recorded_status("HugetlbPages")
        assert graph.points[-1][1] == expected
        assert "RSS + hugetlb" in graph.render_line(0).text


async def test_a_process_without_hugetlb_pages_keeps_its_rss_graph():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        graph = app.screen.query_one(RssGraph)
        assert graph.title == "RSS"
        assert graph.points[-1][1] == app.screen.snapshot.totals.rss
