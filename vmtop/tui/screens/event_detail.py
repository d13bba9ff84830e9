"""One event of the log in full: its whole text (the log's line may be cut), what that
kind of event means, and a key to select the region it is about."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from vmtop.model import event_runs
from vmtop.model import events as ev
from vmtop.model.event_runs import EventRun
from vmtop.model.events import EVENT_DESCRIPTIONS, Event
from vmtop.model.names import display_name
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes, format_delta


def event_text(e: Event, run: EventRun | None = None) -> Text:
    """Every field of the event, one per line, wrapped by the screen. For a line of the
    log that stands for a run of one change repeated, ``run``: when it began and how
    many times (``e`` is ``run.event``: the run's range and change, the last one's
    words); for one that stands for regions of one sample mapped alike, how many, the
    span they lie in and the lowest of them."""
    text = Text()
    # To the millisecond (the sample's time): the log's whole seconds give four events
    # the same time at a quarter-second interval; read in full, their order shows.
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time))
    stamp += f".{int(e.time * 1000) % 1000:03d}"
    text.append(f"{e.event}", style="bold")
    text.append(f"  at {stamp}\n", style="dim")
    meaning = EVENT_DESCRIPTIONS.get(e.event)
    if meaning:
        text.append(meaning + "\n", style="italic dim")
    text.append("\n")
    if e.event == ev.NOTE:
        text.append(display_name(e.detail or e.path) + "\n")
        return text
    change = format_delta(e.delta) if e.delta else format_bytes(e.size)
    rows = [("change", f"{change} ({e.delta:+,} bytes)" if e.delta else change)]
    regions = 1 if run is None else event_runs.regions(run)
    if regions > 1:
        rows += _alike_rows(e, run)
    elif run is not None and run.count > 1:
        since = time.strftime("%H:%M:%S", time.localtime(run.first.time))
        rows.append(("times", f"{run.count}, since {since}: the change and range are "
                     "theirs together, the words the last one's"))  # fmt: skip
    if e.end > e.start and regions == 1:
        rows.append(("range", f"{e.start:#x} – {e.end:#x} ({format_bytes(e.end - e.start)})"))
    if e.kind:
        rows.append(("kind", theme.kind_label(e.kind)))
    if e.path:
        rows.append(("name", display_name(e.path)))
    elif e.object:  # what a region with no name is: "V8 heap page", "arena heap 2"
        rows.append(("object", display_name(e.object)))
    if e.tid is not None:
        rows.append(("thread", str(e.tid)))
    if e.detail:
        rows.append(("why", display_name(e.detail)))
    for label, value in rows:
        text.append(f"{label:<7}", style="bold")
        text.append(value + "\n")
    return text


# What regions folded into one line did alike, by event; and whether the line's size
# is their ranges' bytes (else it is the bytes a figure of theirs moved).
_DID_ALIKE = {
    ev.MAPPED: ("mapped", True),
    ev.UNMAPPED: ("unmapped", True),
    ev.RESERVE_COMMITTED: ("committed from their reserve", True),
    ev.RESERVE_RELEASED: ("released to their reserve", True),
    ev.RSS_CHANGED: ("whose resident memory moved", False),
    ev.SWAP_CHANGED: ("whose memory on swap moved", False),
    ev.SHARED_CHANGED: ("whose memory shared with another process moved", False),
    ev.LAZYFREE_CHANGED: ("whose memory freed with MADV_FREE moved", False),
    ev.COPIED_ON_WRITE: ("copied on write", False),
    ev.PROTECTION_CHANGED: ("given other permissions", True),
    ev.FLAGS_CHANGED: ("given other VmFlags (mlock, mseal, madvise)", True),
}


def _alike_rows(e: Event, run: EventRun) -> list[tuple[str, str]]:
    """How many regions of the sample the line stands for, where they lie, the first."""
    how, ranges = _DID_ALIKE.get(e.event, (e.event, False))
    theirs = "the change and the resident size are" if ranges else "the change is"
    first = run.first
    lowest = f"{first.start:#x} – {first.end:#x} ({format_bytes(first.end - first.start)})"
    span = format_bytes(e.end - e.start)
    if ranges:
        span += f", {format_bytes(e.size)} of it theirs"
    alike = "alike in this sample (the same kind, object and cause)"
    if run.object_load and run.objects > 1:  # a dlopen's library and those it needs
        alike = (
            f"together in this sample: {run.objects} objects' regions of every kind, "
            "loaded or unloaded whole (a library and those it needs, or several)"
        )
    elif run.object_load:  # its regions of every kind: one load (vmtop.model.object_loads)
        alike = "together in this sample: one object's, of every kind (loaded or unloaded whole)"
    rows = [
        ("count", f"{event_runs.regions_said(event_runs.regions(run))} {how} {alike}: "
                  f"{theirs} theirs together"),
    ]  # fmt: skip
    if run.samples > 1:  # such a line sample after sample (vmtop.model.event_runs)
        since = time.strftime("%H:%M:%S", time.localtime(first.time))
        rows[0] = ("count", f"{event_runs.regions_said(event_runs.regions(run))} {how} "
                            "alike in the last sample (the same kind, object and cause)")  # fmt: skip
        rows.append(("times", f"{run.samples} samples, since {since}: the change and span "
                              "are theirs together, the words the last sample's"))  # fmt: skip
    rows += [
        ("span", f"{e.start:#x} – {e.end:#x}: from the lowest to the highest of them "
                 f"({span})"),
        ("lowest", lowest if run.samples == 1 else f"{lowest}, of the first sample"),
    ]  # fmt: skip
    return rows


class EventDetail(ModalScreen[bool]):
    """Dismissed with True when the person asks to select the event's region."""

    DEFAULT_CSS = """
    EventDetail {
        align: center middle;
    }
    EventDetail #event-box {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    EventDetail #event-text {
        height: auto;
    }
    """

    BINDINGS = [
        Binding("enter", "select_region", "Select its region", priority=True),
        Binding("escape,q", "close", "Close", priority=True),
    ]

    def __init__(self, event: Event, *, has_region: bool, run: EventRun | None = None) -> None:
        super().__init__()
        self.event = event
        self.has_region = has_region
        self.run = run

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="event-box"):
            yield Static(event_text(self.event, self.run), id="event-text")
            keys = "Enter: select its region in the table · " if self.has_region else ""
            if self.has_region and self.run is not None and event_runs.regions(self.run) > 1:
                keys = "Enter: select the lowest of them in the table · "
            yield Static(Text(keys + "Esc: close", style="dim"), id="event-keys")

    def action_select_region(self) -> None:
        self.dismiss(self.has_region)

    def action_close(self) -> None:
        self.dismiss(False)
