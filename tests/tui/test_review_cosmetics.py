"""What a user review found cut, garbled or out of place: the sort arrow of every column,
whole addresses at 160 columns ([vsyscall] included), the column chooser on a large
and a small terminal, the page strip's wording, and the help's scrolling.

On the recorded fixtures (tests/fixtures/process_screen, tests/fixtures/tui_proc).
Expected texts are written here by hand, from the fixture files or from what a user
reads; none is taken from the code under test.
"""

from __future__ import annotations

import pytest
from textual.widgets import SelectionList

from vmtop.procfs import pagemap as pm
from vmtop.procfs.reader import ProcFS
from vmtop.tui.app import VmtopApp
from vmtop.tui.screens.columns import ColumnChooser
from vmtop.tui.screens.help import HelpScreen
from vmtop.tui.screens.picker import PickerScreen
from vmtop.tui.widgets.page_strip import strip_text
from vmtop.tui.widgets.region_table import RegionTable

from .conftest import TUI_PROC
from .test_process_screen import FIXTURE, PID, ScreenApp, maps_lines, settle

# Every sortable column: its sort key (what `s` sets) and its title as the table heads it
# (pmap -X's names, shortened).
SORTABLE = {
    "start": ("start", "Start"),
    "size": ("size", "Size"),
    "rss": ("rss", "RSS"),
    "pss": ("pss", "PSS"),
    "shared_clean": ("shared_clean", "ShClean"),
    "shared_dirty": ("shared_dirty", "ShDirty"),
    "private_clean": ("private_clean", "PrClean"),
    "private_dirty": ("private_dirty", "PrDirty"),
    "dirty": ("dirty", "Dirty"),
    "anonymous": ("anonymous", "Anon"),
    "swap": ("swap", "Swap"),
    "kind": ("kind", "Kind"),
    "dsize": ("delta", "ΔSize"),
    "name": ("name", "Object / name"),
}


def header(table: RegionTable) -> str:
    return table.render_line(0).text


def table_lines(table: RegionTable) -> list[str]:
    return [table.render_line(y).text for y in range(1, table.size.height)]


# -- 1. the sort arrow ------------------------------------------------------------------


@pytest.mark.parametrize("size", [(160, 48), (220, 60)], ids=["160x48", "220x60"])
async def test_every_sortable_column_in_the_chooser_shows_its_sort_arrow(size):
    app = ScreenApp()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        # The columns the chooser offers, and the two always shown.
        await pilot.press("c")
        options = app.screen.query_one(SelectionList)
        offered = [options.get_option_at_index(i).value for i in range(options.option_count)]
        await pilot.press("escape")
        sorted_by = set()
        for column in ("start", "name", *offered):
            if column not in SORTABLE:  # (smaps fields read for the rows on screen only)
                continue
            key, title = SORTABLE[column]
            table.set_columns((column,))  # as the chooser does when only it is ticked
            await pilot.pause()
            for _ in range(len(table.sort_keys)):  # `s` goes round the keys on screen
                if table.sort == key:
                    break
                await pilot.press("s")
            assert table.sort == key, column
            await pilot.pause()
            first = "▼" if table.descending else "▲"
            assert title + first in header(table), (column, header(table))
            await pilot.press("S")  # reversed: the other arrow
            await pilot.pause()
            other = "▲" if first == "▼" else "▼"
            assert title + other in header(table), (column, header(table))
            sorted_by.add(column)
        # The chooser offers every sortable column (Start and the name are always shown).
        assert sorted_by == set(SORTABLE), set(SORTABLE) - sorted_by


# -- 2. whole addresses at 160 columns ---------------------------------------------------


def address_cells(line: str) -> list[str]:
    """A region row's Start and End cells (Start alone when End is not shown or empty)."""
    cells = line[1:].split()
    return [c for c in cells[:2] if all(ch in "0123456789abcdef…" for ch in c)]


async def test_every_address_is_whole_at_160_columns_vsyscall_included():
    vsyscall = next(m for m in maps_lines() if m[3] == "[vsyscall]")
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        seen = []
        for key in ("home", "end"):  # the first rows, then the last
            await pilot.press(key)
            await pilot.pause()
            seen += table_lines(table)
        rows = [line for line in seen if line.startswith("▌")]
        assert rows
        for line in rows:
            assert "…" not in "".join(address_cells(line)), line
        # [vsyscall]: its start whole (across Start and End), then its size.
        last = rows[-1]
        assert last[1:].split()[:2] == [f"{vsyscall[0]:x}", "4.0K"], last
        assert last.rstrip().endswith("[vsyscall]")
        # Every column of the default table is still there, the name too.
        for title in ("Start", "End", "Size", "RSS", "PSS", "PrDirty", "Swap", "Perm", "Kind"):
            assert title in header(table), header(table)
        # The columns right of it line up with every other row's.
        above = rows[-2]
        assert last.index("4.0K") + 4 == above.index(above[1:].split()[2]) + len(
            above[1:].split()[2]
        )


@pytest.mark.live
async def test_live_sleep_at_160_columns_shows_vsyscall_whole(spawn):
    with open("/proc/self/maps") as maps:
        if "[vsyscall]" not in maps.read():
            pytest.skip("this kernel maps no [vsyscall]")
    child = spawn(["sleep", "100"])
    app = VmtopApp(ProcFS(), child.pid)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        await pilot.press("end")
        await pilot.pause()
        rows = [line for line in table_lines(table) if line.startswith("▌")]
        assert any(line[1:].startswith("ffffffffff600000 ") for line in rows), rows
        assert not any("…" in "".join(address_cells(line)) for line in rows), rows


async def test_a_narrow_table_shows_vsyscall_in_a_recognisable_short_form():
    # 80 columns: no room for End; Start alone has 12 cells for [vsyscall]'s 16 digits.
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        assert "End" not in header(table)
        await pilot.press("end")
        await pilot.pause()
        rows = [line for line in table_lines(table) if line.startswith("▌")]
        last = rows[-1]
        # ffffffffff600000: the kernel half's first digits, the page's last ones.
        assert last[1:].startswith("ffff…f600000 "), last
        for line in rows[:-1]:  # user space: every address whole
            assert "…" not in "".join(address_cells(line)), line


# -- 3. the column chooser --------------------------------------------------------------

LONGEST_DESCRIPTIONS = (
    "change of RSS, hugetlb pages counted (since refresh/baseline; ~ estimated)",
    "LazyFree: MADV_FREE'd, freed under pressure (rows on screen)",
    "AnonHugePages: in transparent huge pages (rows on screen)",
    "SwapPss: this process's share of Swap (rows on screen)",
    "Locked: mlock()ed, kept in RAM (rows on screen)",
)


async def chooser_text(pilot) -> str:
    """Every line of the chooser's list, scrolled from top to bottom."""
    options = pilot.app.screen.query_one(SelectionList)
    seen = []
    for key in ("home", "end"):
        await pilot.press(key)
        await pilot.pause()
        seen += [options.render_line(y).text for y in range(options.size.height)]
    return "\n".join(seen)


async def open_chooser(pilot) -> None:
    await settle(pilot)
    await pilot.press("c")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ColumnChooser)


async def test_column_chooser_shows_every_description_whole_on_a_large_terminal():
    app = ScreenApp()
    async with app.run_test(size=(220, 60)) as pilot:
        await open_chooser(pilot)
        text = await chooser_text(pilot)
        for description in LONGEST_DESCRIPTIONS:
            assert description in text, description


async def test_column_chooser_fits_an_80x24_terminal():
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_chooser(pilot)
        box = app.screen.query_one("#columns-box")
        options = app.screen.query_one(SelectionList)
        assert box.region.x >= 0 and box.region.right <= 80, box.region
        assert box.region.y >= 0 and box.region.bottom <= 24, box.region
        assert box.region.contains_region(options.region), (box.region, options.region)
        text = await chooser_text(pilot)
        for title in ("PrDirty", "Swap", "Lazy", "ΔRSS"):  # every column still offered
            assert title in text
        assert "Locked: mlock()ed, kept in RAM" in text  # short ones whole


# -- 4. wording ----------------------------------------------------------------------------


def test_page_strip_of_a_one_page_region_says_page():
    entries = [pm.PRESENT]
    text = strip_text(("full", entries, pm.bucket(entries, 1), 1), 60, 0.0).plain
    assert "1 page of " in text and "1 pages" not in text
    many = [pm.PRESENT, 0]
    text = strip_text(("full", many, pm.bucket(many, 2), 2), 60, 0.0).plain
    assert "2 pages of " in text


# -- 5. help's scrolling -----------------------------------------------------------------


class PickerApp(VmtopApp):
    def first_screen(self):
        return PickerScreen(self.procfs, live=False)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
async def test_help_scrolls_as_a_whole_with_its_scrollbar_at_the_edge(size):
    width = size[0]
    app = PickerApp(ProcFS(str(TUI_PROC)))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        # One scrollbar, at the screen's right edge.
        scrolled = [w for w in screen.query("*") if w.show_vertical_scrollbar]
        assert [w.id for w in scrolled] == ["help-body"], [w.id for w in scrolled]
        body = scrolled[0]
        assert body.vertical_scrollbar.region.right == width
        # The keys scroll all of it: End shows the last lines of both columns.
        last_key_block = list(screen.query("#help-keys Static"))[-1]
        malloc_note = screen.query_one("#help-malloc")
        assert not body.region.contains_region(malloc_note.region)
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y > 0
        shown = body.region
        bottom = shown.bottom
        assert last_key_block.region.bottom <= bottom or malloc_note.region.bottom <= bottom
        if width >= 120:  # side by side: the end of both columns shows
            assert malloc_note.region.bottom <= bottom and malloc_note.region.y >= shown.y
            assert last_key_block.region.bottom <= bottom
        else:  # stacked: the meanings come last
            assert malloc_note.region.bottom <= bottom
        # PgUp goes back a page of the whole help.
        await pilot.press("pageup")
        await pilot.pause()
        assert 0 <= body.scroll_y < body.max_scroll_y


def test_fixture_has_a_vsyscall_above_user_space():
    # (the address tests above need it: a kernel that maps [vsyscall])
    maps = (FIXTURE / str(PID) / "maps").read_text()
    assert "ffffffffff600000-ffffffffff601000" in maps


@pytest.mark.parametrize("size", [(160, 48), (80, 24), (60, 12)])
async def test_column_chooser_lists_every_column_where_the_screen_has_room(size):
    # The list was capped at 20 rows: two columns sat behind a scroll even at 160x48.
    app = ScreenApp()
    async with app.run_test(size=size) as pilot:
        await open_chooser(pilot)
        await pilot.pause()
        listed = pilot.app.screen.query_one(SelectionList)
        box = pilot.app.screen.query_one("#columns-box")
        assert box.region.height <= size[1]  # the dialog fits the screen
        if size[1] - 4 >= listed.option_count:
            assert listed.size.height == listed.option_count
        else:
            assert listed.size.height == size[1] - 4 and listed.max_scroll_y > 0
