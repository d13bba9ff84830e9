"""Reading smaps on a budget, for whatever samples a process over time (the TUI's
sampler, ``vmtop watch``): headless.

smaps walks the target's page tables (about 3.4 µs per region; 260 ms for 65 000
regions) and the target's mmap and munmap wait on it. So it is read on every tick only
while that costs less than ``SMAPS_BUDGET`` of the interval, less often otherwise;
ticks in between read ``maps`` (cheap) and carry each unchanged region's resident
figures from the last smaps read (``carry_smaps``). A region that changed since (grew
by a merge, was cut, split by mprotect) gets the figures of the old lines of the same
mapping it covers, shared out by bytes: an estimate, but of the memory that was there
(it counted as nothing: on a big map the totals fell by two thirds between reads).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from operator import eq

from vmtop.model.column_steps import where_value
from vmtop.model.columns import RegionColumns, matching_rows, starts_of, take
from vmtop.model.region import Region, Snapshot
from vmtop.model.sweep import _continues, key_pair

_FIGURES = slice(7, 15)  # rss .. anonymous, in Region's field order

SMAPS_BUDGET = 0.10  # at most this share of one CPU's time spent reading smaps


def smaps_every(cost: float, interval: float, budget: float = SMAPS_BUDGET) -> int:
    """Read smaps once every this many ticks, when one read costs ``cost`` CPU
    seconds and a tick is ``interval`` seconds."""
    allowed = max(1e-6, budget * interval)
    return max(1, math.ceil(cost / allowed))


# -- carrying resident figures across maps-only ticks ----------------------------------


def carry_smaps(
    maps_snap: Snapshot, smaps_snap: Snapshot, index: dict[int, Region] | None = None
) -> Snapshot:
    """``maps_snap`` (read without smaps) with each region's resident figures taken from
    the same region (same range, permissions, offset, device, inode and name) of the last
    smaps read, ``smaps_snap`` (``index``: its regions by start, when already built).

    A region that is the same in every respect is the very object of ``smaps_snap``, so
    an unchanged map gives a tuple of the same objects (and comparing it with the last
    one costs a pointer comparison per region). The raw smaps text goes along so
    ``smaps_blocks.region_fields`` still answers (with the figures of that read), and
    ``has_smaps`` stays true: the figures are there, only older, so the next smaps read
    is compared with them (resident changes are reported then, not lost), and
    ``smaps_read_at`` says how old (a recording keeps it: replay and diff say which
    moment the figures are of, not the sample's). Process RSS
    stays the fresh one from ``status``; swap is the carried regions' sum, as on a tick
    that reads smaps: ``status``' VmSwap leaves out shared memory on swap, which smaps
    counts, and the header would flip between the two from one tick to the next.
    """
    if isinstance(maps_snap.regions, RegionColumns) and isinstance(
        smaps_snap.regions, RegionColumns
    ):
        return _carry_columns(maps_snap, smaps_snap)
    # The region of the last smaps read at the same start: by a walk of both (each in
    # address order), or through ``index`` when the caller keeps one. A walk builds
    # nothing per region (a dict of a million regions is 100 MB).
    get = index.get if index is not None else _Walk(smaps_snap.regions).at
    regions = []
    append = regions.append
    reused = 0
    old_lines: _OldLines | None = None
    for r in maps_snap.regions:
        o = get(r[0])
        if o is None or o[:7] != r[:7]:
            if old_lines is None:
                old_lines = _OldLines(smaps_snap.regions)
            shares = old_lines.shares(r)
            append(r if shares is None else r._replace(**dict(zip(_NAMES, shares, strict=True))))
        elif o[15:18] == r[15:18]:
            append(o)
            reused += 1
        else:  # same mapping, classified differently this time: keep the new kind
            append(
                r._replace(
                    rss=o.rss,
                    pss=o.pss,
                    shared_clean=o.shared_clean,
                    shared_dirty=o.shared_dirty,
                    private_clean=o.private_clean,
                    private_dirty=o.private_dirty,
                    swap=o.swap,
                    anonymous=o.anonymous,
                )
            )
    if reused == len(regions) == len(smaps_snap.regions):
        t = smaps_snap.totals
        pss, private_dirty, shared_dirty, swap = t.pss, t.private_dirty, t.shared_dirty, t.swap
        uss = t.uss
    else:
        pss = sum(r.pss or 0 for r in regions)
        private_dirty = sum(r.private_dirty or 0 for r in regions)
        shared_dirty = sum(r.shared_dirty or 0 for r in regions)
        swap = sum(r.swap or 0 for r in regions)
        uss = private_dirty + sum(r.private_clean or 0 for r in regions)
    totals = maps_snap.totals._replace(
        pss=pss, private_dirty=private_dirty, shared_dirty=shared_dirty, swap=swap, uss=uss
    )
    return maps_snap._replace(
        regions=tuple(regions),
        totals=totals,
        raw_smaps=smaps_snap.raw_smaps,
        has_smaps=True,
        hugetlb=smaps_snap.hugetlb,
        ksm=smaps_snap.ksm,
        smaps_read_at=smaps_snap.figures_read_at,
    )


def _carry_columns(maps_snap: Snapshot, smaps_snap: Snapshot) -> Snapshot:
    """carry_smaps for regions held as columns: the figures' arrays of the last smaps
    read, taken row by row where the mapping is the same (or, for an unchanged map,
    the very regions of that read)."""
    new, old = maps_snap.regions, smaps_snap.regions
    rows = matching_rows(new, old, *key_pair(new, old, whole=False))
    if old.figures is None:
        figures, mixed = None, False
    elif rows is None:
        figures, mixed = old.figures, old.mixed
    elif rows.count(-1) == len(rows):  # not one region the same
        figures, mixed = None, False
    else:
        figures = tuple(take(c, rows) for c in old.figures)
        mixed = _estimate_rows(new, old, rows, figures) or old.mixed
    carried = RegionColumns(new.numbers, new.names, new.tables, figures, new.tids, mixed=mixed)
    if rows is None and carried == old:
        carried = old  # the same regions: the same object (nothing to diff)
    private_dirty = carried.total("private_dirty")
    totals = maps_snap.totals._replace(
        pss=carried.total("pss"),
        private_dirty=private_dirty,
        shared_dirty=carried.total("shared_dirty"),
        swap=carried.total("swap"),
        uss=carried.total("private_clean") + private_dirty,
    )
    return maps_snap._replace(
        regions=carried,
        totals=totals,
        raw_smaps=smaps_snap.raw_smaps,
        has_smaps=True,
        hugetlb=smaps_snap.hugetlb,
        ksm=smaps_snap.ksm,
        smaps_read_at=smaps_snap.figures_read_at,
    )


class _Walk:
    """``at(start)``: the region starting there, for starts asked in ascending order."""

    def __init__(self, regions) -> None:
        self.regions = regions
        self.starts = starts_of(regions)  # (columns: a Region only for the ones asked)
        self.i = 0

    def at(self, start: int) -> Region | None:
        starts = self.starts
        i = self.i
        n = len(starts)
        while i < n and starts[i] < start:
            i += 1
        self.i = i
        if i < n and starts[i] == start:
            return self.regions[i]
        return None


_NAMES = Region._fields[_FIGURES]


class _OldLines:
    """The regions of the last smaps read, to share out their figures over the lines
    that replaced them."""

    def __init__(self, regions: Sequence[Region]) -> None:
        self.regions = regions
        if isinstance(regions, RegionColumns):
            self.starts, self.ends = regions.starts, regions.ends
        else:
            self.starts = [r[0] for r in regions]
            self.ends = [r[1] for r in regions]

    def shares(self, r: Region) -> tuple[int | None, ...] | None:
        """The figures of the old lines of the same mapping that ``r`` overlaps, each
        times the share of it that ``r`` covers (a merge adds them up, a split shares
        them by size; a range newly mapped adds nothing: it was not read). None when
        ``r`` overlaps none (a new mapping: no figures until smaps is read)."""
        starts, ends, old = self.starts, self.ends, self.regions
        j = bisect_right(ends, r[0])
        total: list[int | None] | None = None
        while j < len(starts) and starts[j] < r[1]:
            o = old[j]
            j += 1
            if not _continues(o, r):
                continue
            size = o[1] - o[0]
            part = min(o[1], r[1]) - max(o[0], r[0])
            figures = o[_FIGURES]
            if total is None:
                total = [0] * len(figures)
            for f, value in enumerate(figures):
                if value is None or total[f] is None:
                    total[f] = None
                else:
                    total[f] += value if part == size else value * part // size
        return None if total is None else tuple(total)


def _estimate_rows(new: RegionColumns, old: RegionColumns, rows, figures) -> bool:
    """In place: the figures of the rows of ``new`` that match no row of ``old`` (-1 in
    ``rows``), shared out from the old lines they overlap. Whether some are left
    unknown (the columns are then mixed)."""
    lines = _OldLines(old)
    unknown = False
    for k in where_value(eq, rows, -1):
        shares = lines.shares(new[k])
        if shares is None or None in shares:
            unknown = True
        if shares is None:
            continue
        for column, value in zip(figures, shares, strict=True):
            column[k] = -1 if value is None else value
    return unknown
