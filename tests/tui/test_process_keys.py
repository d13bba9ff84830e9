"""Pilot tests of the process screen's keys and texts as a new user meets them: Esc,
the help's key names, the event log's long texts, the bar's zoom, the header's words.

On the recorded fixture (tests/fixtures/process_screen, see test_process_screen.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from textual.widgets import SelectionList

from vmtop.procfs.reader import ProcFS
from vmtop.tui.app import VmtopApp
from vmtop.tui.formatting import format_bytes
from vmtop.tui.screens.columns import ColumnChooser
from vmtop.tui.screens.event_detail import EventDetail
from vmtop.tui.screens.process import ProcessScreen
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.process_header import ProcessHeader
from vmtop.tui.widgets.region_table import RegionTable

from .conftest import rendered_text
from .test_process_screen import (
    HEAP,
    ScreenApp,
    add_anon_region,
    copy_fixture,
    grow_heap,
    lines,
    maps_lines,
    row_of,
    settle,
    smaps_field,
    step,
)


async def test_escape_never_quits_a_screen_started_on_a_pid():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(RegionTable)
        await pilot.press("slash", *"heap")
        await pilot.press("escape")  # closes the prompt, clears the filter
        assert len(table.rows) == 28
        await pilot.press("escape", "escape")  # nothing open: stays
        await pilot.pause()
        assert app.is_running and app.screen is screen
        await pilot.press("enter")  # the region detail
        await settle(pilot)
        assert app.screen is not screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert isinstance(screen, ProcessScreen)


def header_cells(table) -> list[str]:
    return [t.rstrip("▲▼") for t in table.render_line(0).text.split()]


async def test_private_dirty_is_a_column_and_agrees_with_the_header():
    """The table's figure and the header's are the same smaps field, named the same."""
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        titles = header_cells(table)
        assert "PrDirty" in titles and "Dirty" not in titles
        heap = row_of(app, HEAP[0])
        column = titles.index("PrDirty")
        assert heap.split()[column] == format_bytes(smaps_field(HEAP[0], "Private_Dirty"))
        total = sum(smaps_field(m[0], "Private_Dirty") for m in maps_lines())
        _, totals = lines(app.screen.query_one(ProcessHeader))
        assert f"private dirty {format_bytes(total)}" in totals


async def test_columns_are_chosen_like_pmap_X():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        assert "Anon" not in header_cells(table)
        await pilot.press("c")
        chooser = app.screen
        assert isinstance(chooser, ColumnChooser)
        options = chooser.query_one(SelectionList)
        ids = [options.get_option_at_index(i).value for i in range(options.option_count)]
        # Ticked and unticked boxes differ in shape, not only in colour (NO_COLOR).
        boxes = {ids[i]: options.render_line(i).text[:3] for i in range(options.option_count)}
        assert boxes["pss"] == "▐X▌" and boxes["anonymous"] == "▐ ▌", boxes
        # Tick Anonymous and Swap off: move to each and press space.
        for wanted in ("anonymous", "swap"):
            options.highlighted = ids.index(wanted)
            await pilot.press("space")
        await pilot.press("escape")
        assert app.screen is not chooser
        titles = header_cells(table)
        assert "Anon" in titles and "Swap" not in titles
        heap = row_of(app, HEAP[0])
        column = titles.index("Anon")
        assert heap.split()[column] == format_bytes(smaps_field(HEAP[0], "Anonymous"))
        # Sorting by it puts the biggest anonymous region first.
        while table.sort != "anonymous":
            await pilot.press("s")
        assert table.descending
        biggest = max(maps_lines(), key=lambda m: smaps_field(m[0], "Anonymous"))
        assert table.rows[0].start == biggest[0]
        # Every field pmap -X shows is offered, and q closes the chooser as help says.
        await pilot.press("c")
        chooser = app.screen
        options = chooser.query_one(SelectionList)
        ids = {options.get_option_at_index(i).value for i in range(options.option_count)}
        assert {"referenced", "pss_dirty", "swap_pss", "anon_huge", "lazyfree"} <= ids
        await pilot.press("q")
        assert app.screen is not chooser


async def test_narrow_table_keeps_pss_and_swap_before_end_and_perm():
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = header_cells(app.screen.query_one(RegionTable))
        for kept in ("Start", "Size", "RSS", "PSS", "Swap", "Kind"):
            assert kept in titles, titles
        assert "End" not in titles and "Perm" not in titles


def log_texts(app) -> list[str]:
    log = app.screen.query_one(EventLog)
    return [log.line_text(i) for i in range(len(log.events))]


async def test_slow_growth_reaches_the_log_once_it_adds_up(tmp_path):
    """32 KiB more resident heap per second (the lab's program): under the 64 KiB
    threshold each time, reported when the sum since the last report gets there."""
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        rss_kb = smaps_field(HEAP[0], "Rss", root) // 1024
        assert rss_kb == 72
        grow_heap(root, HEAP, HEAP[1], rss_kb=rss_kb + 32)
        await step(pilot)
        assert not [t for t in log_texts(app) if "rss_changed" in t]
        grow_heap(root, HEAP, HEAP[1], rss_kb=rss_kb + 64)
        await step(pilot)
        reported = [t for t in log_texts(app) if "rss_changed" in t]
        assert len(reported) == 1 and "+64K" in reported[0] and "[heap]" in reported[0]
        assert "now 136.0 KiB resident" in reported[0]
        # Counting starts again from what was reported.
        grow_heap(root, HEAP, HEAP[1], rss_kb=rss_kb + 96)
        await step(pilot)
        assert len([t for t in log_texts(app) if "rss_changed" in t]) == 1
        # t, 16K: a lower threshold, the next 32 KiB shows at once.
        await pilot.press("t", *"16K", "enter")
        assert "16K" in str(app.screen.query_one("#events-title").content)
        grow_heap(root, HEAP, HEAP[1], rss_kb=rss_kb + 128)
        await step(pilot)
        # 32K + 32K since the last: the same rise of the same heap goes on with the
        # line of the first (+64K, then +64K: "+128K ×2").
        reported = [t for t in log_texts(app) if "rss_changed" in t]
        assert len(reported) == 1 and "+128K ×2 " in reported[0], reported


async def test_threshold_option_reaches_the_screen(tmp_path):
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    app.rss_threshold = 8192
    app.screen_kwargs["rss_threshold"] = 8192
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert "8.0K or more" in str(app.screen.query_one("#events-title").content)
        grow_heap(root, HEAP, HEAP[1], rss_kb=80)
        await step(pilot)
        assert [t for t in log_texts(app) if "rss_changed" in t and "+8.0K" in t]


def test_threshold_option_is_parsed_for_the_tui(monkeypatch):
    import vmtop.cli as cli

    seen = {}
    # pytest's stdout is no terminal: the TUI's check would refuse before run_tui.
    monkeypatch.setattr(cli, "no_terminal_reason", lambda **_: None)
    monkeypatch.setattr(
        cli,
        "run_tui",
        lambda procfs, pid, settings=None, notices=(): (
            seen.update(pid=pid, threshold=settings.threshold) or 0
        ),
    )
    assert cli.main(["--threshold", "16384", "4242"]) == 0
    assert seen == {"pid": 4242, "threshold": 16384}


async def test_long_event_is_cut_at_a_word_and_opens_in_full(tmp_path):
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        start, end = 0x7FA857000000, 0x7FA857100000
        add_anon_region(root, start, end, rss_kb=1024)
        await step(pilot)
        log = app.screen.query_one(EventLog)
        index = next(i for i in range(len(log.events)) if "mapped" in log.line_text(i))
        event = log.events[-1 - index]
        full = log.line_text(index)
        assert len(full) > 80 and event.detail  # the "why" does not fit 80 columns
        shown = log.render_line(index).text.rstrip()
        assert shown.endswith("…")
        kept = shown[:-1]
        assert full.startswith(kept)
        # Cut between words; or, where the cut fell in the kind's padding and would have
        # left none of the why ("anon     …", review), within its first word.
        why = kept.rsplit("  ", 1)[-1].strip()
        assert why, shown
        assert full[len(kept)] == " " or " " not in why, shown
        # Tab to the log, onto the event, Enter: all of it.
        await pilot.press("tab")
        assert log.has_focus
        for _ in range(index):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, EventDetail)
        text = rendered_text(detail.query_one("#event-text"), width=86)
        assert " ".join(event.detail.split()[-3:]) in " ".join(text.split())
        assert f"{start:#x} – {end:#x}" in text
        # Enter again: back, with its region selected in the table.
        await pilot.press("enter")
        await pilot.pause()
        table = app.screen.query_one(RegionTable)
        assert app.screen is not detail and table.has_focus
        assert table.selected_region.start <= start < table.selected_region.end


async def test_true_scale_first_zoom_frames_the_libraries_and_stack():
    """In the upper part of the map: one press shows the libraries and the stack, a
    second the libraries alone, where libc's 1.3 MiB of code is many cells wide."""
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        bar = app.screen.query_one(AddressBar)
        maps = maps_lines()
        libc_text = next(m for m in maps if "libc.so.6" in m[3] and m[2] == "r-xp")
        stack = next(m for m in maps if m[3] == "[stack]")
        table.select_region(next(r for r in table.rows if r.start == libc_text[0]))
        await pilot.press("m", "z")
        layout = bar.layout
        assert layout.view_start > maps[0][1]  # the program is not in view
        assert layout.view_start <= libc_text[0] and stack[1] <= layout.view_end
        assert layout.view_end - layout.view_start < (1 << 47) // 64
        await pilot.press("z")
        layout = bar.layout
        assert layout.view_end < stack[0]  # the libraries alone
        columns = layout.columns_of(libc_text[0], libc_text[1])
        assert len(columns) >= 5
        # Still to scale: every cell stands for the same number of bytes.
        widths = {c.end - c.start for c in layout.cells}
        assert max(widths) - min(widths) <= 1


SLEEPER = r"""
#include <stdio.h>
#include <unistd.h>
int counter = 1;
char buffer[1 << 16];
int main(void) {
    buffer[0] = 1;
    printf("ready\n");
    fflush(stdout);
    pause();
    return counter;
}
"""


@pytest.mark.live
async def test_group_by_object_shows_what_size_prints(compile_c, spawn, tmp_path):
    if shutil.which("size") is None:
        pytest.skip("binutils size is not installed")
    source = tmp_path / "sleeper.c"
    source.write_text(SLEEPER)
    exe = compile_c(source)
    child = spawn([str(exe)])
    assert child.read_line() == "ready"
    out = subprocess.run(["size", str(exe)], capture_output=True, text=True, check=True)
    text, data, bss = (int(x) for x in out.stdout.splitlines()[1].split()[:3])
    app = VmtopApp(ProcFS(), child.pid)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        app.screen.action_pause()
        await pilot.press("o")
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        real = os.path.realpath(exe)
        index = next(i for i, row in enumerate(table.rows) if getattr(row, "key", "") == real)
        line = table.render_line(index + 1 - round(table.scroll_y)).text
        expected = (
            f"text {format_bytes(text)} · data {format_bytes(data)} · bss {format_bytes(bss)}"
        )
        assert expected in line, line
        assert bss >= 1 << 16  # the 64 KiB buffer, so the figure means something


async def test_header_stops_saying_sleeping_once_the_process_exited(tmp_path):
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        header = app.screen.query_one(ProcessHeader)
        assert "sleeping" in lines(header)[0]
        shutil.rmtree(root / "6025")
        await step(pilot, 5.0)
        top = lines(header)[0]
        assert "sleeping" not in top and top.count("exited") == 2  # state, and when


async def test_the_headers_smaps_cost_is_said_and_explained_in_help():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        top = lines(app.screen.query_one(ProcessHeader))[0]
        # A copied tree is read once: the header says what that read cost, no ticks.
        assert "smaps read in " in top and "every sample" not in top
        await pilot.press("question_mark")
        await pilot.pause()
        text = " ".join(
            " ".join(rendered_text(w, width=150).split()) for w in app.screen.query("Static")
        )
        assert "smaps every sample, read in" in text
        assert "page tables" in text and "a tenth of a CPU" in text


@pytest.mark.parametrize(
    ("column", "title", "field"),
    [
        ("locked", "Locked", "Locked"),
        ("referenced", "Refd", "Referenced"),
        ("pss_dirty", "PssDty", "Pss_Dirty"),
        ("swap_pss", "SwPss", "SwapPss"),
        ("anon_huge", "THP", "AnonHugePages"),
        ("lazyfree", "Lazy", "LazyFree"),
    ],
)
async def test_field_columns_read_the_field_from_smaps(tmp_path, column, title, field):
    """Figures not carried by a region (the rest of what `pmap -X` shows): the column
    reads them from the smaps text."""
    root = copy_fixture(tmp_path)
    smaps = root / "6025" / "smaps"
    text = smaps.read_text()
    head, block = text.split(f"{HEAP[0]:x}-", 1)
    line = f"{field + ':':<16}{8:>9} kB"
    block, found = re.subn(rf"^{field}:\s+\d+ kB", line, block, count=1, flags=re.M)
    assert found, f"{field} is not in the fixture's smaps"
    smaps.write_text(head + f"{HEAP[0]:x}-" + block)
    app = ScreenApp(root)
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        table.set_columns((*table.chosen, column))
        await pilot.pause()
        titles = header_cells(table)
        column = titles.index(title)
        assert row_of(app, HEAP[0]).split()[column] == "8.0K"
        first = maps_lines()[0]  # untouched: what the recorded smaps says
        assert row_of(app, first[0]).split()[column] == format_bytes(smaps_field(first[0], field))


async def test_the_chooser_says_which_ticked_columns_have_no_room():
    """At 80 columns ticking a column could change nothing on screen, and the dialog
    gave no hint which ticked ones were left out."""
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        await pilot.press("c")
        chooser = app.screen
        options = chooser.query_one(SelectionList)
        ids = [options.get_option_at_index(i).value for i in range(options.option_count)]
        options.highlighted = ids.index("anonymous")
        await pilot.press("space")
        await settle(pilot)
        note = str(chooser.query_one("#columns-note").render())
        on_screen = {c.id for c in table.columns}
        # Ticked now, it takes a default's place (test_columns_ticked): the note names
        # the defaults left out.
        assert "anonymous" in table.chosen and "anonymous" in on_screen  # (ground truth)
        assert note.startswith("Ticked, but no room for them at this width:") and "Anon" not in note
        left_out = [t.strip(" .") for t in note.split(":", 1)[1].split(",")]
        assert all(t not in header_cells(table) for t in left_out), (left_out, header_cells(table))
