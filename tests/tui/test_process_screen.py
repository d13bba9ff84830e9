"""Pilot tests of the process screen on a recorded proc tree.

tests/fixtures/process_screen/6025 was copied from a live C program
(tests/fixtures/process_screen/fixture_prog.c: 64 small mallocs on the brk heap, a 1 MiB
and an 8 MiB malloc merged into one anonymous mapping, two threads). Expected values are
read from the fixture's own maps/smaps text by the helpers below (plain line parsing,
not vmtop's parser) or worked out by hand.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from vmtop.model.region import Region
from vmtop.procfs.reader import ProcFS
from vmtop.tui.app import VmtopApp
from vmtop.tui.formatting import format_bytes
from vmtop.tui.screens.process import ProcessScreen
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.kind_summary import KindSummary
from vmtop.tui.widgets.process_header import HeaderState, ProcessHeader
from vmtop.tui.widgets.region_table import RegionTable

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "process_screen"
PID = 6025
T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


# -- ground truth from the fixture text -----------------------------------------------


def maps_lines(root: Path = FIXTURE) -> list[tuple[int, int, str, str]]:
    """(start, end, perms, name) per line of the fixture's maps file."""
    out = []
    for line in (root / str(PID) / "maps").read_text().splitlines():
        fields = line.split(None, 5)
        start, end = (int(x, 16) for x in fields[0].split("-"))
        out.append((start, end, fields[1], fields[5] if len(fields) > 5 else ""))
    return out


def smaps_field(start: int, field: str, root: Path = FIXTURE) -> int:
    """One kB field of the region starting at ``start``, in bytes."""
    text = (root / str(PID) / "smaps").read_text()
    block = text.split(f"{start:x}-", 1)[1]
    return int(re.search(rf"^{field}:\s+(\d+) kB", block, re.M).group(1)) * 1024


# -- driving the screen ----------------------------------------------------------------


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScreenApp(VmtopApp):
    """The real app, opening the process screen paused (one sample, then by `r`)."""

    def __init__(self, root: Path | str = FIXTURE, pid: int = PID, demo=None, **screen_kwargs):
        super().__init__(ProcFS(str(root)), pid, demo, clock=Clock())
        self.screen_kwargs = {"paused": True, **screen_kwargs}

    def process_screen(self, pid: int):
        return ProcessScreen(self.procfs, pid, demo=self.demo, **self.screen_kwargs)


async def settle(pilot, rounds: int = 4) -> None:
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def step(pilot, seconds: float = 1.0) -> None:
    """Advance the clock and take one sample."""
    pilot.app.clock.now += seconds
    await pilot.press("r")
    await settle(pilot)


def lines(widget, count: int | None = None) -> list[str]:
    height = widget.size.height if count is None else count
    return [widget.render_line(y).text for y in range(height)]


def table_rows(app) -> list[str]:
    table = app.screen.query_one(RegionTable)
    return [
        table.render_line(y).text for y in range(1, min(table.size.height, len(table.rows) + 1))
    ]


def row_of(app, start: int) -> str:
    return next(line for line in table_rows(app) if line[1:13] == f"{start:012x}")


def copy_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    shutil.copytree(FIXTURE / str(PID), root / str(PID))
    return root


HEAP = next(m for m in maps_lines() if m[3] == "[heap]")


# -- tests -----------------------------------------------------------------------------


async def test_header_and_table_show_the_fixture():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProcessScreen)
        top, totals = lines(screen.query_one(ProcessHeader))
        assert f" {PID} " in top and "./fixture_prog" in top and "threads 3" in top
        # A copied tree is shown as what it is: not live, no refresh interval.
        assert "copy of /proc taken" in top and "live" not in top and "every" not in top
        rss = sum(smaps_field(m[0], "Rss") for m in maps_lines())
        assert rss == 6823936  # 6664 kB: "6.5M"
        assert "RSS 6.5M" in totals and f"regions {len(maps_lines())}" in totals
        table = screen.query_one(RegionTable)
        assert len(table.rows) == len(maps_lines()) == 28
        heap = row_of(app, HEAP[0])
        # start, end, size 0x21000 = 132K, RSS from smaps (72 kB), perms, kind, name
        assert heap.split()[:5] == [f"▌{HEAP[0]:012x}", f"{HEAP[1]:012x}", "132K", "72K", "72K"]
        assert smaps_field(HEAP[0], "Rss") == 72 * 1024
        assert "rw-p heap" in heap and heap.rstrip().endswith("[heap]")
        # The kind summary's heap line agrees with the table.
        summary = lines(screen.query_one(KindSummary))
        assert any(line.startswith(" ■heap") and "132K" in line for line in summary)


async def test_navigation_keys_move_the_selection():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        names = [m[3] for m in maps_lines()]
        assert table.selected_region.start == maps_lines()[0][0]
        await pilot.press("j", "j", "j", "j", "j")
        assert table.selected_region.path == names[5] == "[heap]"
        await pilot.press("k")
        assert table.selected_region.start == maps_lines()[4][0]
        await pilot.press("end")
        assert table.selected_region.path == "[vsyscall]"
        await pilot.press("home")
        assert table.cursor == 0
        await pilot.press("pagedown")
        # one page is the table's height minus its header line: past the 28th row at
        # 160×48, so the last row
        page = table.size.height - 1
        assert page >= 27 and table.cursor == 27
        await pilot.press("pageup")
        assert table.cursor == 0
        # The bar marks the selected region under its cells.
        bar = app.screen.query_one(AddressBar)
        assert bar.selected == table.selected_region


async def test_sort_cycles_columns():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        await pilot.press("s")  # size, largest first
        largest = max(maps_lines(), key=lambda m: m[1] - m[0])
        assert largest[:2] == (0x7FA85847C000, 0x7FA858D81000)  # the 9 MiB of big mallocs
        assert table_rows(app)[0][1:13] == f"{largest[0]:012x}"
        assert "Size▼" in table.render_line(0).text
        await pilot.press("s")  # RSS
        by_rss = max(maps_lines(), key=lambda m: smaps_field(m[0], "Rss"))
        assert table_rows(app)[0][1:13] == f"{by_rss[0]:012x}"
        await pilot.press("S")  # reversed: smallest RSS first
        assert "RSS▲" in table.render_line(0).text
        assert table.rows[0].rss == 0


async def test_a_new_sort_shows_its_top_when_the_selection_is_on_it():
    """Scrolled down in address order, the selected region sorts onto the first page
    by RSS: the table shows that page from its top row, not from the selection."""
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        page = table.page_height
        by_rss = sorted(maps_lines(), key=lambda m: -smaps_field(m[0], "Rss"))
        by_start = sorted(maps_lines())
        # One ranked 2nd-4th by RSS, far enough down in address order to scroll to.
        chosen = next(m for m in by_rss[1:4] if by_start.index(m) >= page + 3)
        region = next(r for r in app.screen.snapshot.regions if r.start == chosen[0])
        table.select_region(region)
        await settle(pilot)
        assert table.scroll_y > 0
        await pilot.press("s", "s")  # size, then RSS
        await settle(pilot)
        assert "RSS▼" in table.render_line(0).text
        assert table.selected_region.start == chosen[0]
        assert table.scroll_y == 0
        assert table_rows(app)[0][1:13] == f"{by_rss[0][0]:012x}"  # the largest, shown


async def test_filter_as_you_type_and_escape_clears():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        await pilot.press("slash", "l", "i", "b", "c")
        libc = [m for m in maps_lines() if "libc.so.6" in m[3]]
        assert len(libc) == 5
        # the 5 named regions, and libc's .bss (anonymous, right after its data)
        assert len(table.rows) == 6
        assert all("libc.so.6" in line for line in table_rows(app))
        assert "6 of 28" in str(app.screen.query_one("#table-title").content)
        await pilot.press("enter")  # keep the filter, back to the table
        assert table.has_focus and table.filter_text == "libc"
        await pilot.press("escape")
        assert len(table.rows) == 28
        # An address: the region that contains it.
        await pilot.press("slash", *"0x560c4d12e100", "enter")
        assert [r.path for r in table.rows] == ["[heap]"]


async def test_group_by_object_with_totals():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        await pilot.press("o")
        text = table_rows(app)
        libc = [m for m in maps_lines() if "libc.so.6" in m[3]]
        bss = maps_lines()[len([m for m in maps_lines() if m[0] <= libc[-1][0]])]
        size = sum(m[1] - m[0] for m in libc) + (bss[1] - bss[0])
        rss = sum(smaps_field(m[0], "Rss") for m in [*libc, bss])
        line = next(line for line in text if "libc.so.6" in line)
        assert "▸ 6 regions" in line
        assert size == 0x7FA858F63000 - 0x7FA858D81000  # libc's image and its .bss: 1.9M
        assert rss == 1188 * 1024  # 1.16 MiB
        tokens = line.split()
        i = tokens.index("regions")
        assert tokens[i + 1 : i + 3] == ["1.9M", "1.2M"]
        title = str(app.screen.query_one("#table-title").render())
        # The summary beside it takes the room the sizes need: said, and how to make it
        # (README review: the sizes `o` promises were missing, and nothing said why).
        assert "grouped by object (text / data / bss: i folds the summary)" in title, title
        assert " bss " not in line and " b " not in line, line
        await pilot.press("i")
        await settle(pilot)
        title = str(app.screen.query_one("#table-title").render())
        assert "as `size` prints them" in title, title  # (a copied tree has no files)
    # At 80 columns the title is said in full words that fit (it was cut mid-
    # parenthesis: "grouped by object (text / data / bss").
    async with ScreenApp().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        title_widget = pilot.app.screen.query_one("#table-title")
        title = str(title_widget.render())
        assert title.endswith("grouped by object"), title
        assert len(title) <= title_widget.size.width
    async with ScreenApp().run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        table = pilot.app.screen.query_one(RegionTable)
        # Enter opens the group: its regions follow it.
        index = next(
            i for i, r in enumerate(table.rows) if getattr(r, "label", "").endswith("libc.so.6")
        )
        table.set_cursor(index)
        await pilot.press("enter")
        assert len(table.rows) == len([r for r in table.rows if hasattr(r, "label")]) + 6


async def test_region_that_grows_is_highlighted_and_logged(tmp_path):
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("b")  # baseline before any change
        # The heap grows by 132 KiB (brk) and 100 KiB more of it becomes resident.
        new_end = HEAP[1] + 0x21000
        grow_heap(root, HEAP, new_end, rss_kb=172)
        await step(pilot)
        row = row_of(app, HEAP[0])
        assert row.startswith("▲")  # grew marker in place of the kind swatch
        assert f"{new_end:012x}" in row and " 264K " in row
        assert "+132K" in row and "+100K" in row  # Δ size, Δ RSS since the baseline
        log = app.screen.query_one(EventLog)
        texts = [log.line_text(i) for i in range(len(log.events))]
        assert any("heap_grew" in t and "+132K" in t for t in texts)
        assert texts[0].startswith("22:13:21")  # T0 + 1 s, in UTC
        bar_lines = lines(app.screen.query_one(AddressBar))
        assert "▲" in bar_lines[3]  # the marker row under the bar
        # Again: since the baseline the heap grew twice as much; since the last refresh once.
        grow_heap(root, (HEAP[0], new_end), new_end + 0x21000, rss_kb=172)
        await step(pilot)
        assert "+264K" in row_of(app, HEAP[0])
        await pilot.press("B")  # drop the baseline
        grow_heap(root, (HEAP[0], new_end + 0x21000), new_end + 0x42000, rss_kb=172)
        await step(pilot)
        row = row_of(app, HEAP[0])
        assert "+132K" in row and "+264K" not in row
        # Three refreshes later the highlight is gone.
        for _ in range(3):
            await step(pilot)
        assert row_of(app, HEAP[0]).startswith("▌")


async def test_the_events_title_says_how_many_older_events_were_dropped(tmp_path, monkeypatch):
    from textual.widgets import Static

    from vmtop.model import event_runs
    from vmtop.tui.widgets import event_log

    monkeypatch.setattr(event_log, "MAX_EVENTS", 2)
    monkeypatch.setattr(event_runs, "REACH", 0)  # each heap_grew a line of its own
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        title = app.screen.query_one("#events-title", Static)
        assert "dropped" not in str(title.render())
        end = HEAP[1]
        for _ in range(4):  # one heap_grew event each
            grow_heap(root, (HEAP[0], end), end + 0x21000, rss_kb=172)
            end += 0x21000
            await step(pilot)
        log = app.screen.query_one(EventLog)
        assert len(log.events) == 2 and log.dropped >= 2
        assert f"newest first  ·  {log.dropped} older dropped  ·" in str(title.render())


def grow_heap(root: Path, old: tuple, new_end: int, rss_kb: int) -> None:
    """Rewrite the fixture's maps and smaps as if brk moved the heap's end."""
    old_range = f"{old[0]:x}-{old[1]:x}"
    new_range = f"{old[0]:x}-{new_end:x}"
    size_kb = (new_end - old[0]) // 1024
    for name in ("maps", "smaps"):
        path = root / str(PID) / name
        text = path.read_text().replace(old_range, new_range)
        if name == "smaps":
            head, block = text.split(new_range, 1)
            block_text, sep, rest = block.partition("VmFlags")
            block_text = re.sub(
                r"^Size:\s+\d+ kB", f"Size:           {size_kb} kB", block_text, count=1, flags=re.M
            )
            for field in ("Rss", "Pss", "Private_Dirty", "Anonymous"):
                block_text = re.sub(
                    rf"^{field}:\s+\d+ kB",
                    f"{field}:  {rss_kb} kB",
                    block_text,
                    count=1,
                    flags=re.M,
                )
            text = head + new_range + block_text + sep + rest
        path.write_text(text)


async def test_pause_and_interval():
    from vmtop.tui.sources import LiveSource

    app = ScreenApp()  # sampled as if it were live (a copied tree is not)
    app.screen_kwargs["source"] = LiveSource(app.procfs, PID, clock=app.clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        header = screen.query_one(ProcessHeader)
        assert "paused" in lines(header)[0]
        await pilot.press("space")
        assert screen.live and "live every 1s" in lines(header)[0]
        await pilot.press("minus")
        assert "every 2s" in lines(header)[0]
        await pilot.press("plus", "plus")
        assert "every 0.5s" in lines(header)[0]
        await pilot.press("space")
        assert not screen.live and "paused" in lines(header)[0]
        assert "smaps every sample" in lines(header)[0]


async def test_sampling_slows_down_to_keep_vmtop_under_its_cpu_budget(monkeypatch):
    """Whatever the CPU goes to (a sample, an smaps read, drawing), vmtop as a whole
    stays under PROCESS_BUDGET of a core: the next sample waits, and the header says so."""
    from vmtop.tui.screens import process_sampling
    from vmtop.tui.sources import LiveSource

    cpu = iter(range(0, 10_000, 2))  # each scheduling finds 2 s more process CPU spent
    monkeypatch.setattr(process_sampling, "process_time", lambda: float(next(cpu)))
    app = ScreenApp()
    app.screen_kwargs["source"] = LiveSource(app.procfs, PID, clock=app.clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("space")  # live: scheduled after each sample
        await pilot.pause(0.05)
        assert screen.live
        wanted = 2.0 / process_sampling.PROCESS_BUDGET  # a period of 2 s of CPU per 22 %
        assert screen.period >= wanted * 0.99
        header = lines(screen.query_one(ProcessHeader))[0]
        assert f"slowed to {screen.slowed_period:.1f}s" in header
        assert abs(screen.slowed_period - screen.period) <= 0.1 * screen.slowed_period
        await pilot.press("minus", "minus", "minus", "minus", "minus")  # every 10s
        header = lines(screen.query_one(ProcessHeader))[0]
        assert "every 10s" in header and "slowed" not in header


def test_slowed_to_neither_flickers_nor_jitters():
    """A period hovering at the edge is said once, and a figure that moves by tenths at
    every sample stays put until it really changes."""
    from vmtop.tui.screens.process_sampling import slowed_to

    shown = None
    said = []
    for period in (1.0, 1.25, 1.19, 1.21, 1.15, 1.24, 1.18):
        shown = slowed_to(period, 1.0, shown)
        said.append(shown)
    assert said == [None, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25]
    assert slowed_to(1.05, 1.0, 1.25) is None  # back near the interval: no longer slowed
    assert slowed_to(2.0, 1.0, 1.25) == 2.0  # a real change is shown
    assert slowed_to(2.5, 2.0, None) == 2.5 and slowed_to(2.3, 2.0, None) is None


async def test_bar_scales_zoom_and_click_selects(tmp_path):
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(AddressBar)
        table = app.screen.query_one(RegionTable)
        legend, upper, lower, marks, axis = lines(bar)
        # Compact: the gap below the program (0x0 .. 0x560c3bda6000 = 86 TiB) is a break.
        assert 0x560C3BDA6000 // (1 << 40) == 86
        assert upper.startswith("╌86T╌")
        assert axis.split()[0] == "560c3bda6000" and axis.split()[-1] == "7fffffffffff"
        assert "compact" in legend and "heap" in legend and "vsyscall" not in legend
        await pilot.press("m")
        legend, upper, lower, marks, axis = lines(bar)
        assert "true scale" in legend
        assert axis.startswith("0x0") and axis.rstrip().endswith("0x7fff_ffff_ffff")
        # 160 columns for 2**47 bytes: the heap at 0x560c4d12e000 is in column 107.
        col = HEAP[0] * 160 // (1 << 47)
        assert col == 107 and upper[col] != "·"
        assert set(upper[:100]) == {"·"}  # nothing mapped below 0x5000_0000_0000
        await pilot.click(AddressBar, offset=(col, 1))
        await pilot.pause()
        assert table.selected_region.path == "[heap]"
        # The first zoom frames the program and its heap (the lower part of the map),
        # still to scale: every cell the same number of bytes, said in the legend.
        program = maps_lines()[0]
        await pilot.press("z")
        legend = lines(bar)[0]
        view = bar.layout.view_end - bar.layout.view_start
        assert bar.layout.view_start <= program[0] and HEAP[1] <= bar.layout.view_end
        assert view <= (HEAP[1] - program[0]) * 5 // 4  # the span and a margin, no more
        assert f"{bar.layout.view_start:#x}–{bar.layout.view_end:#x}" in legend
        assert f"{format_bytes(view // 160)} per cell" in legend
        # The second frames the heap alone: 132 KiB across most of the 160 columns.
        await pilot.press("z")
        upper = lines(bar)[1]
        assert upper.count("█") >= 120
        view = bar.layout.view_end - bar.layout.view_start
        start = bar.layout.view_start
        await pilot.press("greater_than_sign")
        assert bar.layout.view_start == start + view // 2
        await pilot.press(*"ZZ")
        assert bar.zoom == 0
        await pilot.press("m")  # back to compact; zoom shows a quarter of the regions
        await pilot.press("z")
        assert "zoom 7/27 regions" in lines(bar)[0]  # ceil(27 / 4), vsyscall not counted


async def test_process_that_exits_keeps_its_last_snapshot(tmp_path):
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        shutil.rmtree(root / str(PID))
        await step(pilot, 5.0)
        screen = app.screen
        banner = str(screen.query_one("#banner").content)
        assert banner.strip().startswith(f"process {PID} exited at 22:13:25")
        assert screen.query_one("#banner").display
        assert len(screen.query_one(RegionTable).rows) == 28
        assert "exited 22:13:25" in lines(screen.query_one(ProcessHeader))[0]
        log = screen.query_one(EventLog)
        assert "exited" in log.line_text(0)
        assert screen.check_action("pause", ()) is False  # nothing left to sample
        assert screen._timer is None


async def test_process_that_runs_a_program_it_may_not_read_has_not_exited(tmp_path, monkeypatch):
    """The process exec'd a setuid program: its maps is refused from then on, its stat
    (same start time, a new name) still reads. The screen keeps the last snapshot, says
    the process still runs, and gives the whole advice, its PID included, at 80 columns."""
    import errno
    import os

    import vmtop.procfs.reader as reader

    root = copy_fixture(tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # an ordinary user's advice
    monkeypatch.setattr(ProcFS, "owner", lambda self, pid: "root")
    app = ScreenApp(root)
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot)
        stat = root / str(PID) / "stat"
        stat.write_text(stat.read_text().replace("(fixture_prog)", "(passwd)"))
        real_open = reader.open_regular

        def open_regular(path, *, inside=None):
            if os.path.basename(path) in ("maps", "smaps"):
                raise PermissionError(errno.EACCES, "Permission denied", path)
            return real_open(path, inside=inside)

        monkeypatch.setattr(reader, "open_regular", open_regular)
        await step(pilot, 5.0)
        screen = app.screen
        header = lines(screen.query_one(ProcessHeader))[0]
        assert "exited" not in header
        assert "unreadable since 22:13:25" in header
        banner = screen.query_one("#banner")
        shown = " ".join(line.strip() for line in lines(banner))
        assert "exited" not in shown
        assert shown.startswith(f"process {PID} is still running but can no longer be read")
        assert "it exec'd passwd, which vmtop may not read (now owned by root)" in shown
        assert shown.endswith(f'run vmtop as root: sudo "$(command -v vmtop)" {PID}')
        assert len(screen.query_one(RegionTable).rows) == 28  # the last snapshot stays
        log = screen.query_one(EventLog)
        assert "fixture_prog -> passwd" in log.line_text(0)
        assert screen._timer is None  # nothing more is read


async def test_unreadable_process_shows_a_message_and_q_leaves(tmp_path):
    app = ScreenApp(tmp_path, pid=99999)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        message = str(app.screen.query_one("#message").content)
        assert "no such process: 99999" in message
        assert not app.screen.query_one("#bar").display
        # The header says so too, rather than "paused" and "reading…".
        header = [app.screen.query_one(ProcessHeader).render_line(y).text for y in (0, 1)]
        assert "not watched" in header[0] and "paused" not in header[0]
        assert "reading" not in header[1]
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 1  # as `vmtop snapshot 99999` fails


async def test_unreadable_process_started_on_its_pid_leaves_on_esc_as_it_says(tmp_path):
    app = ScreenApp(tmp_path, pid=99999)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        message = str(app.screen.query_one("#message").content)
        assert "Press q or Esc to quit." in message  # no list below it to go back to
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 1  # it said "Nothing to close" and stayed


async def test_kernel_thread_is_explained(tmp_path):
    root = tmp_path / "proc"
    shutil.copytree(Path(__file__).parent.parent / "fixtures" / "tui_proc" / "2", root / "2")
    app = ScreenApp(root, pid=2)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        message = str(app.screen.query_one("#message").render())
        # Its name in brackets, shown as it is (not taken for markup).
        assert "process 2 [kthreadd] is a kernel thread" in message


async def test_enter_opens_detail_and_escape_comes_back():
    from vmtop.tui.screens.detail import RegionDetailScreen

    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        await pilot.press(*"jjjjj")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RegionDetailScreen)
        assert app.screen.memory_region.path == "[heap]"
        assert app.screen.rss_history == [(T0, 72 * 1024)]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProcessScreen)
        assert table.selected_region.path == "[heap]"


async def test_go_to_address_selects_its_region():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        await pilot.press("g", *"0x7fa858da8010", "enter")
        await settle(pilot)
        region = table.selected_region
        assert (region.start, region.end) == (0x7FA858DA7000, 0x7FA858EFD000)  # libc's text
        assert "libc.so.6" in region.path
        # What it found, said in words: not `vmtop where`'s columns without their header.
        (said,) = [n.message for n in app._notifications]
        assert said.startswith("0x7fa858da8010: text of /") and "libc.so.6" in said, said
        assert "(7fa858da7000-7fa858efd000 r-xp, +0x1010 in)" in said, said


async def test_a_newline_in_the_command_line_is_a_space_as_in_the_picker(tmp_path):
    root = copy_fixture(tmp_path)
    (root / str(PID) / "cmdline").write_bytes(b"./fixture_prog\0arg with\nnewline\0")
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        top, _ = lines(app.screen.query_one(ProcessHeader))
        assert "./fixture_prog arg with newline" in top and "\\x0a" not in top


async def test_go_to_digits_alone_says_when_they_were_meant_as_hex():
    """A non-PIE program's text at 0x401000: typed as maps prints it (00401000) it is
    found; typed 401000 it is decimal, not mapped, and `g` says what hex would be."""
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        text = Region(0x401000, 0x402000, "r-xp", 0x1000, "fe:00", 7, "/prog", kind="text")
        screen.snapshot = screen.snapshot._replace(regions=(text,))
        app._notifications.clear()
        screen.go_to_address("401000")
        await settle(pilot)
        screen.go_to_address("00401000")
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert any("0x61e68" in m and "as hex, 0x401000 is mapped" in m for m in said), said
        assert any(m.startswith("0x401000: text /prog") for m in said), said


async def test_control_characters_in_names_are_escaped(tmp_path):
    root = copy_fixture(tmp_path)
    for name in ("maps", "smaps"):
        path = root / str(PID) / name
        path.write_bytes(path.read_bytes().replace(b"[heap]\n", b"/tmp/evil\x1b[2Jname\n", 1))
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        row = row_of(app, HEAP[0])
        assert "/tmp/evil\\x1b[2Jname" in row and "\x1b" not in row


async def test_demo_narration_is_interleaved_in_the_log():
    class Demo:
        said = ["malloc(1048576) = 0x7f0000000010", "free(0x7f0000000010)"]

        def read_narration(self):
            lines, self.said = self.said, []
            return lines

        def stop(self):
            pass

    app = ScreenApp(demo=Demo())
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        log = app.screen.query_one(EventLog)
        assert [log.line_text(i) for i in range(2)] == [
            "22:13:20 » free(0x7f0000000010)",
            "22:13:20 » malloc(1048576) = 0x7f0000000010",
        ]


PROC_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "proc"


async def test_56_bit_address_space():
    # tests/fixtures/proc/90004: 5-level paging, a region and the stack above 2**47.
    app = ScreenApp(PROC_FIXTURES, pid=90004)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(AddressBar)
        axis = lines(bar)[4]
        assert axis.rstrip().endswith("ffffffffffffff")  # 2**56 - 1: 14 hex digits
        assert bar.top == 1 << 56
        rows = table_rows(app)
        assert rows[1].startswith("▌ff7ffff7ff0000 ff7ffff7ff2000")  # 14-digit columns
        await pilot.press("m")
        assert lines(bar)[4].rstrip().endswith("0xff_ffff_ffff_ffff")


async def test_process_without_smaps_shows_sizes_and_dashes():
    # tests/fixtures/proc/90008: maps, stat, status and cmdline, no smaps.
    app = ScreenApp(PROC_FIXTURES, pid=90008)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        row = row_of(app, 0x400000)
        assert row.split()[2:5] == ["8.0K", "-", "-"]  # size 0x2000; no RSS, no PSS
        totals = lines(app.screen.query_one(ProcessHeader))[1]
        assert "PSS -" in totals and "(no smaps: sizes without resident figures)" in totals


async def test_pid_reused_is_not_diffed(tmp_path):
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        stat = root / str(PID) / "stat"
        fields = stat.read_text().split(") ", 1)
        rest = fields[1].split()
        rest[22 - 3] = str(int(rest[22 - 3]) + 1000)  # field 22, start time
        stat.write_text(fields[0] + ") " + " ".join(rest) + "\n")
        await step(pilot)
        banner = str(app.screen.query_one("#banner").content)
        assert "PID now belongs to another process" in banner
        assert len(app.screen.query_one(RegionTable).rows) == 28


async def test_clicks_on_header_and_kind_summary():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        header = table.render_line(0).text
        await pilot.click(RegionTable, offset=(header.index("Size") + 1, 0))
        assert table.sort == "size" and table.descending
        await pilot.click(RegionTable, offset=(header.index("Size") + 1, 0))
        assert not table.descending  # a second click reverses
        summary = app.screen.query_one(KindSummary)
        heap_line = next(y for y, text in enumerate(lines(summary)) if text.startswith(" ■heap"))
        await pilot.click(KindSummary, offset=(2, heap_line))
        assert table.filter_text == "heap"
        assert [r.path for r in table.rows] == ["[heap]"]


async def test_q_leaves_even_with_a_filter():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"heap", "enter")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_command_palette_offers_the_screen_actions():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"only heap")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        table = screen.query_one(RegionTable)
        assert [r.path for r in table.rows] == ["[heap]"]


def add_anon_region(root: Path, start: int, end: int, rss_kb: int) -> None:
    """Insert an anonymous rw-p region into maps and smaps (a new mmap)."""
    size_kb = (end - start) // 1024
    line = f"{start:x}-{end:x} rw-p 00000000 00:00 0 \n"
    maps = root / str(PID) / "maps"
    maps_lines = maps.read_text().splitlines(keepends=True)
    at = next(i for i, m in enumerate(maps_lines) if int(m.split("-", 1)[0], 16) > start)
    maps.write_text("".join(maps_lines[:at] + [line] + maps_lines[at:]))
    smaps = root / str(PID) / "smaps"
    text = smaps.read_text()
    blocks = re.split(r"(?m)^(?=[0-9a-f]+-[0-9a-f]+ )", text)
    template = next(b for b in blocks if b.startswith("7fa85847c000-"))
    body = template.split("\n", 1)[1]
    body = re.sub(r"(?m)^Size:\s+\d+ kB", f"Size: {size_kb} kB", body)
    for field in ("Rss", "Pss", "Private_Dirty", "Anonymous"):
        body = re.sub(rf"(?m)^{field}:\s+\d+ kB", f"{field}: {rss_kb} kB", body)
    block = line + body
    at = next(i for i, b in enumerate(blocks) if b and int(b.split("-", 1)[0], 16) > start)
    smaps.write_text("".join(blocks[:at] + [block] + blocks[at:]))


def remove_region(root: Path, start: int) -> None:
    maps = root / str(PID) / "maps"
    maps.write_text(
        "".join(
            m for m in maps.read_text().splitlines(keepends=True) if not m.startswith(f"{start:x}-")
        )
    )
    smaps = root / str(PID) / "smaps"
    blocks = re.split(r"(?m)^(?=[0-9a-f]+-[0-9a-f]+ )", smaps.read_text())
    smaps.write_text("".join(b for b in blocks if not b.startswith(f"{start:x}-")))


async def test_selection_follows_its_region_when_rows_move(tmp_path):
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        libc_text = next(m for m in maps_lines() if m[2] == "r-xp" and "libc" in m[3])
        index = maps_lines().index(libc_text)
        table.set_cursor(index)
        # A new mapping below it: every row from there on moves down by one.
        add_anon_region(root, 0x7FA857000000, 0x7FA857100000, rss_kb=1024)
        await step(pilot)
        assert table.selected_region.start == libc_text[0]
        assert table.cursor == index + 1
        assert table.rows[6].start == 0x7FA857000000  # the new one, right after the heap
        # The selected region itself unmapped: the cursor stays where it was.
        remove_region(root, libc_text[0])
        await step(pilot)
        assert table.cursor == index + 1
        assert table.selected_region.start != libc_text[0]


async def test_the_header_gives_no_smaps_cost_before_smaps_was_read():
    """A huge map's first look reads maps only: the header said 'read in 0µs'."""
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        header = app.screen.query_one(ProcessHeader)
        snap = app.screen.snapshot
        header.set_state(HeaderState(snap, PID, smaps_cost=0.0))
        await pilot.pause()
        top = lines(header)[0]
        assert "not read yet" in top and "0µs" not in top
        header.set_state(HeaderState(snap, PID, smaps_cost=0.0012))
        await pilot.pause()
        assert "read in 1.2ms" in lines(header)[0]


async def test_the_title_names_a_sort_by_its_smaps_field():
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        while table.sort != "private_dirty":
            await pilot.press("s")
        title = str(app.screen.query_one("#table-title").content)
        assert "sorted by Private_Dirty" in title, title


async def test_huge_map_is_shown_before_smaps_is_read(monkeypatch):
    import vmtop.tui.sampler as sampler_module

    monkeypatch.setattr(sampler_module, "QUICK_FIRST_REGIONS", 10)  # the fixture has 28
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        # First a maps-only look, then at once (even paused) the smaps read.
        assert screen.tick == 2
        assert row_of(app, HEAP[0]).split()[3] == "72K"
        assert "reading smaps" not in lines(screen.query_one(ProcessHeader))[1]


async def test_a_group_of_a_hundred_regions_says_regions_in_the_end_column(tmp_path):
    """``▸ 150 regions`` does not fit the Start column (12 cells): the word goes in the
    End column, which a group row leaves empty; it used to be dropped."""
    root = tmp_path / "proc"
    (root / "77").mkdir(parents=True)
    base = 0x7F00_0000_0000
    lines_ = [
        f"{base + i * 0x2000:x}-{base + i * 0x2000 + 0x1000:x} rw-p 00000000 00:00 0 \n"
        for i in range(150)
    ]
    (root / "77" / "maps").write_text("".join(lines_))
    app = ScreenApp(root, 77)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        line = next(line for line in table_rows(app) if "[anonymous]" in line)
        assert line.split()[:3] == ["█▸", "150", "regions"], line  # swatch, arrow


async def test_a_demo_keeps_the_region_it_is_about_selected_until_the_cursor_moves(tmp_path):
    """At 80×24 the stack and thread stacks of the demos were below the rows shown,
    while the narration spoke of them: each change to the map now selects its region
    (scrolled into view), until the person moves the cursor."""

    class Demo:
        def read_narration(self):
            return []

        def stop(self):
            pass

    root = copy_fixture(tmp_path)
    app = ScreenApp(root, demo=Demo())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        assert table.cursor == 0 and table.selected_region.start != HEAP[0]
        end = HEAP[1] + 0x21000
        grow_heap(root, HEAP, end, rss_kb=172)
        await step(pilot)
        assert table.selected_region.start == HEAP[0]  # the heap grew: selected
        await pilot.press("down")  # the person moves on
        moved = table.selected_region.start
        grow_heap(root, (HEAP[0], end), end + 0x21000, rss_kb=172)
        await step(pilot)
        assert table.selected_region.start == moved != HEAP[0]


async def test_the_screen_says_a_misspelt_vmtop_variable(monkeypatch):
    # Printed before the screen took the terminal, it was gone behind it.
    monkeypatch.setenv("VMTOP_INTREVAL", "3")
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert any("VMTOP_INTREVAL" in m and "VMTOP_INTERVAL" in m for m in said), said


async def test_a_region_freed_and_mapped_again_is_new_since_the_baseline(tmp_path):
    # The diff of two samples pairs the same kind of mapping over the same range: across
    # the baseline and now, a block freed and allocated again where it was read as the
    # same region, unchanged. The screen saw it unmapped and mapped: it is new.
    root = copy_fixture(tmp_path)
    block = (0x7FA857000000, 0x7FA857100000)
    add_anon_region(root, *block, rss_kb=1024)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        remove_region(root, block[0])
        await step(pilot)
        add_anon_region(root, *block, rss_kb=1024)
        await step(pilot)
        await step(pilot)  # past the highlight of the last sample: the baseline's Δ
        await step(pilot)
        await step(pilot)
        row = row_of(app, block[0])
        assert "+1.0M" in row, row
        change = app.screen.ref_changes[block[0]]
        assert change.status == "new", change
        # The heap, untouched since the baseline, is still no change at all.
        assert HEAP[0] not in app.screen.ref_changes
        await pilot.press("B")
        assert block[0] not in app.screen.ref_changes


async def test_a_replay_header_keeps_the_command_where_it_was_as_the_state_changes():
    """Stepping through a replay, "running" / "sleeping" and "threads 9" / "threads 10"
    moved the command, and what of it was cut changed from sample to sample."""
    app = ScreenApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        header = app.screen.query_one(ProcessHeader)
        snap = app.screen.snapshot
        replay = ((100, "❚❚  22:13:31.0"), (75, "  sample 12/30"))
        starts = set()
        for state, threads in (("R", 9), ("S", 10), ("D", 1)):
            info = snap.info._replace(state=state, threads=threads)
            header.set_state(HeaderState(snap._replace(info=info), PID, source=replay))
            await pilot.pause()
            top = lines(header)[0]
            starts.add(top.index(snap.info.command[:10]))
        assert len(starts) == 1, starts
