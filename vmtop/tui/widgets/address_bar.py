"""The address-space bar: the whole user address space on one line, each region in its
kind's colour, with a legend, change markers, the selection and an address axis.

Lines (top to bottom): legend and scale; the bar (two rows); markers (what changed in
the last few refreshes, and the selected region); the axis with addresses. The layout
arithmetic lives in ``bar_layout``; this widget only draws it and turns clicks into
regions.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate
from operator import itemgetter
from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.geometry import Region as Area
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.tui import sampler, theme
from vmtop.tui.formatting import format_bytes
from vmtop.tui.widgets import bar_layout as bl

RESIDENT_BLOCKS = " ▁▂▃▄▅▆▇█"

MARKS = {
    sampler.NEW: ("+", "change-new"),
    sampler.GREW: ("▲", "change-grew"),
    sampler.SHRANK: ("▼", "change-shrank"),
    sampler.RSS_UP: ("↑", "change-grew"),
    sampler.RSS_DOWN: ("↓", "change-shrank"),
    sampler.RESHAPED: ("~", "change-reshaped"),
}
UNMAPPED_MARK = ("×", "change-unmapped")


class PreparedBar(NamedTuple):
    """The bar's share of a sample, worked out in the sampling worker: the user-space
    regions, the top of user space, and the layout for the bar's state ``view`` (as it
    was when the sample was asked for; None: lay out on the UI thread)."""

    regions: list[Region]
    top: int
    view: bl.BarView
    layout: bl.BarLayout | None
    hugetlb: bl.HugetlbPages = bl.NO_HUGETLB  # counted resident by the layout


_START = itemgetter(0)
# From this many regions, a layout the sample did not bring is made in a thread.
LAYOUT_IN_THREAD_FROM = 100_000


def _first_changed(layout: bl.BarLayout, recent: dict[int, str]) -> dict[int, int]:
    """Per column: the index of the first region it shows that is in ``recent``.

    A few changes among a million regions are looked up (by start) rather than every
    region in view being looked for in ``recent``; many changes are walked as before."""
    cells = layout.cells
    regions = layout.regions
    out: dict[int, int] = {}
    if not cells:
        return out
    shown = sum(min(c.hi, len(regions)) - c.lo for c in cells if c.hi > c.lo)
    if len(recent) * 8 >= shown:
        for col, c in enumerate(cells):
            for k in range(c.lo, min(c.hi, len(regions))):
                if regions[k].start in recent:
                    out[col] = k
                    break
        return out
    los = [c.lo for c in cells]
    reach = list(accumulate((c.hi for c in cells), max))  # nondecreasing, unlike hi
    for start in recent:
        k = bisect_left(regions, start, key=_START)
        if k >= len(regions) or regions[k].start != start:
            continue
        # Columns showing region k: lo <= k < hi; lo never decreases from column to
        # column, and no column before the first whose reach passes k can hold it.
        for col in range(bisect_right(reach, k), bisect_right(los, k)):
            c = cells[col]
            if c.lo <= k < c.hi and k < out.get(col, len(regions)):
                out[col] = k
    return out


def prepare_bar(
    regions: Sequence[Region],
    view: bl.BarView,
    hugetlb: Sequence[tuple[int, int]] | None = None,
) -> PreparedBar:
    """Everything linear in regions that the bar needs for a new sample (``hugetlb``:
    the snapshot's memory in hugetlb pages). Pure: runs in the sampling worker, and
    shares nothing with the widget until handed over."""
    user = bl.user_regions(regions)
    top = bl.user_top(regions)
    pages = bl.HugetlbPages(hugetlb)
    return PreparedBar(user, top, view, bl.layout_for(user, top, view, pages), pages)


def _shows_swapped(cell: bl.BarCell) -> bool:
    """Whether the cell's lower row shows swap behind what is resident: memory on swap
    is an eighth of the cell (a step of the resident blocks) or more, or at least half
    of what is not resident (swapped memory looked untouched)."""
    if not cell.swapped or cell.resident is None:
        return False
    return cell.swapped >= 1 / 8 or cell.swapped * 2 >= 1 - min(1.0, cell.resident)


class AddressBar(theme.ThemedLines, Widget):
    """Draws a ``BarLayout``; ``m`` / ``z`` / ``Z`` / ``<`` / ``>`` are handled by the screen."""

    DEFAULT_CSS = """
    AddressBar {
        height: 5;
        width: 1fr;
    }
    """

    class RegionClicked(Message):
        def __init__(self, bar: AddressBar, region: Region) -> None:
            super().__init__()
            self.bar = bar
            self.region = region

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.regions: list[Region] = []
        self.top = bl.TOP_47
        self.mode = bl.COMPACT
        self.zoom = 0
        self.center: int | None = None  # region index (compact zoom)
        self.views: list[tuple[int, int]] = []  # true scale: the address range per zoom
        self.selected: Region | None = None
        self.recent: dict[int, str] = {}
        self.traces: Sequence[tuple[int, int]] = ()
        self.hugetlb = bl.NO_HUGETLB  # the regions' memory in hugetlb pages
        self._layout: bl.BarLayout | None = None
        self._layout_key: tuple | None = None
        self._laying_out: tuple | None = None  # the key a thread is laying out for
        self._strips: list[Strip] | None = None
        self.short = False  # three lines (bar, markers, axis) on a short terminal

    def set_short(self, short: bool) -> None:
        """Three lines instead of five: no legend, no resident row (the table's Kind
        column and RSS say the same)."""
        if short != self.short:
            self.short = short
            self.styles.height = 3 if short else 5
            self._invalidate(layout=False)

    # -- state from the screen ---------------------------------------------------------

    def set_regions(
        self,
        regions: Sequence[Region],
        recent: dict[int, str],
        traces: Sequence[tuple[int, int]],
        prepared: PreparedBar | None = None,
        hugetlb: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        """Show ``regions`` (``hugetlb``: their snapshot's memory in hugetlb pages);
        with ``prepared`` (worked out from the same regions in the sampling worker),
        nothing linear in regions runs here when the bar's state is still the one it
        was laid out for."""
        if prepared is None:
            self.regions = bl.user_regions(regions)
            self.top = bl.user_top(regions)
            self.hugetlb = bl.HugetlbPages(hugetlb)
        else:
            self.regions = prepared.regions
            self.top = prepared.top
            self.hugetlb = prepared.hugetlb
        self.recent = recent
        self.traces = traces
        self._invalidate(layout=True)
        if prepared is not None and prepared.layout is not None:
            key = self._key_for(prepared.view)
            if key == self._key_for(self.bar_view()):
                self._layout, self._layout_key = prepared.layout, key

    def set_selected(self, region: Region | None) -> None:
        if region == self.selected:
            return
        self.selected = region
        if self.zoom and region is not None and not self._in_view(region):
            self._center_on(region)
            self._invalidate(layout=True)
        elif self._strips is not None:
            # Only the marker row shows the selection.
            row = 1 if self.short else 3
            self._strips[row] = self._marker_row(self.layout, max(1, self.size.width))
            self.refresh(Area(0, row, self.size.width, 1))
        else:
            self._invalidate(layout=False)

    def toggle_mode(self) -> None:
        self.mode = bl.SCALE if self.mode == bl.COMPACT else bl.COMPACT
        self.zoom = 0
        self.center = None
        self.views = []
        self._invalidate(layout=True)

    def zoom_in(self) -> bool:
        if self.mode == bl.SCALE:
            return self._scale_zoom_in()
        limit = bl.max_zoom(self.mode, len(self.regions), self.top)
        if self.zoom >= limit:
            return False
        self.zoom += 1
        if self.selected is not None:
            self._center_on(self.selected)
        elif self.center is None:
            self.center = len(self.regions) // 2 if self.mode == bl.COMPACT else self.top // 2
        self._invalidate(layout=True)
        return True

    def _scale_zoom_in(self) -> bool:
        """True scale: the next view frames what is mapped there (see
        ``bar_layout.scale_zoom_view``), so the first press shows the program and heap,
        or the libraries and stack, rather than a sixteenth of empty space."""
        view = self.views[-1] if self.views else (0, self.top)
        focus = None
        if self.selected is not None:
            focus = self.selected.start + self.selected.size // 2
        nearer = bl.scale_zoom_view(self.regions, view, focus)
        if nearer is None or nearer == view:
            return False
        self.views.append(nearer)
        self.zoom = len(self.views)
        self._invalidate(layout=True)
        return True

    def zoom_out(self) -> bool:
        if self.zoom == 0:
            return False
        self.zoom -= 1
        if self.mode == bl.SCALE:
            del self.views[self.zoom :]
        self._invalidate(layout=True)
        return True

    def pan(self, direction: int) -> bool:
        """Move the view by half its width; ``direction`` is -1 (left) or +1 (right)."""
        if not self.zoom or self._layout is None:
            return False
        if self.mode == bl.COMPACT:
            lo, hi = self._window()
            step = max(1, (hi - lo) // 2)
            self.center = max(0, min(len(self.regions) - 1, (self.center or 0) + direction * step))
        else:
            lo, hi = self._window()
            span = hi - lo
            lo = max(0, min(self.top - span, lo + direction * max(1, span // 2)))
            self.views[-1] = (lo, lo + span)
        self._invalidate(layout=True)
        return True

    def _center_on(self, region: Region) -> None:
        if self.mode == bl.COMPACT:
            self.center = self._index_of(region)
        elif self.views:
            # Keep the zoom's span, moved so that the region is in the middle.
            lo, hi = self.views[-1]
            span = hi - lo
            start = max(0, min(self.top - span, region.start + region.size // 2 - span // 2))
            self.views[-1] = (start, start + span)

    def _index_of(self, region: Region) -> int:
        return min(
            len(self.regions) - 1, max(0, bisect_left(self.regions, region.start, key=_START))
        )

    def _window(self):
        if self.mode == bl.COMPACT:
            return bl.compact_window(len(self.regions), self.zoom, self.center or 0)
        return self.views[-1] if self.views else (0, self.top)

    def _in_view(self, region: Region) -> bool:
        if self._layout is None:
            return True
        return region.end > self._layout.view_start and region.start < self._layout.view_end

    # -- layout ------------------------------------------------------------------------

    def _invalidate(self, *, layout: bool) -> None:
        if layout:
            self._layout_key = None
        self._strips = None
        self.refresh()

    def bar_view(self) -> bl.BarView:
        """What the layout depends on besides the regions, as one immutable value (the
        screen hands it to the sampling worker, which lays the bar out for it)."""
        return bl.BarView(
            max(1, self.size.width),
            self.mode,
            self.zoom,
            self.center,
            self.views[-1] if self.views else None,
        )

    def _key_for(self, view: bl.BarView) -> tuple:
        return (view, id(self.regions))

    @property
    def layout(self) -> bl.BarLayout:
        key = self._key_for(self.bar_view())
        if self._layout is None or self._layout_key != key:
            if self._layout is not None and len(self.regions) >= LAYOUT_IN_THREAD_FROM:
                # A key (m, z, <, >) or a resize on a huge map: a second of layout. The
                # bar it had stays up meanwhile; the new one comes from a thread.
                if self._laying_out != key:
                    self._laying_out = key
                    self._layout_worker(self.regions, self.top, key, self.hugetlb)
                return self._layout
            self._layout = bl.layout_for(self.regions, self.top, key[0], self.hugetlb)
            self._layout_key = key
        return self._layout

    @work(thread=True, exclusive=True, group="bar-layout", exit_on_error=False)
    def _layout_worker(
        self, regions: Sequence[Region], top: int, key: tuple, hugetlb: bl.HugetlbPages
    ) -> None:
        layout = bl.layout_for(regions, top, key[0], hugetlb)
        self.app.call_from_thread(self._take_layout, key, layout)

    def _take_layout(self, key: tuple, layout: bl.BarLayout) -> None:
        self._laying_out = None
        if key == self._key_for(self.bar_view()):
            self._layout, self._layout_key = layout, key
            self._invalidate(layout=False)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 3 if self.short else 5

    def on_resize(self) -> None:
        self._invalidate(layout=True)

    # -- drawing -----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        if self._strips is None:
            self._strips = self._render_all(max(1, self.size.width))
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width)

    def _render_all(self, width: int) -> list[Strip]:
        layout = self.layout
        if self.short:
            return [
                self._bar_row(layout, width, upper=True),
                self._marker_row(layout, width),
                self._axis_row(layout, width),
            ]
        return [
            self._legend(layout, width),
            self._bar_row(layout, width, upper=True),
            self._bar_row(layout, width, upper=False),
            self._marker_row(layout, width),
            self._axis_row(layout, width),
        ]

    def _legend(self, layout: bl.BarLayout, width: int) -> Strip:
        present = {c.kind for c in layout.cells if c.kind}
        if layout.mode == bl.COMPACT:
            present |= layout.kinds_in_view
        info = self._info(layout)
        if sum(len(s.text) for s in info) + 40 > width:
            info = info[:1]  # the scale's name; its range is on the axis below
        room = width - sum(len(s.text) for s in info) - 1
        resident_known = any(c.resident is not None for c in layout.cells)
        swapped = resident_known and any(_shows_swapped(c) for c in layout.cells)
        # Where swap shows, its key has a place before the kinds' (they say "+N more"):
        # at 90 columns the kinds took the row, and the orange was unexplained.
        key_room = len(" ▄ resident █ swapped") if swapped else 0
        segments: list[Segment] = []
        shown = [k for k in kinds.ALL_KINDS if k in present]
        for i, kind in enumerate(shown):
            entry = [
                Segment(theme.kind_swatch(kind), Style(color=theme.kind_color(kind))),
                Segment(theme.kind_label(kind) + " ", theme.style("soft")),
            ]
            more = len(shown) - i - 1
            reserve = len(f"+{more} more ") if more else 0
            if sum(len(s.text) for s in segments + entry) + reserve + key_room > room:
                segments.append(Segment(f"+{len(shown) - i} more ", theme.style("muted")))
                break
            segments += entry
        if resident_known:
            for words in (" lower row: resident share", " resident", ""):
                extra = [
                    Segment(" ▄", theme.style("soft", "bar-resident")),
                    Segment(words, theme.style("muted")),
                ]
                if swapped and words:
                    extra += [
                        Segment(" █", theme.style("bar-swap")),
                        Segment(" swapped", theme.style("muted")),
                    ]
                if words and sum(len(s.text) for s in segments + extra) <= room:
                    segments += extra
                    break
        used = sum(len(s.text) for s in segments)
        info_len = sum(len(s.text) for s in info)
        pad = max(1, width - used - info_len)
        return Strip([*segments, Segment(" " * pad), *info]).crop(0, width)

    def _info(self, layout: bl.BarLayout) -> list[Segment]:
        scale = "compact" if layout.mode == bl.COMPACT else "true scale"
        parts = [Segment(scale, theme.style("soft", bold=True))]
        if self.zoom:
            if layout.mode == bl.COMPACT:
                lo, hi = self._window()
                parts.append(
                    Segment(
                        f" · zoom {hi - lo}/{len(layout.regions)} regions", theme.style("muted")
                    )
                )
            else:
                span = layout.view_end - layout.view_start
                parts.append(
                    Segment(
                        f" · {layout.view_start:#x}–{layout.view_end:#x}: "
                        f"{format_bytes(span)} of {format_bytes(layout.top)}, "
                        f"{format_bytes(max(1, span // max(1, len(layout.cells))))} per cell",
                        theme.style("muted"),
                    )
                )
        else:
            parts.append(Segment(f" · 0x0–{layout.top - 1:#x}", theme.style("muted")))
        return parts

    def _bar_row(self, layout: bl.BarLayout, width: int, *, upper: bool) -> Strip:
        segments = []
        for c in layout.cells[:width]:
            if c.gap_char:
                ch = c.gap_char if upper else ("╌" if c.gap_char != "┊" else "┊")
                segments.append(
                    Segment(
                        ch,
                        theme.style("bar-break", "bar-empty")
                        if upper
                        else theme.style("bar-break-dim", "bar-empty"),
                    )
                )
            elif c.kind is None:
                segments.append(
                    Segment("·" if upper else " ", theme.style("bar-resident", "bar-empty"))
                )
            elif upper or c.resident is None:
                color = theme.kind_color(c.kind)
                ch = theme.kind_fill(c.kind) if c.fill >= 0.5 else "▌"
                segments.append(Segment(ch, Style(color=color, bgcolor=theme.color("bar-empty"))))
            else:
                # The lower row: how much of it is resident, as a bar from the bottom;
                # behind it, where most of the rest is on swap, swap's colour.
                color = theme.kind_color(c.kind)
                level = 0 if c.resident <= 0 else max(1, min(8, round(c.resident * 8)))
                behind = "bar-swap" if _shows_swapped(c) else "bar-resident"
                segments.append(
                    Segment(
                        RESIDENT_BLOCKS[level],
                        Style(color=color, bgcolor=theme.color(behind)),
                    )
                )
        return Strip(segments).adjust_cell_length(width)

    def _marker_row(self, layout: bl.BarLayout, width: int) -> Strip:
        marks: list[tuple[str, Style] | None] = [None] * len(layout.cells)
        sel = self.selected
        if sel is not None:
            for col in layout.columns_of(sel.start, sel.end):
                marks[col] = ("▔", theme.style("strong", bold=True))
        for start, end in self.traces:
            if end <= layout.view_start or start >= layout.view_end:
                continue
            for col in layout.columns_of(start, end)[:1] or []:
                marks[col] = (UNMAPPED_MARK[0], theme.style(UNMAPPED_MARK[1], bold=True))
        if self.recent:
            for col, k in _first_changed(layout, self.recent).items():
                status = self.recent[layout.regions[k].start]
                ch, role = MARKS.get(status, ("•", "strong"))
                selected = marks[col] is not None and marks[col][0] == "▔"
                marks[col] = (ch, theme.style(role, bold=True, underline=selected))
        segments = [Segment(m[0], m[1]) if m else Segment(" ") for m in marks]
        return Strip(segments).adjust_cell_length(width)

    def _axis_row(self, layout: bl.BarLayout, width: int) -> Strip:
        line = [" "] * width
        for col, text in layout.axis:
            for i, ch in enumerate(text):
                if 0 <= col + i < width:
                    line[col + i] = ch
        return Strip([Segment("".join(line), theme.style("muted"))])

    # -- mouse -------------------------------------------------------------------------

    def region_at_column(self, x: int) -> Region | None:
        layout = self.layout
        if not 0 <= x < len(layout.cells):
            return None
        pick = layout.cells[x].pick
        if pick < 0:
            return None
        return layout.regions[pick]

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        region = self.region_at_column(offset.x)
        if region is not None:
            self.post_message(self.RegionClicked(self, region))

    def on_mouse_move(self, event) -> None:
        offset = event.get_content_offset(self)
        region = self.region_at_column(offset.x) if offset is not None else None
        if region is None:
            cell = None
            if offset is not None and 0 <= offset.x < len(self.layout.cells):
                cell = self.layout.cells[offset.x]
            if cell is not None and cell.kind is None:
                self.tooltip = f"unmapped {cell.start:#x}–{cell.end:#x} ({format_bytes(cell.end - cell.start)})"
            else:
                self.tooltip = None
            return
        self.tooltip = (
            f"{region.start:x}-{region.end:x} {region.perms} {format_bytes(region.size)} "
            f"{theme.kind_label(region.kind)} {region.safe_path}"
        )
