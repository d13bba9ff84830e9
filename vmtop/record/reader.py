"""Read a recording: scan it once for the timeline, then rebuild any sample on demand.

``Recording.open(path)`` scans the file (``record.scan``: the header, per sample its
time, totals, RSS by kind and events, and notes on any damage); ``snapshot(i)``
rebuilds sample ``i`` from its keyframe (``record.rebuild``). Samples are numbered as
the file numbers them (``number(i)``), from 1. Anything that is not a readable
recording raises ``RecordingError`` with one line for a person.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from functools import cached_property
from typing import NamedTuple

from vmtop.model.events import NOTE, Event
from vmtop.model.region import Snapshot
from vmtop.record.rebuild import Rebuilder
from vmtop.record.scan import Timeline
from vmtop.record.timespec import label_digits, nearest_index


class EventIndex(NamedTuple):
    """Where a recording's events are, for moving among them without walking every
    sample: samples numbered as ``Recording`` numbers them (from 0)."""

    with_events: array  # the samples with events (narration included), in order
    changes: array  # the samples with events other than narration
    counted: array  # events in the samples before each (one more: all of them)

    @classmethod
    def of(cls, rec: Recording) -> EventIndex:
        with_events, changes, counted = array("q"), array("q"), array("q", [0])
        total = 0
        for i in range(len(rec.samples)):
            events = rec.events_of(i)
            if events:
                with_events.append(i)
                total += len(events)
                if any(e.event != NOTE for e in events):
                    changes.append(i)
            counted.append(total)
        return cls(with_events, changes, counted)


class Recording(Timeline):
    """A recording opened for replay. Thread-safe for ``snapshot()`` calls."""

    _rebuilder: Rebuilder

    @classmethod
    def open(cls, path: str) -> Recording:
        rec = cls(path)
        rec.scan()
        fields = rec.header.get("totals_fields")
        rec._rebuilder = Rebuilder(
            rec.path,
            rec.compressed,
            rec.keyframe_offsets,
            uss_recorded=isinstance(fields, list) and "uss" in fields,
        )
        return rec

    # -- what it holds ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def pid(self) -> int:
        return int(self.header.get("pid", 0))

    @property
    def command(self) -> str:
        return str(self.header.get("command", ""))

    @property
    def start(self) -> float:
        return self.samples[0].time

    @property
    def end(self) -> float:
        return self.samples[-1].time

    @property
    def interval(self) -> float:
        return float(self.header.get("interval", 1.0))

    @property
    def rss_threshold(self) -> int | None:
        """The smallest resident change of a region its events report (when recording
        started); None for a recording that does not say (vmtop 0.x before it did)."""
        value = self.header.get("rss_threshold")
        return value if type(value) is int and value > 0 else None

    @property
    def recorded(self) -> int:
        """How many samples the file was written with, as far as it says: the end
        mark's count, else up to the last sample read."""
        return max(self._end_samples or 0, self._numbers[-1] + 1 if self._numbers else 0)

    def label(self, i: int) -> str:
        """ "sample 22/49": sample ``i`` as the file numbers it, of those it holds."""
        return f"sample {self.number(i)}/{self.recorded}"

    def time_of(self, i: int) -> float:
        return self.samples[i].time

    def index_at(self, when: float) -> int:
        """The last sample taken at or before ``when`` (the first one if before all):
        where playing has got to."""
        return max(0, bisect_right(self._times, when) - 1)

    def index_nearest(self, when: float) -> int:
        """The sample a time someone typed names: the nearest (timespec.nearest_index)."""
        return nearest_index(self._times, when)

    @cached_property
    def digits(self) -> int:
        """The decimals of a second in the labels of this recording's sample times
        (timespec.label_digits): enough that no two samples share one."""
        return label_digits(self._times)

    def events(self) -> list[tuple[int, Event]]:
        """Every event with the sample it came with; the end mark's after the last."""
        out = [(i, e) for i, s in enumerate(self.samples) for e in s.events]
        last = len(self.samples) - 1
        out.extend((last, e) for e in self.end_events)
        return out

    def events_of(self, i: int) -> tuple:
        events = self.samples[i].events
        if i == len(self.samples) - 1 and self.end_events:
            events = events + self.end_events
        return events

    def next_event(self, i: int, step: int) -> int | None:
        """The nearest sample after (step 1) or before (step -1) ``i`` with events
        (changes to the map: narration alone does not count)."""
        changes = self._event_index.changes
        if step > 0:
            k = bisect_right(changes, i)
            return changes[k] if k < len(changes) else None
        k = bisect_left(changes, i)
        return changes[k - 1] if k > 0 else None

    def events_before(self, index: int, limit: int) -> tuple[list[Event], int]:
        """The events recorded before sample ``index``: the last ``limit`` or so (those
        of whole samples, in time order), and how many came before them. What the
        replay's event log holds at each step: its cost is that of the samples with
        events it reads, not of every sample before (an hour in, a step of the replay
        walked every sample since the start, twice)."""
        index_of = self._event_index
        with_events = index_of.with_events
        out: list[Event] = []
        k = bisect_left(with_events, index) - 1
        while k >= 0 and len(out) < limit:
            out.extend(reversed(self.events_of(with_events[k])))
            k -= 1
        out.reverse()
        earlier = index_of.counted[with_events[k] + 1] if k >= 0 else 0
        return out, earlier

    @cached_property
    def _event_index(self) -> EventIndex:
        return EventIndex.of(self)

    # -- rebuilding samples -------------------------------------------------------------

    def snapshot(self, i: int) -> Snapshot:
        """Sample ``i`` as the snapshot that was recorded (without smaps text)."""
        if not 0 <= i < len(self.samples):
            raise IndexError(i)
        info = self.samples[i]
        return self._rebuilder.snapshot(
            i, info.keyframe, info.time, info.totals, f"sample {self.number(i)}", info.smaps_read_at
        )
