"""Read a recording: its index or a scan for the timeline, then any sample on demand.

``Recording.open(path)`` reads the index at the end of a file ended cleanly
(``record.index``), or else scans the file (``record.scan``): the header, per sample a
few numbers in arrays, and notes on any damage; ``samples[i]`` reads sample ``i``'s time,
totals, RSS by kind and events back from the file (``record.read_back``); ``snapshot(i)``
rebuilds sample ``i`` from its keyframe (``record.rebuild``). Samples are numbered as
the file numbers them (``number(i)``), from 1. Anything that is not a readable
recording raises ``RecordingError`` with one line for a person.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import cached_property

from vmtop.model.events import NOTE, Event
from vmtop.model.region import Snapshot
from vmtop.record.rebuild import Rebuilder
from vmtop.record.scan import Timeline
from vmtop.record.timespec import label_digits, nearest_index


class Recording(Timeline):
    """A recording opened for replay. Thread-safe for ``snapshot()`` calls."""

    _rebuilder: Rebuilder

    @classmethod
    def open(cls, path: str, keep_samples: bool = False) -> Recording:
        """``keep_samples``: hold every sample's totals, RSS by kind and events as the
        scan reads them (about 1.5 kB a sample), for a reader that goes through them all
        once (``vmtop report``); else they are read back from the file when asked for."""
        rec = cls(path, keep_samples)
        # A reader of every sample (``keep_samples``) reads the file through anyway:
        # the scan, which checks it all, keeps them on the way.
        rec.scan(use_index=not keep_samples)
        fields = rec.header.get("totals_fields")
        rec._rebuilder = Rebuilder(
            rec.path,
            rec.compressed,
            rec.keyframe_offsets,
            uss_recorded=isinstance(fields, list) and "uss" in fields,
            check=rec.checks.span if rec.checks is not None else None,
        )
        rec.samples  # noqa: B018 - made once, before threads ask for samples
        return rec

    # -- what it holds ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.index)

    @property
    def pid(self) -> int:
        return int(self.header.get("pid", 0))

    @property
    def command(self) -> str:
        return str(self.header.get("command", ""))

    @property
    def start(self) -> float:
        return self.index.times[0]

    @property
    def end(self) -> float:
        return self.index.times[-1]

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
        return max(self._end_samples or 0, self.index.last_number + 1)

    def label(self, i: int) -> str:
        """ "sample 22/49": sample ``i`` as the file numbers it, of those it holds."""
        return f"sample {self.number(i)}/{self.recorded}"

    def time_of(self, i: int) -> float:
        return self.index.times[i]

    def index_at(self, when: float) -> int:
        """The last sample taken at or before ``when`` (the first one if before all):
        where playing has got to."""
        return max(0, bisect_right(self.index.times, when) - 1)

    def index_nearest(self, when: float) -> int:
        """The sample a time someone typed names: the nearest (timespec.nearest_index)."""
        return nearest_index(self.index.times, when)

    @cached_property
    def digits(self) -> int:
        """The decimals of a second in the labels of this recording's sample times
        (timespec.label_digits): enough that no two samples share one."""
        return label_digits(self.index.times)

    def events(self) -> list[tuple[int, Event]]:
        """Every event with the sample it came with; the end mark's after the last."""
        out = []
        with_events, samples = self.index.with_events, self.samples
        i = with_events.find(1)
        while i >= 0:  # (the samples with events alone are read back)
            out.extend((i, e) for e in samples[i].events)
            i = with_events.find(1, i + 1)
        last = len(self) - 1
        out.extend((last, e) for e in self.end_events)
        return out

    def events_of(self, i: int) -> tuple:
        events = self.samples[i].events if self.index.with_events[i] else ()
        if i == len(self) - 1 and self.end_events:
            events = events + self.end_events
        return events

    def next_event(self, i: int, step: int) -> int | None:
        """The nearest sample after (step 1) or before (step -1) ``i`` with events
        (changes to the map: narration alone does not count)."""
        changes = self.index.with_changes
        last = len(self) - 1
        # (The end mark's events are the last sample's.)
        end_changes = any(e.event != NOTE for e in self.end_events)
        if step > 0:
            k = changes.find(1, max(0, i + 1))
            if k < 0 and i < last and end_changes:
                return last
            return k if k >= 0 else None
        if i > last >= 0 and end_changes:
            return last
        k = changes.rfind(1, 0, max(0, i))
        return k if k >= 0 else None

    def events_before(self, index: int, limit: int) -> tuple[list[Event], int]:
        """The events recorded before sample ``index``: the last ``limit`` or so (those
        of whole samples, in time order), and how many came before them. What the
        replay's event log holds at each step: its cost is that of the samples with
        events it reads, not of every sample before (an hour in, a step of the replay
        walked every sample since the start, twice)."""
        last = len(self) - 1
        out: list[Event] = []
        k = self._with_events_before(min(index, last + 1))
        while k >= 0 and len(out) < limit:
            out.extend(reversed(self.events_of(k)))
            k = self._with_events_before(k)
        out.reverse()
        if k < 0:
            return out, 0
        earlier = self.index.events_up_to(k)
        return out, earlier + (len(self.end_events) if k == last else 0)

    def _with_events_before(self, index: int) -> int:
        """The last sample before ``index`` with events (the end mark's count as the
        last sample's), or -1."""
        last = len(self) - 1
        if index > last >= 0 and self.end_events:
            return last
        return self.index.with_events.rfind(1, 0, max(0, index))

    # -- rebuilding samples -------------------------------------------------------------

    def snapshot(self, i: int) -> Snapshot:
        """Sample ``i`` as the snapshot that was recorded (without smaps text)."""
        if not 0 <= i < len(self):
            raise IndexError(i)
        info = self.samples[i]
        # A sample that did not change the map shows the last one's that did: rebuilt
        # from there, an idle hour is not read through line by line.
        changed = max(info.keyframe, self.index.map_changed.rfind(1, 0, i + 1))
        return self._rebuilder.snapshot(
            i,
            info.keyframe,
            info.time,
            info.totals,
            f"sample {self.number(i)}",
            info.smaps_read_at,
            map_of=changed,
        )
