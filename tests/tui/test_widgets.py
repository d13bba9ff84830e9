"""The process screen's widgets and their pure parts, without the whole screen.

Expected values are worked out by hand from the inputs (sizes, addresses, columns), not
taken from the code under test.
"""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from vmtop.model import kinds
from vmtop.model.events import Event
from vmtop.model.region import Region
from vmtop.tui.formatting import format_bytes, format_delta, format_estimated_delta
from vmtop.tui.sampler import NEW, RESHAPED, RSS_UP, Sampler
from vmtop.tui.theme import KIND_PALETTE, kind_style
from vmtop.tui.widgets import bar_layout as bl
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.rss_graph import sparkline_rows
from vmtop.tui.widgets.table_columns import shorten_left
from vmtop.tui.widgets.table_model import GroupRow, Member, build_rows, filter_regions

K = 1024
M = 1024 * K


def region(start, end, perms="rw-p", path="", kind=kinds.ANON, rss=None, obj=None, inode=0):
    return Region(
        start,
        end,
        perms,
        0,
        "00:00" if not inode else "fe:00",
        inode,
        path,
        rss=rss,
        pss=rss,
        swap=0,
        private_dirty=0,
        shared_dirty=0,
        kind=kind,
        object=obj,
    )


# -- formatting and theme ---------------------------------------------------------------


def test_format_bytes_human_units():
    assert format_bytes(None) == "-"
    assert format_bytes(0) == "0"
    assert format_bytes(512) == "512B"
    assert format_bytes(4096) == "4.0K"
    assert format_bytes(64 * K) == "64K"
    assert format_bytes(1258291) == "1.2M"  # 1.2 * 2**20
    assert format_bytes(10 * 1024**3) == "10G"
    assert format_bytes(2**47) == "128T"
    assert format_delta(M) == "+1.0M"
    assert format_delta(-64 * K) == "-64K"
    assert format_delta(0) == ""
    # Worked out, not read: marked, and still six columns wide.
    assert format_estimated_delta(-32 * K) == "~-32K"
    assert format_estimated_delta(1023 * K) == "~+1.0M"
    assert format_estimated_delta(0) == ""


async def test_a_resident_change_shared_out_over_a_split_is_marked_as_worked_out():
    from vmtop.tui.sampler import RegionChange

    regions = synthetic(3)
    changes = {
        regions[0].start: RegionChange(RESHAPED, 0, 32 * K, True),
        regions[1].start: RegionChange(RSS_UP, 0, 96 * K),
    }
    app = TableApp(regions, changes)
    async with app.run_test(size=(160, 10)) as pilot:
        table = app.query_one(RegionTable)
        await pilot.pause()
        assert " ~+32K " in table.render_line(1).text
        assert " +96K " in table.render_line(2).text and "~" not in table.render_line(2).text


def test_every_kind_has_its_own_colour():
    assert set(kinds.ALL_KINDS) <= set(KIND_PALETTE)
    assert len({dark for dark, _ in KIND_PALETTE.values()}) == len(KIND_PALETTE)
    assert len({light for _, light in KIND_PALETTE.values()}) == len(KIND_PALETTE)
    assert kind_style(kinds.HEAP) == KIND_PALETTE[kinds.HEAP][0]  # outside an app: dark


# -- the bar's layout ------------------------------------------------------------------


def test_true_scale_puts_a_region_in_the_column_of_its_address():
    # 2**47 bytes over 128 columns: one column per TiB. A region at 100 TiB + 4 KiB is
    # in column 100, a thin mark (it fills a tiny share of its column).
    T = 1 << 40
    regions = [region(100 * T + 4096, 100 * T + 8192, kind=kinds.HEAP, path="[heap]")]
    layout = bl.scale_layout(regions, bl.TOP_47, 128)
    occupied = [i for i, c in enumerate(layout.cells) if c.kind is not None]
    assert occupied == [100]
    assert layout.cells[100].fill < 0.5
    assert layout.cells[100].pick == 0
    assert layout.axis[0] == (0, "0x0")
    assert layout.axis[-1][1] == "0x7fff_ffff_ffff"


def test_top_is_56_bit_when_a_region_is_above_47_bits_and_vsyscall_is_left_out():
    vsyscall = region(0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, "--xp", "[vsyscall]", kinds.VSYSCALL)
    low = [region(0x1000, 0x2000), vsyscall]
    assert bl.user_top(low) == 1 << 47
    assert [r.path for r in bl.user_regions(low)] == [""]
    high = [region(0x1000, 0x2000), region(0x7F_FFFF_0000_0000, 0x7F_FFFF_0001_0000), vsyscall]
    assert bl.user_top(high) == 1 << 56
    layout = bl.scale_layout(bl.user_regions(high), bl.user_top(high), 100)
    assert layout.axis[-1][1] == "0xff_ffff_ffff_ffff"


def test_compact_gives_every_region_a_cell_and_labels_gaps():
    # 40 regions of 4 KiB, each followed by a 1 GiB gap except inside pairs.
    regions = []
    addr = 0x10000000
    for i in range(40):
        regions.append(region(addr, addr + 4096, kind=kinds.ANON if i % 2 else kinds.TEXT))
        addr += 4096 if i % 2 == 0 else 1024**3
    layout = bl.compact_layout(regions, bl.TOP_47, 156)
    assert len(layout.cells) == 156
    for index in range(40):
        assert layout.columns_of_region(index), f"region {index} has no cell"
    # 21 gaps (before the first, 19 of 1 GiB, after the last); the 15 largest (156 // 10)
    # are marked, and 15 labelled breaks would take more than 30 % of the width, so each
    # is one cell.
    assert "".join(c.gap_char for c in layout.cells) == "┊" * 15


def test_compact_break_is_labelled_with_the_gap_size():
    regions = [region(0x400000, 0x401000, kind=kinds.TEXT), region(0x40400000, 0x40401000)]
    # gaps: 0x0..0x400000 (4 MiB), 0x401000..0x40400000 (1 GiB - 4 KiB), up to the top.
    layout = bl.compact_layout(regions, bl.TOP_47, 120)
    text = "".join(c.gap_char for c in layout.cells)
    assert "╌4.0M╌" in text
    assert "╌1.0G╌" in text
    top_gap = (1 << 47) - 0x40401000
    assert f"╌{format_bytes(top_gap)}╌" in text
    assert layout.axis[0] == (6, "400000")  # after the 6-cell break "╌4.0M╌"


def test_compact_with_60000_regions_fills_the_width_and_every_cell_picks_a_region():
    regions = [region(0x10000000 + i * 8192, 0x10000000 + i * 8192 + 4096) for i in range(60000)]
    layout = bl.compact_layout(regions, bl.TOP_47, 160)
    assert len(layout.cells) == 160
    region_cells = [c for c in layout.cells if not c.gap_char]
    assert all(0 <= c.pick < 60000 for c in region_cells)
    assert region_cells[0].lo == 0 and max(c.hi for c in region_cells) == 60000


def test_zoom_windows():
    assert bl.compact_window(100, 0, 50) == (0, 100)
    assert bl.compact_window(100, 1, 50) == (38, 63)  # 25 regions centred on 50
    assert bl.compact_window(100, 1, 0) == (0, 25)
    assert bl.scale_window(1 << 47, 1, 1 << 46) == ((1 << 46) - (1 << 42), (1 << 46) + (1 << 42))


# -- the table model ---------------------------------------------------------------------


FIXTURE_REGIONS = [
    region(0x1000, 0x2000, "r-xp", "/usr/lib/libc.so.6", kinds.TEXT, 4096, "/usr/lib/libc.so.6", 7),
    region(0x2000, 0x4000, "rw-p", "/usr/lib/libc.so.6", kinds.DATA, 8192, "/usr/lib/libc.so.6", 7),
    region(0x4000, 0x6000, "rw-p", "", kinds.BSS, 4096, "/usr/lib/libc.so.6"),
    region(0x10000, 0x30000, "rw-p", "[heap]", kinds.HEAP, 65536),
    region(0x40000, 0x140000, "rw-p", "", kinds.ANON, 0),
]


def test_filter_by_name_object_kind_perms_and_address():
    assert [r.start for r in filter_regions(FIXTURE_REGIONS, "libc")] == [0x1000, 0x2000, 0x4000]
    assert [r.start for r in filter_regions(FIXTURE_REGIONS, "heap")] == [0x10000]
    assert [r.start for r in filter_regions(FIXTURE_REGIONS, "r-x")] == [0x1000]
    assert [r.start for r in filter_regions(FIXTURE_REGIONS, "0x40010")] == [0x40000]
    assert [r.start for r in filter_regions(FIXTURE_REGIONS, "libc rw")] == [0x2000, 0x4000]
    assert filter_regions(FIXTURE_REGIONS, "nothing-like-this") == []


def test_group_by_object_sums_its_regions():
    rows = build_rows(FIXTURE_REGIONS, {}, grouped=True)
    groups = {r.label: r for r in rows if isinstance(r, GroupRow)}
    libc = groups["/usr/lib/libc.so.6"]
    assert (libc.count, libc.size, libc.rss) == (3, 0x5000, 4096 + 8192 + 4096)
    assert libc.kind == kinds.TEXT
    assert groups["[heap]"].size == 0x20000
    assert groups["[anonymous]"].size == 0x100000
    assert all(isinstance(r, GroupRow) for r in rows)  # collapsed
    rows = build_rows(FIXTURE_REGIONS, {}, grouped=True, expanded={"[heap]"})
    i = next(i for i, r in enumerate(rows) if isinstance(r, GroupRow) and r.key == "[heap]")
    assert isinstance(rows[i + 1], Member) and rows[i + 1].region.path == "[heap]"


def test_sort_by_size_largest_first():
    rows = build_rows(FIXTURE_REGIONS, {}, sort="size", descending=True)
    assert [r.size for r in rows] == [0x100000, 0x20000, 0x2000, 0x2000, 0x1000]


def test_shorten_keeps_the_end_of_a_path():
    assert shorten_left("/usr/lib/x86_64-linux-gnu/libc.so.6", 12) == "…u/libc.so.6"  # 12 cells
    assert shorten_left("short", 12) == "short"


# -- sparkline ---------------------------------------------------------------------------


def test_sparkline_scales_between_low_and_high():
    # values 10, 20: range 10, the floor is 0 (10 - 10); 10 is half-way up one row of
    # eight levels -> 1 + round(0.5 * 7) = 5 eighths ("▅"), 20 is full ("█").
    assert sparkline_rows([10, 20], 1) == ["▅█"]
    # two rows: 16 levels; 10 -> 1 + round(0.5 * 15) = 9: bottom full, top one eighth.
    assert sparkline_rows([10, 20], 2) == ["▁█", "██"]
    assert sparkline_rows([], 2) == ["", ""]


# -- the sampler's smaps budget ----------------------------------------------------------


def test_smaps_budget():
    s = Sampler(procfs=None, pid=1)
    s.smaps_cost = 0.26  # like 65 000 regions here
    s.plan_smaps(1.0)  # 10 % of 1 s = 0.1 s per tick -> every 3rd tick
    assert s.smaps_every == 3
    s.plan_smaps(5.0)
    assert s.smaps_every == 1
    s.smaps_cost = 0.002
    s.plan_smaps(0.25)
    assert s.smaps_every == 1


def test_sample_cost_counts_the_cpu_of_the_reading_thread(monkeypatch):
    """smaps is read on a second thread: the sample's cost (what the screen's CPU budget
    and the smaps budget work from) is CPU, not the shorter wall time."""
    from vmtop.procfs.reader import ProcFS
    from vmtop.procfs.snapshot import take_snapshot
    from vmtop.tui import sampler as sampler_module

    from .conftest import TUI_PROC

    def slow_cpu(*args, **kwargs):
        snap = take_snapshot(*args, **kwargs)
        if not snap.has_smaps:
            return snap
        return snap._replace(read_seconds=0.2, parse_seconds=0.05, cpu_seconds=0.4)

    monkeypatch.setattr(sampler_module, "take_snapshot", slow_cpu)
    s = Sampler(ProcFS(str(TUI_PROC)), 4242)
    result = s.sample(1.0)
    assert result.smaps_read
    assert s.smaps_cost == 0.4
    assert s.smaps_every in (4, 5)  # 0.4 s (and the kept text's figures) against 10 % of 1 s
    assert 0.15 <= result.cost_seconds < 0.15 + 1.0  # wall time + the other thread's 0.15 s


def test_figures_read_from_the_kept_text_count_on_the_smaps_budget(monkeypatch):
    """LazyFree of thousands of regions freed with MADV_FREE, read from the kept text,
    doubled a sample's cost unseen by the smaps budget (review)."""
    import time

    from vmtop.procfs.reader import ProcFS
    from vmtop.tui import sampler as sampler_module

    from .conftest import TUI_PROC

    def slow_figures(snap):
        time.sleep(0.3)
        return []

    monkeypatch.setattr(sampler_module, "lazy_free_figures", slow_figures)
    s = Sampler(ProcFS(str(TUI_PROC)), 4242)
    assert s.sample(1.0).smaps_read
    assert s.text_cost >= 0.3
    assert s.smaps_every >= 3  # 0.3 s and more against 10 % of 1 s


def test_a_huge_smaps_text_is_not_kept(monkeypatch):
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui import sampler as sampler_module

    from .conftest import TUI_PROC

    size = len((TUI_PROC / "4242" / "smaps").read_bytes())
    monkeypatch.setattr(sampler_module, "KEEP_SMAPS_TEXT_UP_TO", size)
    kept = Sampler(ProcFS(str(TUI_PROC)), 4242).sample(1.0).snapshot
    assert kept.raw_smaps is not None and len(kept.raw_smaps) == size
    monkeypatch.setattr(sampler_module, "KEEP_SMAPS_TEXT_UP_TO", size - 1)
    dropped = Sampler(ProcFS(str(TUI_PROC)), 4242).sample(1.0).snapshot
    assert dropped.has_smaps and dropped.raw_smaps is None
    assert dropped.totals.rss == kept.totals.rss and dropped.totals.rss


# -- line-based widgets with many rows -------------------------------------------------


class TableApp(App):
    def __init__(self, regions, changes=None):
        super().__init__()
        self.regions = regions
        self.changes = changes or {}

    def compose(self) -> ComposeResult:
        yield RegionTable(id="t")

    def on_mount(self) -> None:
        self.query_one(RegionTable).set_regions(self.regions, self.changes, {})


def synthetic(n: int) -> list[Region]:
    return [
        region(0x7F0000000000 + i * 0x3000, 0x7F0000000000 + i * 0x3000 + 0x2000, rss=4096)
        for i in range(n)
    ]


async def test_table_with_60000_regions_draws_only_visible_rows():
    regions = synthetic(60000)
    app = TableApp(regions)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(RegionTable)
        await pilot.pause()
        assert len(table.rows) == 60000
        visible = table.size.height - 1  # minus the header line
        assert visible == 47
        # Everything drawn so far is at most a couple of screens, never 60 000 rows.
        assert 0 < table.lines_rendered <= 3 * visible
        first = table.render_line(1).text
        assert first.startswith("▌7f0000000000 7f0000002000")
        before = table.lines_rendered
        await pilot.press("end")
        await pilot.pause()
        drawn = table.lines_rendered - before
        assert drawn <= 2 * visible
        last = regions[-1]
        assert table.selected_region == last
        bottom = table.render_line(visible).text
        assert bottom.startswith(f"▌{last.start:012x} {last.end:012x}")
        # A refresh with new data rebuilds the rows, not 60 000 strips.
        before = table.lines_rendered
        table.set_regions(regions, {}, {regions[-1].start: NEW})
        await pilot.pause()
        assert table.lines_rendered - before <= 2 * visible
        assert table.render_line(visible).text.startswith("+")  # the new-region marker


async def test_event_log_newest_first_with_narration_interleaved():
    class LogApp(App):
        def compose(self) -> ComposeResult:
            yield EventLog()

    app = LogApp()
    async with app.run_test(size=(120, 10)) as pilot:
        log = app.query_one(EventLog)
        log.add_events(
            [
                Event(
                    100.0,
                    "heap_grew",
                    0x1000,
                    0x22000,
                    kinds.HEAP,
                    0x21000,
                    0x21000,
                    "[heap]",
                    None,
                    "brk moved the end of the heap up",
                )
            ]
        )
        log.add_events([Event(99.5, "note", 0, 0, "", 0, 0, detail="malloc(100000) = 0x1000")])
        await pilot.pause()
        assert "heap_grew" in log.line_text(0) and "+132K" in log.line_text(0)
        assert "» malloc(100000) = 0x1000" in log.line_text(1)
        assert log.render_line(0).text.split()[1] == "heap_grew"


def test_find_again_same_changed_replaced_gone():
    from vmtop.model.region import Snapshot
    from vmtop.tui.region_follow import CHANGED, GONE, REPLACED, SAME, find_again

    def make(*regions):
        fields = dict.fromkeys(Snapshot._fields)
        fields.update(regions=tuple(regions), taken_at=0.0, has_smaps=True)
        return Snapshot(**fields)

    lib = region(0x1000, 0x3000, "r--p", "/lib/a.so", kinds.RODATA, inode=5)
    assert find_again(make(lib), lib).status == SAME
    # mprotect split it: the piece that keeps its start, with its new range and perms.
    split = [lib._replace(end=0x2000, perms="r-xp"), lib._replace(start=0x2000)]
    found = find_again(make(*split), lib)
    assert found.status == CHANGED and found.region == split[0]
    assert "0x1000–0x3000 → 0x1000–0x2000" in found.note and "r--p → r-xp" in found.note
    other = region(0x1000, 0x3000, "rw-p", "", kinds.ANON)
    found = find_again(make(other), lib)
    assert found.status == REPLACED and found.region == other
    assert find_again(make(), lib).status == GONE


async def test_event_log_keeps_a_bounded_ring_and_says_how_many_were_dropped(monkeypatch):
    from vmtop.tui.widgets import event_log

    monkeypatch.setattr(event_log, "MAX_EVENTS", 10)

    class LogApp(App):
        def compose(self) -> ComposeResult:
            yield EventLog()

    app = LogApp()
    async with app.run_test(size=(120, 30)) as pilot:
        log = app.query_one(EventLog)
        for i in range(25):
            log.add_events([Event(float(i), "mapped", 0x1000, 0x2000, kinds.ANON, 4096, 4096)])
        await pilot.pause()
        assert len(log.events) == 10 and log.dropped == 15
        assert log.events[0].time == 15.0  # the oldest kept
        assert log.render_line(10).text.strip() == "15 older events dropped"
        assert log.virtual_size.height == 11


async def test_a_groups_object_name_shows_before_its_size_figures():
    """`size`'s text / data / bss go after the object's name, and only where the name
    shows too: in a narrow table the file name stays and the figures go."""
    from vmtop.model.objects import ObjectSize

    lib = "/usr/lib/x86_64-linux-gnu/libsomething-long-name.so.6"
    regions = [
        region(0x7F0000000000, 0x7F0000002000, "r-xp", lib, kinds.TEXT, 4096, lib, inode=7),
        region(0x7F0000002000, 0x7F0000003000, "rw-p", lib, kinds.DATA, 4096, lib, inode=7),
    ]
    sizes = {lib: ObjectSize(lib, 70 * K, 3 * K, 512)}
    long, short = "text 70K · data 3.0K · bss 512B", "t 70K d 3.0K b 512B"
    # Where the long form does not fit, the short one (the summary beside the table at
    # 160 columns left room for neither: they went unsaid, the title promising them).
    for width, shown in ((220, long), (130, short), (125, short), (120, None)):
        app = TableApp(regions)
        async with app.run_test(size=(width, 20)) as pilot:
            table = app.query_one(RegionTable)
            table.set_grouped(True)
            table.set_object_sizes(sizes)
            await pilot.pause()
            line = table.render_line(1).text
            fit = table.object_sizes_fit(table.size.width)
        assert "so.6" in line, (width, line)
        assert (long in line, short in line) == (shown == long, shown == short), (width, line)
        assert fit == (shown is not None), (width, line)


async def test_a_group_of_hundreds_of_regions_says_its_count_against_the_word():
    """ "▸ 259 regions" is wider than the Start column: the word goes into the End
    column, and the number sits right against it ("▸ 259        regions" read as two)."""
    regions = [
        region(
            0x7F00_0000_0000 + i * 0x2000,
            0x7F00_0000_1000 + i * 0x2000,
            "rw-p",
            "",
            kinds.ANON,
            4096,
        )._replace(object="Oilpan heap")  # fmt: skip
        for i in range(259)
    ]
    app = TableApp(regions)
    async with app.run_test(size=(160, 20)) as pilot:
        table = app.query_one(RegionTable)
        table.set_grouped(True)
        await pilot.pause()
        line = table.render_line(1).text
    assert "▸        259 regions " in line, line
    async with TableApp(regions).run_test(size=(80, 20)) as pilot:  # no End column
        table = pilot.app.query_one(RegionTable)
        table.set_grouped(True)
        await pilot.pause()
        line = table.render_line(1).text
    # A unit still: "▸ 259" alone read as a size or an address (review, 80 columns).
    assert line[1:].startswith("▸ 259 regs "), line


class TimelineApp(App):
    def __init__(self, totals: list[int]) -> None:
        super().__init__()
        from vmtop.tui.widgets.timeline import Timeline, TimelineData

        n = len(totals)
        data = TimelineData(
            times=[1_000_000.0 + i for i in range(n)],
            kinds=[{kinds.ANON: t} for t in totals],
            totals=totals,
            event_counts=[0] * n,
            note_counts=[0] * n,
        )
        self.timeline = Timeline(data)

    def compose(self) -> ComposeResult:
        yield self.timeline


async def test_timeline_label_says_the_rss_the_recording_went_through():
    mib = 1 << 20
    for totals, said, not_said in (
        ([100 * mib, 150 * mib, 120 * mib], "RSS 100M–150M", "80M"),  # not the chart's floor
        ([285 * mib, 285 * mib + 16 * 1024], "RSS 285M", "–"),  # flat: one figure
    ):
        app = TimelineApp(totals)
        async with app.run_test(size=(120, 10)) as pilot:
            await pilot.pause()
            top = app.timeline.render_line(0).text
            assert said in top, top
            assert not_said not in top.split("RSS", 1)[1], top


def test_a_group_is_coloured_by_what_it_uses_not_what_it_sets_aside():
    from vmtop.tui.widgets.table_rows import group_kind

    mib = 1 << 20
    # A malloc arena: 132K in use, the rest of its 64M reserved.
    assert group_kind({kinds.ARENA: 132 << 10, kinds.RESERVED: 64 * mib}) == kinds.ARENA
    assert group_kind({kinds.ANON: 4096, kinds.GUARD: 8 * mib}) == kinds.ANON
    # Nothing but reserved space and guards: the reservation it is.
    assert group_kind({kinds.RESERVED: 64 * mib, kinds.GUARD: 4096}) == kinds.RESERVED
    assert group_kind({kinds.TEXT: 4096, kinds.DATA: 8 * mib}) == kinds.TEXT


def test_guard_pages_group_with_the_stacks_they_guard():
    """An anonymous guard's object says whose stack it guards (it names no object): it
    goes in the stacks' group, not a group of its own per thread."""
    from vmtop.model.stacks import MAIN_STACK_OWNER
    from vmtop.tui.widgets.table_rows import group_key_of

    for owner in ("the stack of thread 752", "the stack of threads 7-9", "a thread's stack"):
        assert group_key_of(owner, kinds.GUARD, "")[0] == "[thread stacks]"
    assert group_key_of(MAIN_STACK_OWNER, kinds.GUARD, "")[0] == "[stack]"
    hedged = "the rw- region above it (the shape of a thread's stack)"
    assert group_key_of(hedged, kinds.GUARD, "")[0] == "[guard pages]"
    # A library's ---p gap is the library's.
    assert group_key_of("/lib/a.so", kinds.GUARD, "/lib/a.so")[0] == "/lib/a.so"


def test_a_guard_is_named_by_whose_it_is_with_the_number_at_the_end():
    """The table cuts names at the start, to keep a file's name: a guard's was its
    object and kind, "the stack of thread 2916 (guard)", cut to "…f thread 2916
    (guard)" in the JVM at 160 columns; now "[guard of thread 2916]"."""
    from vmtop.model.stacks import MAIN_STACK_OWNER, STACK_SHAPE
    from vmtop.tui.widgets.table_columns import region_name

    def guard(owner: str) -> Region:
        return Region(0x1000, 0x2000, "---p", 0, "00:00", 0, "", kind=kinds.GUARD, object=owner)

    assert region_name(guard("the stack of thread 2916")) == ("[guard of thread 2916]", True)
    assert region_name(guard("the stack of threads 7, 9"))[0] == "[guard of threads 7, 9]"
    assert region_name(guard(MAIN_STACK_OWNER))[0] == "[guard of the main stack]"
    assert region_name(guard(STACK_SHAPE))[0] == "[guard, stack shape]"
    assert region_name(guard("JIT code"))[0] == "[guard of JIT code]"
    assert shorten_left("[guard of thread 2916]", 20) == "…ard of thread 2916]"


@pytest.mark.live
def test_a_live_threads_stacks_and_guards_are_one_group(spawn):
    """Classified on a real process: three threads' stacks and their three guards make
    one group, and no group is named after one thread."""
    import sys

    from vmtop.procfs.reader import ProcFS
    from vmtop.procfs.snapshot import take_snapshot

    program = (
        "import threading, time\n"
        "ts = [threading.Thread(target=time.sleep, args=(60,)) for _ in range(3)]\n"
        "[t.start() for t in ts]\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = spawn([sys.executable, "-c", program])
    child.read_until("ready")
    snapshot = take_snapshot(ProcFS("/proc"), child.pid)
    stacks = [r for r in snapshot.regions if r.kind == kinds.THREAD_STACK]
    guards = [r for r in snapshot.regions if r.kind == kinds.GUARD and not r.path]
    assert len(stacks) == 3 and len(guards) == 3
    groups = {r.label: r for r in build_rows(snapshot.regions, {}, grouped=True)}
    assert groups["[thread stacks]"].count == 6
    assert groups["[thread stacks]"].kind == kinds.THREAD_STACK
    assert not [label for label in groups if "stack of" in label]


MiB = 1 << 20


async def test_event_log_keeps_the_name_in_sight_at_80_columns():
    """At 80 columns the name of a shm segment was cut off whole (a "…" where it was):
    the range shrinks to its start, and a long name keeps its end."""

    class LogApp(App):
        def compose(self) -> ComposeResult:
            yield EventLog()

    shm = "/dev/shm/PostgreSQL.1804289383"
    deep = "/var/lib/postgresql/15/main/base/16384/pg_internal.init"
    start = 0x7F77_AC03_3000
    app = LogApp()
    async with app.run_test(size=(80, 10)) as pilot:
        log = app.query_one(EventLog)
        for path in (shm, deep):
            log.add_events([Event(1.0, "mapped", start, start + MiB, kinds.SHM, MiB, MiB, path)])
        # As real events come: words after the name. The name was shortened to fill the
        # line to its end, and the cut for those words fell at the space before it.
        said = "shared memory; shm_open, a file in /dev/shm"
        log.add_events(
            [Event(1.0, "mapped", start, start + MiB, kinds.SHM, MiB, MiB, shm, detail=said)]
        )
        await pilot.pause()
        said_line = log.render_line(0).text
        deep_line, shm_line = log.render_line(1).text, log.render_line(2).text
        assert "PostgreSQL.1804289383" in shm_line and f"{start:012x} " in shm_line, shm_line
        assert f"{start + MiB:012x}" not in shm_line  # the size says where it ends
        assert "/pg_internal.init" in deep_line and "…" in deep_line, deep_line
        # The name to the end of the line, and no "…" after it that would read as its own.
        assert said_line.rstrip().endswith("/dev/shm/PostgreSQL.1804289383"[-21:]), said_line
        assert len(said_line.rstrip()) <= 80, said_line
        # A name read from its start is shortened at its end: its "…" is the only one.
        huge = "/anon_hugepage (deleted)"
        log.add_events(
            [Event(1.0, "rss_changed", start, start + MiB, kinds.SHM, MiB, MiB, huge, detail=said)]
        )
        await pilot.pause()
        line = log.render_line(0).text.rstrip()
        assert "/anon_hugepage" in line and line.endswith("…") and "……" not in line, line
    async with LogApp().run_test(size=(160, 10)) as pilot:
        log = pilot.app.query_one(EventLog)
        log.add_events([Event(1.0, "mapped", start, start + MiB, kinds.SHM, MiB, MiB, shm)])
        await pilot.pause()
        wide = log.render_line(0).text
        assert f"{start:012x}-{start + MiB:012x} " in wide and shm in wide  # room for all
