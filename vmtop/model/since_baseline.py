"""The Δ columns since a baseline the live screen set: what is different now, region by
region, told apart from what was unmapped and mapped again in between.

The live screen compares the baseline with each new sample. The diff of two samples in
a row (``region_changes``) pairs a range held by the same kind of mapping at both as
the same mapping: right for one interval, wrong across minutes, where a block freed and
allocated again at the same address (glibc's mmap'd chunks, a thread's stack) reads as
the same region, unchanged. The screen sees every sample's events, so it knows which
ranges were mapped or unmapped since the baseline (``add_remapped``, bounded), and only
the regions over them are compared again the way a replay compares two moments
(``moments.changes_since``, which is ten to thirty times the cost of the diff over a
whole map, and so is not run over the whole map).

Plain data in and out: snapshots, events, address ranges.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Sequence
from operator import itemgetter

from vmtop.model import moments
from vmtop.model.columns import RegionColumns
from vmtop.model.diff import DEFAULT_RSS_THRESHOLD
from vmtop.model.events import Event
from vmtop.model.region import Snapshot
from vmtop.model.region_changes import RegionChange, region_changes, with_flags_changed

# At most this many ranges are kept: past it, the closest ones are joined into one (a
# range then covers a gap nothing was mapped in: a region there counts as new since the
# baseline, never as the same one wrongly).
REMAPPED_CAP = 4096

Ranges = tuple[tuple[int, int], ...]


def add_remapped(ranges: Ranges, events: Iterable[Event], cap: int = REMAPPED_CAP) -> Ranges:
    """``ranges`` with those the events mapped or unmapped added: sorted, merged, and at
    most ``cap`` of them."""
    new = moments.remapped_ranges(events)
    if not new:
        return ranges
    merged = moments.merged_ranges((*ranges, *new))
    if len(merged) > cap:
        merged = _joined(merged, cap)
    return tuple(merged)


def _joined(ranges: list[tuple[int, int]], cap: int) -> list[tuple[int, int]]:
    """The ranges with the smallest gaps between them closed, down to ``cap``."""
    gaps = sorted(range(1, len(ranges)), key=lambda i: ranges[i][0] - ranges[i - 1][1])
    closed = set(gaps[: len(ranges) - cap])
    out = [ranges[0]]
    for i in range(1, len(ranges)):
        if i in closed:
            out[-1] = (out[-1][0], ranges[i][1])
        else:
            out.append(ranges[i])
    return out


def changes_since_baseline(
    base: Snapshot,
    cur: Snapshot,
    remapped: Sequence[tuple[int, int]],
    *,
    rss_threshold: int = DEFAULT_RSS_THRESHOLD,
    flags_changed: Collection[int] = (),
) -> dict[int, RegionChange]:
    """The regions of ``cur`` that differ from ``base`` (keyed by start, unchanged ones
    left out), where a region over a range of ``remapped`` is compared only with the
    same mapping at ``base`` with none of their common range remapped in between;
    ``flags_changed``: the starts of regions of ``cur`` whose VmFlags are not those
    they had at ``base`` (read by procfs), marked changed where nothing else was."""
    changes = region_changes(base, cur, rss_threshold=rss_threshold, changed_only=True)
    if not remapped or moments.comparable(base, cur) is not None:
        return with_flags_changed(changes, cur, flags_changed)
    for lo, hi in _spans(base.regions, cur.regions, remapped):
        old = _between(base.regions, lo, hi)
        new = _between(cur.regions, lo, hi)
        again = moments.changes_since(
            base._replace(regions=old),
            cur._replace(regions=new),
            remapped,
            rss_threshold=rss_threshold,
        )
        for region in new:
            change = again.get(region.start)
            if change is None:
                changes.pop(region.start, None)
            else:
                changes[region.start] = change
    return with_flags_changed(changes, cur, flags_changed)


_START = itemgetter(0)
_END = itemgetter(1)


def _bounds(regions: Sequence, lo: int, hi: int) -> tuple[int, int]:
    """The index range of the regions that overlap [lo, hi)."""
    if isinstance(regions, RegionColumns):
        return bisect_right(regions.ends, lo), bisect_left(regions.starts, hi)
    return bisect_right(regions, lo, key=_END), bisect_left(regions, hi, key=_START)


def _between(regions: Sequence, lo: int, hi: int) -> tuple:
    i, j = _bounds(regions, lo, hi)
    return tuple(regions[i:j])


def _spans(a: Sequence, b: Sequence, remapped: Sequence[tuple[int, int]]) -> list:
    """Address spans to compare again: each remapped range widened to the whole regions
    it touches at either moment (and to theirs in turn once), merged."""
    spans: list[tuple[int, int]] = []
    for lo, hi in remapped:
        for _ in range(2):
            for regions in (a, b):
                i, j = _bounds(regions, lo, hi)
                if i < j:
                    lo, hi = min(lo, regions[i].start), max(hi, regions[j - 1].end)
        if spans and lo <= spans[-1][1]:
            spans[-1] = (min(lo, spans[-1][0]), max(hi, spans[-1][1]))
        else:
            spans.append((lo, hi))
    return spans
