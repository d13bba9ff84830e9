"""Each region's resident size over the samples, for the region detail's history:
bounded whatever the region count and however long the watch (``RssHistory``).

A region's memory in hugetlb pages (``Snapshot.hugetlb``) counts with its Rss, as the
bar and the process's graph count it. The sampling worker works out what moved
(``rss_moves``: a pass over every region, a second at a million); the UI thread records.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict, deque
from operator import ne

from vmtop.model.column_steps import where_pair
from vmtop.model.columns import RegionColumns, matching_rows, starts_of
from vmtop.model.region import Region, Snapshot, region_starting_at
from vmtop.model.sweep import key_pair

HISTORY_POINTS = 600  # samples of history kept (process and per region)
# Regions whose resident size history is kept (the ones that changed most recently);
# every other region's history is its current size, flat.
MAX_REGION_HISTORIES = 4096


def region_history_key(region: Region) -> tuple:
    """What a region's RSS history is filed under: its start and identity (for the
    stack, its end: its start moves down as it grows)."""
    anchor = region.end if region.kind == "stack" else region.start
    return (anchor, region.dev, region.inode, region.path)


class RssHistory:
    """Each region's resident size over the samples, bounded whatever the region count
    and however long the watch: ``max_points`` samples, and a history only for the
    ``max_regions`` regions whose resident size changed most recently (a region whose
    size never changed is flat, and costs nothing; at a million regions, one list per
    region would cost hundreds of MB). Not thread-safe: the UI thread records.

    A region's memory in hugetlb pages (``Snapshot.hugetlb``) is counted resident with
    its Rss, which leaves it out: the history of PostgreSQL's shared buffers with
    huge_pages=on stayed at 0 while hundreds of MiB faulted in. Such regions are few:
    they are looked up by start (``hugetlb_of``), with no pass over the others."""

    def __init__(
        self, max_points: int = HISTORY_POINTS, max_regions: int = MAX_REGION_HISTORIES
    ) -> None:
        self.max_points = max_points
        self.max_regions = max_regions
        self.sample_times: deque[float] = deque(maxlen=max_points)
        self.changed: OrderedDict[tuple, deque[tuple[float, int]]] = OrderedDict()
        self.first_seen: OrderedDict[tuple, float] = OrderedDict()  # regions that came later
        self.dropped = 0  # histories forgotten to stay within max_regions
        # The last change of the most recently forgotten history: every region without
        # a history has not changed since (the histories go least recently changed
        # first), so its flat line is drawn from then on only, not over the whole time.
        self.forgotten_until = float("-inf")
        self._last: tuple | None = None  # the regions of the last smaps read
        self._last_time = 0.0
        self._hugetlb: dict[int, int] = {}  # its memory in hugetlb pages, by region start

    def record(self, snap: Snapshot, smaps_read: bool, moves: tuple | None = None) -> None:
        """Add a sample. ``moves``: SampleResult.rss_moves, worked out in the sampling
        worker against the smaps read before (used when that is the one recorded last)."""
        t = snap.taken_at
        self.sample_times.append(t)
        if not smaps_read:
            return  # maps-only tick: resident figures are carried, nothing new
        hugetlb = dict(snap.hugetlb or ())
        if snap.regions is self._last and hugetlb == self._hugetlb:
            return
        last, self._last = self._last, snap.regions
        last_hugetlb, self._hugetlb = self._hugetlb, hugetlb
        previous_time, self._last_time = self._last_time, t
        if last is None:
            return
        changed = self.changed
        first_seen = self.first_seen
        if moves is not None and moves[0] is last:
            moved, new_keys = moves[1], moves[2]
        elif last is snap.regions:
            moved, new_keys = [], []
        else:
            moved, new_keys = rss_moves(last, snap.regions)
        if hugetlb or last_hugetlb:
            moved = _with_hugetlb(moved, last, last_hugetlb, snap.regions, hugetlb)
        for key in new_keys:
            first_seen[key] = t
        for key, old, rss in moved:
            points = changed.pop(key, None)
            if points is None:
                points = deque([(previous_time, old)], maxlen=self.max_points)
            points.append((t, rss))
            changed[key] = points  # most recently changed last
        regions = snap.regions
        starts = starts_of(regions)
        for store in (changed, first_seen):
            for key in [k for k in store if not _still_there(regions, k, starts)]:
                del store[key]
        while len(changed) > self.max_regions:
            _, forgotten = changed.popitem(last=False)
            self.forgotten_until = max(self.forgotten_until, forgotten[-1][0])
            self.dropped += 1
        while len(first_seen) > self.max_regions:
            first_seen.popitem(last=False)

    def points(self, region: Region) -> list[tuple[float, int]]:
        """The region's resident size at every kept sample since it was first seen."""
        if region.rss is None:
            return []
        key = region_history_key(region)
        points = self.changed.get(key)
        since = self.first_seen.get(key, float("-inf"))
        if not points:
            since = max(since, self.forgotten_until)
            now = region.rss + self.hugetlb_of(region)
            return [(t, now) for t in self.sample_times if t >= since]
        out = []
        i = 0
        value = points[0][1]  # what it was before its first kept change
        for t in self.sample_times:
            if t < since:
                continue
            while i < len(points) and points[i][0] <= t:
                value = points[i][1]
                i += 1
            out.append((t, value))
        return out

    def hugetlb_of(self, region: Region) -> int:
        """The region's memory in hugetlb pages at the last smaps read (counted in its
        history: say so where it is not 0)."""
        return self._hugetlb.get(region.start, 0)

    def kept(self) -> int:
        """How many points are held, all regions together."""
        return sum(map(len, self.changed.values())) + len(self.first_seen)


def rss_moves(last, regions) -> tuple[list, list]:
    if isinstance(last, RegionColumns) and isinstance(regions, RegionColumns):
        return _rss_moves_in_columns(last, regions)
    return _rss_moves_by_walk(last, regions)


def _rss_moves_in_columns(last: RegionColumns, regions: RegionColumns) -> tuple[list, list]:
    """_rss_moves for columns. Where every region is the same mapping as the one at the
    same index (the usual tick: two memcmps), the resident sizes are compared in C and
    only the regions that moved become Regions; a changed map is walked."""
    rows = matching_rows(regions, last, *key_pair(regions, last, whole=False))
    if rows is not None or regions.figures is None or last.figures is None:
        return _rss_moves_by_walk(last, regions)
    new_rss, old_rss = regions.figures[0], last.figures[0]
    moved: list = []
    for k in where_pair(ne, new_rss, old_rss, len(regions)):
        now, was = new_rss[k], old_rss[k]
        if now < 0:  # no figure now (None)
            continue
        if was >= 0:  # (a figure that was None: nothing to compare, as in the walk)
            moved.append((region_history_key(regions[k]), was, now))
    return moved, []


def _rss_moves_by_walk(last, regions) -> tuple[list, list]:
    """Between two snapshots (each in address order): (key, before, now) of each region
    whose resident size moved, and the keys of regions that were not there before.

    A walk of both by start: a region at the same start with the same key is compared
    in place, and no key is made for it unless its size moved, so an unchanged map of
    a million regions costs one pass and no allocation per region. Regions left over
    (the stack, whose start moves; anything mapped or unmapped) are matched by key."""
    moved: list = []
    old_left: list = []
    new_left: list = []
    i = 0
    n = len(last)
    for r in regions:
        start = r[0]
        while i < n and last[i][0] < start:
            old_left.append(last[i])
            i += 1
        if i < n and last[i][0] == start:
            o = last[i]
            i += 1
            if o is r or (o.rss == r.rss and o[1:7] == r[1:7]):
                continue
            key = region_history_key(r)
            if key == region_history_key(o):
                if o.rss is not None and r.rss is not None and o.rss != r.rss:
                    moved.append((key, o.rss, r.rss))
                continue
            old_left.append(o)
        new_left.append(r)
    old_left.extend(last[i:])
    if not new_left:
        return moved, []
    before = {region_history_key(o): o.rss for o in old_left if o.rss is not None}
    new_keys = []
    for r in new_left:
        if r.rss is None:
            continue
        key = region_history_key(r)
        old = before.get(key)
        if old is None:
            new_keys.append(key)
        elif old != r.rss:
            moved.append((key, old, r.rss))
    return moved, new_keys


def _with_hugetlb(
    moved: list, last, last_hugetlb: dict, regions, hugetlb: dict
) -> list[tuple[tuple, int, int]]:
    """``moved`` (key, before, now) with each region's memory in hugetlb pages counted
    in its resident size, before (``last_hugetlb``, of ``last``) and now: only the
    regions with some are looked at (by start: a bisect each)."""
    out = {key: (old, now) for key, old, now in moved}
    for start in last_hugetlb.keys() | hugetlb.keys():
        o, r = region_starting_at(last, start), region_starting_at(regions, start)
        if o is None or r is None or o.rss is None or r.rss is None:
            continue  # mapped or unmapped since: no history to extend
        key = region_history_key(r)
        if key == region_history_key(o):
            out[key] = (o.rss + last_hugetlb.get(start, 0), r.rss + hugetlb.get(start, 0))
    return [(key, old, now) for key, (old, now) in out.items() if old != now]


def _still_there(regions, key: tuple, starts=None) -> bool:
    """Is a region with this history key in ``regions`` (in address order)?"""
    anchor = key[0]
    if starts is None:
        starts = starts_of(regions)
    i = bisect_right(starts, anchor) - 1
    for j in (i - 1, i, i + 1):  # starts there; or, for the stack, ends there
        if 0 <= j < len(regions) and region_history_key(regions[j]) == key:
            return True
    return False
