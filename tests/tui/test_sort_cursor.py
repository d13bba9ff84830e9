"""A sort with the cursor on the first row (nothing chosen yet) keeps it on the first
row of the new order. It followed the region there, the lowest address, so "sorted by
size" opened on that small region, the largest ones scrolled out of sight above it (a
new user's review: node at 80x24 showed a 60M region first, 510M above it unseen).
A region the user chose is still followed."""

from __future__ import annotations

from vmtop.tui.widgets.region_table import RegionTable

from .test_process_screen import ScreenApp, maps_lines, settle


async def test_a_sort_from_the_first_row_shows_the_largest_first():
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        assert table.cursor == 0
        await pilot.press("s")  # by size, largest first
        await settle(pilot)
        largest = max(maps_lines(), key=lambda m: m[1] - m[0])
        assert table.cursor == 0 and table.scroll_y == 0
        assert table.selected_region.start == largest[0]


async def test_a_chosen_region_is_followed_into_the_new_order():
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        await pilot.press("down", "down", "down")
        await settle(pilot)
        chosen = table.selected_region
        await pilot.press("s")
        await settle(pilot)
        assert table.selected_region.start == chosen.start
