"""What changed in each region since a baseline, and what was unmapped since.

``region_changes`` answers, per region of the newer snapshot, what ``vmtop.model.diff``
answers with events: for the views' "changed since the baseline" column.
``unmapped_ranges`` gives the address ranges that disappeared, so a view can draw a
trace of them. Both read the sweep of ``vmtop.model.sweep``, which keeps the last
pairs' sweeps, so asking for the events, the changes and the unmapped ranges of one
pair of snapshots sweeps it once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import NamedTuple

from vmtop.model.columns import starts_of
from vmtop.model.diff import DEFAULT_RSS_THRESHOLD
from vmtop.model.process_events import exec_event
from vmtop.model.region import Region, Snapshot, region_starting_at
from vmtop.model.sweep import _SAME, _Cluster, _Resized, _Run, _segments, _sweep_items


class RegionChange(NamedTuple):
    status: str  # "new", "grew", "shrank", "changed", "same"
    size_delta: int  # bytes, signed
    rss_delta: int | None  # bytes, signed; None when either snapshot has no smaps
    # Split or merged since: smaps gives each old line's resident size, not where in
    # the line it is, so the change is against each old line's share by address.
    rss_estimated: bool = False


NEW, GREW, SHRANK, CHANGED, SAME = "new", "grew", "shrank", "changed", "same"


def region_changes(
    base: Snapshot,
    cur: Snapshot,
    *,
    rss_threshold: int = DEFAULT_RSS_THRESHOLD,
    changed_only: bool = False,
    flags_changed: Collection[int] = (),
) -> dict[int, RegionChange]:
    """For each region of ``cur`` (keyed by its start): what changed since ``base``
    (with ``changed_only``, regions left out are ``same``: at a million regions, a
    dict of every one is 100 MB).

    - new: no part of it was mapped in ``base`` by the same mapping;
    - grew / shrank: it is the same mapping with another size (``size_delta``);
    - changed: same size, but other lines or permissions, or the resident size moved by
      at least ``rss_threshold``, or its VmFlags changed (``flags_changed``: the
      starts of such regions of ``cur``, read by procfs from both snapshots' smaps);
    - same: nothing worth showing.

    Snapshots of different processes, or across an exec, make every region ``new``.
    """
    with_rss = base.has_smaps and cur.has_smaps
    C = cur.regions
    if (
        base.info.pid != cur.info.pid
        or base.info.start_time != cur.info.start_time
        or exec_event(base, cur) is not None
    ):
        return {r.start: RegionChange(NEW, r.size, (r.rss or 0) if with_rss else None) for r in C}
    threshold = max(1, rss_threshold)
    P = base.regions
    # Every region starts as unchanged (one C-level pass); the sweep overwrites the rest.
    unchanged = RegionChange(SAME, 0, 0 if with_rss else None)
    result: dict[int, RegionChange] = {} if changed_only else dict.fromkeys(starts_of(C), unchanged)
    for item in _sweep_items(P, C, with_rss):
        kind = type(item)
        if kind is _Run:
            continue
        if kind is _Resized:
            c = C[item.j]
            d = (c.rss or 0) - (P[item.i].rss or 0)
            status = CHANGED if (d >= threshold or -d >= threshold) else SAME
            result[c.start] = RegionChange(status, 0, d)
            continue
        _cluster_changes(item, with_rss, threshold, result)
    return with_flags_changed(result, cur, flags_changed)


def with_flags_changed(
    changes: dict[int, RegionChange], cur: Snapshot, flags_changed: Collection[int]
) -> dict[int, RegionChange]:
    """``changes`` (of ``cur``'s regions, by start) with each region of ``cur`` that
    starts at one of ``flags_changed`` marked changed where nothing else was: mlock,
    mseal or madvise of a whole mapping leaves its maps line as it was, and only its
    smaps VmFlags tell (``vm_flag_events``), so the sweep sees the same region. In
    place; a start that is no region of ``cur`` is left out."""
    with_rss = cur.has_smaps
    for start in flags_changed:
        change = changes.get(start)
        if change is not None and change.status != SAME:
            continue  # (new, grew, shrank or changed already: that says more)
        if region_starting_at(cur.regions, start) is None:
            continue
        if change is None:  # left out as same: its resident size moved by nothing
            change = RegionChange(SAME, 0, 0 if with_rss else None)
        changes[start] = change._replace(status=CHANGED)
    return changes


def _cluster_changes(
    cluster: _Cluster, with_rss: bool, threshold: int, result: dict[int, RegionChange]
) -> None:
    cp, cc = cluster.prev, cluster.cur
    segs = _segments(cluster)
    covered = [0] * len(cc)  # bytes of each cur region kept from base
    perms_changed = [False] * len(cc)
    partners: list[set[int]] = [set() for _ in cc]  # base regions each cur region keeps
    users: dict[int, set[int]] = {}  # cur regions keeping part of each base region
    for s in segs:
        if s.state != _SAME:
            continue
        covered[s.c] += s.end - s.start
        partners[s.c].add(s.p)
        users.setdefault(s.p, set()).add(s.c)
        if cp[s.p].perms != cc[s.c].perms:
            perms_changed[s.c] = True
    for k, c in enumerate(cc):
        rss_now = c.rss or 0
        if not covered[k]:
            result[c.start] = RegionChange(NEW, c.size, rss_now if with_rss else None)
            continue
        mates = partners[k]
        estimated = False
        one_to_one = len(mates) == 1 and users[next(iter(mates))] == {k}
        if one_to_one:
            p = cp[next(iter(mates))]
            size_delta = c.size - p.size
            rss_delta = rss_now - (p.rss or 0) if with_rss else None
            reshaped = (p.start, p.end) != (c.start, c.end)
        else:
            # Split or merged: compare with the share of each base region it keeps.
            size_delta = c.size - covered[k]
            rss_delta = None
            if with_rss:
                before = 0.0
                for pi in mates:
                    p = cp[pi]
                    kept = sum(
                        s.end - s.start for s in segs if s.state == _SAME and s.p == pi and s.c == k
                    )
                    before += (p.rss or 0) * kept / max(1, p.size)
                    # Part of an old line: its share of that line's figure, by address.
                    estimated = estimated or kept < p.size
                rss_delta = rss_now - int(before)
            reshaped = True
        if size_delta > 0:
            status = GREW
        elif size_delta < 0:
            status = SHRANK
        elif (
            reshaped
            or perms_changed[k]
            or (rss_delta is not None and (rss_delta >= threshold or -rss_delta >= threshold))
        ):
            status = CHANGED
        else:
            status = SAME
        result[c.start] = RegionChange(status, size_delta, rss_delta, estimated)


def unmapped_ranges(base: Snapshot, cur: Snapshot) -> list[tuple[int, int]]:
    """Address ranges mapped in ``base`` and not mapped in ``cur``, merged, sorted."""
    with_rss = base.has_smaps and cur.has_smaps  # the key lists the other calls cached
    out: list[tuple[int, int]] = []
    for item in _sweep_items(base.regions, cur.regions, with_rss):
        if type(item) is not _Cluster:
            continue  # the same ranges on both sides
        for lo, hi in _uncovered(item.prev, item.cur):
            _append_range(out, lo, hi)
    return out


def _uncovered(before: list[Region], after: list[Region]) -> Iterator[tuple[int, int]]:
    """Parts of the ranges in ``before`` that no range in ``after`` covers."""
    j = 0
    n = len(after)
    for r in before:
        lo, hi = r.start, r.end
        while j < n and after[j].end <= lo:
            j += 1
        k = j
        while lo < hi:
            if k >= n or after[k].start >= hi:
                yield lo, hi
                break
            c = after[k]
            if c.start > lo:
                yield lo, c.start
            lo = max(lo, c.end)
            k += 1


def _append_range(out: list[tuple[int, int]], lo: int, hi: int) -> None:
    if out and out[-1][1] == lo:
        out[-1] = (out[-1][0], hi)
    else:
        out.append((lo, hi))
