"""Memory in hugetlb pages in the region table and the summary by kind.

No Rss counts hugetlb pages. With PostgreSQL's shared buffers on huge pages (review):
the summary read "shm 277M RSS 84K" under a bar drawn 90 % resident; with a baseline
the segment's ΔRSS was blank and its row unmarked though it grew most; grouped by
object its HugeTLB cell was `-`, and the column could not be sorted by; at 80×24 the
column was the first to go, the row reading "276M RSS 0". Ground truth: the smaps and
status text of the recorded huge_pages process, as helpers_hugetlb rewrites it.
"""

from __future__ import annotations

import re

from helpers_hugetlb import PID, PRIVATE, SHARED, MiB, hugetlb_tree, smaps_hugetlb, status_kib

from vmtop.tui.formatting import format_bytes, format_delta
from vmtop.tui.widgets.kind_summary import KindSummary
from vmtop.tui.widgets.region_table import RegionTable

from .test_process_keys import header_cells
from .test_process_screen import ScreenApp, lines, row_of, settle, step, table_rows


def cell(table: RegionTable, line: str, column_id: str) -> str:
    """The text of one column of a table line, by the columns' widths."""
    pos = 1
    for column in table.columns:
        if column.id == column_id:
            return line[pos : pos + column.width].strip()
        pos += column.width + 1
    raise KeyError(column_id)


def smaps_rss(root) -> int:
    """Every region's Rss, summed, from the tree's smaps."""
    text = (root / str(PID) / "smaps").read_text()
    return sum(int(kb) << 10 for kb in re.findall(r"^Rss:\s+(\d+) kB", text, re.M))


async def test_the_delta_since_the_baseline_counts_hugetlb_pages_and_marks_the_row(tmp_path):
    root = hugetlb_tree(tmp_path, {SHARED: 4 * MiB})
    app = ScreenApp(root, PID)
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        hugetlb_tree(tmp_path, {SHARED: 58 * MiB})  # 54 MiB of shared buffers faulted in
        await step(pilot)
        table = app.screen.query_one(RegionTable)
        row = row_of(app, SHARED)
        assert row.startswith("↑"), row  # resident memory rose
        assert cell(table, row, "drss") == format_delta(54 * MiB)
        # Its own Rss did not move: the rise is its hugetlb pages alone.
        await step(pilot)
        assert cell(table, row_of(app, SHARED), "drss") == format_delta(54 * MiB)


async def test_groups_sum_their_hugetlb_pages_and_the_column_sorts(tmp_path):
    root = hugetlb_tree(tmp_path, {SHARED: 30 * MiB, PRIVATE: 6 * MiB})
    app = ScreenApp(root, PID)
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        table.set_sort("hugetlb")
        await settle(pilot)
        figures = smaps_hugetlb(root)
        most = max(figures, key=figures.get)
        first = table_rows(app)[0]
        assert first[1:13] == f"{most:012x}"
        assert cell(table, first, "hugetlb") == format_bytes(figures[most])
        await pilot.press("o")  # grouped by object
        await settle(pilot)
        group = next(line for line in table_rows(app) if "hugetlb pages" in line)
        assert cell(table, group, "hugetlb") == format_bytes(sum(figures.values())), group
        assert table_rows(app)[0] == group  # sorted by it, groups too


async def test_the_summary_counts_hugetlb_pages_in_its_rss_and_says_so(tmp_path):
    root = hugetlb_tree(tmp_path, {SHARED: 30 * MiB})
    app = ScreenApp(root, PID)
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        summary = app.screen.query_one(KindSummary)
        shown = lines(summary)
        assert shown[0].split()[3] == "RSS+H"
        total = next(line for line in shown if line.split()[:1] == ["total"])
        expected = smaps_rss(root) + status_kib(root, "HugetlbPages")
        assert total.split()[3] == format_bytes(expected)
        assert any("RSS+H: RSS and hugetlb pages" in line for line in shown)


async def test_a_process_without_them_keeps_its_rss_column():
    app = ScreenApp()
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        shown = lines(app.screen.query_one(KindSummary))
        assert shown[0].split()[3] == "RSS" and not any("RSS+H" in line for line in shown)


async def test_at_80_columns_the_hugetlb_column_stays(tmp_path):
    root = hugetlb_tree(tmp_path, {SHARED: 30 * MiB})
    app = ScreenApp(root, PID)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        titles = header_cells(table)
        assert "HugeTLB" in titles and "RSS" in titles, titles
        table.select_region(next(r for r in table.rows if r.start == SHARED))
        await settle(pilot)
        row = next(line for line in table_rows(app) if f"{SHARED:x}" in line[:16])
        assert cell(table, row, "hugetlb") == format_bytes(30 * MiB)
    # A process without them keeps the columns it had at 80 (the column is not offered).
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "HugeTLB" not in header_cells(app.screen.query_one(RegionTable))
