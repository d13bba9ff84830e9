"""Resident changes of memory in hugetlb pages, which no Rss counts.

A region's hugetlb pages (``Snapshot.hugetlb``: Shared_Hugetlb + Private_Hugetlb) rise as
the process touches them: PostgreSQL with huge_pages=on faults in its shared buffers so,
and the Rss-based events said nothing of it. ``HugetlbDrift`` reports a region's change
once it adds up to the threshold since it was last reported (as ``RssDrift`` does for
Rss); ``hugetlb_events`` compares two snapshots. Both give ``rss_changed`` events (the
memory is resident) whose words say it is in hugetlb pages.

Bounded: one number per region with hugetlb pages. Pure: snapshots in, events out.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from vmtop.model import events as ev
from vmtop.model.columns import starts_of
from vmtop.model.event_words import size_text
from vmtop.model.events import Event
from vmtop.model.region import Region, Snapshot

# A region by what it is: the same start, file and name (a new mapping at the same
# address counts from nothing).
_Key = tuple[int, str, int, str]
HUGETLB_WORDS = "in hugetlb pages, which Rss leaves out"


def _key(r: Region) -> _Key:
    return (r.start, r.dev, r.inode, r.path)


def _regions_at(regions: Sequence[Region], starts) -> dict[int, Region]:
    firsts = starts_of(regions)
    found = {}
    for start in starts:
        i = bisect_left(firsts, start)
        if i < len(firsts) and firsts[i] == start:
            found[start] = regions[i]
    return found


class HugetlbDrift:
    """Changes of each region's memory in hugetlb pages since they were last reported."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self._reported: dict[_Key, int] = {}
        self._started = False
        # The last snapshot's regions: a region new to the count was there already
        # (with no hugetlb page yet), or is mapped since.
        self._previous: Sequence[Region] | None = None

    def __len__(self) -> int:
        return len(self._reported)

    def update(self, snapshot: Snapshot) -> list[Event]:
        """Events for regions whose hugetlb memory moved by the threshold since it was
        last reported. A snapshot whose figures are not known changes nothing; the
        first one known only starts the count."""
        figures = snapshot.hugetlb
        if not snapshot.has_smaps or figures is None:
            return []
        if not figures and not self._reported:
            self._started, self._previous = True, snapshot.regions
            return []
        reported = self._reported
        gone_from = {key[0] for key in reported}
        regions = _regions_at(snapshot.regions, {start for start, _ in figures} | gone_from)
        now: dict[_Key, tuple[Region, int]] = {}
        for start, amount in figures:
            region = regions.get(start)
            if region is not None:
                now[_key(region)] = (region, amount)
        for key in reported:
            region = regions.get(key[0])
            if key not in now and region is not None and _key(region) == key:
                now[key] = (region, 0)  # still mapped: its hugetlb pages went
        out: list[Event] = []
        kept: dict[_Key, int] = {}
        for key, (region, amount) in now.items():
            was = reported.get(key)
            since = ""
            if was is None:
                if not self._started:
                    kept[key] = amount  # first seen: counting starts
                    continue
                was = 0  # its pages count from nothing
                if not self._was_there(key):
                    since = " since it was mapped"
            delta = amount - was
            if delta >= self.threshold or -delta >= self.threshold:
                out.append(_event(snapshot.taken_at, region, delta, amount, since))
                kept[key] = amount
            else:
                kept[key] = was
        self._reported = kept  # (regions unmapped since are forgotten)
        self._started, self._previous = True, snapshot.regions
        return out

    def _was_there(self, key: _Key) -> bool:
        if self._previous is None:
            return False
        region = _regions_at(self._previous, (key[0],)).get(key[0])
        return region is not None and _key(region) == key


def hugetlb_events(prev: Snapshot, cur: Snapshot, threshold: int) -> list[Event]:
    """Regions whose memory in hugetlb pages moved by ``threshold`` from ``prev`` to
    ``cur`` (none where either does not know its figures)."""
    if prev.hugetlb is None or cur.hugetlb is None or not (prev.hugetlb or cur.hugetlb):
        return []
    drift = HugetlbDrift(threshold)
    drift.update(prev)
    return drift.update(cur)


def _event(when: float, r: Region, delta: int, now: int, since: str) -> Event:
    why = "hugetlb pages faulted in" if delta > 0 else "hugetlb pages freed"
    detail = f"{why}{since}: now {size_text(now)} {HUGETLB_WORDS}"
    return Event(
        when, ev.RSS_CHANGED, r.start, r.end, r.kind, abs(delta), delta, r.path, r.tid, detail
    )
