"""The process picker: a top-like live list of processes; Enter opens one.

Columns: PID, user, state, CPU%, RSS, swap, virtual size, threads, command. Sorted by
RSS (biggest first); ``s``/``<``/``>`` change the sort column, ``r``/``I`` reverse it,
``M``/``P``/``N`` sort by memory/CPU/PID as in htop, clicking a header sorts by it. ``/``
filters as you type (name, command line, PID prefix). The list refreshes every 2 s
in a thread worker (cheap reads only, see vmtop.procfs.processes); the selection stays on
the same PID. Processes vmtop may not read carry a red ``✗``; Enter on one explains why
and what to do in a dialog, and the picker stays.

Beside this module: ``picker_table`` (the list's columns and rows, the column
titles), ``picker_access`` (the dialog for a process vmtop may not open).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from vmtop.model.names import display_command, display_name
from vmtop.procfs.processes import (
    DESCENDING_BY_DEFAULT,
    ProcessLister,
    ProcessRow,
    SystemSummary,
    matches,
    probe_access,
    read_system,
    sort_rows,
)
from vmtop.procfs.reader import ProcFS
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes, plural
from vmtop.tui.screens.picker_access import AccessExplanation, short_reason
from vmtop.tui.screens.picker_table import (
    SORT_TITLES,
    SORTABLE,
    ColumnHeader,
    ProcessTable,
)

REFRESH_SECONDS = 2.0


def refresh_words(base: float, lister: ProcessLister) -> str:
    """How often the list refreshes: every ``base`` seconds, or (where one list costs
    more than its share of a core) every so many ticks of it, and why."""
    every = lister.interval(base)
    if every <= base:
        return f"every {base:g}s"
    ticks = -(-every // base)  # the timer ticks every base seconds: whole ticks
    return f"every {ticks * base:g}s (a list costs {lister.cost * 1000:.0f}ms)"


def _meter(label: str, used: int, total: int, width: int = 30) -> Text:
    """``Mem [|||||||      3.2G/7.7G]`` as htop draws it."""
    text = Text()
    text.append(f"{label} ", style=theme.style("accent", bold=True))
    text.append("[")
    share = used / total if total else 0.0
    filled = round(share * width)
    role = "meter-ok" if share < 0.6 else "meter-high" if share < 0.85 else "meter-full"
    color = theme.color(role)
    figures = f"{format_bytes(used)}/{format_bytes(total)}"
    bar = "|" * filled + " " * (width - filled)
    bar = bar[: width - len(figures)] + figures
    text.append(bar[:filled], style=color)
    text.append(bar[filled:], style="dim" if total else "dim")
    text.append("]  ")
    return text


def meter_line(system: SystemSummary, width: int = 160) -> Text:
    # Two bars and "Load average x.xx x.xx x.xx" (about 30 cells) share the line.
    bar = max(12, min(30, (width - 32) // 2 - 7))
    text = Text(" ")
    text.append_text(_meter("Mem", system.mem_used, system.mem_total, bar))
    text.append_text(_meter("Swp", system.swap_used, system.swap_total, bar))
    if system.load is not None:
        text.append("Load average ", style=theme.style("accent", bold=True))
        text.append(" ".join(f"{x:.2f}" for x in system.load))
    return text


class PickerScreen(Screen):
    """Pick a process to watch."""

    CSS_PATH = str(Path(__file__).with_name("picker.tcss"))  # absolute: subclasses live elsewhere

    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        # Priority: handled as the key arrives, so the keys typed right after it are
        # sent to the filter box (a normal binding runs only once "/" has travelled
        # through the focused widget, after the next keys were already routed).
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        Binding("s,greater_than_sign", "sort(1)", "Sort", key_display="s"),
        Binding("less_than_sign", "sort(-1)", "Sort back", show=False),
        Binding("r,I", "reverse", "Reverse", key_display="r"),
        Binding("M", "sort_by('rss')", "By RSS", show=False),
        Binding("P", "sort_by('cpu')", "By CPU", show=False),
        Binding("N", "sort_by('pid')", "By PID", show=False),
        Binding("escape", "clear_filter", "Clear filter"),
        Binding("q", "quit", "Quit"),
    ]

    sort_key = reactive("rss")
    descending = reactive(True)
    filter_text = reactive("")

    def __init__(
        self,
        procfs: ProcFS,
        *,
        interval: float = REFRESH_SECONDS,
        probe: Callable | None = None,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.procfs = procfs
        self.interval = interval
        self.live = live
        self.lister = ProcessLister(procfs, probe=probe or probe_access)
        self.all_rows: list[ProcessRow] = []
        self._selected_pid: int | None = None
        self._loading = False
        self._refreshed_at: float | None = None
        self._timer = None

    def compose(self) -> ComposeResult:
        yield Static("", id="picker-title", classes="screen-title")
        yield Static("", id="picker-meters")
        yield Input(placeholder="filter: name, command line or PID", id="picker-filter")
        yield ColumnHeader("", id="picker-header")
        yield ProcessTable(id="picker-table")
        yield Static("", id="picker-status")
        yield Footer()

    @property
    def table(self) -> ProcessTable:
        return self.query_one(ProcessTable)

    def on_mount(self) -> None:
        self.query_one("#picker-filter", Input).display = False
        self.table.focus()
        # The first list is read before the first frame, so the picker never opens empty.
        self._apply(self.lister.list(), read_system(self.procfs))
        if self.live:
            self._timer = self.set_interval(self.interval, self._tick)

    # -- refreshing ---------------------------------------------------------------------

    def _tick(self) -> None:
        # Where a list costs more than its share of a core, ticks are skipped.
        if self.lister.due(self.interval):
            self.refresh_list()

    def refresh_list(self) -> None:
        if self._loading:
            return  # one read in flight at a time
        self._loading = True
        self._read_rows()

    @work(thread=True, exclusive=True, group="picker-refresh")
    def _read_rows(self) -> None:
        try:
            rows = self.lister.list()
            system = read_system(self.procfs)
        except Exception:  # noqa: BLE001 - a failed refresh keeps the last list
            rows, system = None, None
        self.app.call_from_thread(self._apply, rows, system)

    def _apply(self, rows: list[ProcessRow] | None, system: SystemSummary | None = None) -> None:
        self._loading = False
        if rows is None:
            return
        self._show_meters(system)
        self.all_rows = [row for row in rows if not row.kernel_thread]
        self.kernel_threads = len(rows) - len(self.all_rows)  # (no memory map: not listed)
        self._refreshed_at = getattr(self.app, "clock", time.time)()
        self._show()

    def _show(self) -> None:
        table = self.table
        if table.selected is not None:
            self._selected_pid = table.selected.pid
        shown = [row for row in self.all_rows if matches(row, self.filter_text)]
        rows = sort_rows(shown, self.sort_key, self.descending)
        table.set_rows(rows, self._selected_pid)
        self._update_title(len(rows))
        self._update_header()

    def _show_meters(self, system: SystemSummary | None) -> None:
        meters = self.query_one("#picker-meters", Static)
        meters.display = system is not None
        if system is not None:
            meters.update(meter_line(system, self.size.width or 160))

    def _update_title(self, shown: int) -> None:
        total = len(self.all_rows)
        denied = sum(1 for row in self.all_rows if row.denied)
        order = "▼" if self.descending else "▲"
        # (priority, words): a narrow terminal leaves out whole parts, the least needed
        # first, never cuts one; what the filter matched goes last (at 80 columns it
        # went first, and the title did not say that one row of 31 was shown).
        parts = [(100, f"vmtop · pick a process · {plural(total, 'process', 'processes')}")]
        if denied:
            parts.append((70, f"{denied} unreadable ✗"))
        if self.filter_text:
            matching = "no match" if shown == 0 else plural(shown, "match", "matches")
            parts.append((90, f"filter {self.filter_text!r}: {matching}"))
        parts.append((60, f"sorted by {SORT_TITLES[self.sort_key]} {order}"))
        hidden = getattr(self, "kernel_threads", 0)
        if hidden:
            parts.append((40, f"{plural(hidden, 'kernel thread', 'kernel threads')} not listed"))
        if self.live:
            parts.append((30, refresh_words(self.interval, self.lister)))
        if self._refreshed_at is not None:
            parts.append((20, time.strftime("%H:%M:%S", time.localtime(self._refreshed_at))))
        room = (self.size.width or 160) - 2
        while len(parts) > 1 and len(" · ".join(text for _, text in parts)) > room:
            parts.remove(min(parts, key=lambda part: part[0]))
        self.query_one("#picker-title", Static).update(" · ".join(text for _, text in parts))

    def _update_header(self) -> None:
        header = self.query_one(ColumnHeader)
        header.show(
            self.table.scrollable_content_region.width or 160, self.sort_key, self.descending
        )

    def on_resize(self) -> None:
        self.call_after_refresh(self._update_header)
        self._update_title(len(self.table.rows))

    @on(ProcessTable.Highlighted)
    def _highlighted(self, event: ProcessTable.Highlighted) -> None:
        row = event.row
        status = self.query_one("#picker-status", Static)
        # One line (a command line is cut), but a reason wraps rather than lose its end.
        status.set_class(row is not None and row.denied is not None, "denied")
        if row is None:
            status.update(Text("no process matches the filter", style="italic"))
        elif row.denied:
            # Short: the dialog says it whole, with what to do.
            status.update(
                Text(f"✗ {display_name(short_reason(row))}  (Enter explains)", style="red")
            )
        else:
            status.update(
                Text(
                    f"{row.pid}  {display_command(row.command)}", overflow="ellipsis", no_wrap=True
                )
            )

    # -- sorting ------------------------------------------------------------------------

    def watch_sort_key(self) -> None:
        self._show()

    def watch_descending(self) -> None:
        self._show()

    def watch_filter_text(self) -> None:
        self._show()
        self.refresh_bindings()

    def action_sort(self, step: int) -> None:
        i = SORTABLE.index(self.sort_key)
        self.action_sort_by(SORTABLE[(i + step) % len(SORTABLE)])

    def action_sort_by(self, key: str) -> None:
        if key == self.sort_key:
            return
        self.set_reactive(PickerScreen.descending, key in DESCENDING_BY_DEFAULT)
        self.sort_key = key

    def action_reverse(self) -> None:
        self.descending = not self.descending

    @on(ColumnHeader.SortBy)
    def _header_clicked(self, event: ColumnHeader.SortBy) -> None:
        if event.key == self.sort_key:
            self.action_reverse()
        else:
            self.action_sort_by(event.key)

    # -- filtering ----------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#picker-filter", Input)
        box.display = True
        # At once, not with focus() (which waits its turn in the message queue): keys
        # typed right after "/" are already queued and must land in the filter.
        self.set_focus(box)
        self.refresh_bindings()

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value

    @on(Input.Submitted, "#picker-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        # Enter in the filter opens what is selected: "/ firefox Enter".
        self.table.focus()
        self.action_open()

    def action_clear_filter(self) -> None:
        # Clears and closes at once: a filter box left focused would take the next
        # "/" or "q" as text.
        box = self.query_one("#picker-filter", Input)
        box.value = ""
        box.display = False
        self.filter_text = ""
        self.table.focus()
        self.refresh_bindings()

    def on_key(self, event: events.Key) -> None:
        box = self.query_one("#picker-filter", Input)
        if self.focused is box and event.key in ("down", "up", "pagedown", "pageup"):
            # Arrows move in the list while the filter keeps the keyboard.
            table = self.table
            {
                "down": lambda: table.action_cursor(1),
                "up": lambda: table.action_cursor(-1),
                "pagedown": lambda: table.action_page(1),
                "pageup": lambda: table.action_page(-1),
            }[event.key]()
            event.stop()
            event.prevent_default()

    # -- opening ------------------------------------------------------------------------

    def action_open(self) -> None:
        row = self.table.selected
        if row is not None:
            self.open_process(row)

    @on(ProcessTable.Open)
    def _open_row(self, event: ProcessTable.Open) -> None:
        self.open_process(event.row)

    def open_process(self, row: ProcessRow) -> None:
        if row.denied:
            self.app.push_screen(AccessExplanation(row))
            return
        self._selected_pid = row.pid
        opener = getattr(self.app, "process_screen", None)
        if opener is None:  # a test app without VmtopApp's helper
            from vmtop.tui.screens.process import ProcessScreen

            self.app.push_screen(ProcessScreen(self.procfs, row.pid))
        else:
            self.app.push_screen(opener(row.pid))

    def action_quit(self) -> None:
        self.app.exit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and self.focused is self.query_one("#picker-filter", Input):
            return False  # "/" typed into the filter is a character (e.g. /usr/bin)
        if action == "clear_filter":
            return bool(self.filter_text) or self.query_one("#picker-filter", Input).display
        return True

    def on_screen_suspend(self) -> None:
        # Nobody sees the list while a process is watched: stop reading /proc for it.
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        self.table.focus()
        if self._timer is not None:
            self._timer.resume()
        if self.live and self.all_rows:
            self.refresh_list()
