"""Totals per region kind: how many regions, and their size, RSS, PSS, dirty and swap.

Each line is in its kind's colour (the same as the bar and the table); clicking a line
asks the screen to filter the table to that kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes


class KindTotals(NamedTuple):
    kind: str
    count: int
    size: int
    rss: int | None
    pss: int | None
    dirty: int | None
    swap: int | None


def _add(a: int | None, b: int | None) -> int | None:
    if b is None:
        return a
    return (a or 0) + b


def kind_totals(regions: Sequence[Region]) -> list[KindTotals]:
    """Per kind present, in legend order (vmtop.model.kinds.ALL_KINDS)."""
    acc: dict[str, list] = {}
    for r in regions:
        t = acc.get(r.kind)
        if t is None:
            t = acc[r.kind] = [0, 0, None, None, None, None]
        t[0] += 1
        t[1] += r.end - r.start
        t[2] = _add(t[2], r.rss)
        t[3] = _add(t[3], r.pss)
        t[4] = _add(t[4], r.dirty)
        t[5] = _add(t[5], r.swap)
    order = {k: i for i, k in enumerate(kinds.ALL_KINDS)}
    return [KindTotals(k, *v) for k, v in sorted(acc.items(), key=lambda kv: order.get(kv[0], 99))]


def _line(label: str, count: str, values: Sequence[int | None], style: Style) -> list[Segment]:
    segments = [
        Segment(f"{label:<9.9}", style),
        Segment(f"{count:>6}", theme.style("text") if count else theme.style("faint")),
    ]
    for v in values:
        segments.append(
            Segment(f"{format_bytes(v):>6}", theme.style("text") if v else theme.style("faint"))
        )
    return segments


class KindSummary(theme.ThemedLines, Widget):
    DEFAULT_CSS = """
    KindSummary {
        height: auto;
    }
    """

    class KindClicked(Message):
        def __init__(self, summary: KindSummary, kind: str) -> None:
            super().__init__()
            self.summary = summary
            self.kind = kind

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.totals: list[KindTotals] = []

    def set_regions(self, regions: Sequence[Region]) -> None:
        old = len(self.totals)
        self.totals = kind_totals(regions)
        if len(self.totals) != old:
            self.refresh(layout=True)
        else:
            self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.totals) + 2

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            segments = [Segment(f"{'Kind':<9}{'Count':>6}", theme.style("soft", bold=True))]
            segments += [
                Segment(f"{t:>6}", theme.style("soft", bold=True))
                for t in ("Size", "RSS", "PSS", "Dirty", "Swap")
            ]
            return Strip(segments).adjust_cell_length(width)
        i = y - 1
        if i < len(self.totals):
            t = self.totals[i]
            style = Style(color=theme.kind_color(t.kind), bold=True)
            segments = [Segment("■", style)] + _line(
                theme.kind_label(t.kind)[:8],
                str(t.count),
                (t.size, t.rss, t.pss, t.dirty, t.swap),
                style,
            )
            segments[1] = Segment(f"{theme.kind_label(t.kind):<8.8}", style)
            return Strip(segments).adjust_cell_length(width)
        if i == len(self.totals) and self.totals:
            sums: list[int | None] = [None] * 5
            for t in self.totals:
                for k, v in enumerate((t.size, t.rss, t.pss, t.dirty, t.swap)):
                    sums[k] = _add(sums[k], v)
            count = str(sum(t.count for t in self.totals))
            return Strip(
                _line("total", count, sums, theme.style("strong", bold=True))
            ).adjust_cell_length(width)
        return Strip.blank(width)

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        i = offset.y - 1
        if 0 <= i < len(self.totals):
            self.post_message(self.KindClicked(self, self.totals[i].kind))
