"""The replay screen: the process screen driven by a recording, with a timeline.

Everything the process screen shows (bar, table, summary, event log, region detail)
comes from a ``ReplaySource``; this screen adds the timeline and the keys to move in
time: step a sample back / forth (``,`` ``.``), jump to the previous / next event
(``N`` ``n``), play / pause (space) at 1×, 10×, 100× (``+`` ``-``), go to a time (``t``:
``12:03:10``, ``+5m``, ``90s``), and mark two instants A and B (``a`` ``b``): A is the
baseline, so the Δ columns show everything that changed since A, and the line under
the timeline says what changed from A to B.
"""

from __future__ import annotations

from collections import deque
from functools import partial

from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from vmtop.procfs.reader import ProcFS
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.record.timespec import clock_label, resolve_time, within
from vmtop.tui.formatting import format_bytes
from vmtop.tui.named_commands import NamedCommands
from vmtop.tui.replay_compare import AB_SEPARATOR, ab_lines  # noqa: F401 - AB_SEPARATOR: tests
from vmtop.tui.replay_detail import (  # noqa: F401 - recorded_smaps_text: tests
    recorded_hugetlb,
    recorded_smaps_text,
    region_rss_history,
)
from vmtop.tui.replay_marks import AB_LINES_SHORT, SHORT_SCREEN, ReplayMarks  # noqa: F401
from vmtop.tui.replay_source import SPEEDS, ReplaySource
from vmtop.tui.screens.process import HISTORY_POINTS, ProcessScreen
from vmtop.tui.screens.process_layout import FOOTER_PRIORITY
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.rss_graph import RssGraph
from vmtop.tui.widgets.timeline import Timeline, timeline_data

LOG_EVENTS = 1000  # events before the cursor put back in the log after a jump


class ReplayCommands(NamedCommands):
    """Moving in the recording, in the command palette (Ctrl+P)."""

    def _commands(self):
        screen = self.screen
        if not isinstance(screen, ReplayScreen):
            return []
        out = [
            ("Pause" if screen.source.playing else "Play", screen.action_pause, "space"),
            ("Go to a time…", screen.action_goto_time, "t: 12:03:10, +5m, 90s"),
            ("Next event", screen.action_next_event, "n"),
            ("Previous event", screen.action_prev_event, "N"),
            ("Step forward one sample", screen.action_step_forward, "."),
            ("Step back one sample", screen.action_step_back, ","),
            ("Mark A here (the baseline)", screen.action_mark_a, "a: Δ since A"),
            ("Mark B here", screen.action_mark_b, "b: what changed from A to B"),
        ]
        if screen.mark_a is not None or screen.mark_b is not None:
            out.append(("Clear the marks", screen.action_clear_baseline, "B"))
        for speed in SPEEDS:
            out.append((f"Play at {speed}×", partial(screen.play_at, speed), "+ / -"))
        return out


class ReplayScreen(ReplayMarks, ProcessScreen):
    COMMANDS = ProcessScreen.COMMANDS | {ReplayCommands}
    samples_live = False  # (the palette's live entries left out: ProcessCommands)
    # Moving in time, the marks and help first: they are what a replay is for, and at
    # 80 columns they are all the footer has room for (a and b share one item).
    footer_priority = (
        "back",
        "pause",
        "resume",
        "step_back",
        "next_event",
        "goto_time",
        "mark_a",
        "app.help",
        "help",
        "open",
        "faster",
        *(
            a
            for a in FOOTER_PRIORITY
            if a not in ("back", "open", "pause", "resume", "faster", "help")
        ),
    )
    # Δ since A is worked out from the recording (changes_since_mark), with no ranges
    # kept as the live screen keeps them: the regions gone since A are looked for over
    # the whole map (process_views).
    TRACKS_REMAPPED = False
    BINDINGS = [
        Binding("space", "pause", "Pause"),  # while playing
        Binding("space", "resume", "Play"),
        Binding("comma", "step_back", "Step", key_display=",/."),
        Binding("full_stop", "step_forward", "Step", show=False),
        Binding("n", "next_event", "Event", key_display="n/N"),
        Binding("N", "prev_event", "Prev event", show=False),
        Binding("plus,equals_sign", "faster", "Speed", key_display="+/-"),
        Binding("minus", "slower", "Slower", show=False),
        Binding("t", "goto_time", "Time", priority=True),
        Binding("a", "mark_a", "Mark A/B", key_display="a/b"),
        Binding("b", "mark_b", "Mark B", show=False),
        Binding("B", "clear_baseline", "Clear marks", show=False),
        # Before the region table's Home / End (first / last row): in a replay they
        # move in time, as the help says.
        Binding("home", "seek(0)", "Start", show=False, priority=True),
        Binding("end", "seek(-1)", "End", show=False, priority=True),
    ]

    def __init__(self, recording: Recording, procfs: ProcFS, *, name: str | None = None):
        self.recording = recording
        super().__init__(
            procfs,
            recording.pid,
            interval=recording.interval,
            paused=True,
            name=name,
            source=ReplaySource(recording),
        )
        self.mark_a: int | None = None
        self.mark_b: int | None = None
        self.ab_summary = ""
        self._shown = -1  # the sample shown before this one
        # Δ since A, worked out in a thread (_since_a_worker): the (A, sample) whose
        # changes ref_changes holds, and whether one is being worked out.
        self._since_a_shown: tuple[int, int] | None = None
        self._since_a_busy = False
        self._ab_busy = False  # an A→B comparison is being worked out

    @property
    def source(self) -> ReplaySource:
        return self.sampler  # type: ignore[return-value]

    def on_mount(self) -> None:
        super().on_mount()
        self.mount(Timeline(timeline_data(self.recording), id="timeline"), after="#header")
        self.mount(Static("", id="ab"), after="#timeline")
        self.query_one("#ab", Static).display = False
        for note in self.recording.notes:
            self.notify(note, severity="warning", timeout=10, markup=False)

    # -- moving ---------------------------------------------------------------------------

    @property
    def position(self) -> int:
        return max(self.source.position, 0)

    def seek(self, index: int) -> None:
        self.source.seek(index)
        self._sample()

    def on_process_screen_sampled(self, message) -> None:
        super().on_process_screen_sampled(message)
        if self.source.problem:
            self.notify(self.source.problem, severity="error", timeout=10, markup=False)
            self.source.problem = None
        if self.live and not self.source.playing:
            self.live = False  # played to the end
            self._update_bindings()
            self._arm()
            self._update_header()
        if not self._in_flight and self.source.target != self.source.position:
            self._sample()  # a key moved the cursor while a sample was being rebuilt

    def action_seek(self, index: int) -> None:
        self.seek(index if index >= 0 else len(self.recording) - 1)

    def action_step_back(self) -> None:
        self._stop_playing()
        self.seek(self.source.target - 1)

    def action_step_forward(self) -> None:
        self._stop_playing()
        self.seek(self.source.target + 1)

    def action_next_event(self) -> None:
        self._jump_event(1)

    def action_prev_event(self) -> None:
        self._jump_event(-1)

    def _jump_event(self, step: int) -> None:
        self._stop_playing()
        j = self.recording.next_event(self.source.target, step)
        if j is None:
            self.notify("no later event" if step > 0 else "no earlier event", timeout=3)
            return
        self.seek(j)

    def action_pause(self) -> None:
        """Play or pause (the replay's space)."""
        if self.source.playing:
            self._stop_playing()
        else:
            self.source.play()
            self.live = True
            self._sample()
        self._update_header()
        self._update_bindings()

    def action_resume(self) -> None:
        self.action_pause()

    def _stop_playing(self) -> None:
        if self.source.playing or self.live:
            self.source.pause()
            self.live = False
            self._arm()
            self._update_header()
            self._update_bindings()

    def _set_speed(self, step: int) -> None:
        i = SPEEDS.index(self.source.speed) if self.source.speed in SPEEDS else 0
        speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + step))]
        self.source.set_speed(speed)
        # Sample often enough to show every recorded sample at this pace.
        self.interval = max(0.05, self.recording.interval / speed)
        if self.live and not self._in_flight:
            self._arm()
        self._update_header()

    def play_at(self, speed: int) -> None:
        self.source.set_speed(speed)
        self._set_speed(0)
        if not self.source.playing:
            self.action_pause()

    def action_faster(self) -> None:
        self._set_speed(+1)

    def action_slower(self) -> None:
        self._set_speed(-1)

    # -- go to a time ---------------------------------------------------------------------

    def action_goto_time(self) -> None:
        self._open_prompt(
            "time", "go to: 12:03:10, 90s or 5m from the start, +5m / -30s from here, end", ""
        )

    def go_to_time(self, text: str) -> bool:
        rec = self.recording
        try:
            when = resolve_time(text, rec.start, rec.end, now=rec.time_of(self.position))
        except ValueError as e:
            self.notify(str(e), severity="warning", markup=False)
            return False
        if not within(when, rec.start, rec.end, rec.interval):
            self.notify(
                f"{text} is outside the recording ({clock_label(rec.start, rec.digits)} to "
                f"{clock_label(rec.end, rec.digits)})",
                severity="warning",
                markup=False,  # what was typed, shown as it is
            )
            return False
        self._stop_playing()
        # The nearest sample, not the last at or before: a time the report or the header
        # printed is of a sample taken a few milliseconds after it, or rounded up.
        self.seek(rec.index_nearest(when))
        return True

    def on_input_submitted(self, message) -> None:
        if self._input_mode == "time":
            self._close_prompt()
            self.go_to_time(message.value)
            return
        super().on_input_submitted(message)

    # -- marks A and B --------------------------------------------------------------------

    def moment_label(self, t: float) -> str:
        return clock_label(t, self.recording.digits)

    def events_scope(self) -> str:
        # As recorded: `t` here goes to a time, and the recording decided its events.
        threshold = self.recording.rss_threshold
        if threshold is None:
            return "as recorded"
        return f"as recorded: RSS changes of {format_bytes(threshold)} or more"

    def _view_state(self) -> tuple:
        # Changes since A are this screen's own (changes_since_baseline): the sampling
        # worker is not asked to work them out the process screen's way.
        bar, table, *_baseline = super()._view_state()
        return bar, table, None, ()

    def on_resize(self) -> None:
        super().on_resize()
        if self.ab_summary:
            self._set_ab(self.ab_summary)  # broken into lines for the new width

    def _update_timeline(self) -> None:
        self.query_one(Timeline).set_position(self.position, self.mark_a, self.mark_b)

    # -- what the process screen does with a sample, for a replay ---------------------------

    def _apply(self, result) -> None:
        # The log holds what was recorded up to here, however the cursor got here.
        log = self.query_one(EventLog)
        dropped = log.dropped
        log.clear()
        shown, earlier = self._events_before(self.position)
        log.add_events(shown)
        # Older events are not put back: the log's last line says how many, as a run's
        # count may miss the start of it.
        log.dropped += earlier
        if log.dropped != dropped:
            self._update_events_title()
        if self.position != self._shown + 1:
            # Highlights linger a few samples when playing forward; after a jump they
            # would show changes that belong to another moment.
            self.recent = {}
            self.traces = []
        self._shown = self.position
        super()._apply(result)
        if self.is_mounted and self.query("#timeline"):
            self._update_timeline()

    def _events_before(self, index: int) -> tuple[list, int]:
        """The last LOG_EVENTS or so events recorded before sample ``index``, and how
        many came before those."""
        return self.recording.events_before(index, LOG_EVENTS)

    def _record_history(self, snap, smaps_read: bool, moves=None) -> None:
        samples = self.recording.samples
        j = self.position
        first = max(0, j + 1 - HISTORY_POINTS)
        window = samples[first : j + 1]
        self.sample_times = deque((s.time for s in window), maxlen=HISTORY_POINTS)
        # As live: no RSS counts memory in hugetlb pages, so where the process has some
        # the graph is of both (and says so), from the total each sample recorded.
        hugetlb = any(s.hugetlb for s in window)
        self.query_one(RssGraph).title = "RSS + hugetlb" if hugetlb else "RSS"
        self.rss_points = deque(
            (
                (s.time, s.totals.rss + (s.hugetlb or 0))
                for s in window
                if s.totals and s.totals.rss is not None
            ),
            maxlen=HISTORY_POINTS,
        )

    def open_detail(self, region) -> None:
        """The region detail, once its RSS history over the samples before this one is
        read back (in a thread: it rebuilds those samples)."""
        if self.snapshot is None:
            return
        self._history_worker(self.snapshot, region, self.position)

    class HistoryRead(Message):
        def __init__(self, snapshot, region, history: list) -> None:
            super().__init__()
            self.snapshot = snapshot
            self.region = region
            self.history = history

    @work(thread=True, group="history", exclusive=True, exit_on_error=False)
    def _history_worker(self, snapshot, region, index: int) -> None:
        try:
            history = region_rss_history(self.recording, region, index)
        except RecordingError:
            history = []
        self.post_message(self.HistoryRead(snapshot, region, history))

    def on_replay_screen_history_read(self, message: HistoryRead) -> None:
        from vmtop.tui.screens.detail import RegionDetailScreen

        # The recording holds a region's resident figures, not its smaps text nor its
        # pages: the detail shows those figures as the smaps fields they came from.
        region = message.region
        text = recorded_smaps_text(region, recorded_hugetlb(message.snapshot, region))
        self.app.push_screen(
            RegionDetailScreen(
                procfs=self.procfs,
                snapshot=message.snapshot._replace(raw_smaps=text, has_smaps=text is not None),
                region=region,
                rss_history=message.history,
                recorded=True,
                moment=self._moment_of_figures(message.snapshot),
            )
        )

    def _moment_of_figures(self, snapshot) -> str:
        """The sample's time, and the earlier smaps read's its figures are, if so."""
        moment = self.moment_label(snapshot.taken_at)
        if snapshot.smaps_read_at is not None:
            moment += f", its figures read at {self.moment_label(snapshot.smaps_read_at)}"
        return moment

    def on_timeline_seek(self, message: Timeline.Seek) -> None:
        self._stop_playing()
        self.seek(message.index)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("goto_time", "seek") and self._prompt_focused():
            return False  # the key edits the prompt
        if action == "seek" and isinstance(self.focused, EventLog):
            return False  # Home / End move in the event log, as on the live screen
        if action == "clear_baseline":
            return self.mark_a is not None or self.mark_b is not None
        if action in ("pause", "resume"):  # playing, or not
            return self.live == (action == "pause")
        return super().check_action(action, parameters)
