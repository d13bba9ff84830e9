"""Memory in hugetlb pages in the replay and in the region detail's RSS history.

No Rss counts hugetlb pages. A replay of PostgreSQL with huge_pages=on showed its
shared buffers untouched in the bar, `-` in the HugeTLB column, an RSS graph of RSS
alone and a detail with a flat history; live, the region detail's "Region RSS" stayed
at 0 while hundreds of MiB faulted in (review). Ground truth: the smaps and status text
of each sample (helpers_hugetlb rewrites the recorded huge_pages process's).
"""

from __future__ import annotations

from helpers_hugetlb import PID, SHARED, MiB, hugetlb_tree, region_field, status_kib

from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter
from vmtop.tui.formatting import format_bytes, format_delta
from vmtop.tui.replay_app import ReplayApp
from vmtop.tui.screens.detail import RegionDetailScreen
from vmtop.tui.screens.replay import ReplayScreen
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.rss_graph import RssGraph

from .test_process_keys import header_cells
from .test_process_screen import ScreenApp, row_of, settle, step

T0 = 1_700_000_000.0
COURSE = [4, 10, 30, 60, 60]  # MiB of the shared region's hugetlb pages, per sample


def recording_of(tmp_path) -> tuple[Recording, list]:
    roots = [hugetlb_tree(tmp_path / f"t{i}", {SHARED: m * MiB}) for i, m in enumerate(COURSE)]
    path = tmp_path / "r.jsonl.gz"
    writer = RecordingWriter(str(path), interval=1.0, keyframe_every=3)
    for i, root in enumerate(roots):
        snap = take_snapshot(ProcFS(str(root)), PID)._replace(taken_at=T0 + i)
        writer.write_sample(snap, [])
    writer.close()
    return Recording.open(str(path)), roots


async def test_the_replay_shows_the_hugetlb_pages_each_sample_recorded(tmp_path):
    rec, roots = recording_of(tmp_path)
    app = ReplayApp(rec)
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await pilot.press("end")
        await settle(pilot)
        last = roots[-1]
        # The graph: RSS + hugetlb (status' VmRSS + HugetlbPages), every sample.
        graph = screen.query_one(RssGraph)
        assert graph.title == "RSS + hugetlb"
        assert [v for _, v in graph.points] == [
            status_kib(root, "VmRSS") + status_kib(root, "HugetlbPages") for root in roots
        ]
        # The HugeTLB column and the bar's resident share, from the region's smaps lines.
        huge = region_field(last, SHARED, "Shared_Hugetlb") + region_field(
            last, SHARED, "Private_Hugetlb"
        )
        table = screen.query_one(RegionTable)
        column = header_cells(table).index("HugeTLB")
        assert row_of(app, SHARED).split()[column] == format_bytes(huge)
        layout = screen.query_one(AddressBar).layout
        k = next(k for k, r in enumerate(layout.regions) if r.start == SHARED)
        size = region_field(last, SHARED, "Size")
        shares = {round(layout.cells[c].resident, 3) for c in layout.columns_of_region(k)}
        assert shares == {round(huge / size, 3)}


async def test_a_replayed_regions_detail_counts_its_hugetlb_pages(tmp_path):
    rec, roots = recording_of(tmp_path)
    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("end")
        await settle(pilot)
        region = next(r for r in screen.snapshot.regions if r.start == SHARED)
        screen.open_detail(region)
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, RegionDetailScreen)
        expected = [
            region_field(root, SHARED, "Rss")
            + region_field(root, SHARED, "Shared_Hugetlb")
            + region_field(root, SHARED, "Private_Hugetlb")
            for root in roots
        ]
        assert [v for _, v in detail.rss_history] == expected
        assert detail.query_one("#detail-history", RssGraph).title == "Region RSS + hugetlb"
        # The figure the recording kept, said as what it is.
        assert detail.fields["Hugetlb"] == expected[-1] - region_field(roots[-1], SHARED, "Rss")


async def test_a_replay_of_a_file_without_them_draws_rss_alone(tmp_path):
    import gzip
    import json

    rec, roots = recording_of(tmp_path)
    older = tmp_path / "older.jsonl"
    with gzip.open(rec.path, "rt") as f:
        lines = [json.loads(line) for line in f]
    for line in lines:
        line.pop("hugetlb", None)
    older.write_text("".join(json.dumps(line) + "\n" for line in lines))
    app = ReplayApp(Recording.open(str(older)))
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        graph = app.screen.query_one(RssGraph)
        assert graph.title == "RSS"
        assert [v for _, v in graph.points] == [status_kib(root, "VmRSS") for root in roots]


async def test_a_live_regions_history_counts_the_hugetlb_pages_faulted_in(tmp_path):
    root = hugetlb_tree(tmp_path, {SHARED: 4 * MiB})
    app = ScreenApp(root, PID)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        for mib in (10, 10, 30):
            hugetlb_tree(tmp_path, {SHARED: mib * MiB})
            await step(pilot)
        table = app.screen.query_one(RegionTable)
        table.select_region(next(r for r in table.rows if r.start == SHARED))
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, RegionDetailScreen)
        rss = region_field(root, SHARED, "Rss")
        assert [v for _, v in detail.rss_history] == [rss + mib * MiB for mib in (4, 10, 10, 30)]
        graph = detail.query_one("#detail-history", RssGraph)
        assert graph.title == "Region RSS + hugetlb"
        assert "Region RSS + hugetlb 30M" in graph.render_line(0).text
        # It follows the region: pages freed show too.
        await pilot.press("escape")
        await settle(pilot)


async def test_the_delta_since_mark_a_counts_hugetlb_pages(tmp_path):
    from .test_hugetlb_table import cell

    rec, roots = recording_of(tmp_path)
    app = ReplayApp(rec)
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        await pilot.press("a")  # A at the first sample
        await pilot.press("end")
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        grown = sum(
            region_field(roots[-1], SHARED, f) - region_field(roots[0], SHARED, f)
            for f in ("Rss", "Shared_Hugetlb", "Private_Hugetlb")
        )
        assert cell(table, row_of(app, SHARED), "drss") == format_delta(grown)
        # One sample on from A, the row is marked: its hugetlb pages rose since the last.
        await pilot.press("home", "full_stop")
        await settle(pilot)
        assert row_of(app, SHARED).startswith("↑")
