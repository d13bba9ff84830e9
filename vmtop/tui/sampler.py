"""Sampling one process for the process screen: snapshots on a smaps budget, and what
changed since the last one.

``Sampler.sample()`` is blocking (it reads /proc) and runs in a worker thread; the screen
keeps one sample in flight and re-arms its timer when the result arrives. Everything it
returns is immutable, so handing it to the UI thread is safe.

smaps walks the target's page tables (about 3.4 µs per region; 260 ms for 65 000
regions), so it is read on a budget: on every tick while that costs less than
``SMAPS_BUDGET`` of the refresh interval, less often otherwise. Ticks in between read
only ``maps`` (cheap) and carry each unchanged region's resident figures from the last
smaps read, so the table never blanks out.

What changed comes from ``vmtop.model.diff``: the named events for the log, the
per-region changes for the highlights (new, grew, shrank, resident memory moved) and the
ranges that were unmapped, for the bar's trace of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from vmtop.model import diff
from vmtop.model import events as ev
from vmtop.model.region import Region, Snapshot
from vmtop.procfs.errors import NoSuchProcess, PidReused, ProcError, ProcessGone, ZombieProcess
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_budget import SMAPS_BUDGET, carry_smaps, smaps_every
from vmtop.procfs.snapshot import take_snapshot

# A first sample of more regions than this shows the map (maps only, fast) before
# reading smaps (seconds, for tens of thousands of regions) on the very next sample.
QUICK_FIRST_REGIONS = 5000
# A snapshot keeps its smaps text for the region detail's fields, but not a huge one
# (44 MB at 60 000 regions, held while the next one is read: a third of vmtop's memory).
KEEP_SMAPS_TEXT_UP_TO = 8 << 20
RSS_THRESHOLD = 64 * 1024  # resident change that counts as "changed" for highlights

NEW = "new"
GREW = "grew"
SHRANK = "shrank"
RSS_UP = "rss_up"
RSS_DOWN = "rss_down"
RESHAPED = "reshaped"  # split / merged / protection changed: same bytes, other lines


class RegionChange(NamedTuple):
    """How one region of the newer snapshot differs from the older one."""

    status: str  # NEW, GREW, SHRANK, RSS_UP, RSS_DOWN, RESHAPED
    size_delta: int
    rss_delta: int


class SampleResult(NamedTuple):
    snapshot: Snapshot | None  # None when the sample failed
    previous: Snapshot | None  # the snapshot it was compared with
    events: tuple  # vmtop.model.events.Event, oldest first
    changes: dict  # region start (in snapshot) -> RegionChange, vs previous
    unmapped: tuple  # (start, end) ranges mapped in previous, not in snapshot
    error: ProcError | None = None
    exited: bool = False  # the process is gone (or its PID was reused): stop sampling
    smaps_read: bool = True
    # What this sample cost (read + parse + diff): wall time, plus the CPU time of the
    # thread that read smaps, so that budgets in shares of a core hold.
    cost_seconds: float = 0.0
    smaps_pending: bool = False  # a first, maps-only look: smaps comes with the next sample


# -- per-region changes -----------------------------------------------------------------


def view_changes(
    changes: dict[int, diff.RegionChange], rss_threshold: int = RSS_THRESHOLD
) -> dict[int, RegionChange]:
    """The diff's per-region changes as the views show them (unchanged ones left out):
    its ``changed`` is split into resident memory up, down, or reshaped (split, merged,
    permissions changed) with the same size."""
    out: dict[int, RegionChange] = {}
    for start, c in changes.items():
        status = c.status
        if status == diff.SAME:
            continue
        rss_delta = c.rss_delta or 0
        if status == diff.CHANGED:
            if rss_delta >= rss_threshold:
                status = RSS_UP
            elif rss_delta <= -rss_threshold:
                status = RSS_DOWN
            else:
                status = RESHAPED
        out[start] = RegionChange(status, c.size_delta, rss_delta)
    return out


def region_changes(old: Snapshot, new: Snapshot) -> dict[int, RegionChange]:
    """Per region of ``new`` (keyed by start) that differs from ``old``: how."""
    return view_changes(diff.region_changes(old, new, rss_threshold=RSS_THRESHOLD))


# -- the sampler ---------------------------------------------------------------------


class Sampler:
    """Snapshots of one process, each compared with the previous one.

    Not thread-safe: the screen keeps at most one ``sample()`` running.
    """

    def __init__(
        self,
        procfs: ProcFS,
        pid: int,
        *,
        clock: Callable[[], float] = time.time,
        budget: float = SMAPS_BUDGET,
    ) -> None:
        self.procfs = procfs
        self.pid = pid
        self.clock = clock
        self.budget = budget
        self.last: Snapshot | None = None
        self.last_smaps: Snapshot | None = None
        self.smaps_cost = 0.0  # CPU seconds the last smaps read cost (read + parse)
        self.smaps_every = 1  # read smaps once every this many ticks
        self._ticks_since_smaps = 0
        self._smaps_index: dict[int, Region] | None = None
        self.start_time: int | None = None

    def plan_smaps(self, interval: float) -> None:
        """Recompute how often smaps may be read at this interval."""
        self.smaps_every = smaps_every(self.smaps_cost, interval, self.budget)

    def sample(self, interval: float = 1.0) -> SampleResult:
        t0 = time.perf_counter()
        prev = self.last
        want_smaps = self.last_smaps is None or self._ticks_since_smaps + 1 >= self.smaps_every
        pending = False
        try:
            if prev is None:
                snap = take_snapshot(self.procfs, self.pid, smaps=False)
                if len(snap.regions) <= QUICK_FIRST_REGIONS:
                    snap = take_snapshot(
                        self.procfs,
                        self.pid,
                        smaps=True,
                        expected_start_time=snap.info.start_time or None,
                    )
                else:
                    pending = True
            else:
                snap = take_snapshot(
                    self.procfs, self.pid, smaps=want_smaps, expected_start_time=self.start_time
                )
        except (ProcessGone, NoSuchProcess, ZombieProcess) as e:
            return self._gone(prev, e, t0)
        except ProcError as e:
            # The first sample failing is an error to show; later, the process most
            # likely changed under us (exec of a setuid program): stop and say why.
            return SampleResult(
                None,
                prev,
                (),
                {},
                (),
                error=e,
                exited=prev is not None,
                cost_seconds=time.perf_counter() - t0,
            )
        snap = snap._replace(taken_at=self.clock())
        if snap.raw_smaps is not None and len(snap.raw_smaps) > KEEP_SMAPS_TEXT_UP_TO:
            # The region detail reads its own block afresh when it opens instead.
            snap = snap.compact()
        smaps_read = snap.has_smaps
        if smaps_read:
            # CPU, not wall time: smaps is parsed on one thread while another reads it.
            self.smaps_cost = max(snap.read_seconds + snap.parse_seconds, snap.cpu_seconds)
            self.last_smaps = snap
            self._smaps_index = None
            self._ticks_since_smaps = 0
        else:
            self._ticks_since_smaps += 1
            if self.last_smaps is not None:
                if self._smaps_index is None:
                    self._smaps_index = {r.start: r for r in self.last_smaps.regions}
                snap = carry_smaps(snap, self.last_smaps, self._smaps_index)
        self.plan_smaps(interval)
        if self.start_time is None:
            self.start_time = snap.info.start_time or None
        events: tuple = ()
        changes: dict = {}
        unmapped: tuple = ()
        if prev is not None and prev.regions == snap.regions:
            pass  # the same region objects (carried): nothing changed, nothing to diff
        elif prev is not None:
            changes = region_changes(prev, snap)
            unmapped = tuple(diff.unmapped_ranges(prev, snap))
            events = tuple(diff.diff_snapshots(prev, snap, rss_threshold=RSS_THRESHOLD))
        self.last = snap
        cost = time.perf_counter() - t0
        if smaps_read:
            # smaps was read on a second thread while this one parsed: count its CPU too.
            cost += max(0.0, snap.cpu_seconds - snap.read_seconds - snap.parse_seconds)
        return SampleResult(
            snap,
            prev,
            events,
            changes,
            unmapped,
            smaps_read=smaps_read,
            cost_seconds=cost,
            smaps_pending=pending,
        )

    def _gone(self, prev: Snapshot | None, error: ProcError, t0: float) -> SampleResult:
        cost = time.perf_counter() - t0
        if prev is None:
            return SampleResult(None, None, (), {}, (), error=error, cost_seconds=cost)
        now = self.clock()
        reused = isinstance(error, PidReused)
        if not reused:
            event = diff.exited_event(prev, now)
        else:
            event = ev.Event(
                time=now,
                event=ev.PID_REUSED if reused else ev.EXITED,
                start=0,
                end=0,
                kind="",
                size=prev.totals.size,
                delta=-prev.totals.size,
                path=prev.info.command,
                detail=str(error),
            )
        return SampleResult(
            None, prev, (event,), {}, (), error=error, exited=True, cost_seconds=cost
        )
