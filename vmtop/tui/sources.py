"""Where the process screen's snapshots come from: one interface, three sources.

The screen calls ``sample(interval)`` in a worker thread (one call in flight) and shows
the ``SampleResult`` it returns; it never asks which source it has. What differs is
said by the source itself:

- ``LiveSource``: the sampler on the real /proc (vmtop.tui.sampler), plus the narration
  of a demo workload as NOTE events; it can also write what it samples to a recording;
- ``CopySource``: a copied /proc tree (``--proc-root``), read at the start and on ``r``,
  never on a timer; the header says "copy of /proc taken HH:MM:SS", never "live";
- ``ReplaySource`` (vmtop.tui.replay_source): a recording, moved through by position.

The interface (``SnapshotSource``): ``pid``; ``refreshes`` (sampling again can show
something new: the screen offers pause, interval and refresh only then); ``last``;
``smaps_every`` and ``smaps_cost`` (what the header says about smaps reads);
``plan_smaps(interval)``; ``sample(interval)``; ``describe(live)``, the header's words
for where the data comes from (None: live or paused, every N seconds).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Protocol

from vmtop.model import events as ev
from vmtop.model.region import Snapshot
from vmtop.procfs.reader import ProcFS
from vmtop.tui.sampler import Sampler, SampleResult


class SnapshotSource(Protocol):
    pid: int
    refreshes: bool
    last: Snapshot | None
    smaps_every: int
    smaps_cost: float

    def plan_smaps(self, interval: float) -> None: ...

    def sample(self, interval: float) -> SampleResult: ...

    def describe(self, live: bool) -> str | tuple[tuple[int, str], ...] | None: ...


class LiveSource(Sampler):
    """The live sampler, with a demo's narration and an optional recording."""

    refreshes = True

    def __init__(self, procfs: ProcFS, pid: int, *, demo=None, clock=time.time, **kw) -> None:
        super().__init__(procfs, pid, clock=clock, **kw)
        self.demo = demo
        self.recorder = None  # vmtop.record.writer.RecordingWriter while recording
        self.record_error: str | None = None
        self._record_lock = threading.Lock()

    def describe(self, live: bool) -> str | None:
        return None

    def sample(self, interval: float = 1.0) -> SampleResult:
        result = super().sample(interval)
        result = with_narration(result, self.demo, self.clock)
        with self._record_lock:
            if self.recorder is not None:
                t0 = time.perf_counter()
                self._record(result)
                # Writing is part of what a sample costs: the screen's budget counts it.
                spent = time.perf_counter() - t0
                result = result._replace(cost_seconds=result.cost_seconds + spent)
        return result

    def _record(self, result: SampleResult) -> None:
        recorder = self.recorder
        try:
            if result.snapshot is not None:
                recorder.write_sample(result.snapshot, result.events)
            elif result.exited:
                recorder.close("exited", result.events)
                self.recorder = None
        except (OSError, ValueError) as e:
            self.record_error = f"recording to {recorder.path} stopped: {e}"
            self.recorder = None
            try:
                recorder.close("error")
            except OSError:
                pass

    # -- recording, from the UI thread -------------------------------------------------

    def start_recording(self, path: str, interval: float) -> None:
        from vmtop.record.writer import RecordingWriter

        with self._record_lock:
            if self.recorder is None:
                self.record_error = None
                threshold = self.drift.threshold
                self.recorder = RecordingWriter(path, interval=interval, rss_threshold=threshold)

    def stop_recording(self):
        """Close the recording; the writer (for its path, samples and size), or None."""
        with self._record_lock:
            recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close("stopped")
        return recorder


class CopySource:
    """A copied /proc tree: read when asked (``r``), never on a timer; it is not live.

    Reading it again shows what changed if the copy on disk was updated meanwhile.
    """

    refreshes = False

    def __init__(
        self,
        procfs: ProcFS,
        pid: int,
        *,
        demo=None,
        clock: Callable[[], float] = time.time,
        **kw,
    ):
        self.procfs = procfs
        self.pid = pid
        self.demo = demo
        self.clock = clock
        self._sampler = Sampler(procfs, pid, clock=clock, **kw)
        self.taken: float | None = None

    @property
    def drift(self):
        """The resident changes added up per region (the event threshold lives there)."""
        return self._sampler.drift

    @property
    def last(self) -> Snapshot | None:
        return self._sampler.last

    @property
    def smaps_every(self) -> int:
        return self._sampler.smaps_every

    @property
    def smaps_cost(self) -> float:
        return self._sampler.smaps_cost

    def plan_smaps(self, interval: float) -> None:
        self._sampler.plan_smaps(interval)

    def sample(self, interval: float = 1.0) -> SampleResult:
        self.taken = copy_time(self.procfs, self.pid)
        return with_narration(self._sampler.sample(interval), self.demo, self.clock)

    def describe(self, live: bool) -> str | None:
        if self.taken is None:
            return "copy of /proc"
        return "copy of /proc taken " + time.strftime("%H:%M:%S", time.localtime(self.taken))


def with_narration(result: SampleResult, demo, clock: Callable[[], float]) -> SampleResult:
    """The result with what a demo workload printed since the last sample first, as
    NOTE events (a demo that went away has nothing to say)."""
    if demo is None:
        return result
    try:
        lines = demo.read_narration()
    except Exception:  # noqa: BLE001 - whatever the demo's pipe did, sampling goes on
        return result
    if not lines:
        return result
    # What it printed came before this sample was read or while it was: timed no later
    # than the sample's own events (a note after them stepped the log's time back).
    now = clock()
    if result.snapshot is not None:
        now = min(now, result.snapshot.taken_at)
    notes = tuple(
        ev.Event(now, ev.NOTE, 0, 0, "", 0, 0, detail=str(line).rstrip("\n")) for line in lines
    )
    return result._replace(events=notes + tuple(result.events))


def copy_time(procfs: ProcFS, pid: int) -> float | None:
    """When the copy was taken: the newest modification time of its map files."""
    times = []
    for name in ("smaps", "maps", "status", "stat"):
        try:
            times.append(os.stat(procfs.path(pid, name)).st_mtime)
        except OSError:
            pass
    return max(times) if times else None


def source_for(procfs: ProcFS, pid: int, *, demo=None, clock=time.time, **kw) -> SnapshotSource:
    """The source for a process screen on ``pid``: live on the real /proc, else a copy.
    ``kw`` goes to the Sampler (``rss_threshold``)."""
    if procfs.is_live:
        return LiveSource(procfs, pid, demo=demo, clock=clock, **kw)
    return CopySource(procfs, pid, demo=demo, clock=clock, **kw)
