"""What an open recording keeps per sample, in arrays (``SampleIndex``).

The scan (``record.scan``) reads every sample line once and keeps of each only a few
numbers, in ``array``s and ``bytearray``s: its time, the RSS the timeline draws, how
many events it has, whether the map changed with it; and, per run of samples that can
be read back on their own (a "chunk": the samples of one gzip member, at most
CHUNK_SAMPLES of them), where its lines start. A sample's totals, RSS by kind and events
are read back from its chunk when asked for (``record.read_back``). Kept as objects for
every sample, as they were, they cost 0.8-1.5 kB a sample (66 MB for a day at 1 s); the
arrays, about 30 bytes.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from vmtop.model.events import NOTE
from vmtop.record.samples import NOTHING_CARRIED, Carried, SampleInfo, timeline_rss

# Samples in a chunk at most: what reading one sample back decodes besides it (a file
# written before the writer started a gzip member every MEMBER_SAMPLES samples holds an
# idle stretch in one member, which is then decompressed from its start).
CHUNK_SAMPLES = 1024
# Blocks of samples whose peak's RSS by kind is kept (``SampleIndex.peak_kinds``) at most:
# a block doubles past it. More than a timeline has columns (a few hundred), so that
# each column holds a block's peak; a few hundred kB at most.
PEAK_BLOCKS = 1024


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
