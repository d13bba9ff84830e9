"""The picker's list of processes: its columns, how a row is drawn (a line-based
``ScrollView``: only the visible lines are drawn), and the column titles above it."""

from __future__ import annotations

from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from vmtop.model.names import display_command, fit_command
from vmtop.procfs.processes import ProcessRow
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes


class Column(NamedTuple):
    key: str  # sort key (vmtop.procfs.processes.SORT_KEYS), "" when not sortable
    title: str
    width: int  # 0: takes the rest of the line
    right: bool  # right-aligned (numbers)


COLUMNS = (
    Column("", "", 1, False),  # ✗ when vmtop may not read the process
    Column("pid", "PID", 7, True),
    Column("user", "USER", 9, False),
    Column("", "S", 1, False),
    Column("cpu", "CPU%", 5, True),
    Column("rss", "RSS", 6, True),
    Column("swap", "SWAP", 6, True),
    Column("vsize", "VIRT", 6, True),
    Column("threads", "THR", 4, True),
    Column("command", "COMMAND", 0, False),
)
SORTABLE = [c.key for c in COLUMNS if c.key]
SORT_TITLES = {c.key: c.title for c in COLUMNS if c.key}
GAP = 1


def _cells(row: ProcessRow) -> list[str]:
    cpu = "" if row.cpu_percent is None else f"{row.cpu_percent:.1f}"
    return [
        "✗" if row.denied else " ",
        str(row.pid),
        _user_cell(row.user),
        row.state,
        cpu,
        format_bytes(row.rss),
        format_bytes(row.swap) if row.swap else "0",
        format_bytes(row.vsize),
        str(row.threads) if row.threads else "",
        display_command(row.command),
    ]


def _user_cell(user: str) -> str:
    """A user name, or the bare number of a UID that has none (as ps and top show it):
    "uid 100000" cut to the column's nine cells read as another UID, uid 10000. A
    name too long for the column is cut with "…" (by _fit), never silently."""
    return user[4:] if user.startswith("uid ") and user[4:].isdigit() else user


def _column_spans(width: int) -> list[tuple[int, int]]:
    """(x, width) of each column for a line ``width`` cells wide."""
    spans = []
    x = 0
    for column in COLUMNS:
        w = column.width if column.width else max(0, width - x)
        spans.append((x, w))
        x += w + GAP
    return spans


def _fit(text: str, width: int, right: bool) -> str:
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]
    return text.rjust(width) if right else text.ljust(width)


def format_line(cells: list[str], width: int) -> str:
    parts = []
    for (_x, w), column, text in zip(_column_spans(width), COLUMNS, cells, strict=True):
        if column.key == "command":
            parts.append(fit_command(text, w).ljust(w))
        else:
            parts.append(_fit(text, w, column.right))
    return (" " * GAP).join(parts)[:width].ljust(width)


_SIZE_COLUMNS = {"rss", "swap"}
_MIB = 1 << 20


def _size_style(value: int | None) -> Style:
    """Like htop: bigger amounts stand out more."""
    if not value:
        return Style(dim=True)
    if value >= 1024 * _MIB:
        return theme.style("size-huge", bold=True)
    if value >= 100 * _MIB:
        return theme.style("size-large")
    if value >= 10 * _MIB:
        return theme.style("size-medium")
    return Style()


def _command_segments(row: ProcessRow, fitted: str, style: Style) -> list[Segment]:
    """The program's base name in bold, its path and arguments plain (as htop does)."""
    program = fitted.split(" ", 1)[0].rstrip("…")  # (its directory may be "…/" now)
    if fitted.startswith("["):
        return [Segment(fitted, style + Style(dim=True, italic=True))]
    base = program.rsplit("/", 1)[-1]
    start = len(program) - len(base)
    end = min(len(program), len(fitted))
    if start >= len(fitted):
        return [Segment(fitted, style)]
    return [
        Segment(fitted[:start], style + Style(dim=True)),
        Segment(fitted[start:end], style + Style(bold=True)),
        Segment(fitted[end:], style),
    ]


class ProcessTable(ScrollView, can_focus=True):
    """The list of processes: draws only the visible lines (Line API)."""

    COMPONENT_CLASSES = {
        "process-table--cursor",
        "process-table--denied",
        "process-table--denied-mark",
        "process-table--kernel",
    }

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
        Binding("enter", "open", "Open"),
    ]

    class Open(Message):
        def __init__(self, row: ProcessRow) -> None:
            super().__init__()
            self.row = row

    class Highlighted(Message):
        def __init__(self, row: ProcessRow | None) -> None:
            super().__init__()
            self.row = row

    cursor = reactive(0, always_update=True, repaint=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[ProcessRow] = []
        self._lines: list[str] = []
        self._line_width = 0

    # -- data ---------------------------------------------------------------------------

    def set_rows(self, rows: list[ProcessRow], keep_pid: int | None) -> None:
        """Show ``rows``; the cursor stays on ``keep_pid`` if it is still listed."""
        old_index = self.cursor
        self.rows = rows
        self._lines = []
        self._line_width = 0
        self.virtual_size = Size(self.size.width, len(rows))
        index = None
        if keep_pid is not None:
            for i, row in enumerate(rows):
                if row.pid == keep_pid:
                    index = i
                    break
        if index is None:
            index = min(old_index, max(0, len(rows) - 1))
        self.cursor = index
        self.refresh()

    @property
    def selected(self) -> ProcessRow | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self.selected))

    def _scroll_cursor_into_view(self) -> None:
        if not self.rows:
            return
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows))
        self._scroll_cursor_into_view()

    # -- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        base = self.rich_style
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        row_style = base
        if row.denied:
            row_style = base + self.get_component_rich_style("process-table--denied")
        cursor = index == self.cursor
        if cursor:
            row_style = row_style + self.get_component_rich_style("process-table--cursor")
        segments = []
        cells = _cells(row)
        for i, ((_x, w), column, text) in enumerate(
            zip(_column_spans(width), COLUMNS, cells, strict=True)
        ):
            if i:
                segments.append(Segment(" " * GAP, row_style))
            if w <= 0:
                continue
            if column.key == "command":  # its program's name kept in sight
                fitted = fit_command(text, w).ljust(w)
            else:
                fitted = _fit(text, w, column.right)
            if i == 0 and row.denied:
                mark = self.get_component_rich_style("process-table--denied-mark")
                segments.append(Segment(fitted, row_style + mark))
            elif column.key == "command" and not row.denied and not cursor:
                segments.extend(_command_segments(row, fitted, row_style))
            elif column.key in _SIZE_COLUMNS and not row.denied and not cursor:
                value = getattr(row, column.key)
                segments.append(Segment(fitted, row_style + _size_style(value)))
            else:
                segments.append(Segment(fitted, row_style))
        return Strip(segments).adjust_cell_length(width, row_style)

    # -- keys and mouse -----------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))

    def action_page(self, direction: int) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        self.action_cursor(direction * height)

    def action_edge(self, end: int) -> None:
        if self.rows:
            self.cursor = len(self.rows) - 1 if end else 0

    def action_open(self) -> None:
        if self.selected is not None:
            self.post_message(self.Open(self.selected))

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < len(self.rows):
            self.cursor = index
            if event.chain >= 2:
                self.action_open()


class ColumnHeader(Static):
    """The column titles; the sort column is marked ▼/▲ and clicking a title sorts."""

    class SortBy(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def show(self, width: int, sort_key: str, descending: bool) -> None:
        titles = []
        for column in COLUMNS:
            title = column.title
            if column.key and column.key == sort_key:
                title = title + ("▼" if descending else "▲")
            titles.append(title)
        line = format_line(titles, width)
        text = Text(line)
        for (x, w), column in zip(_column_spans(width), COLUMNS, strict=True):
            if column.key == sort_key:
                text.stylize("reverse", x, x + w)
        self.update(text)

    def on_click(self, event: events.Click) -> None:
        width = self.size.width
        for (x, w), column in zip(_column_spans(width), COLUMNS, strict=True):
            if column.key and x <= event.x < x + w + GAP:
                self.post_message(self.SortBy(column.key))
                return
