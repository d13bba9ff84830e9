"""The event log: what changed, newest first, one line per event, coloured by event; a
change repeated sample after sample is one line with its count ("×12"), and the regions
of one sample alike are one ("mapped +424M in 1 696 regions": V8's heap pages; their
"rss_changed +75M in 300 regions" as they fill), see ``vmtop.model.event_runs``.

Demo narration (``note`` events) is interleaved in time order, so the cause (``malloc(4
MiB) = 0x7f…``) sits next to its effect (``mapped +4.0M anon``). Line-based like the
region table: only the lines on screen are drawn, however long the log.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vmtop.model import event_runs
from vmtop.model import events as ev
from vmtop.model.event_runs import EventRun
from vmtop.model.events import Event
from vmtop.model.memory_files import shown_name
from vmtop.model.names import display_name
from vmtop.model.object_loads import Needs
from vmtop.tui import sampler, theme
from vmtop.tui.formatting import format_bytes, format_delta
from vmtop.tui.widgets.table_columns import shorten_left

MAX_EVENTS = sampler.MAX_EVENTS


PATH_ROOM = 20  # cells a name should get before the end address is left out for it


def event_segments(
    e: Event, addr_width: int = 12, room: int | None = None, count: int = 1, regions: int = 1
) -> list[Segment]:
    """One event as coloured text (without the time). With ``room`` (the cells there
    are), the name is kept in sight: the range shrinks to its start address, and a long
    name keeps its end (``…/PostgreSQL.1804289383``); at 80 columns the name was cut
    off whole. ``count``: how many events of a run the line stands for ("×12");
    ``regions``: how many regions alike in one sample ("in 1 696 regions"), the
    range their span."""
    color = theme.event_color(e.event)
    if e.event == ev.NOTE:
        text = display_name(e.detail or e.path)
        return [
            Segment("» ", Style(color=color, bold=True)),
            Segment(text, Style(color=color, italic=True)),
        ]
    bold = e.event in (ev.EXITED, ev.PID_REUSED, ev.EXEC)
    segments = [Segment(f"{e.event:<18}", Style(color=color, bold=True, reverse=bold))]
    if e.event in ev.WHOLE_PROCESS and not (e.delta or e.size):
        change = ""  # stopped, continued: nothing mapped or unmapped
    else:
        change = format_delta(e.delta) if e.delta else format_bytes(e.size)
    segments.append(Segment(f"{change:>7} ", Style(color=color)))
    if count > 1:
        segments.append(Segment(f"×{count} ", Style(color=color, bold=True)))
    if regions > 1:
        many = event_runs.regions_said(regions)
        segments.append(Segment(f"in {many} ", Style(color=color, bold=True)))
    kind = f"{theme.kind_label(e.kind):<9} " if e.kind else ""
    # A region with no name of its own goes by its object where it has one: "Java heap",
    # "arena heap 2", "Oilpan heap" say what "anon" does not.
    # Shared memory vmtop named: that name, its file after it (memory_files).
    name = display_name(shown_name(e.path, e.kind, e.object) or e.object or "")
    if e.end > e.start:
        span = f"{e.start:0{addr_width}x}-{e.end:0{addr_width}x} "
        # (Regions mapped alike with no name keep their kind in sight: "reserved".)
        if room is not None and (name or regions > 1):
            used = sum(len(seg.text) for seg in segments) + len(span) + len(kind)
            if used + (min(len(name) + 1, PATH_ROOM) if name else 0) > room:
                # The size says how far it goes. The lowest of regions alike,
                # scattered over terabytes, says nothing of the others: left out.
                span = f"{e.start:0{addr_width}x} " if regions == 1 else ""
        segments.append(Segment(span, theme.style("soft")))
    if kind:
        segments.append(Segment(kind, Style(color=theme.kind_color(e.kind))))
    if name:
        if room is not None:
            left = room - sum(len(seg.text) for seg in segments) - 1
            if len(name) > left >= 8:
                base = name.rsplit("/", 1)[-1]
                # The file name whole, even where no "…" fits before it.
                name = base if len(base) in (left, left - 1) else shorten_left(name, left)
        segments.append(Segment(name + " ", theme.style("soft")))
    if e.tid is not None:
        segments.append(Segment(f"tid {e.tid} ", theme.style("soft")))
    if e.detail:
        segments.append(Segment(display_name(e.detail), theme.style("muted", italic=True)))
    return segments


def fit_words(segments: list[Segment], width: int) -> list[Segment]:
    """``segments`` cut to ``width`` cells at a word boundary, with "…" where text was
    left out (Enter on the event shows all of it)."""
    total = sum(len(s.text) for s in segments)
    if total <= width:
        return segments
    text = "".join(s.text for s in segments)
    # A space in the last cell will do: a name shortened to fit ends there (cutting at
    # the space before it lost the name whole). What follows it is then left out with
    # no "…": one there read as part of the name ("data.bin…").
    cut = text.rfind(" ", 0, width)
    if cut < width // 2:
        cut = width - 1  # one very long word (a path): cut it rather than lose the line
    elif cut > 0 and text[cut - 1] == " ":
        # In a column's padding: the words after it would all go, "anon     …" (review,
        # big mappings at 80 columns). Their first letters say more.
        cut = width - 1
    out: list[Segment] = []
    used = 0
    for seg in segments:
        if used >= cut:
            break
        piece = seg.text[: cut - used]
        out.append(Segment(piece, seg.style))
        used += len(piece)
    if cut < width - 1 or text[cut] != " ":
        out.append(Segment("…", theme.style("dim")))
    return out


def _count_and_regions(run: EventRun) -> tuple[int, int]:
    """A line's "×12" (a run over samples), its "in 1 696 regions" (alike, of one), or
    both: regions alike sample after sample ("×6 in 4 regions")."""
    regions = event_runs.regions(run)
    return (run.samples, regions) if regions > 1 else (run.count, 1)


class EventLog(theme.ThemedLines, ScrollView, can_focus=True):
    DEFAULT_CSS = """
    EventLog {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    """

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("home", "edge(0)", "Newest", show=False),
        Binding("end", "edge(1)", "Oldest", show=False),
        Binding("enter", "open", "Read event"),
    ]

    class EventClicked(Message):
        def __init__(self, log: EventLog, event: Event) -> None:
            super().__init__()
            self.log = log
            self.event = event

    class Opened(Message):
        """Enter (or a double click) on a line: show all of it. ``run``: the events the
        line stands for (``run.event`` is ``event``)."""

        def __init__(self, log: EventLog, event: Event, run: EventRun | None = None) -> None:
            super().__init__()
            self.log = log
            self.event = event
            self.run = run if run is not None else event_runs.single(event)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # One line each, oldest first, at most MAX_EVENTS; a line may stand for a run of
        # one change repeated (vmtop.model.event_runs).
        self.runs: list[EventRun] = []
        self.dropped = 0  # older events not kept
        self.addr_width = 12
        self.empty_text = "no changes yet"
        self.cursor = 0  # selected line, newest first (shown while the log has focus)

    @property
    def events(self) -> list[Event]:
        """The events as the lines show them, oldest first."""
        return [run.event for run in self.runs]

    def add_events(self, events: Iterable[Event], needs: Mapping[str, Needs] | None = None) -> None:
        """Add a sample's events (``needs``: which of the libraries loaded together needs
        which, where their files were read: ``vmtop.model.object_loads``)."""
        new = list(events)
        if not new:
            return
        # The line a person went down to stays selected: a run that goes on moves to the
        # top, and new lines push the rest down (Enter opened whatever came to be there).
        # On the newest line, the cursor stays on the newest, as `tail -f` does.
        selected = self.selected_run if self.has_focus and self.cursor else None
        self.dropped += event_runs.add_events(self.runs, new, MAX_EVENTS, needs)
        self.virtual_size = Size(self.size.width, self._lines())
        if selected is not None:
            self._follow(selected.first)
        self.refresh()

    def _follow(self, first: Event) -> None:
        """Put the cursor back on the line of the run that began with ``first``."""
        for index in range(len(self.runs)):
            if self.runs[-1 - index].first is first:
                if index != self.cursor:
                    self._set_cursor(index)
                return

    def _lines(self) -> int:
        # The last line says how many older events were dropped, once there are some.
        return len(self.runs) + (1 if self.dropped else 0)

    def set_empty_text(self, text: str) -> None:
        if text != self.empty_text:
            self.empty_text = text
            if not self.runs:
                self.refresh()

    def clear(self) -> None:
        self.runs.clear()
        self.dropped = 0
        self.virtual_size = Size(self.size.width, 0)
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self._lines())

    def line_text(self, index: int) -> str:
        """Plain text of the ``index``-th newest line (for tests and exports)."""
        return "".join(s.text for s in self._segments(self.runs[-1 - index]))

    def _segments(self, run: EventRun) -> list[Segment]:
        e = run.event
        stamp = time.strftime("%H:%M:%S", time.localtime(e.time))
        width = self.scrollable_content_region.width
        room = width - len(stamp) - 1
        return [
            Segment(stamp + " ", theme.style("dim")),
            *event_segments(e, self.addr_width, room, *_count_and_regions(run)),
        ]

    @property
    def selected_run(self) -> EventRun | None:
        if 0 <= self.cursor < len(self.runs):
            return self.runs[-1 - self.cursor]
        return None

    @property
    def selected_event(self) -> Event | None:
        run = self.selected_run
        return None if run is None else run.event

    def action_move(self, step: int) -> None:
        self._set_cursor(self.cursor + step)

    def action_edge(self, end: int) -> None:
        self._set_cursor(len(self.runs) - 1 if end else 0)

    def _set_cursor(self, index: int) -> None:
        self.cursor = max(0, min(index, len(self.runs) - 1))
        top = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_open(self) -> None:
        run = self.selected_run
        if run is not None:
            self.post_message(self.Opened(self, run.event, run))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = round(self.scroll_y) + offset.y
        if 0 <= index < len(self.runs):
            self._set_cursor(index)
            chosen = self.runs[-1 - index]
            if event.chain >= 2:
                self.post_message(self.Opened(self, chosen.event, chosen))
            else:
                self.post_message(self.EventClicked(self, chosen.event))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = round(self.scroll_y) + y
        if not self.runs:
            text = self.empty_text if y == 0 else ""
            empty = theme.style("faint", italic=True)
            return Strip([Segment(text.ljust(width), empty)]).crop(0, width)
        if index == len(self.runs) and self.dropped:
            text = f"{self.dropped:,} older events dropped".replace(",", " ")
            empty = theme.style("faint", italic=True)
            return Strip([Segment(text.ljust(width), empty)]).crop(0, width)
        if index >= len(self.runs):
            return Strip.blank(width)
        segments = fit_words(self._segments(self.runs[-1 - index]), width)
        if index == self.cursor and self.has_focus:
            selected = theme.style(None, "row-selected")
            segments = [Segment(s.text, s.style + selected) for s in segments]
            return Strip(segments).adjust_cell_length(width, selected)
        return Strip(segments).adjust_cell_length(width)
