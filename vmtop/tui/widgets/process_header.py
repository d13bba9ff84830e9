"""The two header lines of the process screen: who, how big, and how it is being read.

Line 1: PID, state, threads, the command; on the right the refresh state (live or
paused, the interval, how often smaps is read and what the last read cost).
Line 2: the totals (size, RSS, PSS, private dirty, swap), the region count, and what the
Δ columns compare with (the last refresh, or the baseline set with `b`).
"""

from __future__ import annotations

import time
from typing import NamedTuple

from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from vmtop.model.names import display_name
from vmtop.model.region import Snapshot
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes, format_duration

STATES = {
    "R": "running",
    "S": "sleeping",
    "D": "disk sleep",
    "T": "stopped",
    "t": "tracing stop",
    "Z": "zombie",
    "X": "dead",
    "I": "idle",
}


class HeaderState(NamedTuple):
    snapshot: Snapshot | None
    pid: int
    live: bool = True
    interval: float = 1.0
    smaps_every: int = 1
    smaps_cost: float = 0.0
    resident_note: str = ""  # where the resident figures come from, when not this tick
    baseline_at: float | None = None
    exited_at: float | None = None
    shown: int | None = None  # regions shown in the table (after the filter)
    period: float | None = None  # actual seconds between samples, when slowed down


def _pair(label: str, value: str) -> list[Segment]:
    return [
        Segment(label + " ", theme.style("muted")),
        Segment(value, theme.style("strong", bold=True)),
        Segment("  "),
    ]


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


class ProcessHeader(theme.ThemedLines, Widget):
    DEFAULT_CSS = """
    ProcessHeader {
        height: 2;
        background: $vmtop-panel;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = HeaderState(None, 0)

    def set_state(self, state: HeaderState) -> None:
        self.state = state
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 2

    def refresh_segments(self) -> list[Segment]:
        s = self.state
        if s.exited_at is not None:
            return [Segment(f"exited {_clock(s.exited_at)}", theme.style("exited", bold=True))]
        segments = [
            Segment(
                "● live" if s.live else "❚❚ paused",
                theme.style("live", bold=True) if s.live else theme.style("paused", bold=True),
            )
        ]
        segments.append(Segment(f" every {s.interval:g}s", theme.style("strong", bold=True)))
        if s.live and s.period is not None and s.period > s.interval * 1.2:
            # Reading this process costs too much to do it that often.
            segments.append(
                Segment(f" (slowed to {s.period:.1f}s)", theme.style("paused", bold=True))
            )
        if s.snapshot is not None:
            every = "every tick" if s.smaps_every <= 1 else f"every {s.smaps_every} ticks"
            segments.append(Segment("  smaps ", theme.style("muted")))
            segments.append(Segment(every, theme.style("strong", bold=True)))
            segments.append(Segment(f" ({format_duration(s.smaps_cost)})", theme.style("muted")))
            segments.append(Segment("  " + _clock(s.snapshot.taken_at), theme.style("muted")))
        return segments

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        s = self.state
        snap = s.snapshot
        if y == 0:
            right = self.refresh_segments() + [Segment(" ")]
            right_len = sum(len(seg.text) for seg in right)
            left = [Segment(f" {s.pid} ", theme.style("pid-fg", "pid-bg", bold=True)), Segment(" ")]
            if snap is not None:
                info = snap.info
                state = STATES.get(info.state, info.state)
                left += [Segment(state, theme.style("strong", bold=True)), Segment("  ")]
                if info.threads:
                    left += _pair("threads", str(info.threads))
                room = width - sum(len(seg.text) for seg in left) - right_len - 1
                command = display_name(info.command)
                if len(command) > room:
                    command = command[: max(0, room - 1)] + "…"
                left.append(Segment(command, theme.style("command", bold=True)))
            used = sum(len(seg.text) for seg in left)
            pad = max(1, width - used - right_len)
            return Strip([*left, Segment(" " * pad), *right]).crop(0, width)
        if y == 1:
            if snap is None:
                return Strip([Segment(" reading…", theme.style("muted"))]).adjust_cell_length(width)
            t = snap.totals
            segs = [Segment(" ")]
            segs += _pair("size", format_bytes(t.size))
            segs += _pair("RSS", format_bytes(t.rss))
            segs += _pair("PSS", format_bytes(t.pss))
            segs += _pair("priv dirty", format_bytes(t.private_dirty))
            segs += _pair("swap", format_bytes(t.swap))
            regions = str(len(snap.regions))
            if s.shown is not None and s.shown != len(snap.regions):
                regions = f"{s.shown}/{regions}"
            segs += _pair("regions", regions)
            if s.resident_note:
                segs.append(Segment(f"({s.resident_note})  ", theme.style("muted")))
            if s.baseline_at is not None:
                right = [
                    Segment("Δ since baseline ", theme.style("muted")),
                    Segment(_clock(s.baseline_at), theme.style("baseline", bold=True)),
                ]
            else:
                right = [Segment("Δ since last refresh", theme.style("muted"))]
            right.append(Segment(" "))
            used = sum(len(seg.text) for seg in segs)
            right_len = sum(len(seg.text) for seg in right)
            pad = max(1, width - used - right_len)
            return Strip([*segs, Segment(" " * pad), *right]).crop(0, width)
        return Strip.blank(width)
