"""Changes of a figure only a few regions have, reported once they add up.

Memory in hugetlb pages (``hugetlb_events``) and memory on swap (``swap_events``) are
figures of a handful of regions, not of every one: a region's change is reported once
it adds up to the threshold since it was last reported (as ``RssDrift`` does for Rss),
however many samples it took. A subclass says where the figures are and what an event
says.

Bounded: one number per region that has the figure. Pure: snapshots in, events out.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter

from vmtop.model.column_fields import FIGURES
from vmtop.model.column_masks import mask_not, zero_mask
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns, starts_of
from vmtop.model.events import Event
from vmtop.model.region import Region, Snapshot

# A region by what it is: the same start, and the same file (its name may change
# under it: region.same_backing) or, for anonymous memory, name. A new mapping at the
# same address counts from nothing.
_Key = tuple[int, str, int, str]


def _key(r: Region) -> _Key:
    return (r.start, r.dev, r.inode, "" if r.inode else r.path)


def summed(rows: Iterable[Region], figure: Callable[[Region], int | None]) -> int | None:
    """``figure`` of these lines of one mapping together; None where one is not known."""
    total = 0
    for r in rows:
        value = figure(r)
        if value is None:
            return None
        total += value
    return total


def with_figure(snapshot: Snapshot, name: str) -> Iterator[Region] | None:
    """The regions whose smaps figure ``name`` (a field of Region, one of FIGURES) is
    above 0; None where the snapshot has no smaps figures. Of columns, the rows are found
    in C, and only they made into Regions: a handful, not a million."""
    if not snapshot.has_smaps:
        return None
    regions = snapshot.regions
    if isinstance(regions, RegionColumns):
        if regions.figures is None:
            return None
        column = regions.figures[FIGURES.index(name)]
        # (-1 is a figure not read)
        rows = (i for i in where(mask_not(zero_mask(column))) if column[i] > 0)
        return map(regions.__getitem__, rows)
    at = attrgetter(name)
    return (r for r in regions if at(r))


def regions_at(regions: Sequence[Region], starts) -> dict[int, Region]:
    """The regions that start at ``starts`` (exact starts, by bisection)."""
    firsts = starts_of(regions)
    found = {}
    for start in starts:
        i = bisect_left(firsts, start)
        if i < len(firsts) and firsts[i] == start:
            found[start] = regions[i]
    return found


class FigureDrift:
    """Changes of each region's figure since they were last reported."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self._reported: dict[_Key, int] = {}
        self._started = False
        # The last snapshot's regions: a region new to the count was there already
        # (with none of the figure yet), or is mapped since.
        self._previous: Sequence[Region] | None = None

    def __len__(self) -> int:
        return len(self._reported)

    def figures(self, snapshot: Snapshot) -> Sequence[tuple[int, int]] | None:
        """(start, figure) of the regions whose figure is above 0; None where the
        snapshot does not know them."""
        raise NotImplementedError

    def event(self, when: float, region: Region, delta: int, now: int, since: str) -> Event:
        raise NotImplementedError

    def update(
        self, snapshot: Snapshot, skip: frozenset[int] | set[int] = frozenset()
    ) -> list[Event]:
        """Events for regions whose figure moved by the threshold since it was last
        reported (none for the starts in ``skip``, whose change another event said:
        counted as reported). A snapshot whose figures are not known changes nothing;
        the first one known only starts the count."""
        figures = self.figures(snapshot)
        if figures is None:
            return []
        if not figures and not self._reported:
            self._started, self._previous = True, snapshot.regions
            return []
        reported = self._reported
        gone_from = {key[0] for key in reported}
        regions = regions_at(snapshot.regions, {start for start, _ in figures} | gone_from)
        now: dict[_Key, tuple[Region, int]] = {}
        for start, amount in figures:
            region = regions.get(start)
            if region is not None:
                now[_key(region)] = (region, amount)
        for key in reported:
            region = regions.get(key[0])
            if key not in now and region is not None and _key(region) == key:
                now[key] = (region, 0)  # still mapped: its figure went to nothing
        out: list[Event] = []
        kept: dict[_Key, int] = {}
        for key, (region, amount) in now.items():
            was = reported.get(key)
            since = ""
            if was is None:
                if not self._started:
                    kept[key] = amount  # first seen: counting starts
                    continue
                was = 0  # its figure counts from nothing
                if not self._was_there(key):
                    since = " since it was mapped"
            delta = amount - was
            if key[0] in skip:
                kept[key] = amount
            elif delta >= self.threshold or -delta >= self.threshold:
                out.append(self.event(snapshot.taken_at, region, delta, amount, since))
                kept[key] = amount
            else:
                kept[key] = was
        self._reported = kept  # (regions unmapped since are forgotten)
        self._started, self._previous = True, snapshot.regions
        return out

    def _was_there(self, key: _Key) -> bool:
        if self._previous is None:
            return False
        region = regions_at(self._previous, (key[0],)).get(key[0])
        return region is not None and _key(region) == key
