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


def drift_key(region: Region) -> tuple:
    """What a region is filed under across samples: its start and identity (for the
    stack, its end: its start moves down as it grows)."""
    anchor = region.end if region.kind == "stack" else region.start
    return (anchor, region.dev, region.inode, region.path)


class RssDrift:
    """Resident-size changes per region since they were last reported."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self.reported: dict[tuple, tuple[int, float]] = {}  # key -> (rss, when)

    def update(self, snapshot: Snapshot) -> list[Event]:
        """Events for regions whose resident size moved by at least the threshold
        since it was last reported. A snapshot without smaps changes nothing."""
        if not snapshot.has_smaps:
            return []
        when = snapshot.taken_at
        old = self.reported
        new: dict[tuple, tuple[int, float]] = {}
        out: list[Event] = []
        threshold = self.threshold
        for r in snapshot.regions:
            rss = r.rss
            if rss is None:
                continue
            key = drift_key(r)
            seen = old.get(key)
            if seen is None:
                new[key] = (rss, when)
                continue
            delta = rss - seen[0]
            if delta >= threshold or -delta >= threshold:
                why = "pages faulted in" if delta > 0 else "pages freed, reclaimed or swapped out"
                detail = f"{why}: now {_size_text(rss)} resident"
                out.append(
                    Event(
                        when,
                        ev.RSS_CHANGED,
                        r.start,
                        r.end,
                        r.kind,
                        abs(delta),
                        delta,
                        r.path,
                        r.tid,
                        detail,
                    )
                )
                new[key] = (rss, when)
            else:
                new[key] = seen
        self.reported = new
        return out
