"""The region table's lines: the header, a region's row, a group's row, drawn from
the rows and the columns on screen (a mixin of RegionTable, which holds the data and
the cursor; only the rows on screen are ever drawn)."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from vmtop.model.names import display_name
from vmtop.model.region import Region
from vmtop.tui import sampler, theme
from vmtop.tui.formatting import format_bytes, format_delta, format_estimated_delta
from vmtop.tui.widgets.table_columns import (
    CHANGE_BG,
    CHANGE_MARK,
    FIELD_COLUMNS,
    Column,
    region_name,
    shorten_left,
    shorten_name,
)
from vmtop.tui.widgets.table_model import FIGURES, GroupRow, Member

# A group's object name keeps at least this much of its end before its `size` figures.
NAME_BEFORE_SIZES = 12
# What a group row's sizes need at least, in the short form ("  t 1.5K d 17K b 8.0M")
# after the start of a name.
SIZES_ROOM = NAME_BEFORE_SIZES + len("  t 999K d 999K b 999M")
# An address too long for its column keeps this many leading digits before "…".
KERNEL_ADDRESS_HEAD = 4


class RegionTableLines:
    """render_line and what it draws with (RegionTable's state: rows, columns, cursor,
    changes, the caches)."""

    def _style(self, color: str | None, bg: str | None, bold: bool = False, dim=False) -> Style:
        key = (color, bg, bold, dim)
        style = self._styles.get(key)
        if style is None:
            style = Style(color=color, bgcolor=bg, bold=bold, dim=dim)
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._render_header(width)
        index = round(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width)
        selected = index == self.cursor
        if self._palette is not theme.palette():  # the theme changed: redraw every row
            self._palette = theme.palette()
            self._cache.clear()
        cached = self._cache.get((index, selected))
        if cached is not None and cached.cell_length == width:
            return cached
        self.lines_rendered += 1
        row = self.rows[index]
        if isinstance(row, GroupRow):
            strip = self._render_group(row, width, selected)
        else:
            strip = self._render_region(row, width, selected)
        if len(self._cache) > 2000:
            self._cache.clear()
        self._cache[(index, selected)] = strip
        return strip

    def _render_header(self, width: int) -> Strip:
        segments = [Segment(" ", theme.style("text", "table-header", bold=True))]
        pos = 1
        for column in self.columns:
            w = column.width or max(0, width - pos)
            title = column.title
            style = theme.style("text", "table-header", bold=True)
            if column.key and column.key == self.sort:
                # (… while the rows in that order are being built: a huge map)
                order = "…" if self.pending else "▼" if self.descending else "▲"
                title = title[: max(0, w - 1)] + order  # the order shows, whatever the width
                style = theme.style("strong", "table-header-sorted", bold=True, underline=True)
            text = title.rjust(w) if column.right else title.ljust(w)
            segments.append(Segment(text[:w], style))
            if column.width:
                segments.append(Segment(" ", theme.style("text", "table-header", bold=True)))
            pos += w + (1 if column.width else 0)
        return Strip(segments).adjust_cell_length(
            width, theme.style("text", "table-header", bold=True)
        )

    def _cells(
        self,
        width: int,
        values: dict[str, tuple[str, Style]],
        bg: str | None,
        swatch: tuple[str, Style],
    ) -> Strip:
        segments = [Segment(*swatch)]
        pos = 1
        space = self._style(None, bg)
        spill = None  # cells of this column a longer text on its left already took
        for column in self.columns:
            text, style = values[column.id]
            w = column.width or max(0, width - pos)
            pos += w + (1 if column.width else 0)
            if spill is not None:  # (an empty cell: the text on its left runs on into it)
                segments.append(Segment(" " * (w + 1 - spill), space))
                spill = None
                continue
            if len(text) > w:
                # Too long: it runs on into an empty cell on its right, if any.
                following = self._column_after(column)
                if following is not None and not values[following.id][0]:
                    text = text[: w + 1 + following.width]
                    spill = max(0, len(text) - w - 1)  # (after its own space)
                    segments.append(Segment(text.ljust(w + 1), style))
                    continue
                text = text[:w]
            text = text.rjust(w) if column.right else text.ljust(w)
            segments.append(Segment(text, style))
            if column.width:
                segments.append(Segment(" ", space))
        return Strip(segments).adjust_cell_length(width, space)

    def _column_after(self, column: Column) -> Column | None:
        """The column shown right of ``column`` when it has a fixed width, else None."""
        index = self.columns.index(column)
        if index + 1 < len(self.columns) and self.columns[index + 1].width:
            return self.columns[index + 1]
        return None

    def _render_region(self, row: Region | Member, width: int, selected: bool) -> Strip:
        indented = isinstance(row, Member)
        r = row.region if indented else row
        status = self.recent.get(r.start)
        bg = (
            theme.color("row-selected")
            if selected
            else theme.color(CHANGE_BG[status])
            if status in CHANGE_BG
            else None
        )
        color = theme.kind_color(r.kind)
        kind_style = self._style(color, bg, bold=selected)
        plain = self._style(theme.color("strong" if selected else "text"), bg)
        dim = self._style(theme.color("muted" if selected else "dim"), bg)
        # (Dimmed in 16 colours, a kind's colour comes out as another of the 16, on a
        # light theme one as light as the background.)
        addr = self._style(color, bg, dim=not selected and not theme.few_colors())
        change = self.changes.get(r.start)
        size_delta = change.size_delta if change else 0
        rss_delta = change.rss_delta if change else 0
        rss_text = format_estimated_delta if change and change.rss_estimated else format_delta
        name, described = region_name(r)
        indent = "  " if indented else ""
        name_width = max(1, width - self._fixed_width() - len(indent))
        name = indent + shorten_name(name, name_width, described)
        mark = CHANGE_MARK.get(status, "") if status else ""
        start, end = self._address(r.start), self._address(r.end)
        if len(f"{r.start:x}") > self.addr_width and any(c.id == "end" for c in self.columns):
            # [vsyscall], above user space, in columns sized for user addresses: its
            # start whole across Start and End (Size says where it ends), not both cut.
            start, end = f"{r.start:x}", ""
        values = {
            "start": (start, addr),
            "end": (end, addr),
            "size": (format_bytes(r.size), plain),
            **self._figures(r, plain, dim),
            "perm": (r.perms, plain),
            "kind": (theme.kind_label(r.kind), kind_style),
            "dsize": (format_delta(size_delta), self._delta_style(size_delta, bg)),
            "drss": (rss_text(rss_delta), self._delta_style(rss_delta, bg)),
            "name": (name, dim if described else kind_style),
        }
        swatch_char = mark or "▌"
        swatch_style = (
            self._style(
                theme.color("change-new") if status == sampler.NEW else color, bg, bold=True
            )
            if mark
            else self._style(color, bg)
        )
        return self._cells(width, values, bg, (swatch_char, swatch_style))

    def _figures(self, row, plain: Style, dim: Style) -> dict[str, tuple[str, Style]]:
        """The smaps figures of a region or group row, for the columns shown."""
        out = {}
        for column in self.columns:
            figure = FIGURES.get(column.id)
            if figure is not None:
                value = getattr(row, figure[0])
                out[column.id] = (format_bytes(value), plain if value else dim)
            elif column.id == "hugetlb" and (self.hugetlb is not None or isinstance(row, GroupRow)):
                value = self._hugetlb(row)
                out[column.id] = (format_bytes(value), plain if value else dim)
            elif column.id in FIELD_COLUMNS:
                value = self._field(row, FIELD_COLUMNS[column.id])
                out[column.id] = (format_bytes(value), plain if value else dim)
        return out

    def _hugetlb(self, row) -> int | None:
        """A row's memory in hugetlb pages: the snapshot's figure of its region, its
        group's sum (None: not known)."""
        if isinstance(row, GroupRow):
            return row.hugetlb
        region = row.region if isinstance(row, Member) else row
        return self.hugetlb.get(region.start, 0) if self.hugetlb is not None else None

    def _field(self, row, name: str | tuple[str, ...]) -> int | None:
        """One smaps field of a region row, or the sum of several (None for a group, or
        without smaps text)."""
        if not isinstance(row, Region) or self.fields_of is None:
            return None
        key = row[:7]
        fields = self._fields_cache.get(key)
        if fields is None:
            if len(self._fields_cache) > 512:
                self._fields_cache.clear()
            fields = self._fields_cache[key] = self.fields_of(row)
        if isinstance(name, tuple):
            values = [v for v in map(fields.get, name) if isinstance(v, int)]
            return sum(values) if values else None
        value = fields.get(name)
        return value if isinstance(value, int) else None

    def _address(self, value: int) -> str:
        text = f"{value:0{self.addr_width}x}"
        if len(text) > self.addr_width:
            # [vsyscall], above user space, with no room for all its digits: its first
            # ones say kernel half (ffff…), its last ones which page (…f600000).
            keep = self.addr_width - 1 - KERNEL_ADDRESS_HEAD
            text = text[:KERNEL_ADDRESS_HEAD] + "…" + text[-keep:]
        return text

    def _delta_style(self, delta: int, bg: str | None) -> Style:
        if delta > 0:
            return self._style(theme.color("growth"), bg, bold=True)
        if delta < 0:
            return self._style(theme.color("shrink"), bg, bold=True)
        return self._style(theme.color("dim"), bg)

    def object_sizes_fit(self, width: int) -> bool:
        """Whether a group row ``width`` cells wide has room for its object's text /
        data / bss (the title says so only then)."""
        return width - self._fixed_width() >= SIZES_ROOM

    def _fixed_width(self) -> int:
        return 1 + sum(c.width + 1 for c in self.columns if c.width)

    def _render_group(self, row: GroupRow, width: int, selected: bool) -> Strip:
        bg = theme.color("row-selected" if selected else "row-group")
        color = theme.kind_color(row.kind)
        kind_style = self._style(color, bg, bold=True)
        plain = self._style(theme.color("strong"), bg, bold=True)
        dim = self._style(theme.color("muted"), bg)
        arrow = "▾" if row.expanded else "▸"
        count = f"{arrow} {row.count} region{'s' if row.count != 1 else ''}"
        count_end = ""
        if len(count) > self.addr_width:
            if any(c.id == "end" and c.width for c in self.columns):
                # No room beside the number: the word goes in the End column (empty
                # here), the number right against it ("▸        259 regions").
                count = f"{arrow} {row.count:>{max(1, self.addr_width - 2)}}"
                count_end = "regions"
            else:  # (no End column at 80: "▸ 760" alone said no unit)
                short = (f"{arrow} {row.count} regs", f"{arrow}{row.count} regs")
                fits = [c for c in short if len(c) <= self.addr_width]
                count = fits[0] if fits else f"{arrow} {row.count}"
        label = display_name(row.label)
        room = max(1, width - self._fixed_width())
        sizes = self.object_sizes.get(row.key)
        if sizes is not None and getattr(sizes, "text", None) is not None:
            text, data, bss = (format_bytes(n) for n in (sizes.text, sizes.data, sizes.bss))
            # Said whole where there is room, else short (the summary beside the table
            # at 160 columns left no room for the long form: the sizes were left out).
            for extra in (
                f"  text {text} · data {data} · bss {bss}",
                f"  t {text} d {data} b {bss}",
            ):
                # The object's file name first: its sizes only where some of it shows too.
                if len(extra) + min(len(label), NAME_BEFORE_SIZES) <= room:
                    label = shorten_left(label, room - len(extra)) + extra
                    break
        label = shorten_left(label, room)
        values = {
            "start": (count, kind_style),
            "end": (count_end, kind_style),
            "size": (format_bytes(row.size), plain),
            **self._figures(row, plain, dim),
            "perm": ("", dim),
            "kind": (theme.kind_label(row.kind), kind_style),
            "dsize": (format_delta(row.size_delta), self._delta_style(row.size_delta, bg)),
            "drss": (format_delta(row.rss_delta), self._delta_style(row.rss_delta, bg)),
            "name": (label, kind_style),
        }
        return self._cells(width, values, bg, ("█", self._style(color, bg)))
