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

from vmtop.model import events as ev
from vmtop.model.diff import _size_text
from vmtop.model.events import Event
from vmtop.model.region import Region, Snapshot


class RssDrift:
    """Resident-size changes per region since they were last reported."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        # anchor (start; for the stack, minus its end) -> (rss reported, inode, path)
        self.reported: dict[int, tuple[int, int, str]] = {}

    def update(self, snapshot: Snapshot) -> list[Event]:
        """Events for regions whose resident size moved by at least the threshold
        since it was last reported. A snapshot without smaps changes nothing."""
        if not snapshot.has_smaps:
            return []
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
