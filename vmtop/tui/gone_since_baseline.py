"""The regions of the baseline that are gone: unmapped since it, or mapped over by
others. The table shows the regions there are now, each with its change since the
baseline: one unmapped since just was not there, and nothing said it (review). The
table's title says how many are gone and what they held.

A baseline region is gone where every region there now over its range is new since the
baseline (``NEW`` in the Δ columns' changes), or none is: the same reading as the Δ
columns', so that a region split, shrunk or merged since is not counted gone.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import NamedTuple

from vmtop.model.columns import RegionColumns
from vmtop.model.region import Snapshot
from vmtop.tui.formatting import format_delta
from vmtop.tui.sampler import NEW


class Gone(NamedTuple):
    regions: int
    size: int
    rss: int | None  # None where the baseline's resident figures were not read


def gone_since(
    base: Snapshot, now: Snapshot, changes: Mapping, remapped: Sequence | None = None
) -> Gone:
    """What of ``base`` is gone in ``now``, given the Δ columns' ``changes`` of ``now``
    since ``base`` (by region start). ``remapped``: the ranges mapped or unmapped since
    the baseline, where the screen kept them (only a region there can be gone: a
    million-region map is not walked every sample); None: every region is looked at."""
    if remapped is None:
        candidates = range(len(base.regions))
    else:
        seen: set[int] = set()
        for lo, hi in remapped:
            seen.update(range(*_overlapping(base.regions, lo, hi)))
        candidates = sorted(seen)
    count = size = rss = 0
    rss_known = True
    for k in candidates:
        region = base.regions[k]
        i, j = _overlapping(now.regions, region.start, region.end)
        if all(_is_new(changes.get(s)) for s in _starts(now.regions, i, j)):
            count += 1
            size += region.size
            if region.rss is None:
                rss_known = False
            else:
                rss += region.rss
    return Gone(count, size, rss if rss_known else None)


def gone_texts(gone: Gone, since: str = "baseline") -> tuple[str, str]:
    """The table title's part, long and short: "1 region gone since baseline (-256M,
    RSS -96M)", "1 gone since baseline (RSS -96M)"; empty where none is. ``since``:
    what the baseline is called (a replay's mark "A")."""
    if not gone.regions:
        return "", ""
    noun = "region" if gone.regions == 1 else "regions"
    rss = f"RSS {format_delta(-gone.rss) or '±0'}" if gone.rss is not None else ""
    long = f"{gone.regions} {noun} gone since {since} ({format_delta(-gone.size)}"
    long += f", {rss})" if rss else ")"
    short = f"{gone.regions} gone since {since} ({rss or format_delta(-gone.size)})"
    return long, short


def _is_new(change) -> bool:
    return change is not None and getattr(change, "status", None) == NEW


def _overlapping(regions: Sequence, lo: int, hi: int) -> tuple[int, int]:
    if isinstance(regions, RegionColumns):
        return bisect_right(regions.ends, lo), bisect_left(regions.starts, hi)
    return bisect_right(regions, lo, key=_END), bisect_left(regions, hi, key=_START)


def _starts(regions: Sequence, i: int, j: int) -> list[int]:
    if isinstance(regions, RegionColumns):
        return list(regions.starts[i:j])
    return [r.start for r in regions[i:j]]


_START = attrgetter("start")
_END = attrgetter("end")
