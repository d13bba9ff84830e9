"""The settings (config file, environment, options) reach the TUI: interval, event
threshold, table columns, bar scale, theme."""

from __future__ import annotations

from vmtop.config import Settings
from vmtop.procfs.reader import ProcFS
from vmtop.tui.app import VmtopApp
from vmtop.tui.screens.process import ProcessScreen
from vmtop.tui.widgets import bar_layout as bl
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.region_table import RegionTable

from .conftest import TUI_PROC

SIZE = (160, 48)


async def settled(pilot) -> None:
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def test_settings_shape_the_process_screen():
    settings = Settings(
        interval=2.5,
        threshold=12345,
        columns=("start", "rss", "kind", "name"),
        theme="vmtop-light",
        bar_scale="true",
    )
    app = VmtopApp(ProcFS(str(TUI_PROC)), 4242, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, ProcessScreen)
        assert screen.interval == 2.5
        assert screen.rss_threshold == screen.sampler.drift.threshold == 12345
        table = screen.query_one(RegionTable)
        assert [c.id for c in table.columns] == ["start", "rss", "kind", "name"]
        header = table.render_line(0).text
        assert "RSS" in header and "Kind" in header and "PSS" not in header
        assert "Size" not in header
        assert screen.query_one(AddressBar).mode == bl.SCALE
        assert app.theme == "vmtop-light"


async def test_defaults_show_every_column_and_the_compact_bar():
    app = VmtopApp(ProcFS(str(TUI_PROC)), 4242)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        table = app.screen.query_one(RegionTable)
        header = table.render_line(0).text
        assert "PSS" in header and "Size" in header
        assert app.screen.query_one(AddressBar).mode == bl.COMPACT
        assert app.screen.interval == 1.0 and app.theme == "vmtop-dark"
