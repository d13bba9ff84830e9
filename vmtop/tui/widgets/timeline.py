"""The replay timeline: the process's resident memory over the whole recording, stacked
by kind in each kind's colour, with the cursor (the sample on screen), the marks A and B,
and a tick under every moment that has events. A click moves the cursor there.

Row 0: start time · A · B · ▼ cursor · end time. Rows 1 to 3: RSS by kind, scaled to
the recording's peak, one column per stretch of time (the sample with the most RSS in
it). Row 4: event ticks and the cursor's ▲.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from vmtop.model.kinds import ALL_KINDS
from vmtop.record.timespec import clock_label, label_digits
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes
from vmtop.tui.theme import kind_color

BLOCKS = " ▁▂▃▄▅▆▇█"
CHART_ROWS = 3
_ORDER = {k: i for i, k in enumerate(ALL_KINDS)}


class TimelineData(NamedTuple):
    times: Sequence[float]
    kinds: Sequence[dict]  # per sample: kind -> resident bytes
    totals: Sequence[int]  # per sample: the RSS the chart stacks (sum of kinds, else VmRSS)
    event_counts: Sequence[int]  # per sample: events (narration counted apart)
    note_counts: Sequence[int]
    # (first, last) -> a sample among them whose RSS by kind is at hand, the one with
    # the most RSS, and that; None: none is (a recording's block peaks:
    # ``SampleIndex.peak_in``). Where None, ``kinds`` is read for a column's peak.
    peak_in: Callable[[int, int], tuple[int, dict] | None] | None = None


class _KindsReadBack(Sequence):
    """A recording's RSS by kind of sample ``i``, read back from the file when asked
    (rarely: a column whose peak is no block's peak)."""

    def __init__(self, recording) -> None:
        self.recording = recording

    def __len__(self) -> int:
        return len(self.recording)

    def __getitem__(self, i):
        return self.recording.samples[i].kinds


def timeline_data(recording) -> TimelineData:
    """What the timeline draws of ``recording``, from the numbers its index keeps per
    sample: nothing read back from the file (reading 59 000 samples back took seconds;
    keeping their RSS by kind, half a kilobyte a sample)."""
    index = recording.index
    counts = array("I", (e - n for e, n in zip(index.event_counts, index.note_counts, strict=True)))
    notes = array("I", index.note_counts)
    if counts and recording.end_events:  # (the end mark's, after the last sample)
        said = sum(1 for e in recording.end_events if e.event == "note")
        counts[-1] += len(recording.end_events) - said
        notes[-1] += said
    return TimelineData(
        index.times, _KindsReadBack(recording), index.rss, counts, notes, index.peak_in
    )


class Timeline(theme.ThemedLines, Widget):
    DEFAULT_CSS = """
    Timeline {
        height: 5;
        background: $background;
    }
    """

    class Seek(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, data: TimelineData, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = data
        self.cursor = 0
        self.mark_a: int | None = None
        self.mark_b: int | None = None
        self._columns: tuple[int, list] | None = None  # (width, per column)
        self.peak = max(data.totals) if data.totals else 0
        # The chart starts a little below the lowest RSS, not at zero: growth is what
        # it is for, and from zero a 10 % rise is a line's width.
        self.low = low = min(data.totals) if data.totals else 0
        self.floor = int(low * 0.8) if self.peak > low else 0
        # The first and last sample's times, as the report writes them: as precise as
        # the header's, without its trailing zeros (the label needs the room).
        digits = label_digits(data.times)
        first, last = (
            (
                clock_label(data.times[0], digits, trim=True),
                clock_label(data.times[-1], digits, trim=True),
            )
            if data.times
            else ("", "")
        )
        self.span_label = f"{first} → {last}"

    def set_position(self, cursor: int, mark_a: int | None, mark_b: int | None) -> None:
        if (cursor, mark_a, mark_b) != (self.cursor, self.mark_a, self.mark_b):
            self.cursor, self.mark_a, self.mark_b = cursor, mark_a, mark_b
            self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return CHART_ROWS + 2

    # -- geometry -----------------------------------------------------------------------

    @property
    def _chart_width(self) -> int:
        return max(1, self.size.width - 2)

    def column_of(self, index: int) -> int:
        t = self.data.times
        if len(t) < 2 or t[-1] <= t[0]:
            return 0
        frac = (t[index] - t[0]) / (t[-1] - t[0])
        return min(self._chart_width - 1, int(frac * (self._chart_width - 1) + 0.5))

    def index_at_column(self, column: int) -> int:
        t = self.data.times
        if len(t) < 2:
            return 0
        when = t[0] + (t[-1] - t[0]) * max(0, min(column, self._chart_width - 1)) / max(
            1, self._chart_width - 1
        )
        from bisect import bisect_left

        i = bisect_left(t, when)
        if i >= len(t):
            return len(t) - 1
        if i > 0 and when - t[i - 1] < t[i] - when:
            return i - 1
        return i

    def _per_column(self) -> list:
        """Per column: [the sample with the most RSS there, events, notes, the first
        and last sample in it, (the sample stacked by kind, its RSS by kind) once
        drawn]."""
        width = self._chart_width
        if self._columns is not None and self._columns[0] == width:
            return self._columns[1]
        cols: list = [[-1, 0, 0, -1, -1, None] for _ in range(width)]
        d = self.data
        # column_of, with the width and the span looked up once: per sample, the
        # widget's size made a day at 0.1 s (864 000 samples) seconds to draw.
        t = d.times
        first, span = (t[0], t[-1] - t[0]) if len(t) > 1 else (0.0, 0.0)
        right = width - 1
        for i, when in enumerate(t):
            c = cols[min(right, int((when - first) / span * right + 0.5)) if span > 0 else 0]
            if c[0] < 0 or d.totals[i] > d.totals[c[0]]:
                c[0] = i
            c[1] += d.event_counts[i]
            c[2] += d.note_counts[i]
            if c[3] < 0:
                c[3] = i
            c[4] = i
        # Columns between two samples (a short recording, a wide screen) hold the
        # earlier one: the map as it was until the next sample.
        last = None
        for k, c in enumerate(cols):
            if c[0] < 0 and last is not None:
                cols[k] = [last[0], 0, 0, last[3], last[4], None]
            elif c[0] >= 0:
                last = c
        self._columns = (width, cols)
        return cols

    def _stacked(self, column: list) -> tuple[int, dict]:
        """The sample a column stacks by kind and its RSS by kind: its peak where that is
        at hand, else the peak of the blocks in it (``TimelineData.peak_in``: within a
        block's growth of the column's peak), else its peak read back."""
        if column[5] is None:
            d, i = self.data, column[0]
            found = d.peak_in(column[3], column[4]) if d.peak_in is not None else None
            column[5] = found if found is not None else (i, d.kinds[i])
        return column[5]

    # -- drawing --------------------------------------------------------------------------

    def _stack(self, column: list) -> list[tuple[str, float]]:
        """(colour, top in eighths of the chart) from the bottom up."""
        d = self.data
        span = self.peak - self.floor
        if column[0] < 0 or span <= 0:
            return []
        levels = CHART_ROWS * 8
        i, kinds = self._stacked(column)
        if not kinds:
            return [(theme.color("muted"), (d.totals[i] - self.floor) / span * levels)]
        out = []
        acc = 0
        for kind, value in sorted(kinds.items(), key=lambda kv: _ORDER.get(kv[0], 99)):
            acc += value
            if acc > self.floor:
                out.append((kind_color(kind), (acc - self.floor) / span * levels))
        return out

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        d = self.data
        if not d.times or width < 4:
            return Strip.blank(width)
        cols = self._per_column()
        cursor = self.column_of(self.cursor)
        marks = {}
        if self.mark_a is not None:
            marks[self.column_of(self.mark_a)] = "A"
        if self.mark_b is not None:
            marks[self.column_of(self.mark_b)] = "B"
        if y == 0:
            return self._top_line(width, cursor, marks)
        if y == CHART_ROWS + 1:
            segs = [Segment(" ")]
            for x, (_i, events, notes, *_) in enumerate(cols):
                if x == cursor:
                    segs.append(Segment("▲", theme.style("strong", bold=True)))
                elif events:
                    segs.append(Segment("┃" if events > 3 else "╵", theme.style("key")))
                elif notes:
                    segs.append(Segment("·", theme.style("accent")))
                else:
                    segs.append(Segment(" "))
            return Strip(segs).adjust_cell_length(width)
        row = CHART_ROWS - y  # 0 is the bottom row
        segs = [Segment(" ")]
        for x, column in enumerate(cols):
            bg = (
                theme.color("rule")
                if x == cursor
                else (theme.color("row-grew") if x in marks else None)
            )
            char, color = self._cell(self._stack(column), row)
            segs.append(Segment(char, Style(color=color, bgcolor=bg)))
        return Strip(segs).adjust_cell_length(width)

    @staticmethod
    def _cell(stack: list[tuple[str, float]], row: int) -> tuple[str, str | None]:
        low = row * 8
        if not stack or stack[-1][1] <= low:
            return " ", None
        top = stack[-1][1]
        mid = low + 4 if top >= low + 8 else (low + top) / 2
        color = next((c for c, level in stack if level >= mid), stack[-1][0])
        if top >= low + 8:
            return "█", color
        eighths = max(1, int(round(top - low)))
        return BLOCKS[min(8, eighths)], color

    def _top_line(self, width: int, cursor: int, marks: dict) -> Strip:
        cells = [" "] * width
        styles: list[Style | None] = [None] * width

        def put(x: int, text: str, style: Style) -> None:
            for k, ch in enumerate(text):
                if 0 <= x + k < width:
                    cells[x + k] = ch
                    styles[x + k] = style

        # One label, on the half away from the cursor: the span and the RSS it went
        # through (not the chart's floor, which is below the lowest: read as a range,
        # it said RSS dipped where it never did).
        low, peak = format_bytes(self.low), format_bytes(self.peak)
        rss = f"RSS {low}–{peak}" if low != peak else f"RSS {peak}"
        # The whole label where it fits, else a part of it: next to a mark, its letter
        # read as the label's ("A 00:10:02.1 → …" with the mark A at another moment).
        span = f"recording {self.span_label}"  # its span, not the marks' times
        for label in (f"{span}   {rss}", span, rss):
            x = _label_place(label, width, 1 + cursor, [1 + col for col in marks])
            if x is not None:
                put(x, label, theme.style("muted"))
                break
        put(1 + cursor, "▼", theme.style("strong", bold=True))
        for col, letter in marks.items():
            put(1 + col, letter, theme.style("pid-fg", "baseline", bold=True))
        segs = [Segment(c, s) for c, s in zip(cells, styles, strict=True)]
        return Strip(segs).simplify()

    def on_click(self, event) -> None:
        if 1 <= event.x <= self._chart_width and 1 <= event.y <= CHART_ROWS + 1:
            self.post_message(self.Seek(self.index_at_column(event.x - 1)))


def _label_place(label: str, width: int, cursor: int, marks: list[int]) -> int | None:
    """Where the top line's label goes: on the half away from the cursor, else beside a
    mark, never over the cursor or a mark (A at the first sample and B at the last left
    no side free: the A covered the label's first digit); None when it fits nowhere."""
    taken = {cursor, *marks}
    left, right = 1, width - len(label) - 1
    tries = [left, right] if cursor > width // 2 else [right, left]
    tries += [col + GAP + 1 for col in sorted(taken)]
    for x in tries:
        # Not over the cursor or a mark, and GAP cells from a mark's letter.
        if (
            x >= 1
            and x + len(label) <= width - 1
            and not any(x <= t < x + len(label) for t in taken)
            and not any(x - GAP <= m < x + len(label) + GAP for m in marks)
        ):
            return x
    return None


GAP = 2  # cells between a mark's letter and the label, so the letter is not read as its
