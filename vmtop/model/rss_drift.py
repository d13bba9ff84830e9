"""Slow resident growth, reported once it adds up.

``diff_snapshots`` compares two consecutive snapshots: a region that faults in 32 KiB
every second never moves 64 KiB between two of them, so its growth would never be
reported. ``RssDrift`` remembers each region's resident size when its change was last
reported (or when it was first seen) and reports a change once the difference since
then reaches the threshold, however many samples it took.

A region that is the same mapping line as one of the last snapshot keeps that one's
figure. Where lines changed (a heap or stack that grew, a mapping the kernel merged
with a new neighbour, one that mprotect split), the changed lines are taken together
with the old lines of the same mapping they overlap, as the diff does: their resident
sizes are compared as sums. So a split moves no memory, and a mapping merged into its
neighbour adds what was faulted in since, not the neighbour's whole size. Memory of a
range that no old line of the mapping covered (newly mapped) counts from nothing.

Memory in hugetlb pages (no Rss counts it) is reported the same way (hugetlb_events),
memory on swap where no resident change said it (swap_events), private memory shared
after a fork or copied on write (sharing_events), memory freed with MADV_FREE
(lazy_free), and a private file mapping's pages copied on write (file_copies: where the
Rss moved with them, its change is said in their event, not as pages faulted in).

Bounded: one number per region of the latest snapshot; regions that went away are
forgotten. Pure: snapshots in, events out.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Collection, Iterator, Sequence
from operator import eq, ne

from vmtop.model import events as ev
from vmtop.model.column_steps import where_pair, where_value
from vmtop.model.columns import RegionColumns, matching_rows, take
from vmtop.model.event_words import (
    FAULTED_IN,
    resident_change_words,
    says_swap_moved,
    size_text,
)
from vmtop.model.events import Event
from vmtop.model.file_copies import CopyDrift, fold_resident
from vmtop.model.hugetlb_events import HugetlbDrift
from vmtop.model.lazy_free import LazyFreeDrift
from vmtop.model.mapping_figures import certain_rss_change, lost_bytes, resident_range, swap_of
from vmtop.model.postgres_events import said_in_postgres
from vmtop.model.region import Region, Snapshot
from vmtop.model.sharing_events import SharingDrift
from vmtop.model.swap_events import SwapDrift
from vmtop.model.sweep import _continues, key_pair

_UNSEEN = -2  # (a region not seen before; -1 is a figure that was None)
# Small changes of many regions are said together once they add up to this many
# thresholds (1 MiB at the default 64 KiB): less would say every library's page faults.
SPREAD_TIMES = 16


class _Lines:
    """The starts and ends of regions held as a tuple, as columns hold them."""

    def __init__(self, regions: Sequence[Region]) -> None:
        self.starts = array("Q", [r[0] for r in regions])
        self.ends = array("Q", [r[1] for r in regions])

    def __len__(self) -> int:
        return len(self.starts)


class RssDrift:
    """Resident-size changes per region since they were last reported."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        # The last snapshot's regions, their starts and ends, and for each row what was
        # last reported (or first seen): an array, not a dict of a million entries.
        self._regions: Sequence[Region] | None = None
        self._lines: RegionColumns | _Lines | None = None
        self._reported: array | None = None
        # Memory in hugetlb pages, which no Rss counts, reported the same way.
        self._hugetlb = HugetlbDrift(threshold)
        self._swap = SwapDrift(threshold)  # memory going to swap, the Rss flat
        self._sharing = SharingDrift(threshold)  # fork and copy-on-write, the Rss flat
        self._lazy = LazyFreeDrift(threshold)  # freed with MADV_FREE, the Rss flat
        self._copies = CopyDrift(threshold)  # a private file mapping's pages written
        # Changes below the threshold of lines the kernel has since merged or split:
        # they are said with the other regions' small changes (``_spread``), not as the
        # merged line's own (2000 lines, 4 KiB each, merged: "+3.9 MiB faulted in" at
        # the merge, of pages resident for 10 s: review).
        self._carried = 0

    def __len__(self) -> int:
        """How many regions it remembers."""
        return 0 if self._reported is None else len(self._reported)

    def update(
        self,
        snapshot: Snapshot,
        announced: Collection[int] | None = None,
        lazy_free: Sequence[tuple[int, int]] | None = None,
    ) -> list[Event]:
        """Events for regions whose resident size moved by at least the threshold
        since it was last reported. A snapshot without smaps changes nothing.

        A region mapped since the last snapshot (no line of the same mapping there)
        counts from its first figure. Given ``announced`` (the starts of the regions
        whose events said their resident size as they were mapped:
        ``diff.told_resident``), the memory of the others until then is reported too:
        one mapped on a tick that read maps only had no figure to say. ``lazy_free``:
        (start, smaps' LazyFree) of the regions holding memory freed with MADV_FREE,
        where the caller read it (``procfs.lazy_free_figures``)."""
        if not snapshot.has_smaps:
            return []
        regions = snapshot.regions
        if isinstance(regions, RegionColumns):
            if regions.figures is None:
                return []
            rss, lines = regions.figures[0], regions
        else:
            rss = array("q", [-1 if r[7] is None else r[7] for r in regions])
            lines = _Lines(regions)
        when = snapshot.taken_at
        out: list[Event] = []
        old, reported = self._regions, self._reported
        rows = None
        if old is None or reported is None:
            base = array("q", [_UNSEEN]) * len(regions)
        else:
            kn, ko = key_pair(regions, old, whole=False)
            rows = matching_rows(lines, self._lines, kn, ko)
            base = array("q", reported) if rows is None else take(reported, rows, _UNSEEN)
            # Lines that are no line of the last snapshot: by what they overlap.
            changed = list(where_value(eq, base, _UNSEEN))
            grouped: set[int] = set()
            for group, olds in self._overlaps(regions, changed):
                grouped.update(group)
                event = self._settle(regions, rss, base, group, olds, when)
                if event is not None:
                    out.append(event)
            for k in changed if announced is not None else ():
                now = rss[k]
                if k in grouped or now < self.threshold or regions[k][0] in announced:
                    continue
                r = regions[k]
                out.append(_event(r, r.end, now, now, when, "since it was mapped"))
        threshold = self.threshold
        small: list[int] = []  # rows that moved by less than the threshold so far
        drift = 0  # what they moved together
        for k in where_pair(ne, rss, base, len(regions)):
            now, was = rss[k], base[k]
            if now < 0:
                base[k] = _UNSEEN  # no figure: forgotten
            elif was < 0:
                base[k] = now  # first seen: counting starts
            elif now - was >= threshold or was - now >= threshold:
                r = regions[k]
                swap = (_swap_before(old, rows, k), r.swap)
                out.append(_event(r, r.end, now - was, now, when, swap=swap))
                base[k] = now
            else:
                small.append(k)
                drift += now - was
        self._carried = self._spread(regions, rss, base, small, drift, when, out)
        self._regions, self._lines, self._reported = regions, lines, base
        self._hugetlb.threshold = threshold
        out += self._hugetlb.update(snapshot)
        # Swap that moved with no resident change to say it (memory pressure).
        self._swap.threshold = threshold
        said = {e.start for e in out if e.event == ev.RSS_CHANGED and says_swap_moved(e.detail)}
        out += self._swap.update(snapshot, said)
        # Shared memory freed is said by the rss_changed of the pages freed.
        self._sharing.threshold = threshold
        freed = {e.start for e in out if e.event == ev.RSS_CHANGED and e.delta < 0}
        out += self._sharing.update(snapshot, freed)
        # (Memory freed with MADV_FREE that went, reclaimed: the rss_changed said it.)
        self._lazy.threshold = threshold
        out += self._lazy.update(snapshot, freed, lazy_free)
        # Copies of a file's pages written: an Rss that moved with them was them.
        self._copies.threshold = threshold
        copies = self._copies.update(snapshot, announced)
        out = fold_resident(out + copies, threshold) if copies else out
        return said_in_postgres(out, snapshot)  # (its shared memory touched)

    def _spread(
        self,
        regions: Sequence[Region],
        rss: array,
        base: array,
        small: list[int],
        drift: int,
        when: float,
        out: list[Event],
    ) -> int:
        """One event for the changes of many regions (``small``, ``drift`` together),
        each below the threshold, once with what is carried they reach
        ``SPREAD_TIMES`` thresholds (a program touching a page in each of 30 000 small
        mappings put 117 MiB in its RSS, and no event said it); those regions count
        afresh from then. What is still carried, else."""
        pending = self._carried + drift
        if abs(pending) < SPREAD_TIMES * self.threshold or not small:
            return self._carried
        first, last = regions[small[0]], regions[small[-1]]
        now = sum(rss[k] for k in small)
        kind = _kind_of_all(regions, small)
        why = FAULTED_IN if pending > 0 else "pages freed or reclaimed"
        detail = (
            f"{why} across {len(small)} regions, each by less than "
            f"{size_text(self.threshold)}: now {size_text(now)} resident in them"
        )
        out.append(
            Event(
                when,
                ev.RSS_CHANGED,
                first.start,
                last.end,
                kind,
                abs(pending),
                pending,
                "",
                None,
                detail,
            )  # fmt: skip
        )
        for k in small:
            base[k] = rss[k]
        return 0

    def _overlaps(
        self, regions: Sequence[Region], changed: list[int]
    ) -> Iterator[tuple[list[int], list[int]]]:
        """The changed rows that overlap old rows of the same mapping, in groups with
        those old rows: rows that share an old row are one group (a split, even with
        another mapping put between its pieces), and a row overlapping several old rows
        takes them all (a merge). Rows overlapping none are left out: first seen."""
        old, lines = self._regions, self._lines
        group: list[int] = []
        olds: list[int] = []
        for k in changed:
            r = regions[k]
            j = bisect_right(lines.ends, r[0])  # the first old row ending after r starts
            mine = []
            while j < len(lines) and lines.starts[j] < r[1]:
                if _continues(old[j], r):
                    mine.append(j)
                j += 1
            if not mine:
                continue  # newly mapped, or another mapping in its place: first seen
            if group and mine[0] == olds[-1]:
                group.append(k)
                olds += mine[1:]
                continue
            if group:
                yield group, olds
            group, olds = [k], mine
        if group:
            yield group, olds

    def _settle(
        self,
        regions: Sequence[Region],
        rss: array,
        base: array,
        group: list[int],
        olds: list[int],
        when: float,
    ) -> Event | None:
        """Set the group's rows' figures from the old rows they replace; the event when
        their sum moved by the threshold since the old rows' were reported."""
        was = [self._reported[j] for j in olds]
        figures = [rss[k] for k in group]
        if min(was) < 0 or min(figures) < 0:
            return None  # some figure unknown: counting starts afresh
        if len(olds) > 1:
            # Lines merged: what each had moved, too little to say, goes with the other
            # small changes; the merged line says what moved since the last read.
            read = [_rss_or_unknown(self._regions[j]) for j in olds]
            if min(read) < 0:
                return None
            self._carried += sum(read) - sum(was)
            was = read
        now = sum(figures)
        lost = lost_bytes([self._regions[j] for j in olds], [regions[k] for k in group])
        delta = certain_rss_change(now - sum(was), sum(was), lost)
        for k in group:
            base[k] = rss[k]
        if delta >= self.threshold or -delta >= self.threshold:
            lines = [regions[k] for k in group]
            olds_rows = [self._regions[j] for j in olds]
            said, start, end = resident_range(lines, figures, olds_rows, was, delta)
            swap = (swap_of(self._regions[j] for j in olds), swap_of(lines))
            held = sum(f for r, f in zip(lines, figures, strict=True) if start <= r.start < end)
            return _event(said._replace(start=start), end, delta, held, when, swap=swap)
        # Not yet enough: the change so far stays counted, on the largest line.
        largest = max(group, key=rss.__getitem__)
        base[largest] = max(0, rss[largest] - delta)
        return None


def _kind_of_all(regions: Sequence[Region], rows: list[int]) -> str:
    """The kind of every region of ``rows`` where they are all of one kind, else ""
    (a spread over libraries and heaps is none of them)."""
    if isinstance(regions, RegionColumns):
        codes = regions.codes("kind", 0, len(regions))
        found = {codes[k] for k in rows}
        return regions.distinct("kind")[found.pop()] if len(found) == 1 else ""
    found = {regions[k].kind for k in rows}
    return found.pop() if len(found) == 1 else ""


def _rss_or_unknown(r: Region) -> int:
    return -1 if r[7] is None else r[7]


def _swap_before(old, rows, k: int) -> int | None:
    """The swap of row k's line in the last snapshot (``rows``: the old row of each new
    one, None when the lines are the same), None where not known. The drift is summed
    since the last report, the swap from the last sample only: a page-out is one."""
    if old is None:
        return None
    j = k if rows is None else rows[k]
    return None if j < 0 else old[j].swap


def _event(
    r: Region,
    end: int,
    delta: int,
    now: int,
    when: float,
    since: str = "",
    swap: tuple[int | None, int | None] | None = None,
) -> Event:
    """An rss_changed; ``swap``: the range's swap before and now, where known (else the
    words give the swap the region has)."""
    was_on_swap, on_swap = swap if swap is not None else (None, r.swap)
    detail = resident_change_words(delta, now, on_swap, was_on_swap)
    if since:
        why, _, rest = detail.partition(":")
        detail = f"{why} {since}:{rest}"
    return Event(
        when, ev.RSS_CHANGED, r.start, end, r.kind, abs(delta), delta, r.path, r.tid, detail,
        object=r.object,
    )  # fmt: skip
