"""Memory in hugetlb pages, region by region, counted where the views count resident
memory.

No Rss counts hugetlb pages (MAP_HUGETLB, files on hugetlbfs, PostgreSQL's shared
buffers with huge_pages=on): ``Snapshot.hugetlb`` has them, (start, bytes) per region
with some. The bar and the RSS graph count them resident; so do, with these, the Δ
columns and their marks (``counting_hugetlb``: a backend faulting in 54 MiB of shared
buffers since the baseline left its row blank and unmarked), the summary by kind
(``hugetlb_by_kind``) and the report's growth by region (``hugetlb_deltas``).

Regions with hugetlb pages are few: each is found by its start (a bisect), never by a
pass over every region. Pure: snapshots and dicts in, dicts out.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model.region import Region, Snapshot, region_starting_at
from vmtop.model.region_changes import CHANGED, NEW, SAME, RegionChange


def hugetlb_by_kind(regions: Sequence[Region], hugetlb) -> dict[str, int]:
    """Memory in hugetlb pages (``Snapshot.hugetlb``) by the kind of its region."""
    out: dict[str, int] = {}
    for start, size in hugetlb or ():
        r = region_starting_at(regions, start)
        if r is not None and size:
            out[r.kind] = out.get(r.kind, 0) + size
    return out


def hugetlb_deltas(base: Snapshot, cur: Snapshot, changes: dict) -> dict[int, int]:
    """How much each region's memory in hugetlb pages changed since ``base``, by its
    start in ``cur`` (``changes``: region_changes' or changes_since's of the two): from
    nothing for a region new since. Empty where either does not know them (smaps not
    read, a recording made before vmtop kept them)."""
    if base.hugetlb is None or cur.hugetlb is None or not (base.has_smaps and cur.has_smaps):
        return {}
    before, now = dict(base.hugetlb), dict(cur.hugetlb)
    out = {}
    for start in before.keys() | now.keys():
        if region_starting_at(cur.regions, start) is None:
            continue  # unmapped since: no region of ``cur``
        c = changes.get(start)
        was = 0 if c is not None and c.status == NEW else before.get(start, 0)
        if now.get(start, 0) != was:
            out[start] = now.get(start, 0) - was
    return out


def counting_hugetlb(
    changes: dict[int, RegionChange], base: Snapshot, cur: Snapshot, threshold: int
) -> dict[int, RegionChange]:
    """``changes`` (of ``cur`` since ``base``, unchanged regions left out or not) with
    each region's memory in hugetlb pages counted in its resident change: a region whose
    hugetlb pages moved by ``threshold`` or more is changed. ``changes`` itself is left
    as it is."""
    deltas = hugetlb_deltas(base, cur, changes)
    if not deltas:
        return changes
    out = dict(changes)
    for start, delta in deltas.items():
        c = out.get(start) or RegionChange(SAME, 0, 0)
        rss_delta = (c.rss_delta or 0) + delta
        status = c.status
        if status == SAME and abs(rss_delta) >= max(1, threshold):
            status = CHANGED
        out[start] = c._replace(status=status, rss_delta=rss_delta)
    return out
