"""One change repeated sample after sample, folded into one line of the event log.

A heap that grows every second gave the log two lines a second (``heap_grew`` and the
``rss_changed`` of its new pages): in half a minute everything else had scrolled out of
sight, and the log said thirty times what one line says ("+14 MiB ×30"). So an event
that goes on where a recent line left off (the same change of the same region, the same
way) joins that line, which then stands for the run: its count, its first event, and
its range and change summed. Only changes of a region that lives on are folded; a
mapping, an unmapping, a split, a whole-process event is a line of its own each time.

A run ends where something else happened to its region: a heap that grew and then shrank
is two lines (grown, shrunk) and a third when it grows again, not "+13M ×13" for a heap
that never held more than 1 MiB; a mapping unmapped, mapped anew at the same address,
split or merged ends the runs about it; an exec or a PID reused ends them all.

What folds is a function of the events alone, in time order, not of how they arrived:
the log of a replay, rebuilt from the recording at each jump, reads as the live one did.
``vmtop watch`` and recordings keep every event.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from typing import NamedTuple

from vmtop.model import events as ev
from vmtop.model.events import WHOLE_PROCESS, Event

# A region's extent growing or shrinking: each event's range is the piece that came or
# went, so a run's pieces touch (the heap's end moving up, sample after sample).
PIECES = frozenset((ev.HEAP_GREW, ev.HEAP_SHRANK, ev.STACK_GREW, ev.STACK_SHRANK))
# A figure of a region changing: each event's range is the whole region, which keeps
# its start (or, for a stack growing down, its end) while it grows.
FIGURES = frozenset((ev.RSS_CHANGED, ev.SWAP_CHANGED, ev.SHARED_CHANGED, ev.LAZYFREE_CHANGED))
FOLDABLE = PIECES | FIGURES
# How many of the newest lines an event may join. A sample of a busy process has a few
# events; a line further down than this is not "what is going on now".
REACH = 6


# A region's extent growing, and the change that undoes it: one ends the other's run.
INVERSE = {
    ev.HEAP_GREW: ev.HEAP_SHRANK,
    ev.HEAP_SHRANK: ev.HEAP_GREW,
    ev.STACK_GREW: ev.STACK_SHRANK,
    ev.STACK_SHRANK: ev.STACK_GREW,
}
# Another program's map, or another process's: nothing goes on from before them.
ENDS_ALL = frozenset((ev.EXEC, ev.EXITED, ev.PID_REUSED))


class EventRun(NamedTuple):
    """One line of the log: ``count`` events from ``first`` on, shown as ``event``."""

    event: Event  # the last one's words and figures, the run's range and summed change
    first: Event
    count: int = 1
    ended: bool = False  # something else happened to its region since: joins no more


def single(e: Event) -> EventRun:
    return EventRun(e, e, 1)


def same_subject(run: Event, e: Event) -> bool:
    """Whether ``e`` is the same kind of change of the region ``run`` is about."""
    if e.event != run.event or e.event not in FOLDABLE:
        return False
    if (e.kind, e.path, e.tid, e.object) != (run.kind, run.path, run.tid, run.object):
        return False
    if e.event in PIECES:
        return e.start <= run.end and e.end >= run.start
    return e.start == run.start or e.end == run.end


def ends(run: Event, e: Event) -> bool:
    """Whether ``e`` ends the run ``run`` shows: it happened to that region otherwise (a
    mapping, an unmapping, a split, the heap shrinking after it grew) or to the whole
    process (an exec)."""
    if e.event in ENDS_ALL:
        return True
    if e.event in WHOLE_PROCESS or e.end <= run.start or e.start >= run.end:
        return False
    return e.event not in FOLDABLE or INVERSE.get(run.event) == e.event


def continues(run: Event, e: Event) -> bool:
    """Whether ``e`` goes on with the change ``run`` shows: the same change of the same
    region, the same way (up then down is two lines: the sum would hide both)."""
    return same_subject(run, e) and bool(e.delta) and (e.delta > 0) == (run.delta > 0)


def joined(run: EventRun, e: Event) -> EventRun:
    shown = run.event
    grown = shown.event in PIECES
    start, end = min(shown.start, e.start), max(shown.end, e.end)
    delta = shown.delta + e.delta
    return EventRun(
        # A piece's size is the piece; a figure's, the bytes that moved.
        e._replace(start=start, end=end, delta=delta, size=end - start if grown else abs(delta)),
        run.first,
        run.count + 1,
    )


def add_events(runs: list[EventRun], new: Iterable[Event], limit: int) -> int:
    """Add ``new`` events to ``runs`` (oldest first, in time order; of one time, the most
    bytes last), folding each into a
    recent run it continues, and drop the oldest runs beyond ``limit``, in place; how
    many events the dropped runs held."""
    for e in sorted(new, key=_time_then_bytes):
        reach = min(REACH, len(runs))
        for back in range(1, reach + 1):
            if not runs[-back].ended and ends(runs[-back].event, e):
                runs[-back] = runs[-back]._replace(ended=True)
        run = None
        for back in range(1, reach + 1):
            if same_subject(runs[-back].event, e):
                # The newest line about it: it goes on with it, or that run is over. (A
                # line further down never comes back within reach: lines only sink.)
                if not runs[-back].ended and continues(runs[-back].event, e):
                    run = runs.pop(-back)
                break
        _insert(runs, single(e) if run is None else joined(run, e))
    over = len(runs) - limit
    if over <= 0:
        return 0
    dropped = sum(run.count for run in runs[:over])
    del runs[:over]
    return dropped


def _insert(runs: list[EventRun], run: EventRun) -> None:
    if not runs or runs[-1].event.time <= run.event.time:
        runs.append(run)
    else:  # narration read before the sample it came with
        insort(runs, run, key=_run_time)


def _time_then_bytes(e: Event) -> tuple[float, int]:
    """In time order; of one sample, the most bytes last, so on the log's top line: in
    address order 197 MiB of shared buffers came 24th, under a library's 64 KiB."""
    return e.time, abs(e.delta)


def _run_time(run: EventRun) -> float:
    return run.event.time
