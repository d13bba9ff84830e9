"""Huge pages on screen, on the recorded huge_pages process (tests/test_huge_pages.py
has the model): the header's hugetlb figure, the HugeTLB column, the region detail's
"pages" line, and a page strip that says its pages are hugetlb pages, not page cache."""

from __future__ import annotations

from conftest import FIXTURES

from vmtop.procfs import pagemap as pm
from vmtop.tui.widgets.page_strip import HUGETLB_LABEL, strip_text
from vmtop.tui.widgets.process_header import ProcessHeader
from vmtop.tui.widgets.region_table import RegionTable

from .test_process_keys import header_cells
from .test_process_screen import ScreenApp, lines, row_of, settle

ROOT = FIXTURES / "real" / "huge_pages"
PID = int(next(p.name for p in ROOT.iterdir() if p.name.isdigit()))
READY = dict(f.split("=") for f in (ROOT / "ready.txt").read_text().split()[1:])
SHARED, PRIVATE = int(READY["hugetlb_shared"], 16), int(READY["hugetlb_private"], 16)


async def test_header_shows_hugetlb_pages_and_the_column_shows_each_region():
    app = ScreenApp(ROOT, PID)
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        header = " ".join(lines(app.screen.query_one(ProcessHeader), 2))
        # status: HugetlbPages 10240 kB; the RSS beside it leaves them out.
        assert "hugetlb 10M" in header, header
        # The column comes by itself for a process with hugetlb pages (the columns
        # being the defaults): their RSS reads 0.
        table = app.screen.query_one(RegionTable)
        column = header_cells(table).index("HugeTLB")
        assert row_of(app, SHARED).split()[column] == "4.0M"
        assert row_of(app, PRIVATE).split()[column] == "6.0M"
        rss = header_cells(table).index("RSS")
        assert row_of(app, SHARED).split()[rss] == "0"


async def test_no_hugetlb_figure_for_a_process_without_them():
    app = ScreenApp()  # the process screen's own fixture: no HugetlbPages
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        header = " ".join(lines(app.screen.query_one(ProcessHeader), 2))
        assert "RSS" in header and "hugetlb" not in header
        assert "HugeTLB" not in header_cells(app.screen.query_one(RegionTable))


async def test_region_detail_says_what_its_pages_are():
    from vmtop.tui.screens.detail import RegionDetailScreen

    from .conftest import rendered_text

    app = ScreenApp(ROOT, PID)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        table.select_region(next(r for r in table.rows if r.start == SHARED))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RegionDetailScreen)
        identity = " ".join(rendered_text(app.screen.query_one("#detail-identity"), 140).split())
        assert "kind ■ shm" in identity and "a mapped data file" not in identity
        assert "pages Backed by 2 MiB hugetlb pages: 4 MiB resident" in identity


def test_page_strip_of_hugetlb_pages_says_so():
    per_huge = (2 << 20) // pm.PAGE_SIZE
    # Four 2 MiB pages, the first two touched (shared: the kernel's file/shared bit).
    entries = [pm.PRESENT | pm.FILE_SHARED] * (2 * per_huge) + [0] * (2 * per_huge)
    result = ("full", entries, pm.bucket(entries, 64), len(entries))
    text = strip_text(result, 64, 0.0, huge_page=2 << 20).plain
    assert "in 2.0M hugetlb pages: 2 of 4 present" in text
    assert HUGETLB_LABEL in text and "page cache" not in text
    assert "Rss leaves hugetlb pages out" in text
    plain = strip_text(result, 64, 0.0).plain  # a region in base pages: as before
    assert "hugetlb" not in plain and "page cache" in plain


async def test_the_column_comes_once_and_the_persons_choice_stays():
    from vmtop.tui.widgets.table_columns import DEFAULT_COLUMNS

    app = ScreenApp(ROOT, PID)
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        assert "HugeTLB" in header_cells(table)
        table.set_columns(DEFAULT_COLUMNS)  # taken away in the column chooser
        await pilot.press("r")  # another sample
        await settle(pilot)
        assert "HugeTLB" not in header_cells(table)


def test_page_strip_of_shared_memory_on_swap_does_not_call_it_untouched():
    # A memfd of 8 pages written then paged out: no page present and no swap entry
    # (the kernel clears a shared mapping's entries), while smaps says 32 KiB on swap.
    entries = [0] * 8
    result = ("full", entries, pm.bucket(entries, 64), len(entries))
    text = " ".join(strip_text(result, 64, 0.0, shared_swap=8 * pm.PAGE_SIZE).plain.split())
    assert "not touched here, or dropped" not in text
    assert "not mapped here: not touched here, dropped, or on swap" in text
    assert "shared memory on swap: 32K by smaps" in text
    plain = " ".join(strip_text(result, 64, 0.0).plain.split())  # nothing on swap: as before
    assert "not touched here, or dropped" in plain and "on swap" not in plain
