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

Of one sample, many regions mapped (or unmapped) alike are one line too: V8 maps its
JavaScript heap a 256 KiB page at a time, and one growth of Node's heap was 1 696
``mapped`` lines, under which the rest of the sample scrolled away (review); Go maps its
heap an arena at a time, a program its big mallocs a block at a time. Alike: the same
event, kind, name, thread and object, for the same cause, in the same sample (a V8 page
and an unnamed anonymous mmap are two lines). The line says how many regions, their
bytes and the resident bytes that came or went with them summed, and the span they lie
in; it sorts among the sample's lines by that sum. Across samples mappings never fold.
So are regions given other permissions alike (a program that mprotects every other page
of a mapping of 1 000 pages: 500 ``protection_changed`` in one sample, one line now),
and regions given the same VmFlags (``flags_changed``: mlockall locks every region at
once), whatever their kind, file or object.
A library loaded in one sample is one line too, its regions of every kind (text, rodata,
relro, data, its .bss) together, and so is one unloaded (``object_loads``); and so are
the libraries loaded (unloaded) whole in one sample together, a dlopen's library and
those it needs: Python importing json, ssl, decimal and five more was 123 lines in one
sample, then 30 (a library each), one now; a backend's first JIT query (llvmjit.so,
libLLVM and five more) about 45, then 7, one now. Which of them was opened, and which
came because it needs them, is said where their files' DT_NEEDED was handed in
(``needs``: a live watch reads them), else they are named, "3 libraries".
Pages of one file mapped private and written in many of its regions in one sample (code
a JIT or a debugger patches, a page at a time) are one line too: their copies summed.
So are regions committed from their reserve (or released to it) alike, and a figure
that moved alike in many regions: V8's pages filling as the heap grows (293
``rss_changed`` in one sample; 324 "since it was mapped" where smaps was read every few
ticks), 500 regions shared after a fork, then copied, then freed with MADV_FREE. Their
words are theirs summed (``alike_figures``): "pages faulted in, in 300 regions: now
75.0 MiB resident". Such a line of regions whose figure moved alike goes on sample after
sample as a run does (four blocks filling a step a second were a line a second): the
same event, kind, file, thread and object, the same words, the same way, where it
overlaps the last such line; its ``samples`` are counted ("×12") beside its regions (the
last sample's), and what ends a region's run ends it; what lands between its regions
(a page mapped in the gap between two blocks filling) does not.

What folds is a function of the events alone, in time order, not of how they arrived:
the log of a replay, rebuilt from the recording at each jump, reads as the live one did.
Recordings and ``vmtop watch --json`` keep every event; ``vmtop watch``'s text folds the
regions of a sample alike (``sample_lines``), as the log does, and nothing else (a line
printed is not taken back to count a run).
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from vmtop.model import alike_figures, file_copies, kinds, object_loads
from vmtop.model import events as ev
from vmtop.model.event_words import size_text
from vmtop.model.events import WHOLE_PROCESS, Event

# A region's extent growing or shrinking: each event's range is the piece that came or
# went, so a run's pieces touch (the heap's end moving up, sample after sample).
PIECES = frozenset((ev.HEAP_GREW, ev.HEAP_SHRANK, ev.STACK_GREW, ev.STACK_SHRANK))
# A figure of a region changing: each event's range is the whole region, which keeps
# its start (or, for a stack growing down, its end) while it grows.
FIGURES = frozenset(
    (ev.RSS_CHANGED, ev.SWAP_CHANGED, ev.SHARED_CHANGED, ev.LAZYFREE_CHANGED, ev.COPIED_ON_WRITE)
)
FOLDABLE = PIECES | FIGURES
# How many of the newest lines an event may join. A sample of a busy process has a few
# events; a line further down than this is not "what is going on now".
REACH = 6
# The most ranges a line of regions alike keeps (``EventRun.ranges``); more: its span.
RANGES_KEPT = 64

# Regions of one sample mapped or unmapped alike, folded into one line (the docstring);
# and committed from their reserve or released to it: the same ranges coming or going
# as usable memory (V8 gave 124 pages of 256 KiB back to its reserve in one sample,
# the JVM commits its GC's tables a piece each).
# And given other permissions alike: a program that mprotects every other page of a
# mapping of 1 000 pages (guard pages between its blocks, a JIT's pages made read-only
# again) gave 500 lines in one sample, one of them for the split.
# And given other VmFlags alike: mlockall(MCL_CURRENT) locks every region at once, a
# loader may seal every library's; those fold by their words alone (``BY_WORDS``), of
# whatever kind, file or object (a library's text, rodata and data, each a line of two
# or one, were most of a hundred lines).
ALIKE = frozenset(
    (
        ev.MAPPED,
        ev.UNMAPPED,
        ev.RESERVE_COMMITTED,
        ev.RESERVE_RELEASED,
        ev.PROTECTION_CHANGED,
        ev.FLAGS_CHANGED,
    )
)
BY_WORDS = frozenset((ev.FLAGS_CHANGED,))
# Figures of many regions of one sample alike, folded the same way. Their words are
# summed (``alike_figures``); a file's copies are said by file (``file_copies``). Such a
# line sample after sample (the regions of one object growing alike: four threads'
# blocks filling, a line every second) is one line too, its samples counted ("×12"):
# the same figure of regions of the same kind, file, object and words, the same way,
# where the last line's span overlaps it.
ALIKE_FIGURES = frozenset(
    (ev.RSS_CHANGED, ev.SWAP_CHANGED, ev.SHARED_CHANGED, ev.LAZYFREE_CHANGED, ev.COPIED_ON_WRITE)
)
# Fewer alike than this stay lines of their own: two blocks, each with its size, say more
# than their sum; a third is where a list begins.
ALIKE_FROM = 3


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
    """One line of the log: ``count`` events from ``first`` on, shown as ``event``: the
    samples of a region's run ("×12"), the regions of one sample alike, or of a run of
    such lines every region of every sample (then ``samples`` says how many samples)."""

    event: Event  # the last one's words and figures, the run's range and summed change
    first: Event
    count: int = 1
    ended: bool = False  # something else happened to its region since: joins no more
    # How many regions of one sample alike it stands for (``count`` too, but of a run
    # of such lines: of its last sample).
    regions: int = 1
    # Of one object loaded (or unloaded) whole in the sample: its regions of every kind
    # (``object_loads``), not regions alike; of how many objects (a dlopen maps the
    # libraries the one it opens needs, in the same call).
    object_load: bool = False
    objects: int = 1
    # Of regions alike: the samples it stands for ("×12" of a line "in 300 regions"),
    # where the same figure of regions of one object moved alike sample after sample.
    samples: int = 1
    # Of regions alike whose figure moved: what they were alike in but the sample (the
    # key of ``_alike_key`` but its time), which a line of a later sample is to share to
    # go on with it.
    alike: tuple | None = None
    # Of such a line: the ranges of the regions it is about, coalesced, in address
    # order (its span is mostly not theirs: V8's pages lie terabytes apart), so that only
    # what happens to them ends it; None: its span stands for them (too many ranges to
    # keep, or the line sank below ``REACH``, where nothing ends it or joins it).
    ranges: tuple[tuple[int, int], ...] | None = None


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


def add_events(
    runs: list[EventRun],
    new: Iterable[Event],
    limit: int,
    needs: Mapping[str, object_loads.Needs] | None = None,
) -> int:
    """Add ``new`` events to ``runs`` (oldest first, in time order; of one time, the most
    bytes last), the regions of one sample mapped alike folded into one line
    (``sample_lines``), each other event (and each line of regions whose figure moved
    alike) folded into a recent run it continues, and drop the oldest runs beyond
    ``limit``, in place; how many events the dropped runs held. ``needs``: which of the
    libraries loaded together needs which, by file, where known (``object_loads``)."""
    lines = sorted(_lines_with_events(new, needs), key=lambda line: _time_then_bytes(line[0].event))
    for line, events in lines:
        for e in events:  # each region's own range: the span of a fold is mostly not theirs
            _end_runs_about(runs, e)
        if line.regions > 1:  # regions alike: only as a run of such lines goes on
            run = _alike_run_it_continues(runs, line)
            _insert(runs, line if run is None else joined_alike(run, line))
            continue
        e = line.event
        run = _run_it_continues(runs, e)
        _insert(runs, line if run is None else joined(run, e))
    # Lines that sank below the reach keep no ranges: nothing reads them there.
    for i in range(max(0, len(runs) - REACH - len(lines) - 1), len(runs) - REACH):
        if runs[i].ranges is not None:
            runs[i] = runs[i]._replace(ranges=None)
    over = len(runs) - limit
    if over <= 0:
        return 0
    dropped = sum(run.count for run in runs[:over])
    del runs[:over]
    return dropped


def _end_runs_about(runs: list[EventRun], e: Event) -> None:
    for back in range(1, min(REACH, len(runs)) + 1):
        run = runs[-back]
        if not run.ended and ends(run.event, e) and _about_its_regions(run, e):
            runs[-back] = run._replace(ended=True)


def _about_its_regions(run: EventRun, e: Event) -> bool:
    """Whether ``e`` touches the regions ``run`` is about, not only its span: a page
    mapped between blocks filling alike does not end their run."""
    if run.ranges is None or e.event in ENDS_ALL:
        return True
    i = bisect_right(run.ranges, (e.start, _AFTER_EVERY_END)) - 1
    return (i >= 0 and run.ranges[i][1] > e.start) or (
        i + 1 < len(run.ranges) and run.ranges[i + 1][0] < e.end
    )


_AFTER_EVERY_END = 1 << 64


def _coalesced(ranges) -> tuple[tuple[int, int], ...] | None:
    """``ranges`` sorted, those that touch or overlap made one; None past RANGES_KEPT."""
    out: list[list[int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            if len(out) == RANGES_KEPT:
                return None
            out.append([start, end])
    return tuple((start, end) for start, end in out)


def _run_it_continues(runs: list[EventRun], e: Event) -> EventRun | None:
    """The recent run ``e`` goes on with, taken out of ``runs``; None where none."""
    for back in range(1, min(REACH, len(runs)) + 1):
        if same_subject(runs[-back].event, e):
            # The newest line about it: it goes on with it, or that run is over. (A line
            # further down never comes back within reach: lines only sink. A line of
            # regions alike is of one sample: no run.)
            run = runs[-back]
            if not run.ended and run.regions == 1 and continues(run.event, e):
                return runs.pop(-back)
            return None
    return None


def _alike_run_it_continues(runs: list[EventRun], line: EventRun) -> EventRun | None:
    """The recent line of regions alike that ``line`` (regions alike too) goes on with,
    taken out of ``runs``; None where none. The newest line of regions of the same
    event, kind, file, thread and object where it overlaps: it goes on with it if they
    moved the same way, with the same words, or that run is over (up then down then up
    is three lines, as a region's own is)."""
    if line.alike is None:
        return None
    for back in range(1, min(REACH, len(runs)) + 1):
        run = runs[-back]
        if run.alike is None or run.alike[:SUBJECT] != line.alike[:SUBJECT]:
            continue
        if _overlap(run.event, line.event):
            if not run.ended and run.alike == line.alike and line.event.delta:
                return runs.pop(-back)
            return None
    return None


# What of ``_alike_key`` (but its time) says which regions a line is about: its event,
# kind, file, thread and object; the rest (the way they moved, their words) how.
SUBJECT = 5


def _overlap(a: Event, b: Event) -> bool:
    return a.start < b.end and b.start < a.end


def joined_alike(run: EventRun, line: EventRun) -> EventRun:
    """A line of regions alike joined to the run of such lines it goes on with: the
    last one's words (its regions, what they hold now), the span of them all, the
    change summed; ``regions`` the last sample's, ``count`` every event."""
    shown, e = run.event, line.event
    start, end = min(shown.start, e.start), max(shown.end, e.end)
    delta = shown.delta + e.delta
    both = None if run.ranges is None or line.ranges is None else run.ranges + line.ranges
    return line._replace(
        event=e._replace(start=start, end=end, delta=delta, size=abs(delta)),
        first=run.first,
        count=run.count + line.count,
        samples=run.samples + 1,
        ranges=None if both is None else _coalesced(both),
    )


def sample_lines(
    events: Iterable[Event], needs: Mapping[str, object_loads.Needs] | None = None
) -> list[EventRun]:
    """``events`` as lines, in their order: of one sample, ``ALIKE_FROM`` or more regions
    mapped (unmapped, committed, released, given other permissions, or whose figure
    moved) alike as one, and the regions of the objects loaded (unloaded) whole as one,
    in the place of the first of them; every other event a line of its own. What ``vmtop
    watch`` prints. ``needs``: as ``add_events``'s."""
    return [line for line, _ in _lines_with_events(events, needs)]


def regions(run: EventRun) -> int:
    """How many regions of one sample the line stands for: more than one where it folds
    regions of one sample alike (``ALIKE``, ``ALIKE_FIGURES``: of its last sample, where
    it is a run of such lines, whose samples are ``samples``); one for a run of a
    region's own over samples (its count is of samples, "×12") and for a line of its
    own."""
    return run.regions


def regions_said(n: int) -> str:
    """``1 696 regions``: by thousands, as the log counts the events it dropped."""
    return f"{n:,} regions".replace(",", " ")


def _lines_with_events(
    events: Iterable[Event], needs: Mapping[str, object_loads.Needs] | None = None
) -> list[tuple[EventRun, list[Event]]]:
    """``sample_lines``, each line with the events it stands for: theirs to end the runs
    they are about while they are added; a line keeps none of them but its first."""
    events = list(events)
    # Objects' regions loaded whole: a line for those of one sample (and way), not
    # regions alike (a library's text and its two rodata regions are not three lines of
    # one kind and two of others; a library and those it needs are not one each).
    loaded: list[list[Event]] = []
    taken: set[int] = set()
    for load in object_loads.object_loads(events):
        if not any(id(e) in taken for e in load):
            taken.update(id(e) for e in load)
            loaded.append(load)
    loads: dict[int, list[list[Event]]] = {}
    for together in object_loads.sample_loads(loaded):
        loads.update((id(e), together) for load in together for e in load)
    keys = [None if id(e) in loads else _alike_key(e) for e in events]
    alike: dict[tuple, list[Event]] = {}
    for e, key in zip(events, keys, strict=True):
        if key is not None:
            alike.setdefault(key, []).append(e)
    lines: list[tuple[EventRun, list[Event]]] = []
    said: set[int] = set()  # the loads of a sample already a line (by their first's id)
    for e, key in zip(events, keys, strict=True):
        group = alike.get(key) if key is not None else None
        together = loads.get(id(e))
        if together is not None:
            if id(together[0][0]) not in said:
                said.add(id(together[0][0]))
                lines.append((_load_run(together, needs), [e for load in together for e in load]))
        elif group is None or len(group) < ALIKE_FROM:
            lines.append((single(e), [e]))
        elif group[0] is e:
            lines.append((_alike_run(group), group))
    return lines


def _alike_key(e: Event) -> tuple | None:
    """What regions alike share; None for an event that folds no such way. A region's
    resident size (and a figure's), said in its words, is left out of them: summed."""
    if e.event == ev.COPIED_ON_WRITE:
        # Words of each region's own figures: alike by the way they moved, and by what
        # they say the Rss did.
        said = file_copies.rss_said(e.detail)
        return (e.time, e.event, e.kind, e.path, e.tid, e.object, e.delta > 0, said)
    if e.event in ALIKE_FIGURES:
        # Alike by the way they moved and by their words but for the figures in them.
        words = alike_figures.shape(e.detail)
        if words is None:
            return None
        return (e.time, e.event, e.kind, e.path, e.tid, e.object, e.delta > 0, words)
    if e.event not in ALIKE:
        return None
    if e.event in BY_WORDS:
        return (e.time, e.event, e.detail)
    cause = _cause_words(e)
    return (e.time, e.event, e.kind, _file_of(e), e.tid, e.object, e.rss is None, cause)


def _file_of(e: Event) -> str | None:
    """The file regions alike share: none for shared memory vmtop named, whose files
    are one each (a parallel query's PostgreSQL.N segments: 12 lines in a sample)."""
    return None if e.kind == kinds.SHM and e.object else e.path


def _load_run(loads: list[list[Event]], needs: Mapping[str, object_loads.Needs] | None) -> EventRun:
    """One line for the objects' regions loaded (unloaded) whole in one sample:
    ``object_loads``."""
    every = [e for load in loads for e in load]
    lowest = min(every, key=lambda e: e.start)
    event = object_loads.loads_event(loads, needs)
    return EventRun(
        event, lowest, len(every), regions=len(every), object_load=True, objects=len(loads)
    )


def _alike_run(alike: list[Event]) -> EventRun:
    """One line for regions alike: their bytes (a figure's change) and resident bytes
    summed, their span, the lowest of them as its first."""
    lowest = min(alike, key=lambda e: e.start)
    last = alike[-1]
    if last.event in ALIKE_FIGURES:
        copies = last.event == ev.COPIED_ON_WRITE
        event = last._replace(
            start=lowest.start,
            end=max(e.end for e in alike),
            size=sum(e.size for e in alike),
            delta=sum(e.delta for e in alike),
            detail=file_copies.copies_together(alike) if copies else alike_figures.together(alike),
        )
        key = _alike_key(last)
        ranges = _coalesced((e.start, e.end) for e in alike)
        return EventRun(
            event, lowest, len(alike), regions=len(alike), alike=key and key[1:], ranges=ranges
        )
    rss = None if last.rss is None else sum(e.rss or 0 for e in alike)
    # Of several files (shared memory segments), the line names their object; of
    # regions of several kinds, objects or threads (alike by their words), none.
    path = last.path if all(e.path == last.path for e in alike) else ""
    event = last._replace(
        kind=last.kind if all(e.kind == last.kind for e in alike) else "",
        object=last.object if all(e.object == last.object for e in alike) else None,
        tid=last.tid if all(e.tid == last.tid for e in alike) else None,
        path=path,
        start=lowest.start,
        end=max(e.end for e in alike),
        size=sum(e.size for e in alike),
        delta=sum(e.delta for e in alike),
        rss=rss,
        detail=_with_resident(_cause_words(last), rss, gone=last.event == ev.UNMAPPED),
    )
    return EventRun(event, lowest, len(alike), regions=len(alike))


def _resident_words(rss: int, *, gone: bool) -> str:
    # As vmtop.model.diff says a new (or gone) region's resident size in its words.
    return f"{size_text(rss)} {'was resident' if gone else 'resident'}"


def _cause_words(e: Event) -> str:
    """The event's words without the resident size that a mapped (unmapped) region's
    words end in."""
    if not e.rss:
        return e.detail
    said = _resident_words(e.rss, gone=e.event == ev.UNMAPPED)
    if e.detail == said:
        return ""
    if e.detail.endswith("; " + said):
        return e.detail[: -len(said) - 2]
    return e.detail


def _with_resident(cause: str, rss: int | None, *, gone: bool) -> str:
    if not rss:
        return cause
    said = _resident_words(rss, gone=gone)
    return f"{cause}; {said}" if cause else said


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
