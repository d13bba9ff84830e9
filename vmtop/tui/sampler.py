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

``region_changes`` / ``unmapped_ranges`` are the view's per-region highlights (new,
grew, shrank, resident memory moved), computed here in one sweep over both sorted region
lists; the named events of the event log come from ``vmtop.model.diff`` when it is
available.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import NamedTuple

from vmtop.model import events as ev
from vmtop.model.region import Region, Snapshot
from vmtop.procfs.errors import NoSuchProcess, PidReused, ProcError, ProcessGone, ZombieProcess
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

SMAPS_BUDGET = 0.10  # at most this share of wall time spent reading smaps
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
    cost_seconds: float = 0.0  # wall time of this sample (read + parse + diff)


# -- per-region changes -----------------------------------------------------------------


def _same_figures(a: Region, b: Region) -> bool:
    return (
        a.end == b.end
        and a.perms == b.perms
        and a.inode == b.inode
        and a.path == b.path
        and a.dev == b.dev
        and a.rss == b.rss
    )


def region_changes(
    old: Sequence[Region], new: Sequence[Region], rss_threshold: int = RSS_THRESHOLD
) -> dict[int, RegionChange]:
    """Per region of ``new`` (keyed by start) that differs from ``old``: how.

    Regions are matched by address overlap plus identity (device, inode, name), not by
    start alone: the stack's start moves down as it grows, and a region that extends by
    merging keeps its identity. A region overlapping nothing of the same identity is new.
    Unchanged regions are not in the result. Both inputs are sorted by start.
    """
    by_start = {r.start: r for r in old}
    old_starts = [r.start for r in old]
    out: dict[int, RegionChange] = {}
    for r in new:
        o = by_start.get(r.start)
        if o is not None and _same_figures(o, r):
            continue
        matches = _overlapping_same_identity(old, old_starts, r)
        if not matches:
            out[r.start] = RegionChange(NEW, r.size, r.rss or 0)
            continue
        if len(matches) == 1:
            m = matches[0]
            size_delta = r.size - m.size
            rss_delta = (r.rss - m.rss) if r.rss is not None and m.rss is not None else 0
        else:  # several old lines became this one: compare with what they covered
            size_delta = r.size - sum(min(m.end, r.end) - max(m.start, r.start) for m in matches)
            rss_delta = 0
        if size_delta > 0:
            out[r.start] = RegionChange(GREW, size_delta, rss_delta)
        elif size_delta < 0:
            out[r.start] = RegionChange(SHRANK, size_delta, rss_delta)
        elif rss_delta >= rss_threshold:
            out[r.start] = RegionChange(RSS_UP, 0, rss_delta)
        elif rss_delta <= -rss_threshold:
            out[r.start] = RegionChange(RSS_DOWN, 0, rss_delta)
        elif len(matches) > 1 or matches[0].start != r.start or matches[0].perms != r.perms:
            out[r.start] = RegionChange(RESHAPED, 0, rss_delta)
    return out


def _overlapping_same_identity(
    old: Sequence[Region], old_starts: list[int], r: Region
) -> list[Region]:
    """Old regions with r's identity that overlap r, or touch it (a region that grew by
    merging a neighbour's range keeps its own identity)."""
    i = max(0, bisect_right(old_starts, r.start) - 1)
    found = []
    ident = (r.dev, r.inode, r.path)
    n = len(old)
    while i < n and old[i].start <= r.end:
        o = old[i]
        if o.end >= r.start and (o.dev, o.inode, o.path) == ident:
            if o.start < r.end and o.end > r.start:
                found.append(o)
        i += 1
    return found


def _coalesce(regions: Sequence[Region]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for r in regions:
        if out and r.start <= out[-1][1]:
            if r.end > out[-1][1]:
                out[-1][1] = r.end
        else:
            out.append([r.start, r.end])
    return [(a, b) for a, b in out]


def unmapped_ranges(old: Sequence[Region], new: Sequence[Region]) -> list[tuple[int, int]]:
    """Address ranges mapped in ``old`` and not in ``new`` (both sorted by start)."""
    a = _coalesce(old)
    b = _coalesce(new)
    out: list[tuple[int, int]] = []
    j = 0
    for start, end in a:
        cur = start
        while j < len(b) and b[j][1] <= cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


# -- carrying resident figures across maps-only ticks ----------------------------------


def carry_smaps(maps_snap: Snapshot, smaps_snap: Snapshot) -> Snapshot:
    """``maps_snap`` (read without smaps) with each region's resident figures taken from
    the same region (same range and identity) of the last smaps read.

    The raw smaps text goes along so ``Snapshot.smaps_fields`` still answers (with the
    figures of that read). Process RSS and swap stay the fresh ones from ``status``.
    """
    old = {r.start: r for r in smaps_snap.regions}
    regions = []
    pss = private_dirty = shared_dirty = 0
    for r in maps_snap.regions:
        o = old.get(r.start)
        if o is not None and o.end == r.end and o.identity == r.identity:
            r = r._replace(
                rss=o.rss,
                pss=o.pss,
                shared_clean=o.shared_clean,
                shared_dirty=o.shared_dirty,
                private_clean=o.private_clean,
                private_dirty=o.private_dirty,
                swap=o.swap,
                anonymous=o.anonymous,
                smaps_span=o.smaps_span,
            )
            pss += o.pss or 0
            private_dirty += o.private_dirty or 0
            shared_dirty += o.shared_dirty or 0
        regions.append(r)
    totals = maps_snap.totals._replace(
        pss=pss, private_dirty=private_dirty, shared_dirty=shared_dirty
    )
    return maps_snap._replace(regions=tuple(regions), totals=totals, raw_smaps=smaps_snap.raw_smaps)


# -- the sampler ---------------------------------------------------------------------


def _diff_module():
    """vmtop.model.diff when it is there (it is written alongside this)."""
    try:
        from vmtop.model import diff
    except ImportError:
        return None
    return diff


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
        self.smaps_cost = 0.0  # seconds the last smaps read cost (read + parse)
        self.smaps_every = 1  # read smaps once every this many ticks
        self._ticks_since_smaps = 0
        self.start_time: int | None = None

    def plan_smaps(self, interval: float) -> None:
        """Recompute how often smaps may be read at this interval."""
        allowed = max(1e-6, self.budget * interval)
        self.smaps_every = max(1, math.ceil(self.smaps_cost / allowed))

    def sample(self, interval: float = 1.0) -> SampleResult:
        t0 = time.perf_counter()
        prev = self.last
        want_smaps = self.last_smaps is None or self._ticks_since_smaps + 1 >= self.smaps_every
        try:
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
        if snap.has_smaps:
            self.smaps_cost = snap.read_seconds + snap.parse_seconds
            self.last_smaps = snap
            self._ticks_since_smaps = 0
        else:
            self._ticks_since_smaps += 1
            if self.last_smaps is not None:
                snap = carry_smaps(snap, self.last_smaps)
        self.plan_smaps(interval)
        if self.start_time is None:
            self.start_time = snap.info.start_time or None
        events: tuple = ()
        changes: dict = {}
        unmapped: tuple = ()
        if prev is not None:
            changes = region_changes(prev.regions, snap.regions)
            unmapped = tuple(unmapped_ranges(prev.regions, snap.regions))
            events = self._events(prev, snap)
        self.last = snap
        return SampleResult(
            snap,
            prev,
            events,
            changes,
            unmapped,
            smaps_read=snap.has_smaps,
            cost_seconds=time.perf_counter() - t0,
        )

    def _events(self, prev: Snapshot, snap: Snapshot) -> tuple:
        diff = _diff_module()
        if diff is None or not hasattr(diff, "diff_snapshots"):
            return ()
        try:
            return tuple(diff.diff_snapshots(prev, snap))
        except Exception:  # noqa: BLE001 - a diff bug must not take the screen down
            return ()

    def _gone(self, prev: Snapshot | None, error: ProcError, t0: float) -> SampleResult:
        cost = time.perf_counter() - t0
        if prev is None:
            return SampleResult(None, None, (), {}, (), error=error, cost_seconds=cost)
        now = self.clock()
        reused = isinstance(error, PidReused)
        event = None
        diff = _diff_module()
        if diff is not None and hasattr(diff, "exited_event") and not reused:
            try:
                event = diff.exited_event(prev, now)
            except Exception:  # noqa: BLE001
                event = None
        if event is None:
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


def events_between(old: Snapshot, new: Snapshot) -> tuple:
    """The diff's events from ``old`` to ``new`` (empty until vmtop.model.diff exists)."""
    diff = _diff_module()
    if diff is None or not hasattr(diff, "diff_snapshots"):
        return ()
    try:
        return tuple(diff.diff_snapshots(old, new))
    except Exception:  # noqa: BLE001
        return ()
