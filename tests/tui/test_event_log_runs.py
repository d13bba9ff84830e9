"""The event log folds a change repeated sample after sample into one line ("×10"), and
Enter on that line says how many and since when."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from vmtop.model import kinds
from vmtop.model.events import Event
from vmtop.tui.screens.event_detail import EventDetail
from vmtop.tui.widgets.event_log import EventLog

KiB = 1024
HEAP = 0x560B_0104_F000
BRK = 0x560B_0110_2000


def heap_second(i: int) -> list[Event]:
    low, high = BRK + i * 392 * KiB, BRK + (i + 1) * 392 * KiB
    t = 1_790_000_000.0 + i
    return [
        Event(t, "heap_grew", low, high, kinds.HEAP, 392 * KiB, 392 * KiB, "[heap]"),
        Event(
            t,
            "rss_changed",
            HEAP,
            high,
            kinds.HEAP,
            high - HEAP,
            488 * KiB,
            "[heap]",
            detail="pages faulted in",
        ),  # fmt: skip
    ]


class LogApp(App):
    def compose(self) -> ComposeResult:
        yield EventLog()

    def on_event_log_opened(self, message: EventLog.Opened) -> None:
        self.push_screen(EventDetail(message.event, has_region=True, run=message.run))


async def test_a_heap_growing_every_second_takes_two_lines_not_twenty():
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(EventLog)
        for i in range(10):  # as samples come: one batch a second
            log.add_events(heap_second(i))
        log.add_events([Event(1_790_000_011.0, "mapped", 0x7F00_0000_0000, 0x7F00_0040_0000,
                              kinds.ANON, 4 << 20, 4 << 20)])  # fmt: skip
        await pilot.pause()
        lines = [log.render_line(y).text for y in range(4)]
        assert lines[0].split()[1] == "mapped"
        assert lines[1].split()[1:4] == ["rss_changed", "+4.8M", "×10"], lines[1]
        assert lines[2].split()[1:4] == ["heap_grew", "+3.8M", "×10"], lines[2]
        assert not lines[3].strip()
        assert all(len(line.rstrip()) <= 80 for line in lines)

        log.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, EventDetail)
        text = detail.query_one("#event-text").render().plain
        since = time.strftime("%H:%M:%S", time.localtime(1_790_000_000.0))
        assert f"times  10, since {since}" in text, text
        assert "+4.8M" in text and f"{10 * 488 * KiB:+,} bytes" in text
        assert "pages faulted in" in text  # the last one's words


async def test_the_selected_line_stays_selected_as_runs_go_on():
    """A run that goes on moves to the top: the highlight stayed where it was, on
    another line, and Enter opened whichever came to be there (review)."""
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(EventLog)
        log.add_events(heap_second(0))
        log.focus()
        await pilot.press("down")  # heap_grew: the older of the two
        assert log.selected_event.event == "heap_grew"
        for i in range(1, 4):
            log.add_events(heap_second(i))
            await pilot.pause()
            assert log.selected_event.event == "heap_grew", i
            assert log.selected_run.count == i + 1
        log.add_events([Event(1_790_000_010.0, "mapped", 0x7F00_0000_0000, 0x7F00_0040_0000,
                              kinds.ANON, 4 << 20, 4 << 20)])  # fmt: skip
        await pilot.pause()
        assert log.selected_event.event == "heap_grew" and log.cursor == 2


def v8_sample(t: float, n: int) -> list[Event]:
    """A sample in which Node's heap grew by ``n`` pages of 256 KiB, scattered, and the
    brk heap's resident memory rose a little."""
    pages = [
        Event(t, "mapped", 0x0019_0BF8_0000 + i * 0x3_0004_0000,
              0x0019_0BF8_0000 + i * 0x3_0004_0000 + 256 * KiB, kinds.ANON, 256 * KiB,
              256 * KiB, detail="a V8 heap page: Node's JavaScript heap grew; 256.0 KiB "
              "resident", rss=256 * KiB, object="V8 heap page")
        for i in range(n)
    ]  # fmt: skip
    heap = Event(t, "rss_changed", HEAP, BRK, kinds.HEAP, 1200 * KiB, 1200 * KiB, "[heap]",
                 detail="pages faulted in")  # fmt: skip
    return [heap, *pages]


async def test_pages_of_v8_mapped_in_one_sample_are_one_line_on_top():
    """1 696 pages of Node's heap in one sample filled the log (review): one line, on
    top, that says how many; the rest of the sample stays in sight. Enter says the
    count, the span and the lowest of them."""
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(EventLog)
        log.add_events(v8_sample(1_790_000_000.0, 1696))
        await pilot.pause()
        lines = [log.render_line(y).text.rstrip() for y in range(3)]
        assert len(log.runs) == 2
        assert lines[0].split()[1:6] == ["mapped", "+424M", "in", "1", "696"], lines[0]
        assert "regions anon" in lines[0] and "V8 heap page" in lines[0], lines[0]
        assert "×" not in lines[0]  # not a change repeated over samples
        assert lines[1].split()[1:3] == ["rss_changed", "+1.2M"] and not lines[2]
        assert all(len(line) <= 80 for line in lines)

        log.focus()
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, EventDetail)
        text = detail.query_one("#event-text").render().plain
        assert "count  1 696 regions mapped alike in this sample" in text, text
        assert f"{424 * 1024 * KiB:+,} bytes" in text
        assert "span   0x190bf80000 – " in text and "424M of it theirs" in text
        assert "lowest 0x190bf80000 – 0x190bfc0000 (256K)" in text
        assert "object V8 heap page" in text
        assert "424.0 MiB resident" in text  # the resident bytes of them all
        keys = detail.query_one("#event-keys").render().plain
        assert "select the lowest of them" in keys


async def test_the_pages_of_a_sample_at_160_columns_keep_their_span():
    app = LogApp()
    async with app.run_test(size=(160, 12)) as pilot:
        log = app.query_one(EventLog)
        log.add_events(v8_sample(1_790_000_000.0, 20))
        await pilot.pause()
        line = log.render_line(0).text
        assert "+5.0M in 20 regions 00190bf80000-" in line, line


async def test_regions_with_no_name_unmapped_alike_keep_their_kind_at_80_columns():
    """Four no-access reserves V8 gave back, in one sample: at 80 columns the span of
    them pushed "reserved" out of the line, and nothing said what went."""
    t = 1_790_000_000.0
    gone = [
        Event(t, "unmapped", 0x01CF_5EE8_0000 + i * 0x1000_0000, 0x01CF_5EE8_0000
              + i * 0x1000_0000 + 256 * KiB, kinds.RESERVED, 256 * KiB, -256 * KiB,
              detail="munmap; no-access address space reserved for later")
        for i in range(4)
    ]  # fmt: skip
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(EventLog)
        log.add_events(gone)
        await pilot.pause()
        line = log.render_line(0).text
        assert "-1.0M in 4 regions reserved  munmap" in line, line


async def test_a_big_mapping_at_80_columns_keeps_the_first_letters_of_its_words():
    """ "mapped +8.0M 7f02cb200000-7f02cba00000 anon     …": the cut fell in the kind's
    padding, and the most common event said nothing of what it was (review)."""
    t = 1_790_000_000.0
    start = 0x7F02_CB20_0000
    block = Event(t, "mapped", start, start + 8 << 20, kinds.ANON, 8 << 20, 8 << 20,
                  detail="anonymous memory of 128 KiB or more: malloc above its mmap "
                  "threshold, or a direct mmap")  # fmt: skip
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(EventLog)
        log.add_events([block])
        await pilot.pause()
        line = log.render_line(0).text.rstrip()
        assert line.endswith("…") and not line.endswith(" …"), line
        words = line.split()
        assert words[-1].startswith("ano") and "anonymous".startswith(words[-1][:-1]), line
