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
