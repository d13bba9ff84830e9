"""Private memory shared with another process, and copied on write: where the Rss is flat.

After a fork, parent and child share every page of their private mappings until one of
them writes it: the kernel then gives the writer a copy (copy-on-write). Neither Rss
moves: a page shared is counted in both, and a copy replaces the shared page in the
writer's Rss while the other's page becomes its own. What moves is smaps' split of the
Rss: a private mapping's ``Shared_Dirty`` rises in the parent at the fork (its pages
are the child's too), and falls in both as either writes (or as the other exits or
unmaps them). A child writing 50 MiB it shares shows no ``rss_changed`` at all;
``SharingDrift`` reports a region's shared memory once its change adds up to the
threshold since it was last reported: a ``shared_changed``.

Only private mappings: a ``MAP_SHARED`` mapping's pages are meant to be shared (SysV,
``/dev/shm``), and its shared figure moves whenever another process touches them. Only
``Shared_Dirty``: a private mapping's clean shared pages are mostly a file's page cache
(a library's text, shared with every process that maps it), which another program
starting would move.

Bounded: one number per region with private memory shared (``figure_drift``); a
process that never forked has none. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model import events as ev
from vmtop.model.column_fields import FIGURES
from vmtop.model.column_masks import mask_not, zero_mask
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.event_words import size_text
from vmtop.model.events import Event
from vmtop.model.figure_drift import FigureDrift
from vmtop.model.region import Region, Snapshot

_SHARED_DIRTY = FIGURES.index("shared_dirty")

SHARED_MORE = (
    "pages now shared with another process: after a fork, parent and child share each "
    "private page until one of them writes it (copy-on-write); or KSM merged identical "
    "pages (MADV_MERGEABLE)"
)
SHARED_LESS = (
    "pages shared with another process are this one's alone now: a write copied them "
    "(copy-on-write, by this process or the other, the writer getting new memory for "
    "its copies), or the other process exited or unmapped them"
)


def shared_private_figures(snapshot: Snapshot) -> list[tuple[int, int]] | None:
    """(start, Shared_Dirty) of each private mapping with dirty memory shared with
    another process; None where the snapshot has no smaps figures."""
    if not snapshot.has_smaps:
        return None
    regions = snapshot.regions
    if isinstance(regions, RegionColumns):
        if regions.figures is None:
            return None
        column = regions.figures[_SHARED_DIRTY]
        # Nonzero rows only (-1 is a figure not read): none in a process that never
        # forked, a few hundred in one that did; not a million.
        rows = (i for i in where(mask_not(zero_mask(column))) if column[i] > 0)
        return [(r.start, r.shared_dirty) for r in map(regions.__getitem__, rows) if _private(r)]
    return [(r.start, r.shared_dirty) for r in regions if r.shared_dirty and _private(r)]


def _private(r: Region) -> bool:
    return r.perms[3:] == "p"


class SharingDrift(FigureDrift):
    """Changes of each private mapping's shared dirty memory since last reported."""

    def figures(self, snapshot: Snapshot) -> Sequence[tuple[int, int]] | None:
        return shared_private_figures(snapshot)

    def event(self, when: float, region: Region, delta: int, now: int, since: str) -> Event:
        return shared_event(when, region, region.start, region.end, delta, now, since)


def shared_event(
    when: float, region: Region, start: int, end: int, delta: int, now: int, since: str = ""
) -> Event:
    """A shared_changed of [start, end) of ``region``: ``delta`` bytes of its private
    memory became shared with another process (or stopped being), ``now`` shared."""
    why = SHARED_MORE if delta > 0 else SHARED_LESS
    detail = f"{why}{since}: now {size_text(now)} shared, the Rss unchanged by it"
    return Event(
        when, ev.SHARED_CHANGED, start, end, region.kind, abs(delta), delta, region.path,
        region.tid, detail, object=region.object,
    )  # fmt: skip
