"""Every screen at 80×24 (the smallest common terminal), 160×48 and 220×60: pilot tests
of what must stay usable when small and what grows when there is room, and SVG
snapshots of each screen at the three sizes.

Update the snapshots after a deliberate change with
``pytest tests/tui/test_sizes.py --snapshot-update``, and look at them.
"""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from vmtop.procfs.reader import ProcFS
from vmtop.tui.screens.detail import RegionDetailScreen
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.kind_summary import KindSummary
from vmtop.tui.widgets.process_header import ProcessHeader
from vmtop.tui.widgets.region_table import RegionTable

from .conftest import TUI_PROC
from .test_process_screen import ScreenApp, lines, maps_lines, settle
from .test_process_snapshots import pinned_read_cost  # noqa: F401 - autouse fixture
from .test_screens_snapshots import FIXED_TIME, DetailApp, FrozenPickerApp, settled

SIZES = [(80, 24), (160, 48), (220, 60)]


def words(text: str) -> list[str]:
    return [w.strip(",()") for w in text.split()]


async def whole_words_at(width: int, height: int) -> tuple[list[str], list[str]]:
    """The header's words at this size, and at a size where nothing is left out."""
    out = []
    for size in ((width, height), (400, 60)):
        app = ScreenApp()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            out.append(" ".join(lines(app.screen.query_one(ProcessHeader))))
    return words(out[0]), words(out[1])


@pytest.mark.parametrize(("width", "height", "rows"), [(40, 12, 6), (80, 15, 9), (80, 18, 9)])
async def test_a_short_terminal_keeps_table_rows_and_folds_the_log(width, height, rows):
    """A split tmux pane: at 40×12 the table had no row left (the empty event log kept
    five lines), at 80×15 two. The log folds away below 20 lines and the bar below 16,
    until their keys show them."""
    app = ScreenApp()
    async with app.run_test(size=(width, height)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(RegionTable)
        assert table.size.height - 1 >= rows  # rows, under the column titles
        log = screen.query_one(EventLog)
        assert not log.display
        await pilot.press("e")  # shown when asked for
        await settle(pilot)
        assert log.display and log.size.height >= 1
        await pilot.press("e")
        await settle(pilot)
        assert not log.display
        assert screen.query_one(AddressBar).display == (height >= 16)


async def test_80x24_process_screen_keeps_a_useful_table_and_whole_words():
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(RegionTable)
        assert table.size.height - 1 >= 9  # rows, under the column titles
        assert screen.query_one(EventLog).size.height >= 4
        bar = screen.query_one(AddressBar)
        assert bar.size.height == 3 and bar.short
        # Every key in the footer is whole on screen (the palette key sits at the right).
        keys = [k for k in screen.query(FooterKey) if not k.has_class("-command-palette")]
        palette = screen.query_one(".-command-palette", FooterKey)
        assert len(keys) >= 5
        for key in keys:
            assert key.region.right <= palette.region.x, key
        # e, i, a fold the panels away and back.
        rows_before = table.size.height
        await pilot.press("e")
        await pilot.pause()
        assert not screen.query_one(EventLog).display
        assert table.size.height > rows_before
        await pilot.press("a")
        await pilot.pause()
        assert not bar.display
        await pilot.press("i")  # the summary by kind, in the table's place
        await pilot.pause()
        summary = screen.query_one(KindSummary)
        assert summary.display and summary.size.width >= 60
        assert not screen.query_one("#main").display
        await pilot.press("i", "e", "a")
        await pilot.pause()
        assert screen.query_one("#main").display and bar.display
        assert screen.query_one(EventLog).display
    small, full = await whole_words_at(80, 24)
    # The header leaves whole figures out rather than cutting one.
    assert set(small) <= set(full) | {w for w in small if w.endswith("…")}, small
    assert "RSS" in small and "6.5M" in small


async def test_220x60_process_screen_uses_the_room():
    app = ScreenApp()
    async with app.run_test(size=(220, 60)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.query_one(KindSummary).display
        assert screen.query_one(EventLog).size.height >= 12
        assert screen.query_one(AddressBar).size.height == 5
        table = screen.query_one(RegionTable)
        titles = table.render_line(0).text.split()
        assert "End" in titles and "Perm" in titles
        # [vsyscall] sits above user space: its 16 digits are whole on a wide table.
        vsyscall = maps_lines()[-1]
        assert vsyscall[3] == "[vsyscall]"
        last = table.render_line(len(table.rows)).text
        assert f"{vsyscall[0]:016x} {vsyscall[1]:016x}" in last


@pytest.mark.parametrize(("size", "stacked"), [((80, 24), True), ((220, 60), False)])
async def test_region_detail_stacks_on_a_narrow_terminal(size, stacked):
    app = DetailApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME)
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, RegionDetailScreen)
        assert screen.has_class("stacked") == stacked
        right = screen.query_one("#detail-right")
        assert right.size.width >= (70 if stacked else 100)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_process_screen_at_size(snap_compare, size):
    assert snap_compare(ScreenApp(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_region_detail_at_size(snap_compare, size):
    app = DetailApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_picker_at_size(snap_compare, size, deny_pids):
    deny_pids(4444)
    app = FrozenPickerApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_at_size(snap_compare, size):
    app = FrozenPickerApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME)
    assert snap_compare(app, terminal_size=size, press=["question_mark"], run_before=settled)
