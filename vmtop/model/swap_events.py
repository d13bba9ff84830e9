"""Memory going to swap and coming back, where the Rss does not show it.

Under memory pressure the kernel swaps a region's older pages out while the program
faults new ones in: its Rss stays flat (99M, 99M, 98M) while its swap climbs 31M →
102M, and no rss_changed says so. ``SwapDrift`` reports a region's swap once its change
adds up to the threshold since it was last reported; ``diff_snapshots`` says
the same of two snapshots (``swap_event``), where the sweep found a region changed.
Where an rss_changed of the same region already said the move ("pages swapped out, not
freed: … on swap"), the caller passes its start in ``skip``.

Bounded: one number per region with memory on swap (``figure_drift``). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model import events as ev
from vmtop.model.event_words import size_text
from vmtop.model.events import Event
from vmtop.model.figure_drift import FigureDrift, with_figure
from vmtop.model.region import Region, Snapshot


def swap_figures(snapshot: Snapshot) -> list[tuple[int, int]] | None:
    """(start, swap) of each region with memory on swap, from its smaps figures; None
    where the snapshot has none."""
    found = with_figure(snapshot, "swap")
    return None if found is None else [(r.start, r.swap) for r in found]


class SwapDrift(FigureDrift):
    """Changes of each region's memory on swap since they were last reported."""

    def figures(self, snapshot: Snapshot) -> Sequence[tuple[int, int]] | None:
        return swap_figures(snapshot)

    def event(self, when: float, region: Region, delta: int, now: int, since: str) -> Event:
        return swap_event(when, region, region.start, region.end, delta, now, since)


def swap_event(
    when: float, region: Region, start: int, end: int, delta: int, now: int, since: str = ""
) -> Event:
    """A swap_changed of [start, end) of ``region``: ``delta`` bytes went to swap (or
    came back), ``now`` on swap."""
    if delta > 0:
        why = "pages went to swap (memory pressure, or MADV_PAGEOUT)"
    else:
        why = "pages came back from swap, or were freed there"
    detail = f"{why}{since}: now {size_text(now)} on swap, not in RAM and in no Rss"
    return Event(
        when, ev.SWAP_CHANGED, start, end, region.kind, abs(delta), delta, region.path,
        region.tid, detail, object=region.object,
    )  # fmt: skip
