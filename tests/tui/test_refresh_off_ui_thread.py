"""A refresh of the process screen does nothing linear in regions on the UI thread: the
bar's layout and the summary by kind are worked out in the sampling worker and handed
over with the sample (at a million regions they cost seconds, and a key press waited on
them; benchmarks/README.md, issue 10)."""

from __future__ import annotations

import threading

from tests.tui.test_process_screen import (
    HEAP,
    ScreenApp,
    copy_fixture,
    grow_heap,
    lines,
    maps_lines,
    settle,
    step,
)
from vmtop.tui.widgets import bar_layout as bl
from vmtop.tui.widgets import kind_summary
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.kind_summary import KindSummary


def record_threads(monkeypatch, calls: list) -> None:
    """Wrap the functions linear in regions to note the thread each call runs on."""
    for module, name in (
        (bl, "compact_layout"),
        (bl, "scale_layout"),
        (bl, "user_regions"),
        (kind_summary, "kind_totals"),
    ):
        original = getattr(module, name)

        def wrapped(*args, _original=original, _name=name, **kw):
            if len(args[0]):  # an empty bar before the first sample costs nothing
                calls.append((_name, threading.current_thread() is threading.main_thread()))
            return _original(*args, **kw)

        monkeypatch.setattr(module, name, wrapped)


async def test_refresh_lays_out_bar_and_summary_in_the_worker(tmp_path, monkeypatch):
    calls: list[tuple[str, bool]] = []
    record_threads(monkeypatch, calls)
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        first = list(calls)
        # The heap grows: the map changed, so the bar and the summary are redrawn.
        grow_heap(root, HEAP, HEAP[1] + 0x21000, rss_kb=172)
        await step(pilot)
        screen = app.screen
        bar_text = lines(screen.query_one(AddressBar))
        summary = lines(screen.query_one(KindSummary))

    names = {name for name, _ in calls}
    assert {"compact_layout", "user_regions", "kind_totals"} <= names
    on_ui = [name for name, ui in calls if ui]
    assert on_ui == [], f"on the UI thread: {on_ui} (first sample: {first})"
    # And what was worked out elsewhere is what is drawn: the heap's growth is marked
    # and the summary counts every region of the fixture.
    assert "▲" in bar_text[3]
    total = next(line for line in summary if line.startswith("total"))
    assert total.split()[1] == str(len(maps_lines()))


def _walk(layout: bl.BarLayout, recent: dict) -> dict[int, int]:
    """Per column, the first region in it with a change: every region in view looked
    for in ``recent``, as the marker row did before it looked the changes up."""
    out = {}
    for col, c in enumerate(layout.cells):
        for k in range(c.lo, min(c.hi, len(layout.regions))):
            if layout.regions[k].start in recent:
                out[col] = k
                break
    return out


def test_marker_columns_looked_up_are_those_a_walk_finds():
    import random

    from tests.tui.test_widgets import region
    from vmtop.tui.widgets.address_bar import _first_changed

    rng = random.Random(10)
    for n in (5, 40, 3000):
        regions, addr = [], 0x10000
        for _ in range(n):
            size = 4096 * rng.choice((1, 2, 16, 300))
            regions.append(region(addr, addr + size))
            addr += size + rng.choice((0, 0, 4096, 1 << 30))
        for layout in (
            bl.compact_layout(regions, bl.TOP_47, 160),
            bl.compact_layout(regions, bl.TOP_47, 37),
            bl.scale_layout(regions, bl.TOP_47, 160),
            bl.scale_layout(regions, bl.TOP_47, 160, (regions[0].start, regions[-1].end)),
        ):
            for changed in (1, 3, n // 2):
                starts = rng.sample([r.start for r in regions], max(1, changed))
                recent = {s: "new" for s in starts}
                recent[0x1] = "new"  # a start no region has (gone since)
                expected = _walk(layout, recent)
                assert expected  # the test sees marks at all
                assert _first_changed(layout, recent) == expected


async def test_a_huge_maps_filtered_sorted_rows_and_baseline_changes_come_from_the_worker(
    tmp_path, monkeypatch
):
    from vmtop.tui import prepared_view
    from vmtop.tui.widgets import region_table, table_model
    from vmtop.tui.widgets.region_table import RegionTable

    monkeypatch.setattr(prepared_view, "ROWS_IN_WORKER_FROM", 0)  # as for a huge map
    calls: list[tuple[str, bool]] = []
    for module in (table_model, region_table, prepared_view):
        original = module.build_rows

        def wrapped(*args, _original=original, **kw):
            calls.append(("build_rows", threading.current_thread() is threading.main_thread()))
            return _original(*args, **kw)

        monkeypatch.setattr(module, "build_rows", wrapped)
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        for key in ("b", "slash", "r", "w", "enter", "s", "s"):  # baseline, filter, sort
            await pilot.press(key)
        await settle(pilot)
        assert table.filter_text == "rw" and table.sort != "start"
        calls.clear()
        grow_heap(root, HEAP, HEAP[1] + 0x21000, rss_kb=172)
        await step(pilot)
        shown = [table.render_line(y).text for y in range(1, len(table.rows) + 1)]
        rows = list(table.rows)
        regions, ref_changes = app.screen.snapshot.regions, app.screen.ref_changes

    assert calls and all(not ui for _, ui in calls), calls
    # What the worker built is what the UI would have: rw regions, sorted, the heap
    # marked as grown since the baseline.
    assert rows == table_model.build_rows(regions, ref_changes, **table.table_state()._asdict())
    assert 0 < len(rows) < len(regions)
    assert all("rw" in f"{r.perms} {r.path} {r.object}".lower() for r in rows)
    heap_row = next(line for line in shown if "[heap]" in line)
    assert "+132K" in heap_row


async def test_a_key_that_reshapes_a_huge_maps_rows_builds_them_in_a_thread(tmp_path, monkeypatch):
    """Sort, filter, group: at a million regions a sort takes half a second, so the
    table builds the rows in a thread and shows the last ones meanwhile, the sorted
    column marked "…"; then the rows for the state it is in by then."""
    from vmtop.tui.widgets import region_table, table_model
    from vmtop.tui.widgets.region_table import RegionTable

    monkeypatch.setattr(region_table, "ROWS_OFF_THREAD_FROM", 0)  # as for a huge map
    calls: list[bool] = []
    original = region_table.build_rows

    def wrapped(*args, **kw):
        calls.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kw)

    monkeypatch.setattr(region_table, "build_rows", wrapped)
    app = ScreenApp(copy_fixture(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        before = table.rows
        calls.clear()
        table.set_sort("size")
        assert table.pending == table.table_state()  # asked for, not built here
        assert table.rows is before
        assert "…" in table.render_line(0).text
        await settle(pilot)
        assert table.pending is None
        assert "▼" in table.render_line(0).text
        sizes = [r.size for r in table.rows]
        assert sizes == sorted(sizes, reverse=True)
        # Two keys before the first rows come: the rows are those of the last state.
        table.set_filter("rw")
        table.set_grouped(True)
        await settle(pilot)
        rows = list(table.rows)
        regions, changes, hugetlb = table.regions, table.changes, table.hugetlb
    assert calls and not any(calls), calls
    state = table.table_state()._asdict()
    expected = table_model.build_rows(regions, changes, **state, hugetlb=hugetlb)
    assert rows == list(expected)
    assert any(isinstance(r, table_model.GroupRow) for r in rows)
