"""The process screen shows the same thing whether its snapshots hold Region tuples
(maps of up to 10 000 regions) or columns (bigger maps, read in pieces): the sampler is
made to read a small fixture as it reads a huge map, and every panel is compared, tick
by tick, through a heap that grows, a new mapping, an unmapped region, sorting,
filtering and grouping."""

from __future__ import annotations

import re

import pytest

import vmtop.tui.sampler as sampler_module
from tests.tui.test_process_screen import (
    HEAP,
    ScreenApp,
    add_anon_region,
    copy_fixture,
    grow_heap,
    lines,
    remove_region,
    settle,
    step,
)
from vmtop.model.columns import RegionColumns
from vmtop.tui.widgets import address_bar
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.kind_summary import KindSummary
from vmtop.tui.widgets.process_header import ProcessHeader
from vmtop.tui.widgets.region_table import RegionTable


def timeless(text: list[str]) -> list[str]:
    """Without the times things took to read (which vary from run to run)."""
    # (and so the spaces that right-align what follows them: collapsed)
    return [re.sub(r" +", " ", re.sub(r"\b\d+(\.\d+)?(µs|ms|s)\b", "T", line)) for line in text]


def shown(app) -> dict[str, list[str]]:
    screen = app.screen
    table = screen.query_one(RegionTable)
    return {
        "header": timeless(lines(screen.query_one(ProcessHeader))),
        "bar": lines(screen.query_one(AddressBar)),
        "summary": lines(screen.query_one(KindSummary)),
        "table": [table.render_line(y).text for y in range(table.size.height)],
        "events": lines(screen.query_one(EventLog)),
    }


async def watch(tmp_path, monkeypatch, columns: bool) -> list[dict]:
    if columns:
        # As for a map of more than 10 000 regions: read in pieces, held as columns,
        # and the first look maps only.
        monkeypatch.setattr(sampler_module, "KEEP_SMAPS_TEXT_REGIONS", 0)
        monkeypatch.setattr(sampler_module, "QUICK_FIRST_REGIONS", 0)
        # and the bar laid out in a thread after a key, as for a huge map
        monkeypatch.setattr(address_bar, "LAYOUT_IN_THREAD_FROM", 0)
    root = copy_fixture(tmp_path / ("columns" if columns else "tuples"))
    app = ScreenApp(root)
    seen = []
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen.snapshot.regions, RegionColumns) == columns
        seen.append(shown(app))
        grow_heap(root, HEAP, HEAP[1] + 0x21000, 200)
        await step(pilot)
        seen.append(shown(app))
        add_anon_region(root, 0x7FA857000000, 0x7FA857100000, rss_kb=1024)
        await step(pilot)
        seen.append(shown(app))
        await step(pilot)  # nothing changed
        seen.append(shown(app))
        remove_region(root, 0x7FA857000000)
        await step(pilot)
        seen.append(shown(app))
        keys_pressed = (
            ["z"],
            ["z", "greater_than_sign"],
            ["m"],
            ["z"],
            ["less_than_sign"],
            ["m"],
            ["s"],
            ["s", "s", "S"],
            ["g"],
            ["g", "slash", "h", "e", "a", "p", "enter"],
        )
        for keys in keys_pressed:
            for key in keys:
                await pilot.press(key)
            await settle(pilot)
            seen.append(shown(app))
    return seen


@pytest.mark.parametrize("size", [(160, 48)])
async def test_the_screen_is_the_same_with_columns(tmp_path, monkeypatch, size):
    tuples = await watch(tmp_path, monkeypatch, columns=False)
    columns = await watch(tmp_path, monkeypatch, columns=True)
    assert len(tuples) == len(columns)
    for tick, (a, b) in enumerate(zip(tuples, columns, strict=True)):
        for panel in a:
            assert a[panel] == b[panel], f"step {tick}: {panel} differs"
    # and the steps did change what is shown (the comparison compared something)
    assert tuples[0]["table"] != tuples[1]["table"] != tuples[2]["table"]
    assert any("heap" in line for line in tuples[1]["events"])
    bars = [step["bar"] for step in tuples[5:11]]
    assert len({tuple(bar) for bar in bars}) >= 3  # the bar keys changed the bar
