"""The process screen: one process's address space, live.

Header (totals, refresh state) · address-space bar · region table beside a summary by
kind and an RSS graph · event log. Sampling runs in a worker thread, one sample in
flight; the timer is re-armed when a sample arrives. Everything the widgets show comes
from immutable snapshots, so the UI thread never waits on /proc. An open region
detail is handed each new snapshot and follows its region.

Beside this module: ``process_layout`` (which panels show at which terminal size, the
footer's keys), ``process_prompt`` (the filter, go-to-address and threshold prompt),
``process_commands`` (the command palette's entries), ``process_views`` (what the
widgets show of a snapshot), ``process_view_actions`` (the table's and the bar's keys),
``process_messages`` (the widgets' messages: selecting a region, opening its detail),
``process_pace`` (pause, step, the interval, the baseline, the log's threshold).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from operator import itemgetter
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from vmtop.model.columns import RegionColumns
from vmtop.model.names import display_name
from vmtop.model.region import Region, Snapshot
from vmtop.model.since_baseline import Ranges, add_remapped
from vmtop.procfs.reader import ProcFS
from vmtop.tui import sampler as smp
from vmtop.tui.formatting import format_bytes
from vmtop.tui.prepared_view import PreparedView
from vmtop.tui.recording_controls import RecordingCommands, RecordingControls
from vmtop.tui.sampler import SampleResult
from vmtop.tui.screens.process_commands import ProcessCommands
from vmtop.tui.screens.process_demo_follow import DemoFollow
from vmtop.tui.screens.process_layout import ProcessLayout
from vmtop.tui.screens.process_messages import ProcessMessages
from vmtop.tui.screens.process_pace import ProcessPace
from vmtop.tui.screens.process_prompt import ProcessPrompt
from vmtop.tui.screens.process_sampling import ProcessSampling
from vmtop.tui.screens.process_view_actions import ProcessViewActions
from vmtop.tui.screens.process_views import ProcessViews
from vmtop.tui.sources import SnapshotSource, source_for
from vmtop.tui.widgets import bar_layout as bl
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.kind_summary import KindSummary
from vmtop.tui.widgets.process_header import HeaderState, ProcessHeader
from vmtop.tui.widgets.prompt_input import PromptInput
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.rss_graph import RssGraph

HIGHLIGHT_TICKS = 3  # a change stays highlighted for this many refreshes
HISTORY_POINTS = smp.HISTORY_POINTS  # samples of history kept (process and per region)


# Where a region's RSS history is filed (the replay screen files its own the same way).
region_history_key = smp.region_history_key


def _starts_at(regions, start: int) -> bool:
    """Does a region of ``regions`` (by start) start at ``start``?"""
    if isinstance(regions, RegionColumns):
        return regions.index_at(start) is not None
    i = bisect_left(regions, start, key=_START)
    return i < len(regions) and regions[i].start == start


_START = itemgetter(0)


class ProcessScreen(
    DemoFollow,
    ProcessSampling,
    ProcessPace,
    RecordingControls,
    ProcessPrompt,
    ProcessLayout,
    ProcessViews,
    ProcessViewActions,
    ProcessMessages,
    Screen,
):
    COMMANDS = {ProcessCommands, RecordingCommands}
    # Sampled live: a baseline, pausing, the log's threshold and `a` for the bar are
    # the palette's (a replay moves in time instead: its marks, play, its own `a`).
    samples_live = True
    CSS_PATH = str(Path(__file__).with_name("process.tcss"))  # absolute: subclasses elsewhere

    BINDINGS = [
        Binding("escape", "back", "Back"),
        # Esc where it has nothing to close: no "Back" in the footer, only a word on q.
        Binding("escape", "nothing_to_close", "", show=False),
        Binding("q", "leave", "Back", show=False),
        # One key, said as what it does now: "Pause" while sampling, "Resume" paused.
        Binding("space", "pause", "Pause"),
        Binding("space", "resume", "Resume"),
        Binding("r", "step", "Refresh", show=False),
        Binding("plus,equals_sign", "faster", "Interval", key_display="+/-"),
        Binding("minus", "slower", "Slower", show=False),
        Binding("b", "baseline", "Baseline"),
        Binding("B", "clear_baseline", "Clear base", show=False),
        # Priority: handled as the key arrives, so what is typed right after "/", "g" or "t"
        # lands in the prompt (a normal binding runs only after the next keys were
        # already routed to the table, and fast typing lost them).
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse", show=False),
        Binding("o", "group", "Group"),
        Binding("c", "columns", "Columns"),
        Binding("m", "scale", "Scale"),
        Binding("z", "zoom_in", "Zoom"),
        Binding("Z", "zoom_out", "Unzoom"),
        Binding("less_than_sign,left_square_bracket", "pan(-1)", "Pan", key_display="</>"),
        Binding("greater_than_sign,right_square_bracket", "pan(1)", "Pan", show=False),
        Binding("g", "goto", "Go to", priority=True),
        Binding("t", "threshold", "Log threshold", show=False, priority=True),
        Binding("e", "toggle_events", "Events"),
        Binding("i", "toggle_side", "Summary"),
        Binding("a", "toggle_bar", "Bar"),
        Binding("R", "record", "Record"),
    ]

    class Sampled(Message):
        def __init__(self, result: SampleResult, prepared: PreparedView | None = None) -> None:
            super().__init__()
            self.result = result
            self.prepared = prepared  # the bar and summary of result.snapshot, laid out

    def __init__(
        self,
        procfs: ProcFS,
        pid: int,
        demo=None,
        *,
        interval: float = 1.0,
        paused: bool = False,
        rss_threshold: int = smp.RSS_THRESHOLD,
        name: str | None = None,
        source: SnapshotSource | None = None,
    ) -> None:
        super().__init__(name=name)
        self.rss_threshold = rss_threshold
        self.procfs = procfs
        self.pid = pid
        self.demo = demo
        self.interval = interval
        self.live = not paused
        self.sampler: SnapshotSource | None = source
        self.snapshot: Snapshot | None = None
        self.baseline: Snapshot | None = None
        # Ranges mapped or unmapped since the baseline: a region there now is compared
        # only with the same mapping at the baseline (model.since_baseline).
        self.baseline_remapped: Ranges = ()
        self.error: str | None = None
        self.exited_at: float | None = None
        # Since exited_at: the process still runs, but vmtop may no longer read it.
        self.unreadable = False
        self.lost_why: str | None = None  # what an open region detail says of it
        self.tick = 0
        self.recent: dict[int, tuple[str, int]] = {}  # region start -> (status, tick)
        self.traces: list[tuple[int, int, int]] = []  # unmapped (start, end, tick)
        self.ref_changes: dict = {}  # vs baseline or last refresh, by region start
        self.rss_points: deque[tuple[float, int]] = deque(maxlen=HISTORY_POINTS)
        self.sample_times: deque[float] = deque(maxlen=HISTORY_POINTS)
        self.region_history = smp.RssHistory(HISTORY_POINTS)  # bounded: see RssHistory
        self._in_flight = False
        self._timer = None
        self.prepared: PreparedView | None = None  # of the last sample's snapshot
        self._input_mode: str | None = None  # "filter" | "goto" | "threshold"
        self._last_smaps_read = True
        self._smaps_pending = False
        self.sample_cost = 0.0  # seconds the last sample took (worker thread)
        self.smaps_at = 0.0  # when the resident figures shown were read
        self.period = interval  # seconds between samples, as scheduled
        self.slowed_period: float | None = None  # the period the header shows as slowed
        self._cpu_mark: float | None = None  # process CPU time at the last scheduling
        self._cpu_per_cycle: float | None = None

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ProcessHeader(id="header")
        yield Static("", id="banner")
        yield AddressBar(id="bar")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield Static("", id="table-title", classes="pane-title")
                yield RegionTable(id="table")
                yield PromptInput(id="prompt")
            with Vertical(id="side"):
                yield Static("By kind", classes="pane-title")
                yield KindSummary(id="kinds")
                yield RssGraph("RSS", id="rss")
        yield Static("Events  newest first", id="events-title", classes="pane-title")
        yield EventLog(id="events")
        yield Static("", id="message")
        yield Footer()

    @property
    def clock(self) -> Callable[[], float]:
        return getattr(self.app, "clock", time.time)

    def on_mount(self) -> None:
        if self.sampler is None:
            self.sampler = source_for(
                self.procfs,
                self.pid,
                demo=self.demo,
                clock=self.clock,
                rss_threshold=self.rss_threshold,
            )
        self.live = self.live and self.sampler.refreshes
        self._update_events_title()
        settings = getattr(self.app, "settings", None)
        if settings is not None:
            self.query_one(RegionTable).set_columns(settings.columns)
            self.query_one(AddressBar).mode = (
                bl.SCALE if settings.bar_scale == "true" else bl.COMPACT
            )
        self.query_one("#prompt", Input).display = False
        self.query_one("#banner", Static).display = False
        self.query_one("#message", Static).display = False
        self.query_one("#events", EventLog).empty_text = f"reading process {self.pid}…"
        self._update_header()
        self._update_table_title()
        self.query_one(RegionTable).focus()
        # After the first layout: the bar's width is known then, and the worker lays the
        # bar out for it (at a million regions, a second not spent on the UI thread).
        self.call_after_refresh(self._sample)

    def _apply(self, result: SampleResult) -> None:
        snap = result.snapshot
        assert snap is not None
        prev = self.snapshot
        # Carried maps-only ticks of an idle process give the very same region objects:
        # then only expiring highlights can change what the table and bar show. (Memory
        # in hugetlb pages is in no region's figures: the same map can hold more.)
        same = prev is not None and prev.regions == snap.regions and prev.hugetlb == snap.hugetlb
        self.tick += 1
        self.snapshot = snap
        self._last_smaps_read = result.smaps_read
        self.show_hugetlb_column(snap)
        tick = self.tick
        for start, change in result.changes.items():
            self.recent[start] = (change.status, tick)
        before = len(self.recent), len(self.traces)
        if same:
            self.recent = {s: v for s, v in self.recent.items() if tick - v[1] < HIGHLIGHT_TICKS}
        else:
            # Looked up (a few highlights), not a set of every start (a million regions).
            self.recent = {
                s: v
                for s, v in self.recent.items()
                if tick - v[1] < HIGHLIGHT_TICKS and _starts_at(snap.regions, s)
            }
        self.traces = [t for t in self.traces if tick - t[2] < HIGHLIGHT_TICKS]
        self.traces.extend((a, b, tick) for a, b in result.unmapped)
        old_ref = self.ref_changes
        prepared = self.prepared
        if self.baseline is not None:
            self.baseline_remapped = add_remapped(self.baseline_remapped, result.events)
            if (
                prepared is not None
                and prepared.baseline is self.baseline
                and prepared.remapped == self.baseline_remapped
            ):
                self.ref_changes = prepared.ref_changes  # worked out in the worker
            elif not same:
                self.ref_changes = self.changes_since_baseline(snap)
        else:
            self.ref_changes = result.changes
        if snap.smaps_read_at is not None:
            self.smaps_at = snap.smaps_read_at  # carried: the read the figures are of
        elif result.smaps_read:
            self.smaps_at = snap.taken_at
        self._record_history(snap, result.smaps_read, result.rss_moves)
        self._add_events(result.events, result.needs)
        self._follow_in_detail(snap, result.smaps_read)
        # (A same map can hold changes still: regions whose VmFlags alone changed.)
        if (
            same
            and not result.changes
            and before == (len(self.recent), len(self.traces))
            and old_ref == self.ref_changes
        ):
            self._refresh_light()
        else:
            self._refresh_views()
        self.follow_demo(result.events)

    def _open_details(self) -> list:
        from vmtop.tui.screens.detail import RegionDetailScreen

        return [
            s
            for s in self.app.screen_stack
            if isinstance(s, RegionDetailScreen) and getattr(s, "source", None) is self
        ]

    def _follow_in_detail(self, snap: Snapshot, fresh: bool) -> None:
        """An open region detail follows its region with every sample."""
        for detail in self._open_details():
            detail.follow(
                snap, self.rss_history(detail.memory_region), smaps_at=self.smaps_at, fresh=fresh
            )

    def _record_history(self, snap: Snapshot, smaps_read: bool, moves=None) -> None:
        t = snap.taken_at
        self.sample_times.append(t)
        if snap.totals.rss is not None:
            hugetlb = snap.status.get("HugetlbPages")
            if isinstance(hugetlb, int) and hugetlb:
                # No RSS counts hugetlb pages: a database faulting in its shared
                # buffers (huge_pages=on) drew a flat line. Earlier points had none,
                # so the sum is the same measure all along.
                self.query_one(RssGraph).title = "RSS + hugetlb"
                self.rss_points.append((t, snap.totals.rss + hugetlb))
            else:
                self.rss_points.append((t, snap.totals.rss))
        self.region_history.record(snap, smaps_read, moves)

    def rss_history(self, region: Region) -> list[tuple[float, int]]:
        """The region's resident size at every kept sample since it was first seen."""
        return self.region_history.points(region)

    def _recent_status(self) -> dict[int, str]:
        return {s: v[0] for s, v in self.recent.items()}

    # -- exit and errors ----------------------------------------------------------------

    def _process_gone(self, result: SampleResult) -> None:
        """The last sample failed after others worked: the process exited, or it still
        runs but may no longer be read (``unreadable``: an exec of a setuid program)."""
        self.exited_at = self.clock()
        stamp = time.strftime("%H:%M:%S", time.localtime(self.exited_at))
        error = result.error
        reason = "exited"
        why = ""  # the error's own words, on a line of their own (they name a command)
        self.unreadable = isinstance(error, smp.NoLongerReadable)
        if error is not None and "belongs to another process" in str(error):
            reason = "exited (its PID now belongs to another process)"
        elif self.unreadable:
            reason = "is still running but can no longer be read"
            why = display_name(str(error).partition("can no longer be read: ")[2] or str(error))
        elif error is not None and not isinstance(
            error, (smp.ProcessGone, smp.NoSuchProcess, smp.ZombieProcess)
        ):
            reason = "can no longer be read"
            why = display_name(str(error))
        banner = self.query_one("#banner", Static)
        # Text, not markup; the second line wraps: the advice ends with the PID to give.
        banner.update(
            Text(
                f" process {self.pid} {reason} at {stamp} — showing its last snapshot "
                f"({time.strftime('%H:%M:%S', time.localtime(self.snapshot.taken_at))}) "
                + (f"\n {why}" if why else "")
            )
        )
        banner.display = True
        self.lost_why = f"process {self.pid} {reason} at {stamp}"
        for detail in self._open_details():
            detail.lose(self.lost_why)
        self._add_events(result.events)
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._update_header()
        self._update_bindings()

    def _show_error(self, text: str) -> None:
        self.error = text
        message = self.query_one("#message", Static)
        # Text, not markup: "[kthreadd]" and any bracket in a name are shown as they are.
        below = len(self.app.screen_stack) > 2 or not hasattr(self.app, "go_back")
        leave = "go back" if below else "quit"
        message.update(Text(f"{text}\n\nPress q or Esc to {leave}."))
        message.display = True
        for selector in ("#bar", "#body", "#events-title", "#events"):
            self.query_one(selector).display = False
        self.fit_layout()
        self.query_one(ProcessHeader).set_state(
            HeaderState(None, self.pid, live=False, failed=True)
        )
        self._update_bindings()

    # -- resizing ----------------------------------------------------------------------

    def on_resize(self) -> None:
        self.fit_layout()
        self.call_after_refresh(self._update_table_title)  # what fits in the table

    # -- actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self.exited_at is None and self.error is None
        if action in ("filter", "goto", "threshold") and self._prompt_focused():
            return False  # "/", "g" and "t" typed into the prompt are characters
        if self.error is not None and action not in ("back", "leave"):
            return False
        if action == "step":
            return running
        if action in ("pause", "resume", "faster", "slower"):
            if not (running and self.sampler is not None and self.sampler.refreshes):
                return False
            if action in ("pause", "resume"):
                return self.live == (action == "pause")
            return True
        if action == "record":
            return running and self.can_record()
        if action == "pan":
            return bool(self.query_one(AddressBar).zoom)
        if action == "zoom_out":
            return bool(self.query_one(AddressBar).zoom)
        if action == "clear_baseline":
            return self.baseline is not None
        if action == "back":
            return self._back_goes_somewhere()
        return True

    def _update_bindings(self) -> None:
        """Refresh the footer only when a key came or went (a footer rebuild costs
        tens of milliseconds: not on every key press)."""
        state = (
            bool(self.query_one(AddressBar).zoom),
            self.baseline is not None,
            self.exited_at is not None,
            self.error is not None,
            self._back_goes_somewhere(),
            self.live,  # space: Pause or Resume
        )
        if state != getattr(self, "_bindings_state", None):
            self._bindings_state = state
            self.refresh_bindings()

    def _back_goes_somewhere(self) -> bool:
        """Esc closes a prompt or a filter, or leaves for the screen below (or quits
        where nothing is watched); not on the first screen with nothing open."""
        if self._input_mode is not None or self.error is not None:
            return True
        if self.query_one(RegionTable).filter_text:
            return True
        return len(self.app.screen_stack) > 2 or not hasattr(self.app, "go_back")

    def action_nothing_to_close(self) -> None:
        # Started on a PID: nothing is open, and Esc never quits (the baseline and the
        # history would be lost to a stray key). q and Ctrl+C quit.
        self.notify("Nothing to close: q quits vmtop", timeout=3)

    def action_back(self) -> None:
        if self._input_mode is not None:
            self._close_prompt(clear=self._input_mode == "filter")
            return
        table = self.query_one(RegionTable)
        if table.filter_text and self.error is None:
            table.set_filter("")
            self._update_table_title()
            self._update_header()
            return
        if len(self.app.screen_stack) > 2 or not hasattr(self.app, "go_back"):
            self.action_leave()  # back to the picker
        elif self.error is not None:
            self.action_leave()  # nothing watched, nothing to lose: Esc quits, as said
        else:
            self.action_nothing_to_close()

    def action_leave(self) -> None:
        """Back to the screen below (the picker), or quit when there is none."""
        go_back = getattr(self.app, "go_back", None)
        if go_back is not None:
            go_back()
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()

    def _add_events(self, events, needs=None) -> None:
        log = self.query_one(EventLog)
        dropped = log.dropped
        log.add_events(events, needs)
        if log.dropped != dropped:
            self._update_events_title()

    def _update_events_title(self) -> None:
        # Once the log is full, how many older events it let go (also its last line).
        dropped = self.query_one(EventLog).dropped
        kept = f"  ·  {dropped:,} older dropped".replace(",", " ") if dropped else ""
        self.query_one("#events-title", Static).update(
            f"Events  newest first{kept}  ·  {self.events_scope()}"
        )

    def events_scope(self) -> str:
        """Which events the log shows (its title says it)."""
        return (
            f"RSS changes of {format_bytes(self.rss_threshold)} or more, summed since last "
            "shown (t changes)"
        )
