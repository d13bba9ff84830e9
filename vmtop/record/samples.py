"""What an open recording keeps per sample, in arrays, and its samples read back from
the file on demand.

The scan (``record.scan``) reads every sample line once and keeps of each only a few
numbers, in ``array``s and ``bytearray``s (``SampleIndex``): its time, the RSS the
timeline draws, how many events it has, whether the map changed with it; and, per run
of samples that can be read back on their own (a "chunk": the samples of one gzip
member, at most CHUNK_SAMPLES of them), where its lines start. A sample's totals, RSS
by kind and events are read back from its chunk when asked for (``SampleLines``), and
the last few thousand read are kept. Kept as objects for every sample, as they were,
they cost 0.8-1.5 kB a sample (66 MB for a day at 1 s); the arrays, about 30 bytes.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from sys import intern
from typing import NamedTuple

from vmtop.model.events import NOTE, Event
from vmtop.model.names import display_name
from vmtop.model.region import Totals
from vmtop.record import format as fmt
from vmtop.record.format import RecordingError
from vmtop.record.members import BAD_CHECKSUM, DELTA_LINE, KEYFRAME_LINE, Damage, LineReader

# Samples in a chunk at most: what reading one sample back decodes besides it (a file
# written before the writer started a gzip member every MEMBER_SAMPLES samples holds an
# idle stretch in one member, which is then decompressed from its start).
CHUNK_SAMPLES = 1024
# Samples read back and kept, by whole chunks: more than the replay's RSS graph shows
# (600), which it reads again at every step.
CACHE_SAMPLES = 4096
SAMPLE_LINE = b'{"type":"sample"'
# Blocks of samples whose peak's RSS by kind is kept (``SampleIndex.peak_kinds``) at most:
# a block doubles past it. More than a timeline has columns (a few hundred), so that
# each column holds a block's peak; a few hundred kB at most.
PEAK_BLOCKS = 1024

_JSON_KINDS = {list: "a JSON array", str: "a JSON string", bool: "true or false"}
_REQUIRED = object()


class SampleInfo(NamedTuple):
    time: float
    totals: tuple  # vmtop.model.region.Totals
    kinds: dict  # kind -> resident bytes
    keyframe: int  # index of the sample whose keyframe this one is rebuilt from
    events: tuple  # Event, this sample's
    # The process's memory in hugetlb pages (status' HugetlbPages), which no RSS
    # counts; None where not recorded (a file written before vmtop kept it).
    hugetlb: int | None = None
    # When the regions' resident figures (and ``kinds``, and the totals summed from
    # them) were read, where smaps was not read with this sample: the time of an
    # earlier one. None: read with it (or not at all), and in files written before.
    smaps_read_at: float | None = None


# -- a sample line's values, checked ------------------------------------------------------


def read_record(line: bytes) -> dict:
    """The line as a record object with a type, or Damage saying what it is instead."""
    try:
        record = json.loads(line)
    except ValueError:  # UnicodeDecodeError is one too
        raise Damage("not JSON") from None
    if not isinstance(record, dict):
        kind = "null" if record is None else _JSON_KINDS.get(type(record), "a number")
        raise Damage(f"{kind}, not a record object")
    if "type" not in record:
        raise Damage("a record object without a type")
    return record


# The sample line of an idle sample, as the writer writes it: what most lines of a long
# recording are. Read without JSON (a third of the time of opening an idle day).
_IDLE_SAMPLE = re.compile(
    rb'\{"type":"sample","i":(0|[1-9][0-9]{0,17}),"time":(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\}'
)


def read_line(line: bytes) -> dict:
    """read_record, the sample line of an idle sample read without JSON."""
    idle = _IDLE_SAMPLE.fullmatch(line) if len(line) < 96 else None
    if idle is None:
        return read_record(line)
    return {"type": "sample", "i": int(idle[1]), "time": float(idle[2])}


def read_field(record: dict, key: str, convert, of: str, default=_REQUIRED, *, what: str = ""):
    """``convert(record[key])``, ``default`` where the key is absent, or Damage naming
    the field and the record ("bad totals in sample 5", "no time in sample 5")."""
    name = what or key
    if key not in record:
        if default is _REQUIRED:
            raise Damage(f"no {name} in {of}")
        return default
    try:
        return convert(record[key])
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
        raise Damage(f"bad {name} in {of}") from None


def read_events(rows) -> tuple:
    return tuple(Event._make(map(_shared, fmt.row_event(row))) for row in rows)


def read_kinds(value) -> dict:
    return {intern(kind): rss for kind, rss in fmt.row_kinds(value).items()}


def _shared(value):
    """One string for every line that says it (interned): JSON gives each sample line
    its own copies. A recording's events say the same few hundred things (kinds, names,
    the words of the details) thousands of times."""
    return intern(value) if type(value) is str else value


def read_time(value) -> float:
    """A sample's time: a finite number of seconds."""
    when = float(value)
    if not math.isfinite(when):
        raise ValueError(when)
    return when


class Carried(NamedTuple):
    """What a sample line leaves out when it has not changed since the one before."""

    totals: tuple | None = None
    kinds: dict = {}  # noqa: RUF012 - never changed: replaced
    hugetlb: int | None = None


NOTHING_CARRIED = Carried()


def sample_values(record: dict, carried: Carried, of: str) -> tuple:
    """(time, totals, kinds, events, hugetlb, smaps_read_at) of a sample line, with
    what it leaves out ``carried``; Damage where one does not hold what it should."""
    totals = carried.totals
    if "totals" in record:
        totals = read_field(record, "totals", fmt.row_totals, of)
    kinds = carried.kinds
    if "kinds" in record:
        kinds = read_field(record, "kinds", read_kinds, of, what="resident bytes by kind")
    events = read_field(record, "events", read_events, of) if "events" in record else ()
    hugetlb = carried.hugetlb
    if "hugetlb" in record:
        hugetlb = read_field(record, "hugetlb", fmt.row_hugetlb_total, of)
    when = read_field(record, "time", read_time, of)
    read_at = None
    if "smaps_read_at" in record:
        read_at = read_field(record, "smaps_read_at", read_time, of, what="smaps read time")
    return when, totals, kinds, events, hugetlb, read_at


_TOTALS = len(fmt.TOTALS_FIELDS)
_EVENT = len(fmt.EVENT_FIELDS)


def read_back_values(record: dict, carried: Carried) -> tuple:
    """sample_values of a line the scan checked: its values are not checked again
    (that took two thirds of reading a busy recording back). Fields a later vmtop
    added are left out, as there."""
    totals = record.get("totals")
    totals = carried.totals if totals is None else Totals(*totals[:_TOTALS])
    kinds = record.get("kinds")
    kinds = carried.kinds if kinds is None else {intern(k): v for k, v in kinds.items()}
    events = record.get("events")
    if events:
        events = tuple(Event(*map(_shared, row[:_EVENT])) for row in events)
    hugetlb = record["hugetlb"] if "hugetlb" in record else carried.hugetlb
    read_at = record.get("smaps_read_at")
    return (
        float(record["time"]),
        totals,
        kinds,
        events or (),
        hugetlb,
        None if read_at is None else float(read_at),
    )


def timeline_rss(totals, kinds: dict) -> int:
    """The RSS the timeline stacks for a sample: its RSS by kind summed, else VmRSS."""
    if kinds:
        return sum(kinds.values())
    return (totals.rss or 0) if totals is not None else 0


# -- what is kept per sample ------------------------------------------------------------


class SampleIndex:
    """Per sample, a few numbers in arrays (about 27 bytes a sample), and where to read
    each chunk of samples back from."""

    def __init__(self) -> None:
        self.times = array("d")
        self.rss = array("q")  # timeline_rss
        self.event_counts = array("I")  # events, narration included
        self.note_counts = array("I")  # narration alone
        self.with_events = bytearray()  # 1: the sample has events
        self.with_changes = bytearray()  # 1: events other than narration
        # 1: the map changed with the sample (a keyframe or a delta came before its
        # line): a sample without shows the map of the last one with.
        self.map_changed = bytearray()
        self.keyframes = array("q")  # the first sample of each keyframe's run
        # Each sample's number in the file is its index plus a shift that changes only
        # where samples were lost: (first index, its number) where it does.
        self._number_at = array("q")
        self._numbers = array("q")
        # Chunks: first sample, the byte to read its lines from (a gzip member, or the
        # line itself in a file not compressed), and the sample lines there before it.
        self.chunk_first = array("q")
        self.chunk_offset = array("q")
        self.chunk_skip = array("q")
        # What the first line of a chunk leaves out, where it leaves anything out.
        self.chunk_carried: dict[int, Carried] = {}
        # Events in the samples before every CHUNK_SAMPLES-th one: events_before's count.
        self._counted = array("q", [0])
        self._events_total = 0
        self.last_number = -1  # the last sample's number in the file, from 0
        self._kinds: dict | None = None  # the last sample's, and its timeline_rss
        self._totals = None
        self._rss = 0
        # Of each block of ``peak_block`` samples, the one with the most RSS (timeline
        # RSS) and its RSS by kind: what the replay's timeline stacks in a column,
        # without reading samples back (``peak_in``).
        self.peak_block = 1
        self.peak_samples = array("q")
        self.peak_kinds: list[dict] = []

    def __len__(self) -> int:
        return len(self.times)

    def append(
        self, when: float, totals, kinds: dict, events: tuple, number: int, map_changed: bool
    ) -> None:
        i = len(self.times)
        if i % CHUNK_SAMPLES == 0 and i:
            self._counted.append(self._events_total)
        self.times.append(when)
        if kinds is not self._kinds or totals is not self._totals:  # (carried: the same)
            self._kinds, self._totals, self._rss = kinds, totals, timeline_rss(totals, kinds)
        self.rss.append(self._rss)
        self._note_peak(i, kinds)
        if events:
            notes = sum(1 for e in events if e.event == NOTE)
            self.event_counts.append(len(events))
            self.note_counts.append(notes)
            self.with_events.append(1)
            self.with_changes.append(1 if len(events) > notes else 0)
            self._events_total += len(events)
        else:
            self.event_counts.append(0)
            self.note_counts.append(0)
            self.with_events.append(0)
            self.with_changes.append(0)
        self.map_changed.append(1 if map_changed else 0)
        if number != self.last_number + 1 or not i:
            self._number_at.append(i)
            self._numbers.append(number)
        self.last_number = number

    def start_keyframe(self) -> None:
        """The next sample appended is a keyframe's."""
        self.keyframes.append(len(self.times))

    def start_chunk(self, offset: int, skip: int, carried: Carried | None) -> None:
        """The next sample appended starts a chunk read from ``offset``, after ``skip``
        sample lines there; ``carried`` where its line leaves out what it carries."""
        if carried is not None:
            self.chunk_carried[len(self.chunk_first)] = carried
        self.chunk_first.append(len(self.times))
        self.chunk_offset.append(offset)
        self.chunk_skip.append(skip)

    def _note_peak(self, i: int, kinds: dict) -> None:
        peaks = self.peak_samples
        if peaks and peaks[-1] // self.peak_block == i // self.peak_block:
            if self.rss[i] > self.rss[peaks[-1]]:
                peaks[-1], self.peak_kinds[-1] = i, kinds
            return
        peaks.append(i)
        self.peak_kinds.append(kinds)
        if len(peaks) > PEAK_BLOCKS:  # twice the block: the higher of each pair
            self.peak_block *= 2
            kept = [
                max(pair, key=lambda k: self.rss[peaks[k]])
                for pair in _pairs_by_block(peaks, self.peak_block)
            ]
            self.peak_samples = array("q", (peaks[k] for k in kept))
            self.peak_kinds = [self.peak_kinds[k] for k in kept]

    def peak_in(self, first: int, last: int) -> tuple[int, dict] | None:
        """Of samples ``first`` to ``last``, the block peak (``peak_samples``) with the
        most RSS, and its RSS by kind; None where no block's peak is among them."""
        lo = bisect_left(self.peak_samples, first)
        hi = bisect_right(self.peak_samples, last)
        if lo >= hi:
            return None
        k = max(range(lo, hi), key=lambda k: self.rss[self.peak_samples[k]])
        return self.peak_samples[k], self.peak_kinds[k]

    def add(
        self,
        when: float,
        totals,
        kinds: dict,
        events: tuple,
        number: int,
        map_changed: bool,
        *,
        keyframe: bool,
        member: int,
        skip: int,
        carried: Carried | None,
        new_member: bool,
    ) -> None:
        """A sample, with where it is read back from: ``member``, the byte its line is
        read from (its gzip member's, compressed), after ``skip`` sample lines there;
        ``carried``, what its line leaves out, where it leaves anything out. A new chunk
        starts at a keyframe, after CHUNK_SAMPLES, and (``new_member``) where the line
        is in another gzip member. What the scan keeps of each sample it reads, and the
        writer of each it writes (for the file's index)."""
        if keyframe:
            self.start_keyframe()
        if keyframe or not self.chunk_first or self.chunk_size() >= CHUNK_SAMPLES or new_member:
            self.start_chunk(member, skip, carried if carried != NOTHING_CARRIED else None)
        self.append(when, totals, kinds, events, number, map_changed)

    # What the file's index holds of the index (``record.index``): each array by name.
    COLUMNS = (
        "times",
        "rss",
        "event_counts",
        "note_counts",
        "with_events",
        "with_changes",
        "map_changed",
        "keyframes",
        "_number_at",
        "_numbers",
        "chunk_first",
        "chunk_offset",
        "chunk_skip",
        "_counted",
        "peak_samples",
    )

    def columns(self) -> dict:
        """Every array, by name (COLUMNS), and the few numbers besides them."""
        out: dict = {name.lstrip("_"): getattr(self, name) for name in self.COLUMNS}
        out["events_total"] = self._events_total
        out["last_number"] = self.last_number
        out["peak_block"] = self.peak_block
        return out

    @classmethod
    def of_columns(
        cls, columns: dict, chunk_carried: dict[int, Carried], peak_kinds: list[dict]
    ) -> SampleIndex:
        """The index ``columns()`` gave, as read back (``record.index`` checks it)."""
        index = cls()
        for name in cls.COLUMNS:
            setattr(index, name, columns[name.lstrip("_")])
        index._events_total = columns["events_total"]
        index.last_number = columns["last_number"]
        index.peak_block = columns["peak_block"]
        index.chunk_carried = chunk_carried
        index.peak_kinds = peak_kinds
        return index

    def chunk_size(self) -> int:
        """Samples in the last chunk."""
        return len(self.times) - self.chunk_first[-1] if self.chunk_first else 0

    def truncate(self, at: int) -> None:
        """Samples from ``at`` on are lost."""
        for column in (self.times, self.rss, self.event_counts, self.note_counts):
            del column[at:]
        for flags in (self.with_events, self.with_changes, self.map_changed):
            del flags[at:]
        del self.keyframes[bisect_right(self.keyframes, at - 1) :]
        k = bisect_right(self._number_at, at - 1)
        del self._number_at[k:], self._numbers[k:]
        self.last_number = self.number(at - 1) if at else -1
        self._kinds = self._totals = None
        # A block cut short loses its peak where the peak was cut off (its column reads
        # that sample back instead).
        k = bisect_left(self.peak_samples, at)
        del self.peak_samples[k:], self.peak_kinds[k:]
        k = bisect_right(self.chunk_first, at - 1)
        for j in [j for j in self.chunk_carried if j >= k]:
            del self.chunk_carried[j]
        del self.chunk_first[k:], self.chunk_offset[k:], self.chunk_skip[k:]
        del self._counted[(at - 1) // CHUNK_SAMPLES + 1 if at else 1 :]
        self._events_total = self._counted[-1] + sum(
            self.event_counts[(len(self._counted) - 1) * CHUNK_SAMPLES :]
        )

    def number(self, i: int) -> int:
        """Sample ``i``'s number in the file, from 0."""
        k = bisect_right(self._number_at, i) - 1
        return self._numbers[k] + i - self._number_at[k]

    def keyframe_of(self, i: int) -> int:
        """The sample whose keyframe sample ``i`` is rebuilt from."""
        return self.keyframes[bisect_right(self.keyframes, i) - 1]

    def chunk_of(self, i: int) -> int:
        return bisect_right(self.chunk_first, i) - 1

    def chunk_range(self, j: int) -> range:
        end = self.chunk_first[j + 1] if j + 1 < len(self.chunk_first) else len(self.times)
        return range(self.chunk_first[j], end)

    def events_up_to(self, i: int) -> int:
        """Events in samples 0 to ``i``."""
        block = min((i + 1) // CHUNK_SAMPLES, len(self._counted) - 1)
        return self._counted[block] + sum(self.event_counts[block * CHUNK_SAMPLES : i + 1])

    @classmethod
    def of(cls, infos: Sequence[SampleInfo]) -> SampleIndex:
        """The index of samples held in memory (made, not read from a file)."""
        index = cls()
        keyframe = None
        for i, s in enumerate(infos):
            if s.keyframe != keyframe:
                keyframe = s.keyframe
                index.start_keyframe()
            index.append(s.time, s.totals, s.kinds, s.events, i, True)
        return index


def _pairs_by_block(peaks: array, block: int) -> list[list[int]]:
    """Positions in ``peaks`` grouped by the block of ``block`` samples they fall in."""
    groups: list[list[int]] = []
    for k, i in enumerate(peaks):
        if groups and peaks[groups[-1][0]] // block == i // block:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


# -- reading samples back ---------------------------------------------------------------


class _Place(NamedTuple):
    """Where the last chunk read left off, to go on from for the next one."""

    offset: int  # the chunk's reading start
    read: int  # sample lines read from there
    lines: Iterator  # the rest of the lines
    carried: Carried


class SampleLines:
    """Samples read back from the file by chunk, the last CACHE_SAMPLES or so kept.
    Reading the chunks in order goes on from where the last one stopped. Thread-safe."""

    def __init__(
        self,
        path: str,
        compressed: bool,
        index: SampleIndex,
        check: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.compressed = compressed
        self.index = index
        # Called with a chunk before its lines are first read (``checks.MemberChecks``:
        # a file opened by its index, whose checksums the scan did not check).
        self.check = check
        self._lock = threading.Lock()
        self._chunks: OrderedDict[int, tuple[SampleInfo, ...]] = OrderedDict()
        self._cached = 0  # samples in _chunks
        self._place: _Place | None = None

    def sample(self, i: int) -> SampleInfo:
        j = self.index.chunk_of(i)
        return self.chunk(j)[i - self.index.chunk_first[j]]

    def chunk(self, j: int) -> tuple[SampleInfo, ...]:
        with self._lock:
            samples = self._chunks.get(j)
            if samples is not None:
                self._chunks.move_to_end(j)
                return samples
            if self.check is not None:
                self.check(j)
            try:
                samples = self._read(j)
            except (Damage, ValueError, TypeError, KeyError, AttributeError, StopIteration) as e:
                self._close()
                first = self.index.chunk_first[j]
                why = e.place() if isinstance(e, Damage) else "the file changed since it was opened"
                raise RecordingError(
                    f"{display_name(os.fspath(self.path))}: sample "
                    f"{self.index.number(first) + 1} cannot be read back ({why})"
                ) from None
            except OSError as e:
                self._close()
                raise RecordingError(
                    f"{display_name(os.fspath(self.path))}: {e.strerror or e}"
                ) from None
            self._chunks[j] = samples
            self._cached += len(samples)
            while self._cached > CACHE_SAMPLES and len(self._chunks) > 1:
                self._cached -= len(self._chunks.popitem(last=False)[1])
            return samples

    def _close(self) -> None:
        if self._place is not None:
            self._place.lines.close()
            self._place = None

    def _read(self, j: int) -> tuple[SampleInfo, ...]:
        index = self.index
        offset, skip = index.chunk_offset[j], index.chunk_skip[j]
        place = self._place
        if place is not None and place.offset == offset and place.read <= skip:
            lines, read, carried = place.lines, place.read, place.carried
        else:
            self._close()
            lines = _lines_owning(open(self.path, "rb"), self.compressed, offset)  # noqa: SIM115
            read, carried = 0, index.chunk_carried.get(j, NOTHING_CARRIED)
        self._place = None
        wanted = index.chunk_range(j)
        out: list[SampleInfo] = []
        keyframe = index.keyframe_of(wanted.start)
        keyframes, k = index.keyframes, bisect_right(index.keyframes, wanted.start)
        for _offset, line in lines:
            if line is BAD_CHECKSUM or line.startswith((KEYFRAME_LINE, DELTA_LINE)):
                continue
            if line.startswith(SAMPLE_LINE):
                record = None
            elif not line.strip():
                continue
            else:
                record = read_record(line)
                if record["type"] == "end":
                    break
                if record["type"] != "sample":
                    continue
            read += 1
            if read <= skip:
                continue
            i = wanted.start + len(out)
            if k < len(keyframes) and keyframes[k] == i:
                keyframe, k = i, k + 1
            if record is None:
                record = read_line(line)
            when, totals, kinds, events, hugetlb, read_at = read_back_values(record, carried)
            carried = Carried(totals, kinds, hugetlb)
            out.append(SampleInfo(when, totals, kinds, keyframe, events, hugetlb, read_at))
            if len(out) == len(wanted):
                self._place = _Place(offset, read, lines, carried)
                return tuple(out)
        lines.close()
        raise ValueError("the file ends before it")


def _lines_owning(f, compressed: bool, offset: int) -> Iterator[tuple[int, bytes]]:
    with f:
        yield from LineReader(f, compressed).lines(offset)


class Samples(Sequence):
    """A recording's samples as a sequence of SampleInfo, each read back when asked
    for; iterating reads the file through once."""

    def __init__(self, lines: SampleLines) -> None:
        self._lines = lines

    def __len__(self) -> int:
        return len(self._lines.index)

    def __getitem__(self, i):
        n = len(self)
        if isinstance(i, slice):
            return [self._lines.sample(k) for k in range(*i.indices(n))]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._lines.sample(i)

    def __iter__(self) -> Iterator[SampleInfo]:
        for j in range(len(self._lines.index.chunk_first)):
            yield from self._lines.chunk(j)

    def __bool__(self) -> bool:
        return len(self) > 0
