"""A recording as a snapshot source: the process screen replays it by position.

``seek(i)`` says which sample to show next; ``play(speed)`` makes each ``sample()`` go to
where the replay clock has got to (1×, 10×, 100× the recorded pace, skipping samples
when the screen cannot keep up, as a video player drops frames). Each result compares
the sample with the one recorded before it, so highlights show what changed at that
moment, and carries the events recorded with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vmtop.model.region_changes import unmapped_ranges
from vmtop.model.vm_flag_events import flags_changed_starts
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.record.timespec import clock_label, span_label
from vmtop.tui.sampler import SampleResult, region_changes

SPEEDS = (1, 10, 100)


class ReplaySource:
    refreshes = True  # it can play
    smaps_every = 1
    smaps_cost = 0.0

    def __init__(self, recording: Recording, *, wall: Callable[[], float] = time.monotonic):
        self.recording = recording
        self.pid = recording.pid
        self.wall = wall
        self.position = -1  # the sample shown
        self.target = 0  # the sample to show next
        self.speed = 1
        self.last = None
        self.problem: str | None = None  # a sample that could not be read back
        self._anchor: tuple[float, float] | None = None  # (wall, recording time) playing

    def plan_smaps(self, interval: float) -> None:
        pass

    # -- moving -----------------------------------------------------------------------------

    def seek(self, index: int) -> None:
        self.target = max(0, min(len(self.recording) - 1, index))
        if self._anchor is not None:
            self._anchor = (self.wall(), self.recording.time_of(self.target))

    @property
    def playing(self) -> bool:
        return self._anchor is not None

    def play(self, speed: int | None = None) -> None:
        if speed is not None:
            self.speed = speed
        start = max(self.position, 0)
        if start >= len(self.recording) - 1:
            start = 0  # at the end: play from the start again
            self.target = 0
        self._anchor = (self.wall(), self.recording.time_of(start))

    def pause(self) -> None:
        self._anchor = None

    def set_speed(self, speed: int) -> None:
        if self._anchor is not None:
            self._anchor = (self.wall(), self.recording.time_of(max(self.position, 0)))
        self.speed = speed

    def replay_time(self) -> float:
        """Where the replay clock is: the shown sample's time, or further while playing."""
        if self._anchor is None:
            return self.recording.time_of(max(self.position, 0))
        wall, t0 = self._anchor
        return min(self.recording.end, t0 + (self.wall() - wall) * self.speed)

    # -- the source interface ---------------------------------------------------------------

    def sample(self, interval: float = 1.0) -> SampleResult:
        rec = self.recording
        if self._anchor is not None:
            self.target = rec.index_at(self.replay_time())
            if self.target >= len(rec) - 1:
                self.target = len(rec) - 1
                self._anchor = None  # the end: stop there
        j = self.target
        try:
            snap = rec.snapshot(j)
        except RecordingError as e:
            self.problem = str(e)
            self._anchor = None
            self.target = self.position
            return SampleResult(self.last, self.last, (), {}, ())
        try:
            prev = rec.snapshot(j - 1) if j > 0 else None
        except RecordingError:
            # The sample before cannot be read back (damaged after it was written):
            # this one is shown with no change since it, not refused for it.
            prev = None
        changes: dict = {}
        unmapped: tuple = ()
        events = rec.events_of(j)
        # Regions whose VmFlags alone changed: the recorded flags_changed (said where
        # smaps was read at both samples) marks them, as the live screen does.
        flagged = flags_changed_starts(events) if prev is not None else frozenset()
        if prev is not None and prev.regions != snap.regions:
            changes = region_changes(prev, snap, flags_changed=flagged)
            unmapped = tuple(unmapped_ranges(prev, snap))
        elif prev is not None and (flagged or prev.hugetlb != snap.hugetlb):  # (in no Rss)
            changes = region_changes(prev, snap, same_map=True, flags_changed=flagged)
        self.position = j
        self.last = snap
        # A sample whose smaps read was skipped holds an earlier read's figures: said
        # in the header as the live screen says its maps-only ticks.
        read = snap.smaps_read_at is None
        return SampleResult(snap, prev, events, changes, unmapped, smaps_read=read)

    def describe(self, live: bool) -> tuple[tuple[int, str], ...]:
        """What the header says of the replay, in pieces by priority: at 80 columns the
        date and the span go first, so the command keeps its name."""
        rec = self.recording
        i = max(self.position, 0)
        state = f"▶ {self.speed}×" if self.playing else "❚❚"
        now = rec.time_of(i)
        day = time.strftime("%Y-%m-%d", time.localtime(rec.start))
        # As many decimals as tell this sample from its neighbours (the report's and
        # `t`'s times alike), every one shown: the header does not jitter in width.
        digits = rec.digits
        total = span_label(rec.end - rec.start, digits)
        # The pieces that change as the replay moves, padded to their widest (at the
        # end): what the header has room for stays the same from sample to sample
        # ("threads 1" came and went between sample 9 and 10).
        span = f"  +{span_label(now - rec.start, digits)} of {total}"
        label = f"  {rec.label(i)}"
        return (
            (40, f"replay of {day}  "),
            (100, f"{state}  {clock_label(now, digits)}"),
            (50, span.ljust(len(f"  +{total} of {total}"))),
            (75, label.ljust(len(f"  sample {rec.recorded}/{rec.recorded}"))),
        )
