"""The region table: one line per region, rendered line by line.

A ``ScrollView`` with ``render_line``: only the rows on screen are turned into text, so
a refresh of a 60 000-region process costs one filter + sort (``table_model``) and about
forty rendered lines, never a widget per row. The first line is the column header and
stays put while the rows scroll under it.

The cursor follows a region, not a row number: after a refresh (rows re-sorted, regions
mapped or unmapped) it stays on the same region (same identity and start; for a stack
whose start moved, the region of the same identity that overlaps the old one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.tui import theme
from vmtop.tui.sampler import RegionChange
from vmtop.tui.widgets.table_columns import (
    COLUMN_IDS,
    DEFAULT_COLUMNS,
    FULL_ADDRESSES_FROM,
    REQUIRED_COLUMNS,
    Column,
    columns_for,
    raised_columns,
)
from vmtop.tui.widgets.table_lines import RegionTableLines
from vmtop.tui.widgets.table_model import (
    DESCENDING_FIRST,
    GroupedRows,
    GroupRow,
    Member,
    Row,
    RowsOf,
    TableState,
    build_rows,
    group_key,
    row_key,
    row_region,
)
from vmtop.tui.widgets.table_selection import Selected, find_row

# From this many regions, rows that a key re-shapes (sorted, filtered, grouped) are
# built in a thread: a sort of a million regions takes half a second, and the keys
# pressed meanwhile would wait for it. The rows shown until then are the last ones.
ROWS_OFF_THREAD_FROM = 50_000


class PreparedRows(NamedTuple):
    """Rows built in the sampling worker: for these regions, changes and table state."""

    regions: Sequence[Region]
    changes: dict
    state: TableState
    rows: Sequence[Row]


class RegionTable(RegionTableLines, theme.ThemedLines, ScrollView, can_focus=True):
    """Scrollable table of regions with a fixed header line."""

    DEFAULT_CSS = """
    RegionTable {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    """

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "PgUp", show=False),
        Binding("pagedown", "page_down", "PgDn", show=False),
        Binding("home", "first", "Home", show=False),
        Binding("end", "last", "End", show=False),
        Binding("enter", "open", "Detail"),
        Binding("right", "expand", "Expand", show=False),
        Binding("left", "collapse", "Collapse", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        """The cursor moved to another row (``region`` is None on a group row)."""

        def __init__(self, table: RegionTable, region: Region | None) -> None:
            super().__init__()
            self.table = table
            self.region = region

    class Opened(Message):
        """Enter on a region row: show its detail."""

        def __init__(self, table: RegionTable, region: Region) -> None:
            super().__init__()
            self.table = table
            self.region = region

    class SortChanged(Message):
        def __init__(self, table: RegionTable) -> None:
            super().__init__()
            self.table = table

    class RowsBuilt(Message):
        """Rows built in a thread (a huge map) are shown: what the title counts changed."""

        def __init__(self, table: RegionTable) -> None:
            super().__init__()
            self.table = table

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.regions: Sequence[Region] = ()
        self.changes: dict[int, RegionChange] = {}
        self.recent: dict[int, str] = {}
        self.rows: Sequence[Row] = []
        self.pending: TableState | None = None  # rows being built in a thread, for this
        self._building = False
        self.sort = "start"
        self.descending = False
        self.filter_text = ""
        self.grouped = False
        self._reshaped = False  # the next rows shown are a new order (see _show_rows)
        self._to_top = False  # ... and the cursor goes to its first row (set_sort)
        self.expanded: set[str] = set()
        self.addr_width = 12
        self.user_addr_width = 12
        self.full_addr_width = 12
        self.chosen: tuple[str, ...] = DEFAULT_COLUMNS
        # The columns ticked in the column chooser, in the order they were: ahead of
        # the defaults nobody chose where the width is short (columns_for).
        self.ticked: tuple[str, ...] = ()
        # Every smaps field of a region (smaps_blocks.region_fields), for FIELD_COLUMNS.
        self.fields_of: Callable[[Region], dict] | None = None
        self.hugetlb: dict[int, int] | None = None  # Snapshot.hugetlb, by region start
        self._fields_cache: dict[tuple, dict] = {}
        # Group-by-object: what `size` prints per ELF object (path -> ObjectSize).
        self.object_sizes: dict[str, object] = {}
        self.columns = columns_for(self.addr_width)
        self._columns_width = 0
        self._selected_key: tuple | None = None
        self._selected_range: tuple[int, int] | None = None
        self._selected_kind = kinds.ANON
        self._selected_object: str | None = None
        self._cache: dict[tuple[int, bool], Strip] = {}
        self._styles: dict[tuple, Style] = {}
        self._palette = theme.palette()
        self.lines_rendered = 0  # for tests and benchmarks: how many rows were drawn

    # -- data ---------------------------------------------------------------------------

    def set_regions(
        self,
        regions: Sequence[Region],
        changes: dict[int, RegionChange],
        recent: dict[int, str],
        *,
        addr_width: int = 12,
        fields_of: Callable[[Region], dict] | None = None,
        prepared: PreparedRows | None = None,
        hugetlb: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        """New data (a refresh): rebuild rows, keep the cursor on the same region.

        ``fields_of`` gives every smaps field of a region (for Locked and the other
        fields a Region does not carry). ``addr_width`` is what user-space addresses need; a region above user space
        (``[vsyscall]``) needs 16 digits, given when the table is wide enough."""
        self.regions = regions
        self.changes = changes
        self.recent = recent
        self.fields_of = fields_of
        raised = raised_columns(self.hugetlb)
        self.hugetlb = None if hugetlb is None else dict(hugetlb)
        self._fields_cache.clear()
        full = 16 if regions and regions[-1].end > (1 << 56) else addr_width
        if (addr_width, full) != (self.user_addr_width, self.full_addr_width):
            self.user_addr_width, self.full_addr_width = addr_width, full
            self._fit_columns(force=True)
        elif raised_columns(self.hugetlb) != raised:  # (HugeTLB kept, or no longer)
            self._fit_columns(force=True)
        self._rebuild(prepared)

    def _fit_columns(self, force: bool = False) -> None:
        width = self.scrollable_content_region.width
        if force or width != self._columns_width:
            self._columns_width = width
            # Whole addresses above user space where the width allows (two columns of
            # four more digits); else [vsyscall]'s row shows its start across Start and
            # End, or in a short form (table_lines).
            wide = (width or 1000) >= FULL_ADDRESSES_FROM
            self.addr_width = self.full_addr_width if wide else self.user_addr_width
            raised = raised_columns(self.hugetlb)
            self.columns = columns_for(
                self.addr_width, width or 1000, self.chosen, raised, self.ticked
            )
            self._cache.clear()

    def set_columns(self, chosen: tuple[str, ...]) -> None:
        """Show these columns (ids from CATALOGUE), as far as the width allows."""
        self.chosen = tuple(c for c in COLUMN_IDS if c in chosen or c in REQUIRED_COLUMNS)
        self.ticked = tuple(c for c in self.ticked if c in self.chosen)
        self._fit_columns(force=True)
        self.refresh()

    def tick_columns(self, chosen: tuple[str, ...]) -> None:
        """The columns as the person ticks them in the chooser: the newly ticked are
        shown ahead of the defaults they did not choose (``ticked``)."""
        new = tuple(c for c in COLUMN_IDS if c in chosen and c not in self.chosen)
        self.ticked = (*(c for c in self.ticked if c in chosen), *new)
        self.set_columns(chosen)

    @property
    def sort_keys(self) -> list[str]:
        """What `s` cycles through: the sortable columns on screen, and the change."""
        keys = [c.key for c in self.columns if c.key]
        return [*keys, "delta"] if "delta" not in keys else keys

    def table_state(self) -> TableState:
        return TableState(
            self.sort, self.descending, self.filter_text, self.grouped, frozenset(self.expanded)
        )

    def _rebuild(self, prepared: PreparedRows | None = None, *, now: bool = False) -> None:
        """Rows for the regions and the table's state: ``prepared`` when it was built
        for these very ones; else built here, or for a huge map (unless ``now``) in a
        thread, the last rows shown until they come (``pending``)."""
        state = self.table_state()
        if (
            prepared is not None
            and prepared.regions is self.regions
            and prepared.changes is self.changes
            and prepared.state == state
        ):
            self._show_rows(prepared.rows)  # built in the sampling worker for this state
        elif now or len(self.regions) < ROWS_OFF_THREAD_FROM or state.by_address:
            self._show_rows(
                build_rows(self.regions, self.changes, **state._asdict(), hugetlb=self.hugetlb)
            )
        else:
            self.pending = state
            self.refresh()  # (the header: the column sorted by, marked "…" until then)
            if not self._building:  # (one build at a time: the last state asked for next)
                self._building = True
                self._build_rows(self.regions, self.changes, state, self.hugetlb)

    @work(thread=True, group="table-rows", exit_on_error=False)
    def _build_rows(
        self, regions: Sequence[Region], changes: dict, state: TableState, hugetlb=None
    ) -> None:
        # (regions, changes and state are immutable, or no longer changed once handed
        # to the table: nothing here is shared with the UI thread but what it reads)
        rows = None
        try:
            rows = build_rows(regions, changes, **state._asdict(), hugetlb=hugetlb)
        finally:  # (whatever happened, the table hears back: no build waits forever)
            self.app.call_from_thread(self._rows_built, PreparedRows(regions, changes, state, rows))

    def _rows_built(self, built: PreparedRows) -> None:
        self._building = False
        if built.rows is None:  # the build failed: the last rows stay
            self.pending = None
            self.refresh()
        elif (
            built.regions is self.regions
            and built.changes is self.changes
            and built.state == self.table_state()
        ):
            self._show_rows(built.rows)
            self.post_message(self.RowsBuilt(self))
        elif self.pending is not None:  # asked for since (another key, a new sample)
            self._rebuild()

    def _show_rows(self, rows: Sequence[Row]) -> None:
        self.pending = None
        self.rows = rows
        self._cache.clear()
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        index = 0 if self._reshaped and self._to_top else self._find_selected()
        self._to_top = False
        if self._reshaped and index < self.page_height:
            # Sorted, filtered or grouped anew: the top of the new order is what was
            # asked for, and the selection is on that first page; no scrolled-off top.
            self.scroll_to(y=0, animate=False, immediate=True)
        self._reshaped = False
        self.set_cursor(index, scroll=True, notify=index != self.cursor)
        self.refresh()

    def _find_selected(self) -> int:
        key = self._selected_key
        start = key[-1] if key is not None and key[0] == "region" else 0
        lo, hi = self._selected_range or (start, start + 1)
        selected = Selected(key, lo, hi, self._selected_kind, self._selected_object)
        return find_row(self.rows, selected, self.cursor, self.grouped)

    # -- settings that re-shape the rows -------------------------------------------------

    def set_sort(self, column: str, descending: bool | None = None) -> None:
        if descending is None:
            descending = column in DESCENDING_FIRST
        self.sort = column
        self.descending = descending
        self._reshaped = True
        # On the first row, nothing chosen yet: it stays on the first row of the new
        # order. Following the region there (the lowest address) scrolled the largest
        # ones out of sight above it: "sorted by size" showed a 60M region first, 510M
        # above it unseen.
        self._to_top = self.cursor <= 0
        self._rebuild()
        self.post_message(self.SortChanged(self))

    def cycle_sort(self) -> None:
        keys = self.sort_keys
        i = keys.index(self.sort) if self.sort in keys else -1
        self.set_sort(keys[(i + 1) % len(keys)])

    def reverse_sort(self) -> None:
        self.set_sort(self.sort, not self.descending)

    def set_filter(self, text: str) -> None:
        if text != self.filter_text:
            self.filter_text = text
            self._reshaped = True
            self._rebuild()

    def set_object_sizes(self, sizes: dict[str, object]) -> None:
        """text / data / bss per ELF object path, shown on its group's row."""
        if sizes != self.object_sizes:
            self.object_sizes = sizes
            self._cache.clear()
            self.refresh()

    def set_grouped(self, grouped: bool) -> None:
        if grouped != self.grouped:
            self.grouped = grouped
            self._reshaped = True
            self._rebuild()

    # -- cursor ------------------------------------------------------------------------

    @property
    def page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    @property
    def selected_row(self) -> Row | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    @property
    def selected_region(self) -> Region | None:
        row = self.selected_row
        return row_region(row) if row is not None else None

    def set_cursor(self, index: int, *, scroll: bool = True, notify: bool = True) -> None:
        index = max(0, min(index, len(self.rows) - 1)) if self.rows else 0
        old = self.cursor
        self.set_reactive(RegionTable.cursor, index)
        row = self.selected_row
        if row is not None:
            self._selected_key = row_key(row)
            region = row_region(row)
            if region is not None:
                self._selected_range = (region.start, region.end)
                self._selected_kind = region.kind
                self._selected_object = region.object
        if scroll:
            self._scroll_to_cursor()
        if old != index:
            self._cache.pop((old, True), None)
            self._cache.pop((old, False), None)
            self._cache.pop((index, True), None)
            self._cache.pop((index, False), None)
            self.refresh()
        if notify:
            self.post_message(self.Highlighted(self, self.selected_region))

    def select_region(self, region: Region) -> bool:
        """Move the cursor to ``region`` (clicked in the bar, found by `g`)."""
        if not self.grouped and self.sort == "start" and not self.descending:
            from bisect import bisect_left

            i = bisect_left(self.rows, region.start, key=lambda r: r.start)
            if i < len(self.rows) and self.rows[i].start == region.start:
                self.set_cursor(i)
                return True
            return False
        if isinstance(self.rows, RowsOf):
            i = self.rows.row_of_start(region.start)
            if i is None:
                return False
            self.set_cursor(i)
            return True
        if isinstance(self.rows, GroupedRows):
            i = self.rows.row_of_start(region.start)
            if i is None:  # open its group, so that the region has a row
                self.expanded.add(group_key(region)[0])
                self._rebuild(now=True)
                i = self.rows.row_of_start(region.start)
            if i is None:
                return False
            self.set_cursor(i)
            return True
        for i, row in enumerate(self.rows):
            r = row_region(row)
            if r is not None and r.start == region.start:
                self.set_cursor(i)
                return True
        if self.grouped:
            # Open its group so the region has a row.
            self.expanded.add(group_key(region)[0])
            self._rebuild(now=True)
            for i, row in enumerate(self.rows):
                r = row_region(row)
                if r is not None and r.start == region.start:
                    self.set_cursor(i)
                    return True
        return False

    def _scroll_to_cursor(self) -> None:
        top = round(self.scroll_y)
        page = self.page_height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + page:
            self.scroll_to(y=self.cursor - page + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.set_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.set_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.set_cursor(self.cursor - self.page_height)

    def action_page_down(self) -> None:
        self.set_cursor(self.cursor + self.page_height)

    def action_first(self) -> None:
        self.set_cursor(0)

    def action_last(self) -> None:
        self.set_cursor(len(self.rows) - 1)

    def action_open(self) -> None:
        row = self.selected_row
        if isinstance(row, GroupRow):
            self._toggle_group(row)
        elif row is not None:
            self.post_message(self.Opened(self, row_region(row)))

    def action_expand(self) -> None:
        row = self.selected_row
        if isinstance(row, GroupRow) and not row.expanded:
            self._toggle_group(row)

    def action_collapse(self) -> None:
        row = self.selected_row
        if isinstance(row, GroupRow) and row.expanded:
            self._toggle_group(row)
        elif isinstance(row, Member):
            key = group_key(row.region)[0]
            self.expanded.discard(key)
            self._selected_key = ("group", key)
            self._rebuild()

    def _toggle_group(self, row: GroupRow) -> None:
        if row.key in self.expanded:
            self.expanded.discard(row.key)
        else:
            self.expanded.add(row.key)
        self._rebuild()

    # -- mouse -------------------------------------------------------------------------

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x)
            if column is not None and column.key:
                if column.key == self.sort:
                    self.reverse_sort()
                else:
                    self.set_sort(column.key)
            return
        index = round(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain >= 2:
                self.action_open()
            else:
                self.set_cursor(index)

    def _column_at(self, x: int) -> Column | None:
        pos = 1  # the kind swatch
        for column in self.columns:
            width = column.width or max(0, self.size.width - pos)
            if pos <= x < pos + width + 1:
                return column
            pos += width + 1
        return None

    # -- rendering ---------------------------------------------------------------------

    def on_resize(self) -> None:
        self._cache.clear()
        self._fit_columns()
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
