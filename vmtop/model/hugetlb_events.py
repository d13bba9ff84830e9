"""Resident changes of memory in hugetlb pages, which no Rss counts.

A region's hugetlb pages (``Snapshot.hugetlb``: Shared_Hugetlb + Private_Hugetlb) rise as
the process touches them: PostgreSQL with huge_pages=on faults in its shared buffers so,
and the Rss-based events said nothing of it. ``HugetlbDrift`` reports a region's change
once it adds up to the threshold since it was last reported (as ``RssDrift`` does for
Rss); ``hugetlb_events`` compares two snapshots. Both give ``rss_changed`` events (the
memory is resident) whose words say it is in hugetlb pages.

Bounded: one number per region with hugetlb pages (``figure_drift``). Pure: snapshots
in, events out.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model import events as ev
from vmtop.model.event_words import size_text
from vmtop.model.events import Event
from vmtop.model.figure_drift import FigureDrift
from vmtop.model.region import Region, Snapshot, region_starting_at

HUGETLB_WORDS = "in hugetlb pages, which Rss leaves out"


class HugetlbDrift(FigureDrift):
    """Changes of each region's memory in hugetlb pages since they were last reported."""

    def figures(self, snapshot: Snapshot) -> Sequence[tuple[int, int]] | None:
        return snapshot.hugetlb if snapshot.has_smaps else None

    def event(self, when: float, region: Region, delta: int, now: int, since: str) -> Event:
        return _event(when, region, delta, now, since)


def hugetlb_events(prev: Snapshot, cur: Snapshot, threshold: int) -> list[Event]:
    """Regions whose memory in hugetlb pages moved by ``threshold`` from ``prev`` to
    ``cur`` (none where either does not know its figures)."""
    if prev.hugetlb is None or cur.hugetlb is None or not (prev.hugetlb or cur.hugetlb):
        return []
    drift = HugetlbDrift(threshold)
    drift.update(prev)
    return drift.update(cur)


def hugetlb_unmapped_said(events: list[Event], prev: Snapshot) -> list[Event]:
    """``events`` with each region unmapped whole that held hugetlb pages at ``prev``
    saying how much went with it: its ``rss`` (Rss) is 0 for them."""
    if not prev.hugetlb or not any(e.event == ev.UNMAPPED for e in events):
        return events
    held = dict(prev.hugetlb)
    out = []
    for e in events:
        size = held.get(e.start) if e.event == ev.UNMAPPED else None
        r = region_starting_at(prev.regions, e.start) if size else None
        if r is not None and r.end == e.end:
            said = f"{size_text(size)} {HUGETLB_WORDS} went with it"
            e = e._replace(detail=f"{e.detail}; {said}" if e.detail else said)
        out.append(e)
    return out


def _event(when: float, r: Region, delta: int, now: int, since: str) -> Event:
    why = "hugetlb pages faulted in" if delta > 0 else "hugetlb pages freed"
    detail = f"{why}{since}: now {size_text(now)} {HUGETLB_WORDS}"
    return Event(
        when, ev.RSS_CHANGED, r.start, r.end, r.kind, abs(delta), delta, r.path, r.tid, detail,
        object=r.object,
    )  # fmt: skip
