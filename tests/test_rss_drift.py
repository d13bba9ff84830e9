"""RssDrift: resident changes summed per region since last reported (pure, no /proc)."""

from __future__ import annotations

import sys

import pytest

from vmtop.model import events as ev
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region, Snapshot, Totals
from vmtop.model.rss_drift import RssDrift

K = 1024


def region(start, end, rss, path="", kind="anon", inode=0) -> Region:
    return Region(start, end, "rw-p", 0, "00:00", inode, path, rss=rss, kind=kind)


@pytest.fixture(params=["tuples", "columns"], autouse=True)
def held_as(request, monkeypatch):
    """Every test runs with the snapshot's regions as a tuple and as columns."""
    monkeypatch.setattr(sys.modules[__name__], "AS_COLUMNS", request.param == "columns")


AS_COLUMNS = False


def make(regions, t):
    fields = {f: None for f in Snapshot._fields}
    held = RegionColumns.from_regions(regions) if AS_COLUMNS else tuple(regions)
    fields.update(regions=held, taken_at=t, has_smaps=True)
    if "totals" in fields:
        fields["totals"] = Totals(*([0] * len(Totals._fields)))
    return Snapshot(**fields)


def test_small_steps_add_up_and_counting_restarts_after_a_report():
    drift = RssDrift(64 * K)
    heap = (0x1000, 0x40000)
    assert drift.update(make([region(*heap, 8 * K, "[heap]", "heap")], 0)) == []
    assert drift.update(make([region(*heap, 40 * K, "[heap]", "heap")], 1)) == []
    out = drift.update(make([region(*heap, 72 * K, "[heap]", "heap")], 2))
    assert [(e.event, e.delta, e.start) for e in out] == [(ev.RSS_CHANGED, 64 * K, 0x1000)]
    assert drift.update(make([region(*heap, 104 * K, "[heap]", "heap")], 3)) == []
    out = drift.update(make([region(*heap, 8 * K, "[heap]", "heap")], 4))
    assert [e.delta for e in out] == [-64 * K]  # from what was last reported: 72K


def test_the_stack_is_followed_by_its_end_and_a_new_mapping_starts_afresh():
    drift = RssDrift(16 * K)
    drift.update(make([region(0x7000, 0x9000, 4 * K, "[stack]", "stack")], 0))
    out = drift.update(make([region(0x6000, 0x9000, 24 * K, "[stack]", "stack")], 1))
    assert [e.delta for e in out] == [20 * K]
    # Another file at the same address: not the same region, no change reported.
    drift.update(make([region(0x1000, 0x2000, 4 * K, "/a", "file", 7)], 2))
    assert drift.update(make([region(0x1000, 0x2000, 400 * K, "/b", "file", 8)], 3)) == []
    assert len(drift) == 1  # bounded by the regions of the last snapshot


def test_a_growing_heap_keeps_what_was_reported_and_unchanged_neighbours_cost_nothing():
    drift = RssDrift(64 * K)
    others = [region(0x100000 + i * 0x2000, 0x101000 + i * 0x2000, 4 * K) for i in range(50)]
    heap = [region(0x1000, 0x40000, 8 * K, "[heap]", "heap")]
    assert drift.update(make(heap + others, 0)) == []
    # brk moved the end: not the same mapping line, the same region by its start
    grown = [region(0x1000, 0x80000, 60 * K, "[heap]", "heap")]
    assert drift.update(make(grown + others, 1)) == []
    grown = [region(0x1000, 0x90000, 80 * K, "[heap]", "heap")]
    out = drift.update(make(grown + others, 2))
    assert [(e.start, e.delta) for e in out] == [(0x1000, 72 * K)]
    # a region that lost its figure is forgotten, and starts afresh when it has one
    gone = [region(0x1000, 0x90000, None, "[heap]", "heap")]
    assert drift.update(make(gone + others, 3)) == []
    back = [region(0x1000, 0x90000, 400 * K, "[heap]", "heap")]
    assert drift.update(make(back + others, 4)) == []
    assert len(drift) == 51
