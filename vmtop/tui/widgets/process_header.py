"""The two header lines of the process screen: who, how big, and how it is being read.

Line 1: PID, state, threads, the command; on the right the refresh state (live or
paused, the interval, how often smaps is read and what the last read cost).
Line 2: the totals (size, RSS, SHR, PSS, USS, private dirty, swap, hugetlb pages when
there are any), the region count, and what the Δ columns compare with (the last
refresh, or the baseline set with `b`: then RSS, PSS and USS say their change since).
At 80 columns private dirty is left out first: USS holds it.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from vmtop.model.address_space import TOP_32, user_top
from vmtop.model.names import display_command, fit_command
from vmtop.model.pid_namespace import pid_in_namespace
from vmtop.model.region import Snapshot, Totals
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes, format_delta, format_duration

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
STATE_WIDTH = max(len(word) for word in (*STATES.values(), "unreadable"))


class HeaderState(NamedTuple):
    snapshot: Snapshot | None
    pid: int
    live: bool = True
    interval: float = 1.0
    smaps_every: int = 1
    smaps_cost: float = 0.0
    resident_note: str = ""  # where the resident figures come from, when not this tick
    baseline_label: str | None = None  # when the baseline was taken, as the screen says it
    baseline_name: str = "baseline"  # what the user calls it: "A" in a replay, its mark
    baseline_totals: Totals | None = None  # the baseline's: the totals' change since it
    exited_at: float | None = None
    shown: int | None = None  # regions shown in the table (after the filter)
    period: float | None = None  # seconds between samples, when slowed down (else None)
    # Where snapshots come from, when not live: "copy of /proc …", or pieces by priority.
    source: str | tuple[tuple[int, str], ...] | None = None
    recording: str | None = None  # "REC file 1.2M" while the screen records
    failed: bool = False  # the process cannot be watched (the screen says why)
    # Since exited_at, the process still runs but may no longer be read (it exec'd a
    # setuid program): it has not exited.
    unreadable: bool = False


def _size_text(size: int, regions) -> str:
    """The process's mapped size; for a 32-bit process, out of the 4 GiB it can have
    (what such a process runs out of first)."""
    if user_top(regions) == TOP_32:
        return f"{format_bytes(size)} of {format_bytes(TOP_32)}"
    return format_bytes(size)


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

    def refresh_pieces(self) -> list[tuple[int, list[Segment]]]:
        """The refresh state, as (priority, segments) pieces."""
        s = self.state
        if s.failed:
            return [(100, [Segment("✗ not watched", theme.style("exited", bold=True))])]
        if s.exited_at is not None:
            what = "unreadable since" if s.unreadable else "exited"
            return [
                (
                    100,
                    [Segment(f"{what} {_clock(s.exited_at)}", theme.style("exited", bold=True))],
                )
            ]
        pieces = (
            [(100, [Segment(f"● {s.recording}  ", theme.style("exited", bold=True))])]
            if s.recording
            else []
        )
        if s.source is not None:
            # A replay says itself in pieces, the least needed left out first.
            said = [(100, s.source)] if isinstance(s.source, str) else s.source
            for priority, text in said:
                pieces.append((priority, [Segment(text, theme.style("paused", bold=True))]))
            if s.snapshot is not None and s.smaps_cost:
                # Read once, not on a tick: only what that read cost.
                pieces.append(
                    (
                        45,
                        [
                            Segment(
                                f"  smaps read in {format_duration(s.smaps_cost)}",
                                theme.style("muted"),
                            )
                        ],
                    )
                )
            return pieces
        pieces.append(
            (
                100,
                [
                    Segment(
                        "● live" if s.live else "❚❚ paused",
                        theme.style("live", bold=True)
                        if s.live
                        else theme.style("paused", bold=True),
                    )
                ],
            )
        )
        pieces.append((90, [Segment(f" every {s.interval:g}s", theme.style("strong", bold=True))]))
        if s.live and s.period is not None:
            # Reading this process costs too much to do it that often.
            pieces.append(
                (85, [Segment(f" (slowed to {s.period:.1f}s)", theme.style("paused", bold=True))])
            )
        if s.snapshot is not None:
            # ("tick" was the code's word: a user reads samples, as watch says reads.)
            every = "every sample" if s.smaps_every <= 1 else f"every {s.smaps_every} samples"
            # How often smaps is read, and what the last read cost (it walks the
            # process's page tables: see help).
            pieces.append(
                (
                    60,
                    [
                        Segment("  smaps ", theme.style("muted")),
                        Segment(every, theme.style("strong", bold=True)),
                    ],
                )
            )
            # (Nothing read yet, as on a huge map's first, maps-only look: no cost to give.)
            cost = (
                f", read in {format_duration(s.smaps_cost)}" if s.smaps_cost else ", not read yet"
            )
            pieces.append((45, [Segment(cost, theme.style("muted"))]))
            pieces.append((30, [Segment("  " + _clock(s.snapshot.taken_at), theme.style("muted"))]))
        return pieces

    def refresh_segments(self) -> list[Segment]:
        return [seg for _, segs in self.refresh_pieces() for seg in segs]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        s = self.state
        snap = s.snapshot
        if y == 0:
            left = [
                (
                    100,
                    [
                        Segment(f" {s.pid} ", theme.style("pid-fg", "pid-bg", bold=True)),
                        Segment(" "),
                    ],
                )
            ]
            command = ""
            if snap is not None:
                info = snap.info
                state = STATES.get(info.state, info.state)
                if s.exited_at is not None:
                    state = "unreadable" if s.unreadable else "exited"
                threads = str(info.threads or "")
                if s.source is not None and not isinstance(s.source, str):
                    # A replay (its source said in pieces) moves from sample to sample: what changes keeps its width,
                    # so the command beside it is cut the same at every one.
                    state = state.ljust(STATE_WIDTH)
                    threads = threads.ljust(4)
                left.append((70, [Segment(state, theme.style("strong", bold=True)), Segment("  ")]))
                inner = pid_in_namespace(snap.status)
                if inner is not None:  # a container's: its logs and ps there say this
                    left.append((45, _pair("pid in its namespace", str(inner))))
                if info.threads:
                    left.append((50, _pair("threads", threads)))
                command = display_command(info.command)
            right = self.refresh_pieces() + [(100, [Segment(" ")])]
            # The command takes what is left, but keeps at least its program's name.
            want = min(len(command), 24)
            left, right = fit_pieces(left, right, width - want - 1)
            used = _length(left) + _length(right)
            room = width - used - 1
            if len(command) > room:
                command = fit_command(command, room) if room > 1 else ""
            segments = [seg for _, segs in left for seg in segs]
            if command:
                segments.append(Segment(command, theme.style("command", bold=True)))
            pad = max(1, width - _length(left) - len(command) - _length(right))
            tail = [seg for _, segs in right for seg in segs]
            return Strip([*segments, Segment(" " * pad), *tail]).crop(0, width)
        if y == 1:
            if snap is None:
                why = " no memory map to show" if s.failed else " reading…"
                return Strip([Segment(why, theme.style("muted"))]).adjust_cell_length(width)
            t = snap.totals
            regions = str(len(snap.regions))
            if s.shown is not None and s.shown != len(snap.regions):
                regions = f"{s.shown}/{regions}"
            # top's VIRT RES SHR, then smem's PSS and USS: what people who know those
            # look for first. Private dirty is part of USS, and the widest: at 80
            # columns it is the first figure to go.
            since = {
                key: _since_baseline(priority, getattr(t, key), s.baseline_totals, key)
                for key, priority in (("rss", 92), ("pss", 68), ("uss", 56))
            }
            left = [
                (100, [Segment(" ")]),
                (90, _pair("size", _size_text(t.size, snap.regions))),
                (95, _pair("RSS", format_bytes(t.rss))),
                *since["rss"],
                (55, _pair("SHR", format_bytes(t.shr))),
                (70, _pair("PSS", format_bytes(t.pss))),
                *since["pss"],
                (58, _pair("USS", format_bytes(t.uss))),
                *since["uss"],
                (45, _pair("private dirty", format_bytes(t.private_dirty))),
                (65, _pair("swap", format_bytes(t.swap))),
            ]
            hugetlb = snap.status.get("HugetlbPages")
            if isinstance(hugetlb, int) and hugetlb:
                # Memory in hugetlb pages is in no RSS: without this a database on
                # huge pages looked as if it used none of its shared buffers.
                left.append((62, _pair("hugetlb", format_bytes(hugetlb))))
            left.append((50, _pair("regions", regions)))
            if s.resident_note:
                left.append((40, [Segment(f"({s.resident_note})  ", theme.style("muted"))]))
            if s.baseline_label is not None:
                right = [
                    (
                        35,
                        [
                            Segment(f"Δ since {s.baseline_name} ", theme.style("muted")),
                            Segment(s.baseline_label, theme.style("baseline", bold=True)),
                        ],
                    )
                ]
            else:
                right = [(20, [Segment("Δ since the last sample", theme.style("muted"))])]
            right.append((100, [Segment(" ")]))
            left, right = fit_pieces(left, right, width)
            changes = {id(piece) for pieces in since.values() for piece in pieces}
            segs: list[Segment] = []
            for piece in left:
                if id(piece) in changes:  # (left out before its figure: never alone)
                    segs[-1:-1] = piece[1]  # inside its figure's pair, before the spaces
                else:
                    segs += piece[1]
            tail = [seg for _, segments in right for seg in segments]
            pad = max(1, width - _length(left) - _length(right))
            return Strip([*segs, Segment(" " * pad), *tail]).crop(0, width)
        return Strip.blank(width)


def _since_baseline(
    priority: int, now: int | None, baseline: Totals | None, field: str
) -> list[tuple[int, list[Segment]]]:
    """The change of a total since the baseline, as a piece after the figure's (left
    out before it): with a baseline set, the totals said what they are, never what
    they were, and a region unmapped since was nowhere to be seen (review)."""
    was = None if baseline is None else getattr(baseline, field)
    if now is None or was is None:
        return []  # (not known at one of the two: smaps not read)
    change = format_delta(now - was) or "±0"
    return [(priority, [Segment(f" ({change})", theme.style("baseline"))])]


def _length(pieces: list[tuple[int, list[Segment]]]) -> int:
    return sum(len(seg.text) for _, segs in pieces for seg in segs)


def fit_pieces(
    left: list[tuple[int, list[Segment]]], right: list[tuple[int, list[Segment]]], width: int
) -> tuple[list, list]:
    """Leave out whole pieces, lowest priority first, until both sides fit ``width``
    with a space between: a figure is shown whole or not at all, never cut."""
    left, right = list(left), list(right)
    while _length(left) + _length(right) + 1 > width:
        candidates = [p for p in left + right if p[0] < 100]
        if not candidates:
            break
        drop = min(candidates, key=lambda p: p[0])
        if drop in right:
            right.remove(drop)
        else:
            left.remove(drop)
    return left, right
