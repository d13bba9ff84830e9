"""A column ticked in the column chooser is shown, at 80 columns too.

From a review: at 80 columns the chooser said "Ticked, but no room for them at this
width: End, ShClean, PrDirty, Perm, …" and the table did not change: a ticked column
had a lower priority than every default on screen, so ticking one did nothing. Now it
takes the place of the defaults nobody chose, lowest priority first; where everything
fits, nothing else changes.

On the recorded fixture (tests/fixtures/process_screen, see test_process_screen.py).
"""

from __future__ import annotations

from textual.widgets import SelectionList

from vmtop.tui.formatting import format_bytes
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.table_columns import CATALOGUE, DEFAULT_COLUMNS

from .test_process_screen import ScreenApp, maps_lines, row_of, settle, smaps_field

TITLE = {c.id: c.title for c in CATALOGUE}


def header_cells(table) -> list[str]:
    return [t.rstrip("▲▼") for t in table.render_line(0).text.split()]


async def toggle(pilot, column: str):
    """Tick (or untick) ``column`` in the chooser, as a person does: c, move, space."""
    await pilot.press("c")
    await pilot.pause()
    chooser = pilot.app.screen
    options = chooser.query_one(SelectionList)
    ids = [options.get_option_at_index(i).value for i in range(options.option_count)]
    options.highlighted = ids.index(column)
    await pilot.press("space")
    await settle(pilot)
    note = str(chooser.query_one("#columns-note").render())
    await pilot.press("escape")
    await settle(pilot)
    return note


def shared_clean_region() -> int:
    """A region whose Shared_Clean is not 0 in the recorded smaps (a library's text)."""
    return next(m[0] for m in maps_lines() if smaps_field(m[0], "Shared_Clean") >= 8192)


async def test_at_80_columns_a_ticked_column_takes_a_defaults_place():
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        before = header_cells(table)
        assert "ShClean" not in before
        note = await toggle(pilot, "shared_clean")
        after = header_cells(table)
        assert "ShClean" in after, after
        # It took the place of the default of lowest priority that was on screen.
        on_screen = [c for c in CATALOGUE if c.title in before and c.id in DEFAULT_COLUMNS]
        lowest = min(
            (c for c in on_screen if c.id not in ("start", "name")), key=lambda c: c.priority
        )
        assert lowest.title not in after, (before, after)
        assert set(after) - {"ShClean"} == set(before) - {lowest.title}, (before, after)
        assert lowest.title in note and "ShClean" not in note, note  # what has no room now
        # The figure is smaps' Shared_Clean.
        start = shared_clean_region()
        await pilot.press("g", *f"0x{start:x}", "enter")  # its row in view
        await settle(pilot)
        cell = row_of(app, start).split()[after.index("ShClean")]
        assert cell == format_bytes(smaps_field(start, "Shared_Clean")), cell
        # Unticked: the table is as it was.
        await toggle(pilot, "shared_clean")
        assert header_cells(table) == before


async def test_the_last_ticked_is_kept_where_there_is_room_for_one():
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        await toggle(pilot, "shared_clean")
        await toggle(pilot, "anonymous")
        after = header_cells(table)
        assert "Anon" in after, after
        assert "Size" in after and "RSS" in after, after  # never given up for a ticked one


async def test_where_everything_fits_ticking_adds_the_column_and_drops_none():
    app = ScreenApp()
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        before = header_cells(table)
        shown = " ".join(before)
        assert all(TITLE[c].split()[0] in shown for c in DEFAULT_COLUMNS), before  # room for all
        await toggle(pilot, "shared_clean")
        after = header_cells(table)
        assert [t for t in after if t != "ShClean"] == before, (before, after)
        assert "ShClean" in after
