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
from collections.abc import Callable, Collection, Mapping
from operator import itemgetter
from typing import NamedTuple

from vmtop.model import diff, since_baseline
from vmtop.model import events as ev
from vmtop.model import region_changes as model_changes
from vmtop.model.hugetlb_regions import counting_hugetlb
from vmtop.model.object_loads import Needs
from vmtop.model.process_events import exited_event, state_event, unreadable_exec_event
from vmtop.model.region import Snapshot
from vmtop.model.rss_drift import RssDrift
from vmtop.model.since_baseline import Ranges
from vmtop.model.stack_owners import keep_thread_stacks
from vmtop.model.vm_flag_events import flags_changed_starts
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
from vmtop.procfs.needed_libraries import NeededLibraries
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_budget import SMAPS_BUDGET, carry_smaps, smaps_every
from vmtop.procfs.snapshot import HUGE_MAP_REGIONS, take_snapshot
from vmtop.procfs.vm_flag_changes import said_with_vm_flags
from vmtop.tui.rss_history import (  # noqa: F401 - HISTORY_POINTS & co.: the screens' too
    HISTORY_POINTS,
    MAX_REGION_HISTORIES,
    RssHistory,
    region_history_key,
    rss_moves,
)

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
# split / merged / protection or VmFlags changed: same bytes, other lines or flags
RESHAPED = "reshaped"


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
    # Which of the libraries loaded together in this sample needs which, by file (their
    # DT_NEEDED, read here in the worker: vmtop.procfs.needed_libraries), for the log's
    # line of them; None where none were.
    needs: Mapping[str, Needs] | None = None


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
    changes = counting_hugetlb(changes, base, cur, BASELINE_RSS_THRESHOLD)
    return view_changes(changes, BASELINE_RSS_THRESHOLD)


def region_changes(
    old: Snapshot, new: Snapshot, *, same_map: bool = False, flags_changed: Collection[int] = ()
) -> dict[int, RegionChange]:
    """Per region of ``new`` (keyed by start) that differs from ``old``: how. Memory in
    hugetlb pages counts as resident (hugetlb_regions.counting_hugetlb), as in the bar.
    ``same_map``: the caller found the two maps equal (only hugetlb pages, or the
    VmFlags of the regions starting at ``flags_changed``, can differ)."""
    changes = (
        model_changes.with_flags_changed({}, new, flags_changed)
        if same_map
        else model_changes.region_changes(
            old, new, rss_threshold=RSS_THRESHOLD, changed_only=True, flags_changed=flags_changed
        )
    )
    return view_changes(counting_hugetlb(changes, old, new, RSS_THRESHOLD))


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
        self.needed = NeededLibraries(procfs)
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
        same_map = prev is not None and prev.regions == snap.regions
        if same_map:
            # The same region objects (carried): the map did not change, nothing to
            # diff; the process may have been stopped or continued all the same.
            stopped_or_continued = state_event(prev, snap)
            if stopped_or_continued is not None:
                events = (stopped_or_continued,)
        elif prev is not None:
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
            # A split or merge with the same permissions: which VmFlag, which call.
            events = tuple(said_with_vm_flags(events, before_smaps, snap))
            # What the kept text cost to read figures from is a cost of reading smaps
            # (thousands of regions freed with MADV_FREE: milliseconds): on its budget.
            self.text_cost = time.perf_counter() - t_text
            self.plan_smaps(interval)
        if prev is not None:
            # A region whose VmFlags alone changed (mlock, madvise of all of it: the log
            # says flags_changed, from the two smaps texts) is marked like any other.
            flagged = flags_changed_starts(events)
            if not same_map:
                changes = region_changes(prev, snap, flags_changed=flagged)
            elif flagged or prev.hugetlb != snap.hugetlb:  # (hugetlb pages: in no Rss)
                changes = region_changes(prev, snap, same_map=True, flags_changed=flagged)
        self.last = snap
        # The libraries a dlopen loaded together: which it opened, which it needed.
        needs = self.needed.of_loads(self.pid, events, prev, snap) if prev is not None else None
        moves = None
        if smaps_read and before_smaps is not None and before_smaps.regions is not snap.regions:
            moves = (before_smaps.regions, *rss_moves(before_smaps.regions, snap.regions))
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
            rss_moves=moves,
            needs=needs or None,
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

MAX_EVENTS = 5000  # events kept for the log; older ones are counted, not kept


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
