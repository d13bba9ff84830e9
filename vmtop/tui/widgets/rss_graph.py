"""A sparkline of resident memory over time: the process total on the process screen,
one region's history on the region detail screen.

Takes ``(time, bytes)`` points; one column per point (the newest on the right), drawn
with eighth-block characters over as many rows as the widget is high, scaled between
the lowest and highest value shown (both printed in the title line, so a flat-looking
line is never mistaken for zero).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes

BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline_rows(values: Sequence[float], rows: int) -> list[str]:
    """The graph as ``rows`` strings (top first), one character per value."""
    if rows <= 0:
        return []
    if not values:
        return [""] * rows
    lo, hi = min(values), max(values)
    # The lowest value sits half-way up when the range is narrow, so a change is visible
    # but not exaggerated into "from nothing to everything".
    lo = max(0, lo - (hi - lo))
    levels = rows * 8
    heights = []
    for v in values:
        if hi == lo:
            h = levels // 2 if hi else 0
        else:
            h = 1 + round((v - lo) / (hi - lo) * (levels - 1))
        heights.append(h)
    out = []
    for row in range(rows - 1, -1, -1):
        base = row * 8
        out.append("".join(BLOCKS[max(0, min(8, h - base))] for h in heights))
    return out


class RssGraph(theme.ThemedLines, Widget):
    """``set_points([(t, bytes), ...])``; the title says the latest, lowest and highest."""

    DEFAULT_CSS = """
    RssGraph {
        height: 1fr;
        min-height: 3;
    }
    """

    def __init__(self, title: str = "RSS", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.points: list[tuple[float, int]] = []

    def set_points(self, points: Sequence[tuple[float, int | None]]) -> None:
        self.points = [(t, v) for t, v in points if v is not None]
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        height = self.size.height
        shown = [v for _, v in self.points[-width:]] if width > 0 else []
        if y == 0:
            return self._title(shown, width)
        rows = sparkline_rows(shown, height - 1)
        if not shown:
            text = "no samples yet" if y == 1 else ""
            return Strip([Segment(text.ljust(width), theme.style("muted"))]).crop(0, width)
        line = rows[y - 1].rjust(width)
        return Strip([Segment(line, theme.style("graph"))]).crop(0, width)

    def _title(self, shown: list[int], width: int) -> Strip:
        if not shown:
            return Strip([Segment(self.title.ljust(width), theme.style("text", bold=True))]).crop(
                0, width
            )
        latest = shown[-1]
        span = ""
        if len(self.points) >= 2:
            seconds = self.points[-1][0] - self.points[max(0, len(self.points) - len(shown))][0]
            span = f" over {seconds:.0f}s" if seconds < 120 else f" over {seconds / 60:.0f}m"
        segments = [
            Segment(f"{self.title} {format_bytes(latest)}", theme.style("text", bold=True)),
            Segment(
                f"  min {format_bytes(min(shown))} max {format_bytes(max(shown))}{span}",
                theme.style("muted"),
            ),
        ]
        return Strip(segments).adjust_cell_length(width)
