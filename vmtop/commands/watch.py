"""`vmtop watch PID`: one line per change to a process's memory map, as it happens.

Of one sample, regions mapped (or unmapped) alike are one line ("mapped +424.0 MiB in
1 696 regions", the pages of V8's heap: vmtop.model.event_runs.sample_lines), and so are
regions whose figure moved alike ("rss_changed RSS +75.0 MiB in 300 regions", as those
pages fill); so are the libraries a dlopen loaded ("dlopen of llvmjit.so with the 6
libraries it needs", their files' DT_NEEDED read here: vmtop.procfs.needed_libraries)
and regions given other permissions alike; with --json every event is a line of its own,
for scripts.

A snapshot every interval, each diffed with the one before (vmtop.model.diff). Stops
after --count snapshots, on Ctrl-C, or when the process exits (printing ``exited``);
all three exit with status 0. A process that cannot be read at the start is a ProcError
(exit 1, by the CLI), and so is one that may no longer be read while it still runs (an
exec of a setuid program: its ``exec`` event first, when its name changed). A snapshot is never compared with one of another process: the
start time of the PID is checked on every read.

What watching costs the watched process is kept small: smaps (a page-table walk the
target's mmap waits on) is read on a budget (SmapsReads), maps in between, and each
maps read parses and classifies only the lines that changed since the last one
(MapsTicks); when even that costs more than its share of a core, maps is read every
few ticks (MapsPlan). Both plans are said on stderr.

A huge map (past WATCH_PIECES_FROM regions) is read as the TUI reads one: smaps and maps
a piece at a time into columns, the text never held and no Region made per region, the
columns that did not change shared with the last read's. At a million regions that is a
few hundred MB, where holding smaps's text and a Region a region would be gigabytes.
"""

from __future__ import annotations

import json
import os
import select
import stat
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from vmtop.commands.plan_notice import PlanNotice
from vmtop.model import event_runs, kinds
from vmtop.model import events as ev
from vmtop.model.diff import (
    DEFAULT_RSS_THRESHOLD,
    diff_snapshots,
    resident_since_mapped,
    told_resident,
)
from vmtop.model.events import Event
from vmtop.model.hugetlb_events import HUGETLB_WORDS
from vmtop.model.memory_files import shown_name
from vmtop.model.names import display_name
from vmtop.model.object_loads import Needs
from vmtop.model.process_events import exited_event, unreadable_exec_event
from vmtop.model.region import Snapshot
from vmtop.model.stack_owners import keep_thread_stacks
from vmtop.procfs.errors import (
    NoLongerReadable,
    NoSuchProcess,
    PidReused,
    ProcError,
    ProcessGone,
    ZombieProcess,
)
from vmtop.procfs.huge_page_figures import said_with_huge_pages
from vmtop.procfs.lazy_free_figures import said_with_lazy_free
from vmtop.procfs.maps_ticks import MapsTicks
from vmtop.procfs.needed_libraries import NeededLibraries
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_budget import SMAPS_BUDGET, carry_smaps, smaps_every
from vmtop.procfs.snapshot import take_snapshot
from vmtop.procfs.vm_flag_changes import said_with_vm_flags

# The process is gone (or its PID is someone else's now): the end of the watch.
_GONE = (NoSuchProcess, ProcessGone, ZombieProcess)


# At most this share of one CPU's time spent reading maps between smaps reads (smaps
# has its own, SMAPS_BUDGET): at 60 000 regions a read costs ~45 ms, every tick at 1 s.
MAPS_BUDGET = 0.10

# Past this many regions the map is read in pieces into columns (the module docstring).
# Later than the TUI (HUGE_MAP_REGIONS): below it, MapsTicks's parse of the changed maps
# lines costs the target less than a whole parse of maps each tick (at 60 000 regions,
# mmap+munmap at 0.93x its rate alone against 0.91x, and watch at 15 % of a core
# against 22 %), and the smaps text held while it is parsed is under 70 MB.
WATCH_PIECES_FROM = 100_000

WATCH_FORMAT = "vmtop-watch"
WATCH_FORMAT_VERSION = 1


def cmd_watch(procfs: ProcFS, args) -> int:
    out = sys.stdout
    as_json = getattr(args, "json", False)
    write = _json_lines if as_json else _human_lines
    # Which of the libraries loaded together needs which, for the text's line of them.
    needed = None if as_json else NeededLibraries(procfs)
    threshold = getattr(args, "threshold", None) or DEFAULT_RSS_THRESHOLD
    interval = float(getattr(args, "interval", None) or 1.0)
    count = getattr(args, "count", None)
    parsed: dict = {}  # a huge map's last parses (see read_regions_in_pieces)
    prev = _first_snapshot(procfs, args.pid, parsed)  # a ProcError: the CLI's exit 1
    budget = SmapsReads(interval)
    prev = budget.read(prev)
    if as_json:
        _json_header(prev, interval, threshold, budget, out)
    # On stderr, so that stdout holds events only (one JSON object per line with --json).
    huge = (
        f"; a huge map ({len(prev.regions)} regions): read in pieces, its text not held"
        if _is_huge(prev)
        else ""
    )
    print(
        f"vmtop: watching PID {prev.info.pid} ({display_name(prev.info.comm)}) every "
        f"{interval:g} s; {budget.describe()}{huge}; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    reader_gone = reader_left(out)
    try:
        for cur in _snapshots(procfs, prev, interval, count, budget, parsed):
            if isinstance(cur, Event):
                write([cur], out)  # the last: exited (or exec'd a program vmtop may not read)
                continue
            events = _events(prev, cur, budget, threshold)
            if needed is None:
                write(events, out)
            else:
                _human_lines(events, out, needed.of_loads(cur.info.pid, events, prev, cur))
            prev = cur
            if reader_gone():
                return 0  # (`watch PID | head -1` of a quiet process: nothing to write)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0  # the reader (`| head`) left
    return 0


def _first_snapshot(procfs: ProcFS, pid: int, parsed: dict) -> Snapshot:
    """The first snapshot, read as the map's size asks: a look at maps first, in pieces
    and not classified (a few ms, or a second at a million regions), says whether it is
    huge. What is wrong with a process that cannot be read is said by the read itself."""
    try:
        peek = take_snapshot(procfs, pid, smaps=False, classify=False, keep_text=False)
    except ProcError:  # (a malformed line: the pieces' parse is not the one that says so)
        return take_snapshot(procfs, pid)
    return _take(procfs, pid, True, peek.info.start_time or None, peek, parsed)


def _is_huge(snap: Snapshot) -> bool:
    return len(snap.regions) > WATCH_PIECES_FROM


def _take(
    procfs: ProcFS, pid: int, smaps: bool, start_time: int | None, last: Snapshot, parsed: dict
) -> Snapshot:
    """take_snapshot, a huge map (as big as ``last``'s) read a piece at a time."""
    if not _is_huge(last):
        parsed.clear()  # (a map that was huge and shrank: its columns are not needed)
        return take_snapshot(procfs, pid, smaps=smaps, expected_start_time=start_time)
    return take_snapshot(
        procfs, pid, smaps=smaps, expected_start_time=start_time, keep_text=False, parsed=parsed
    )


# A small map's smaps text is kept (the last two reads'): a region's resident rise is
# told by its huge pages (procfs.huge_page_figures), and its memory freed with MADV_FREE
# by LazyFree (procfs.lazy_free_figures), which the parser does not keep.
WATCH_KEEPS_TEXT_UP_TO = 1 << 20


class SmapsReads:
    """When to read smaps (smaps_budget): every tick while one read costs less than
    ``SMAPS_BUDGET`` of the interval, else every ``every`` ticks, with the figures of
    the last read carried in between. Says so on stderr when the plan changes."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.every = 1
        self.cost = 0.0
        self.since = 0
        self.last: Snapshot | None = None  # the last smaps read
        self.fresh = False  # the last snapshot read smaps
        self.fresh_after: Snapshot | None = None  # the smaps read before that one

    def due(self) -> bool:
        return self.last is None or self.since + 1 >= self.every

    def read(self, snap: Snapshot) -> Snapshot:
        """Note a new snapshot; one read without smaps comes back with the figures of
        the last smaps read carried over."""
        self.fresh = snap.has_smaps
        if snap.has_smaps:
            if snap.raw_smaps is not None and len(snap.raw_smaps) > WATCH_KEEPS_TEXT_UP_TO:
                snap = snap.compact()  # not kept: 45 MB at 60 000 regions
            self.fresh_after = self.last
            self.cost = max(snap.read_seconds + snap.parse_seconds, snap.cpu_seconds)
            self.last = snap
            self.since = 0
            self.every = smaps_every(self.cost, self.interval)
            return snap
        self.since += 1
        if self.last is None:
            return snap
        return carry_smaps(snap, self.last)

    def carried(self) -> None:
        """Note a read without smaps that came with the last read's figures already
        carried (MapsTicks): what ``read`` does for one, but the carrying."""
        self.fresh = False
        self.since += 1

    def skipped(self) -> None:
        """Note a tick with no read at all (MapsPlan): smaps stays due on time."""
        self.since += 1

    def describe(self) -> str:
        ms = self.cost * 1000
        if self.every <= 1:
            return f"smaps every read ({ms:.0f} ms a read)"
        return (
            f"smaps every {self.every} reads, maps in between ({ms:.0f} ms a read of smaps; "
            f"at most {SMAPS_BUDGET:.0%} of a core)"
        )


class MapsPlan:
    """When to read maps between smaps reads: every tick while a read costs less than
    ``MAPS_BUDGET`` of the interval in CPU (the kernel's printing of the text included,
    which the target's mmap waits on), else every ``every`` ticks. The cost is the
    median of the last few maps reads: the first ones are parsed whole, and the first
    after an smaps read carries every region's figures anew. Says so on stderr when
    the plan changes."""

    KEEP = 5

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.every = 1
        self.costs: list[float] = []
        self.waited = 0

    def skip(self) -> bool:
        """Whether this tick reads nothing (counts the ticks)."""
        self.waited += 1
        if self.waited < self.every:
            return True
        self.waited = 0
        return False

    def note(self, cost: float) -> None:
        self.costs = [*self.costs[1 - self.KEEP :], cost]
        if len(self.costs) >= 3:  # the first reads are whole ones: no plan on them alone
            self.every = smaps_every(statistics.median(self.costs), self.interval, MAPS_BUDGET)

    def describe(self) -> str:
        ms = statistics.median(self.costs) * 1000 if self.costs else 0.0
        return (
            f"maps every {self.every} intervals in between ({ms:.0f} ms a read of maps; "
            f"at most {MAPS_BUDGET:.0%} of a core)"
        )


def _events(prev: Snapshot, cur: Snapshot, budget: SmapsReads, threshold: int) -> list[Event]:
    """What changed from ``prev`` to ``cur``. Between smaps reads a region that changed
    has no resident figures, so resident changes are taken from one smaps read to the
    next; the rest from one snapshot to the next."""
    events = diff_snapshots(prev, cur, rss_threshold=threshold)
    if budget.fresh and budget.fresh_after is prev:
        # smaps read on both: one diff says all (a rise in huge pages said so)
        return _said_from_texts(events, prev, cur)
    events = [e for e in events if e.event != ev.RSS_CHANGED]
    if budget.fresh and budget.fresh_after is not None:
        rss = diff_snapshots(budget.fresh_after, cur, rss_threshold=threshold)
        events.extend(e for e in rss if e.event == ev.RSS_CHANGED)
        # Regions mapped on a tick that read maps only came without their resident
        # size: this read gives it (those mapped on this tick said it themselves).
        told = told_resident(events)
        for e in rss:
            if e.start in told or e.rss is None or e.rss < threshold or e.delta <= 0:
                continue
            events.append(resident_since_mapped(e))
        return _said_from_texts(events, budget.fresh_after, cur)
    return events


def _said_from_texts(events: list[Event], before: Snapshot, now: Snapshot) -> list[Event]:
    """The events told by figures read from the two smaps texts: huge pages, LazyFree,
    the VmFlags of lines split or merged with the same permissions."""
    told = said_with_lazy_free(said_with_huge_pages(events, before, now), before, now)
    return said_with_vm_flags(told, before, now)


def reader_left(out) -> Callable[[], bool]:
    """Whether the reader of ``out`` has gone, asked each tick: a pipe's closed far end
    shows as an error on ours (poll), so `vmtop watch PID | head -1` ends with head
    even where no event comes to be written (as `tail -f` does). Never, for a file or a
    terminal."""
    try:
        fd = out.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return lambda: False
    except (AttributeError, OSError, ValueError):
        return lambda: False
    poller = select.poll()
    poller.register(fd, 0)  # (POLLERR and POLLHUP are always reported)

    def gone() -> bool:
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))

    return gone


def _json_header(
    first: Snapshot, interval: float, threshold: int, budget: SmapsReads, out: TextIO
) -> None:
    header = {
        "format": WATCH_FORMAT,
        "format_version": WATCH_FORMAT_VERSION,
        "pid": first.info.pid,
        "start_time": first.info.start_time,
        "command": first.info.command,
        "interval": interval,
        "threshold": threshold,
        "smaps_every": budget.every,
        "smaps_budget": SMAPS_BUDGET,
    }
    out.write(json.dumps(header, ensure_ascii=True) + "\n")
    out.flush()


def _snapshots(
    procfs: ProcFS,
    first: Snapshot,
    interval: float,
    count: int | None,
    budget: SmapsReads,
    parsed: dict,
):
    """Snapshots after ``first`` every ``interval`` seconds; an exited event (and the
    end) when the process is gone. A process that still runs but may no longer be read
    (it exec'd a setuid program) gives its exec event when its name tells, then raises
    NoLongerReadable: the CLI says so and exits 1. ``count`` counts ``first`` too."""
    taken = 1
    next_at = time.monotonic() + interval
    maps = MapsTicks(procfs, first.info.pid, first.info.start_time)
    plan = MapsPlan(interval)
    # Said when news that holds (a cost at the budget's edge flips the plans).
    smaps_notice, maps_notice = PlanNotice(budget.every), PlanNotice(plan.every)
    last = first
    while count is None or taken < count:
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        # A slow read (a huge smaps) pushes the schedule back rather than piling up.
        next_at = max(next_at + interval, time.monotonic())
        if not budget.due() and plan.skip():
            budget.skipped()  # maps costs too much to read every tick
            continue
        try:
            cur = None
            if not budget.due() and not _is_huge(last):
                # Between smaps reads: maps, parsed and classified where it changed.
                cur = maps.take(budget.last)
                if cur is not None:
                    cur = keep_thread_stacks(last, cur, procfs.task_ids(last.info.pid))
                    budget.carried()
                    plan.note(cur.cpu_seconds)
            if cur is None:
                pid, start_time = first.info.pid, first.info.start_time or None
                cur = _take(procfs, pid, budget.due(), start_time, last, parsed)
                if not cur.has_smaps:  # a huge map's maps, read whole (in pieces)
                    plan.note(cur.cpu_seconds)
                # A running thread's stack stays its own, one glibc kept for reuse stays a
                # thread stack (before the budget keeps the read: the next ones are
                # compared with it as given out).
                cur = budget.read(keep_thread_stacks(last, cur, procfs.task_ids(pid)))
        except PidReused:
            gone = exited_event(last, time.time())
            yield gone._replace(detail=gone.detail + "; its PID now belongs to another process")
            return
        except _GONE:
            yield exited_event(last, time.time())
            return
        except NoLongerReadable as e:
            execed = unreadable_exec_event(last, e.comm, e.why, time.time())
            if execed is not None:
                yield execed
            raise
        except ProcError:
            raise
        now = time.monotonic()
        if smaps_notice.news(budget.every, now):
            print(f"vmtop: now {budget.describe()}", file=sys.stderr, flush=True)
        if maps_notice.news(plan.every, now):
            print(f"vmtop: now {plan.describe()}", file=sys.stderr, flush=True)
        taken += 1
        last = cur
        yield cur


# -- output -------------------------------------------------------------------------------


def _hex(value: int) -> str:
    return f"0x{value:x}"


def event_record(event: Event) -> dict:
    """An event as the JSON object `watch --json` prints (addresses as 0x… strings).
    An event about the whole process has no range, kind or path: left out, not 0x0."""
    record = {"time": round(event.time, 6), "event": event.event}
    if event.event not in ev.WHOLE_PROCESS:
        record.update(start=_hex(event.start), end=_hex(event.end))
    record.update(size=event.size, delta=event.delta)
    if event.event not in ev.WHOLE_PROCESS or event.kind:
        record["kind"] = event.kind
    if event.event not in ev.WHOLE_PROCESS or event.path:
        record["path"] = event.path
    if event.tid is not None:
        record["tid"] = event.tid
    if event.detail:
        record["detail"] = event.detail
    if event.rss is not None:
        record["rss"] = event.rss  # a whole region's resident bytes, come or gone with it
    if event.object:
        record["object"] = event.object
    return record


def _json_lines(events: list[Event], out: TextIO) -> None:
    """Every event a line: scripts sum and filter them themselves."""
    for event in events:
        # ensure_ascii keeps surrogate-escaped bytes of odd names printable as \udcXX.
        out.write(json.dumps(event_record(event), ensure_ascii=True) + "\n")
        out.flush()


def format_size(n: int, *, signed: bool = False) -> str:
    """Bytes in binary units: 4.0 KiB, 1.5 MiB; with a sign when asked."""
    sign = ("+" if n >= 0 else "-") if signed else ("-" if n < 0 else "")
    value = float(abs(n))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.1f} {unit}"
        value /= 1024
    return f"{sign}{n}"


def human_line(event: Event, regions: int = 1) -> str:
    """time, event, size, range, kind, name (and what it means). ``regions``: how many
    regions of one sample alike the event stands for, its range their span."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    stamp += f".{int(event.time * 1000) % 1000:03d}"
    if event.event in ev.WHOLE_PROCESS:
        text = f"{stamp}  {event.event:<18}"
        if event.path:
            text += f"  {display_name(event.path)}"
        return text + (f"  {display_name(event.detail)}" if event.detail else "")
    if event.event == ev.RSS_CHANGED:
        # Memory in hugetlb pages is resident but in no Rss: not called RSS here.
        figure = "hugetlb " if HUGETLB_WORDS in event.detail else "RSS "
        size = figure + format_size(event.delta, signed=True)
    elif event.event == ev.SWAP_CHANGED:
        size = "swap " + format_size(event.delta, signed=True)
    elif event.event == ev.SHARED_CHANGED:
        size = "shared " + format_size(event.delta, signed=True)
    elif event.event == ev.LAZYFREE_CHANGED:
        size = "lazyfree " + format_size(event.delta, signed=True)
    elif event.event == ev.COPIED_ON_WRITE:
        size = "copies " + format_size(event.delta, signed=True)
    elif event.event == ev.FLAGS_CHANGED and event.delta:  # (mlock, munlock: its Locked)
        size = "locked " + format_size(event.delta, signed=True)
    elif event.delta:
        size = format_size(event.delta, signed=True)
    else:
        size = format_size(event.size)
    if regions > 1:
        size = f"{size:>14} in {event_runs.regions_said(regions)}"
    if event.path:  # (shared memory vmtop named: that name, its file after it)
        name = display_name(shown_name(event.path, event.kind, event.object))
    elif event.tid is not None:  # as the TUI's table names it
        name = f"[stack of thread {event.tid}]"
    elif event.object:  # a runtime's heap: "Java heap", "arena heap 2", "Oilpan heap"
        name = display_name(event.object)
    elif event.kind == kinds.THREAD_STACK:  # (kept by glibc: its thread exited)
        name = "[thread stack]"
    elif regions > 1 and not event.kind:  # alike by their words alone (mlockall)
        name = "[regions of several kinds]"
    else:
        name = "[anon]"
    # Of regions alike, the span they lie in, not one mapping (5 of V8's large objects
    # scattered over 36 TiB read as one mapping of 36 TiB).
    within = "within " if regions > 1 else ""
    text = (
        f"{stamp}  {event.event:<18} {size:>14}  {within}{event.start:#014x}-{event.end:#014x}"
        f"  {event.kind or '-':<12} {name}"
    )
    if event.detail:
        text += f"  ({display_name(event.detail)})"
    return text


def _human_lines(
    events: list[Event], out: TextIO, needs: Mapping[str, Needs] | None = None
) -> None:
    for line in human_lines(events, needs):
        out.write(line + "\n")
        out.flush()


def human_lines(events: list[Event], needs: Mapping[str, Needs] | None = None) -> list[str]:
    """A line an event, but one for the regions of a sample alike: 1 696 pages of V8's
    heap mapped in a sample were 1 696 lines, the rest of the sample lost among them.
    (What watch, ``replay --events`` and ``diff REC`` print.) ``needs``: which of the
    libraries loaded together needs which, by file, where their files were read (a
    live watch's: ``vmtop.procfs.needed_libraries``)."""
    lines = event_runs.sample_lines(events, needs)
    return [human_line(r.event, event_runs.regions(r)) for r in lines]
