"""Slow resident growth, reported once it adds up.

``diff_snapshots`` compares two consecutive snapshots: a region that faults in 32 KiB
every second never moves 64 KiB between two of them, so its growth would never be
reported. ``RssDrift`` remembers each region's resident size when its change was last
reported (or when it was first seen) and reports a change once the difference since
then reaches the threshold, however many samples it took.

Bounded: one number per region of the latest snapshot; regions that went away are
forgotten. Pure: snapshots in, events out.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from operator import eq, ne

from vmtop.model import events as ev
from vmtop.model.column_steps import where_pair, where_value
from vmtop.model.columns import RegionColumns, matching_rows, take
from vmtop.model.diff import _size_text
from vmtop.model.events import Event
from vmtop.model.region import Region, Snapshot
from vmtop.model.sweep import key_pair

_UNSEEN = -2  # (a region not seen before; -1 is a figure that was None)


class RssDrift:
    """Resident-size changes per region since they were last reported."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        # anchor (start; for the stack, minus its end) -> (rss reported, inode, path)
        self.reported: dict[int, tuple[int, int, str]] = {}
        # For regions held as columns: the last ones, and what was reported for each
        # row (-1: nothing), an array rather than a dict of a million entries.
        self._columns: RegionColumns | None = None
        self._reported: array | None = None

    def __len__(self) -> int:
        """How many regions it remembers."""
        return len(self._reported) if self._reported is not None else len(self.reported)

    def _update_columns(self, regions: RegionColumns, when: float) -> list[Event]:
        if regions.figures is None:
            return []
        rss = regions.figures[0]
        old, reported = self._columns, self._reported
        if old is not None and reported is not None:
            rows = matching_rows(regions, old, *key_pair(regions, old, whole=False))
            base = array("q", reported) if rows is None else take(reported, rows, _UNSEEN)
            unmatched = where_value(eq, base, _UNSEEN)
        else:
            base = array("q", [_UNSEEN]) * len(regions)
            # Nothing to look up unless the tuple path reported (a map that grew past the
            # size at which it is held as columns): a first look is all new.
            unmatched = range(len(regions)) if self.reported else ()
        # Regions not the same mapping as one at the same place (grown, shrunk: its
        # start, or the stack's end, is where the last one's was): by anchor.
        for k in list(unmatched):
            base[k] = self._reported_for(regions[k], old, reported)
        out: list[Event] = []
        threshold = self.threshold
        for k in where_pair(ne, rss, base, len(regions)):
            now, was = rss[k], base[k]
            if now < 0:
                base[k] = _UNSEEN  # no figure: forgotten, as in the tuple path
            elif was < 0:
                base[k] = now  # first seen: counting starts
            elif now - was >= threshold or was - now >= threshold:
                out.append(_event(regions[k], now - was, when))
                base[k] = now
        self._columns, self._reported = regions, base
        self.reported = {}
        return out

    def _reported_for(self, r: Region, old: RegionColumns | None, reported: array | None) -> int:
        """What was last reported for the region at the same anchor with the same
        inode and name: in the last columns, or in the dict of the tuple path."""
        stack = r.kind == "stack"
        if old is None or reported is None:
            seen = self.reported.get(-r.end if stack else r.start)
            if seen is None or seen[1] != r.inode or seen[2] != r.path:
                return _UNSEEN
            return seen[0]
        if stack:
            j = bisect_left(old.ends, r.end)
            if j >= len(old) or old.ends[j] != r.end:
                return _UNSEEN
        else:
            j = old.index_at(r.start)
            if j is None:
                return _UNSEEN
        o = old[j]
        if o.inode != r.inode or o.path != r.path or (o.kind == "stack") != stack:
            return _UNSEEN
        return reported[j]

    def update(self, snapshot: Snapshot) -> list[Event]:
        """Events for regions whose resident size moved by at least the threshold
        since it was last reported. A snapshot without smaps changes nothing."""
        if not snapshot.has_smaps:
            return []
        if isinstance(snapshot.regions, RegionColumns):
            return self._update_columns(snapshot.regions, snapshot.taken_at)
        self._columns = self._reported = None
        when = snapshot.taken_at
        get = self.reported.get
        new: dict[int, tuple[int, int, str]] = {}
        out: list[Event] = []
        threshold = self.threshold
        # One pass, no per-region calls: this runs on every smaps read, 60 000 regions.
        for r in snapshot.regions:
            rss = r[7]
            if rss is None:
                continue
            anchor = -r[1] if r[15] == "stack" else r[0]
            seen = get(anchor)
            if seen is None or seen[1] != r[5] or seen[2] != r[6]:
                new[anchor] = (rss, r[5], r[6])
                continue
            delta = rss - seen[0]
            if delta >= threshold or -delta >= threshold:
                out.append(_event(r, delta, when))
                new[anchor] = (rss, r[5], r[6])
            else:
                new[anchor] = seen
        self.reported = new
        return out


def _event(r: Region, delta: int, when: float) -> Event:
    why = "pages faulted in" if delta > 0 else "pages freed, reclaimed or swapped out"
    detail = f"{why}: now {_size_text(r.rss or 0)} resident"
    return Event(
        when, ev.RSS_CHANGED, r.start, r.end, r.kind, abs(delta), delta, r.path, r.tid, detail
    )
