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

What changed comes from ``vmtop.model.diff``: the named events for the log; and from
``vmtop.model.region_changes``: the per-region changes for the highlights (new, grew,
shrank, resident memory moved) and the ranges that were unmapped, for the bar's trace
of them.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections import OrderedDict, deque
from collections.abc import Callable
from operator import itemgetter, ne
from typing import NamedTuple

from vmtop.model import diff, since_baseline
from vmtop.model import events as ev
from vmtop.model import region_changes as model_changes
from vmtop.model.column_steps import where_pair
from vmtop.model.columns import RegionColumns, matching_rows, starts_of
from vmtop.model.process_events import exited_event, state_event, unreadable_exec_event
from vmtop.model.region import Region, Snapshot
from vmtop.model.rss_drift import RssDrift
from vmtop.model.since_baseline import Ranges
from vmtop.model.stack_owners import keep_thread_stacks
from vmtop.model.sweep import key_pair
from vmtop.procfs.errors import (
    NoLongerReadable,
    NoSuchProcess,
    PidReused,
    ProcError,
    ProcessGone,
    ZombieProcess,
)
from vmtop.procfs.huge_page_figures import said_with_huge_pages
from vmtop.procfs.lazy_free_figures import lazy_free_figures, said_with_lazy_free
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_budget import SMAPS_BUDGET, carry_smaps, smaps_every
from vmtop.procfs.snapshot import HUGE_MAP_REGIONS, take_snapshot

# A first sample of more regions than this shows the map (maps only, fast) before
# reading smaps (seconds, for tens of thousands of regions) on the very next sample.
QUICK_FIRST_REGIONS = 5000
# A snapshot keeps its smaps text for the region detail's fields, but not a huge one
# (44 MB at 60 000 regions, held while the next one is read: a third of vmtop's memory).
KEEP_SMAPS_TEXT_UP_TO = 8 << 20
KEEP_SMAPS_TEXT_REGIONS = HUGE_MAP_REGIONS  # past it, smaps is read in pieces
RSS_THRESHOLD = 64 * 1024  # resident change that counts as "changed" for highlights
# Against a baseline (or the mark A of a replay), moments the person chose: every
# change of a region's resident size shows, down to a page. Between two samples a
# smaller change than RSS_THRESHOLD is left out, as noise.
BASELINE_RSS_THRESHOLD = 4096
# The diff's own per-tick resident events are turned off: RssDrift reports them, summed
# since each region's last report, so slow growth shows too.
_NO_TICK_RSS_EVENTS = 1 << 62

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
    rss_estimated: bool = False  # split or merged: shared out by address (region_changes)


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
    # (regions of the smaps read before, moved, new keys): RssHistory's work, done here
    # in the worker (a pass over every region: a second at a million).
    rss_moves: tuple | None = None


# -- per-region changes -----------------------------------------------------------------


def view_changes(
    changes: dict[int, model_changes.RegionChange], rss_threshold: int = RSS_THRESHOLD
) -> dict[int, RegionChange]:
    """The diff's per-region changes as the views show them (unchanged ones left out):
    its ``changed`` is split into resident memory up, down, or reshaped (split, merged,
    permissions changed) with the same size."""
    out: dict[int, RegionChange] = {}
    for start, c in changes.items():
        status = c.status
        if status == model_changes.SAME:
            continue
        rss_delta = c.rss_delta or 0
        if status == model_changes.CHANGED:
            if rss_delta >= rss_threshold:
                status = RSS_UP
            elif rss_delta <= -rss_threshold:
                status = RSS_DOWN
            else:
                status = RESHAPED
        out[start] = RegionChange(status, c.size_delta, rss_delta, c.rss_estimated)
    return out


def changes_since_baseline(
    base: Snapshot, cur: Snapshot, remapped: Ranges = ()
) -> dict[int, RegionChange]:
    """Per region of ``cur`` that differs from the baseline ``base``: how, told apart
    from what was mapped or unmapped since over ``remapped`` (model.since_baseline)."""
    changes = since_baseline.changes_since_baseline(
        base, cur, remapped, rss_threshold=BASELINE_RSS_THRESHOLD
    )
    return view_changes(changes, BASELINE_RSS_THRESHOLD)


def region_changes(old: Snapshot, new: Snapshot) -> dict[int, RegionChange]:
    """Per region of ``new`` (keyed by start) that differs from ``old``: how."""
    changes = model_changes.region_changes(old, new, rss_threshold=RSS_THRESHOLD, changed_only=True)
    return view_changes(changes)


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
        rss_threshold: int = RSS_THRESHOLD,
    ) -> None:
        self.procfs = procfs
        self.drift = RssDrift(rss_threshold)  # resident changes for the event log
        self.pid = pid
        self.clock = clock
        self.budget = budget
        self.last: Snapshot | None = None
        self.last_smaps: Snapshot | None = None
        self.smaps_cost = 0.0  # CPU seconds the last smaps read cost (read + parse)
        # ...and what reading figures from its kept text cost after (LazyFree, huge
        # pages): on the smaps budget too, not in the header's "read in".
        self.text_cost = 0.0
        self.smaps_every = 1  # read smaps once every this many ticks
        self._ticks_since_smaps = 0
        # The columns of the last parse of maps and of smaps, by file (a huge map):
        # the next parse shares the ones that did not change instead of new copies.
        self._parsed: dict = {}
        self.start_time: int | None = None

    def plan_smaps(self, interval: float) -> None:
        """Recompute how often smaps may be read at this interval."""
        self.smaps_every = smaps_every(self.smaps_cost + self.text_cost, interval, self.budget)

    def sample(self, interval: float = 1.0) -> SampleResult:
        t0 = time.perf_counter()
        prev = self.last
        want_smaps = self.last_smaps is None or self._ticks_since_smaps + 1 >= self.smaps_every
        pending = False
        try:
            if prev is None:
                # maps only: its text is never kept, so read it in pieces (a million
                # regions: 75 MB of text and its parse never held at once)
                snap = take_snapshot(
                    self.procfs, self.pid, smaps=False, keep_text=False, parsed=self._parsed
                )
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
                    self.procfs,
                    self.pid,
                    smaps=want_smaps,
                    expected_start_time=self.start_time,
                    # A text that would not be kept is not held while it is parsed either.
                    keep_text=len(prev.regions) <= KEEP_SMAPS_TEXT_REGIONS,
                    parsed=self._parsed,
                )
        except (ProcessGone, NoSuchProcess, ZombieProcess) as e:
            return self._gone(prev, e, t0)
        except ProcError as e:
            # The first sample failing is an error to show; later, the process most
            # likely changed under us (exec of a setuid program: NoLongerReadable, with
            # an exec event when its name tells): stop and say why.
            execed = None
            if isinstance(e, NoLongerReadable) and prev is not None:
                execed = unreadable_exec_event(prev, e.comm, e.why, self.clock())
            return SampleResult(
                None,
                prev,
                (execed,) if execed is not None else (),
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
        before_smaps = self.last_smaps
        if smaps_read:
            # CPU, not wall time: smaps is parsed on one thread while another reads it.
            self.smaps_cost = max(snap.read_seconds + snap.parse_seconds, snap.cpu_seconds)
            self.last_smaps = snap
            self._ticks_since_smaps = 0
        else:
            self._ticks_since_smaps += 1
            if self.last_smaps is not None:
                snap = carry_smaps(snap, self.last_smaps)
        self.plan_smaps(interval)
        if self.start_time is None:
            self.start_time = snap.info.start_time or None
        # A running thread's stack stays its own (no stack pointer to read), and one
        # glibc kept for reuse after its thread exited stays a thread stack.
        live = self.procfs.task_ids(self.pid) if prev is not None else ()
        snap = keep_thread_stacks(prev, snap, live)
        events: tuple = ()
        changes: dict = {}
        unmapped: tuple = ()
        if prev is not None and prev.regions == snap.regions:
            # The same region objects (carried): the map did not change, nothing to
            # diff; the process may have been stopped or continued all the same.
            stopped_or_continued = state_event(prev, snap)
            if stopped_or_continued is not None:
                events = (stopped_or_continued,)
        elif prev is not None:
            changes = region_changes(prev, snap)
            unmapped = tuple(model_changes.unmapped_ranges(prev, snap))
            events = tuple(diff.diff_snapshots(prev, snap, rss_threshold=_NO_TICK_RSS_EVENTS))
        if any(e.event == ev.EXEC for e in events):
            self.drift = RssDrift(self.drift.threshold)  # another program's regions
        if smaps_read and (prev is None or snap.info.start_time == prev.info.start_time):
            t_text = time.perf_counter()
            # Memory freed with MADV_FREE by smaps' LazyFree, from the text kept.
            lazy_free = lazy_free_figures(snap)
            events += tuple(self.drift.update(snap, diff.told_resident(events), lazy_free))
            # A rise that came as transparent huge pages is said so (from the texts kept),
            # and a fall of pages freed with MADV_FREE.
            events = tuple(said_with_huge_pages(events, before_smaps, snap))
            events = tuple(said_with_lazy_free(events, before_smaps, snap))
            # What the kept text cost to read figures from is a cost of reading smaps
            # (thousands of regions freed with MADV_FREE: milliseconds): on its budget.
            self.text_cost = time.perf_counter() - t_text
            self.plan_smaps(interval)
        self.last = snap
        rss_moves = None
        if smaps_read and before_smaps is not None and before_smaps.regions is not snap.regions:
            rss_moves = (before_smaps.regions, *_rss_moves(before_smaps.regions, snap.regions))
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
            rss_moves=rss_moves,
        )

    def _gone(self, prev: Snapshot | None, error: ProcError, t0: float) -> SampleResult:
        cost = time.perf_counter() - t0
        if prev is None:
            return SampleResult(None, None, (), {}, (), error=error, cost_seconds=cost)
        now = self.clock()
        reused = isinstance(error, PidReused)
        if not reused:
            event = exited_event(prev, now)
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


# -- what is kept over time, bounded -----------------------------------------------------

HISTORY_POINTS = 600  # samples of history kept (process and per region)
# Regions whose resident size history is kept (the ones that changed most recently);
# every other region's history is its current size, flat.
MAX_REGION_HISTORIES = 4096
MAX_EVENTS = 5000  # events kept for the log; older ones are counted, not kept


def region_history_key(region: Region) -> tuple:
    """What a region's RSS history is filed under: its start and identity (for the
    stack, its end: its start moves down as it grows)."""
    anchor = region.end if region.kind == "stack" else region.start
    return (anchor, region.dev, region.inode, region.path)


class RssHistory:
    """Each region's resident size over the samples, bounded whatever the region count
    and however long the watch: ``max_points`` samples, and a history only for the
    ``max_regions`` regions whose resident size changed most recently (a region whose
    size never changed is flat, and costs nothing; at a million regions, one list per
    region would cost hundreds of MB). Not thread-safe: the UI thread records."""

    def __init__(
        self, max_points: int = HISTORY_POINTS, max_regions: int = MAX_REGION_HISTORIES
    ) -> None:
        self.max_points = max_points
        self.max_regions = max_regions
        self.sample_times: deque[float] = deque(maxlen=max_points)
        self.changed: OrderedDict[tuple, deque[tuple[float, int]]] = OrderedDict()
        self.first_seen: OrderedDict[tuple, float] = OrderedDict()  # regions that came later
        self.dropped = 0  # histories forgotten to stay within max_regions
        # The last change of the most recently forgotten history: every region without
        # a history has not changed since (the histories go least recently changed
        # first), so its flat line is drawn from then on only, not over the whole time.
        self.forgotten_until = float("-inf")
        self._last: tuple | None = None  # the regions of the last smaps read
        self._last_time = 0.0

    def record(self, snap: Snapshot, smaps_read: bool, moves: tuple | None = None) -> None:
        """Add a sample. ``moves``: SampleResult.rss_moves, worked out in the sampling
        worker against the smaps read before (used when that is the one recorded last)."""
        t = snap.taken_at
        self.sample_times.append(t)
        if not smaps_read or snap.regions is self._last:
            return  # maps-only tick: resident figures are carried, nothing new
        last, self._last = self._last, snap.regions
        previous_time, self._last_time = self._last_time, t
        if last is None:
            return
        changed = self.changed
        first_seen = self.first_seen
        if moves is not None and moves[0] is last:
            moved, new_keys = moves[1], moves[2]
        else:
            moved, new_keys = _rss_moves(last, snap.regions)
        for key in new_keys:
            first_seen[key] = t
        for key, old, rss in moved:
            points = changed.pop(key, None)
            if points is None:
                points = deque([(previous_time, old)], maxlen=self.max_points)
            points.append((t, rss))
            changed[key] = points  # most recently changed last
        regions = snap.regions
        starts = starts_of(regions)
        for store in (changed, first_seen):
            for key in [k for k in store if not _still_there(regions, k, starts)]:
                del store[key]
        while len(changed) > self.max_regions:
            _, forgotten = changed.popitem(last=False)
            self.forgotten_until = max(self.forgotten_until, forgotten[-1][0])
            self.dropped += 1
        while len(first_seen) > self.max_regions:
            first_seen.popitem(last=False)

    def points(self, region: Region) -> list[tuple[float, int]]:
        """The region's resident size at every kept sample since it was first seen."""
        if region.rss is None:
            return []
        key = region_history_key(region)
        points = self.changed.get(key)
        since = self.first_seen.get(key, float("-inf"))
        if not points:
            since = max(since, self.forgotten_until)
            return [(t, region.rss) for t in self.sample_times if t >= since]
        out = []
        i = 0
        value = points[0][1]  # what it was before its first kept change
        for t in self.sample_times:
            if t < since:
                continue
            while i < len(points) and points[i][0] <= t:
                value = points[i][1]
                i += 1
            out.append((t, value))
        return out

    def kept(self) -> int:
        """How many points are held, all regions together."""
        return sum(map(len, self.changed.values())) + len(self.first_seen)


def _rss_moves(last, regions) -> tuple[list, list]:
    if isinstance(last, RegionColumns) and isinstance(regions, RegionColumns):
        return _rss_moves_in_columns(last, regions)
    return _rss_moves_by_walk(last, regions)


def _rss_moves_in_columns(last: RegionColumns, regions: RegionColumns) -> tuple[list, list]:
    """_rss_moves for columns. Where every region is the same mapping as the one at the
    same index (the usual tick: two memcmps), the resident sizes are compared in C and
    only the regions that moved become Regions; a changed map is walked."""
    rows = matching_rows(regions, last, *key_pair(regions, last, whole=False))
    if rows is not None or regions.figures is None or last.figures is None:
        return _rss_moves_by_walk(last, regions)
    new_rss, old_rss = regions.figures[0], last.figures[0]
    moved: list = []
    for k in where_pair(ne, new_rss, old_rss, len(regions)):
        now, was = new_rss[k], old_rss[k]
        if now < 0:  # no figure now (None)
            continue
        if was >= 0:  # (a figure that was None: nothing to compare, as in the walk)
            moved.append((region_history_key(regions[k]), was, now))
    return moved, []


def _rss_moves_by_walk(last, regions) -> tuple[list, list]:
    """Between two snapshots (each in address order): (key, before, now) of each region
    whose resident size moved, and the keys of regions that were not there before.

    A walk of both by start: a region at the same start with the same key is compared
    in place, and no key is made for it unless its size moved, so an unchanged map of
    a million regions costs one pass and no allocation per region. Regions left over
    (the stack, whose start moves; anything mapped or unmapped) are matched by key."""
    moved: list = []
    old_left: list = []
    new_left: list = []
    i = 0
    n = len(last)
    for r in regions:
        start = r[0]
        while i < n and last[i][0] < start:
            old_left.append(last[i])
            i += 1
        if i < n and last[i][0] == start:
            o = last[i]
            i += 1
            if o is r or (o.rss == r.rss and o[1:7] == r[1:7]):
                continue
            key = region_history_key(r)
            if key == region_history_key(o):
                if o.rss is not None and r.rss is not None and o.rss != r.rss:
                    moved.append((key, o.rss, r.rss))
                continue
            old_left.append(o)
        new_left.append(r)
    old_left.extend(last[i:])
    if not new_left:
        return moved, []
    before = {region_history_key(o): o.rss for o in old_left if o.rss is not None}
    new_keys = []
    for r in new_left:
        if r.rss is None:
            continue
        key = region_history_key(r)
        old = before.get(key)
        if old is None:
            new_keys.append(key)
        elif old != r.rss:
            moved.append((key, old, r.rss))
    return moved, new_keys


def _still_there(regions, key: tuple, starts=None) -> bool:
    """Is a region with this history key in ``regions`` (in address order)?"""
    anchor = key[0]
    if starts is None:
        starts = starts_of(regions)
    i = bisect_right(starts, anchor) - 1
    for j in (i - 1, i, i + 1):  # starts there; or, for the stack, ends there
        if 0 <= j < len(regions) and region_history_key(regions[j]) == key:
            return True
    return False


_START = itemgetter(0)


def keep_recent_events(events: list, new, limit: int = MAX_EVENTS) -> int:
    """Add ``new`` events to ``events`` (oldest first, in time order) and drop the
    oldest beyond ``limit``, in place; how many were dropped."""
    if not new:
        return 0
    events.extend(new)
    events.sort(key=_event_time)  # narration and diff events interleave
    over = len(events) - limit
    if over > 0:
        del events[:over]
        return over
    return 0


def _event_time(e) -> float:
    return e.time
