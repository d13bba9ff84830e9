"""The event log: what changed, newest first, one line per event, coloured by event.

Demo narration (``note`` events) is interleaved in time order, so the cause (``malloc(4
MiB) = 0x7f…``) sits next to its effect (``mapped +4.0M anon``). Line-based like the
region table: only the lines on screen are drawn, however long the log.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vmtop.model import events as ev
from vmtop.model.events import Event
from vmtop.model.names import display_name
from vmtop.tui import sampler, theme
from vmtop.tui.formatting import format_bytes, format_delta

MAX_EVENTS = sampler.MAX_EVENTS

EVENT_COLORS = {
    ev.MAPPED: "#00ff87",
    ev.UNMAPPED: "#ff5f5f",
    ev.HEAP_GREW: theme.KIND_COLORS["heap"],
    ev.HEAP_SHRANK: "#5fafff",
    ev.STACK_GREW: theme.KIND_COLORS["stack"],
    ev.STACK_SHRANK: "#5fafff",
    ev.PROTECTION_CHANGED: "#d787ff",
    ev.SPLIT: "#d7afff",
    ev.MERGED: "#d7afff",
    ev.RSS_CHANGED: "#ffd75f",
    ev.EXEC: "#ff87ff",
    ev.EXITED: "#ff0000",
    ev.PID_REUSED: "#ff0000",
    ev.NOTE: "#d7d7af",
}
TIME_STYLE = Style(color="#767676")
TEXT_STYLE = Style(color="#bcbcbc")
DETAIL_STYLE = Style(color="#8a8a8a", italic=True)
NOTE_STYLE = Style(color="#d7d7af", italic=True)
EMPTY_STYLE = Style(color="#6c6c6c", italic=True)


def event_segments(e: Event, addr_width: int = 12) -> list[Segment]:
    """One event as coloured text (without the time)."""
    color = EVENT_COLORS.get(e.event, "#ffffff")
    if e.event == ev.NOTE:
        text = display_name(e.detail or e.path)
        return [Segment("» ", Style(color=color, bold=True)), Segment(text, NOTE_STYLE)]
    bold = e.event in (ev.EXITED, ev.PID_REUSED, ev.EXEC)
    segments = [Segment(f"{e.event:<18}", Style(color=color, bold=True, reverse=bold))]
    change = format_delta(e.delta) if e.delta else format_bytes(e.size)
    segments.append(Segment(f"{change:>7} ", Style(color=color)))
    if e.end > e.start:
        segments.append(Segment(f"{e.start:0{addr_width}x}-{e.end:0{addr_width}x} ", TEXT_STYLE))
    if e.kind:
        segments.append(
            Segment(f"{theme.kind_label(e.kind):<9} ", Style(color=theme.kind_color(e.kind)))
        )
    if e.path:
        segments.append(Segment(display_name(e.path) + " ", TEXT_STYLE))
    if e.tid is not None:
        segments.append(Segment(f"tid {e.tid} ", TEXT_STYLE))
    if e.detail:
        segments.append(Segment(display_name(e.detail), DETAIL_STYLE))
    return segments


class EventLog(ScrollView):
    DEFAULT_CSS = """
    EventLog {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    """

    class EventClicked(Message):
        def __init__(self, log: EventLog, event: Event) -> None:
            super().__init__()
            self.log = log
            self.event = event

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.events: list[Event] = []  # oldest first, at most MAX_EVENTS
        self.dropped = 0  # older events not kept
        self.addr_width = 12
        self.empty_text = "no changes yet"

    def add_events(self, events: Iterable[Event]) -> None:
        new = list(events)
        if not new:
            return
        self.dropped += sampler.keep_recent_events(self.events, new, MAX_EVENTS)
        self.virtual_size = Size(self.size.width, self._lines())
        self.refresh()

    def _lines(self) -> int:
        # The last line says how many older events were dropped, once there are some.
        return len(self.events) + (1 if self.dropped else 0)

    def set_empty_text(self, text: str) -> None:
        if text != self.empty_text:
            self.empty_text = text
            if not self.events:
                self.refresh()

    def clear(self) -> None:
        self.events.clear()
        self.dropped = 0
        self.virtual_size = Size(self.size.width, 0)
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self._lines())

    def line_text(self, index: int) -> str:
        """Plain text of the ``index``-th newest event (for tests and exports)."""
        return "".join(s.text for s in self._segments(self.events[-1 - index]))

    def _segments(self, e: Event) -> list[Segment]:
        stamp = time.strftime("%H:%M:%S", time.localtime(e.time))
        return [Segment(stamp + " ", TIME_STYLE), *event_segments(e, self.addr_width)]

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = round(self.scroll_y) + offset.y
        if 0 <= index < len(self.events):
            self.post_message(self.EventClicked(self, self.events[-1 - index]))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = round(self.scroll_y) + y
        if not self.events:
            text = self.empty_text if y == 0 else ""
            return Strip([Segment(text.ljust(width), EMPTY_STYLE)]).crop(0, width)
        if index == len(self.events) and self.dropped:
            text = f"{self.dropped:,} older events dropped".replace(",", " ")
            return Strip([Segment(text.ljust(width), EMPTY_STYLE)]).crop(0, width)
        if index >= len(self.events):
            return Strip.blank(width)
        e = self.events[-1 - index]
        return Strip(self._segments(e)).crop(0, width).adjust_cell_length(width)
