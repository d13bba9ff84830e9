"""What `vmtop report` says of a recording's samples, gathered as they go by, in order,
in space that does not grow with their number: each total's start, end and peak, each
kind's, the events counted by type, the address ranges mapped or unmapped. Nothing of
a sample is kept once the next is added (an hour at 0.1 s held 36 000 samples, 1.7 kB
each, for the report of its last few lines).

Every figure is of the program run last, as the report speaks of it: a sample with an
exec (or a PID reused by another process) starts the figures again, and only the RSS
peak of the programs before it is kept (``rss_before``). Growth is measured from the
first sample with resident figures; a kind's peak is taken over the samples that have
them (the others' kinds are empty because unknown, not zero); of equal values, the
first is the peak. Plain data in, plain data out: no files, no terminal.
"""

from __future__ import annotations

from collections import Counter

from vmtop.model import events as ev
from vmtop.model.events import Event
from vmtop.model.moments import merged_ranges, remapped_ranges
from vmtop.model.recording_summary import KindCourse, Peak, has_resident_figures

NEW_PROGRAM = (ev.EXEC, ev.PID_REUSED)  # events after which the map is another program's
# Ranges gathered before those gathered are merged again: merged, they are as many as
# the separate stretches of addresses ever remapped, however many events remapped them.
MERGE_EVERY = 4096


class FigureCourse:
    """A total (RSS, USS, ...) over the samples added: the first and last sample that
    had it and its value there, and its peak (the first sample at the most)."""

    __slots__ = ("first", "first_value", "last", "last_value", "peak")

    def __init__(self) -> None:
        self.first: int | None = None
        self.first_value = 0
        self.last = 0
        self.last_value = 0
        self.peak: Peak | None = None

    def add(self, i: int, value: int | None) -> None:
        if value is None:
            return
        if self.first is None:
            self.first, self.first_value = i, value
        self.last, self.last_value = i, value
        if self.peak is None or value > self.peak.value:
            self.peak = Peak(value, i)


class RemappedRanges:
    """The address ranges events mapped or unmapped (``moments.remapped_ranges``),
    merged as they come."""

    def __init__(self) -> None:
        self._ranges: list[tuple[int, int]] = []
        self._merged = 0  # how many of them were merged last

    def add(self, events) -> None:
        self._ranges += remapped_ranges(events)
        if len(self._ranges) > self._merged + MERGE_EVERY:
            self._ranges = merged_ranges(self._ranges)
            self._merged = len(self._ranges)

    def ranges(self) -> list[tuple[int, int]]:
        return merged_ranges(self._ranges)


# The totals the report follows, by its label for them: from a sample's Totals.
TOTALS = (("RSS", "rss"), ("USS", "uss"), ("SHR", "shr"), ("Swap", "swap"))


class RunningSummary:
    """``add`` every sample of a recording in order; then read what the report says."""

    def __init__(self) -> None:
        self.samples = 0
        # The samples with an exec or a PID reused, with the events (in order): every
        # one is said; the last one starts the program run last.
        self.new_program_events: list[tuple[int, Event]] = []
        self.new_program = 0  # the first sample of the program run last
        self.rss_before: Peak | None = None  # the RSS peak of the programs before it
        self.last_smaps_read_at: float | None = None  # the last sample's
        self.last_hugetlb: int | None = None
        self.last_kinds: dict = {}
        self._start_program()

    def _start_program(self) -> None:
        """What is of the program run last, from nothing."""
        self.figures = {label: FigureCourse() for label, _ in TOTALS}
        self.figures["hugetlb"] = FigureCourse()
        self.counts: Counter[str] = Counter()  # events by type
        self.first: int | None = None  # the first sample with resident figures
        self.first_kinds: dict = {}
        self.first_hugetlb: int | None = None
        self._kind_peaks: dict[str, tuple[int, int]] = {}  # kind -> (peak, sample)
        self._since_program = RemappedRanges()  # events after new_program
        self._since_first = RemappedRanges()  # events after first

    def add(self, sample, events: tuple) -> None:
        """The next sample (a SampleInfo: its totals, kinds, hugetlb, smaps_read_at),
        with its events (the end mark's, for the last one, after its own)."""
        i = self.samples
        self.samples += 1
        if any(e.event in NEW_PROGRAM for e in events):
            self.new_program_events += [(i, e) for e in events if e.event in NEW_PROGRAM]
            rss = self.figures["RSS"].peak
            if rss is not None and (self.rss_before is None or rss.value > self.rss_before.value):
                self.rss_before = rss
            self.new_program = i
            self._start_program()
        self.counts.update(e.event for e in events)
        totals = sample.totals
        for label, key in TOTALS:
            self.figures[label].add(i, getattr(totals, key) if totals is not None else None)
        self.figures["hugetlb"].add(i, sample.hugetlb)
        resident = has_resident_figures(totals)
        if self.first is None and resident:
            self.first, self.first_kinds, self.first_hugetlb = i, sample.kinds, sample.hugetlb
            self._since_program = RemappedRanges()  # (no longer asked for)
        if self.first is not None and (resident or i == self.first):
            peaks = self._kind_peaks
            for kind, value in sample.kinds.items():
                if value > peaks.get(kind, (0, 0))[0]:
                    peaks[kind] = (value, i)
        if events:
            if self.first is None and i > self.new_program:
                self._since_program.add(events)
            elif self.first is not None and i > self.first:
                self._since_first.add(events)
        self.last_kinds, self.last_hugetlb = sample.kinds, sample.hugetlb
        self.last_smaps_read_at = sample.smaps_read_at

    @property
    def last_new_program_event(self) -> str | None:
        """The event that started the program run last (exec, or a PID reused)."""
        return self.new_program_events[-1][1].event if self.new_program_events else None

    def kind_courses(self) -> list[KindCourse]:
        """Each kind's resident bytes from the first sample with resident figures to the
        last sample; none where no sample had them."""
        if self.first is None:
            return []
        start, end, peaks = self.first_kinds, self.last_kinds, self._kind_peaks
        names = set(peaks) | set(start) | set(end)
        return [
            KindCourse(k, start.get(k, 0), end.get(k, 0), *peaks.get(k, (0, self.first)))
            for k in names
        ]

    def remapped(self) -> list[tuple[int, int]]:
        """The address ranges remapped after the sample the regions' growth is measured
        from: the first with resident figures, else the first of the program run last."""
        since = self._since_program if self.first is None else self._since_first
        return since.ranges()
