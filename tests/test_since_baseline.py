"""The live screen's Δ since a baseline (vmtop.model.since_baseline): a region over a
range mapped or unmapped since the baseline is compared only with the same mapping,
the rest as the diff of two samples compares them; the ranges kept are bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_moments import (
    BASE,
    BIG,
    LIB,
    MIB,
    events_between,
    region,
    snap,
    threads_where_the_block_was,
)

from vmtop.model import events as ev
from vmtop.model import moments
from vmtop.model.columns import RegionColumns
from vmtop.model.events import Event
from vmtop.model.region_changes import GREW, NEW, region_changes
from vmtop.model.since_baseline import add_remapped, changes_since_baseline

HEAP = region(BASE - 64 * MIB, MIB, kind="heap", path="[heap]")
HEAP_GROWN = region(BASE - 64 * MIB, 2 * MIB, kind="heap", path="[heap]")
BLOCK = region(BASE + 300 * MIB, 8 * MIB)


def freed_and_mapped_again():
    return [
        Event(1.0, ev.UNMAPPED, BLOCK.start, BLOCK.end, "anon", BLOCK.size, -BLOCK.size),
        Event(2.0, ev.MAPPED, BLOCK.start, BLOCK.end, "anon", BLOCK.size, BLOCK.size),
    ]


def test_a_block_freed_and_mapped_again_is_new_and_the_rest_as_the_diff_says():
    a = snap([HEAP, BLOCK, LIB])
    b = snap([HEAP_GROWN, BLOCK, LIB], 5.0)
    assert BLOCK.start not in region_changes(a, b, changed_only=True)  # the diff: same
    remapped = add_remapped((), freed_and_mapped_again())
    changes = changes_since_baseline(a, b, remapped)
    assert changes[BLOCK.start].status == NEW and changes[BLOCK.start].size_delta == 8 * MIB
    assert changes[HEAP.start].status == GREW  # not over a remapped range: the diff's
    assert LIB.start not in changes
    assert changes_since_baseline(a, b, ()) == region_changes(a, b, changed_only=True)


def test_over_remapped_ranges_it_is_what_two_moments_compared_say():
    a, b = snap([BIG, LIB]), snap(threads_where_the_block_was(), 5.0)
    remapped = add_remapped((), events_between())
    changes = changes_since_baseline(a, b, remapped)
    expected = moments.changes_since(a, b, remapped)
    assert changes == expected
    assert sum(c.status == NEW for c in changes.values()) == 8  # four stacks, four guards


def test_columns_give_what_regions_give():
    a = snap([HEAP, BLOCK, BIG, LIB])
    b = snap([HEAP_GROWN, BLOCK, *threads_where_the_block_was()], 5.0)
    remapped = add_remapped((), [*freed_and_mapped_again(), *events_between()])
    as_regions = changes_since_baseline(a, b, remapped)
    as_columns = changes_since_baseline(
        a._replace(regions=RegionColumns.from_regions(a.regions)),
        b._replace(regions=RegionColumns.from_regions(b.regions)),
        remapped,
    )
    assert as_columns == as_regions and as_regions[BLOCK.start].status == NEW


def test_ranges_merge_and_stay_under_their_cap():
    one = [Event(1.0, ev.MAPPED, 0x1000, 0x3000, "anon", 0x2000, 0x2000)]
    two = [Event(2.0, ev.UNMAPPED, 0x2000, 0x5000, "anon", 0x3000, -0x3000)]
    assert add_remapped(add_remapped((), one), two) == ((0x1000, 0x5000),)
    note = [Event(3.0, ev.NOTE, 0, 0, "", 0, 0, detail="x")]
    assert add_remapped(((1, 2),), note) == ((1, 2),)
    ranges: tuple = ()
    for k in range(1000):  # a churning process: a new range every sample
        at = 0x100000 * k + (0x1000 if k % 3 else 0)
        ranges = add_remapped(
            ranges, [Event(k, ev.MAPPED, at, at + 0x1000, "anon", 0x1000, 0x1000)], cap=64
        )
        assert len(ranges) <= 64
    # Joined, never dropped: every range mapped is still covered.
    for k in range(1000):
        at = 0x100000 * k + (0x1000 if k % 3 else 0)
        assert any(lo <= at and at + 0x1000 <= hi for lo, hi in ranges), hex(at)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(1, 20)), max_size=12),
    st.integers(1, 8),
)
def test_ranges_are_sorted_disjoint_and_cover_what_was_remapped(spans, cap):
    events = [
        Event(0.0, ev.MAPPED, lo * 0x1000, (lo + n) * 0x1000, "anon", n * 0x1000, n * 0x1000)
        for lo, n in spans
    ]
    ranges: tuple = ()
    for e in events:
        ranges = add_remapped(ranges, [e], cap=cap)
    assert len(ranges) <= cap
    assert all(lo < hi for lo, hi in ranges)
    assert all(ranges[i][1] < ranges[i + 1][0] for i in range(len(ranges) - 1))
    for e in events:
        assert any(lo <= e.start and e.end <= hi for lo, hi in ranges)


def test_against_a_baseline_every_resident_change_shows_down_to_a_page():
    # A review: bss 0 -> 16K and [stack] 20K -> 76K between the marks A and B left the
    # ΔRSS cells empty (below the 64K a change between two samples needs), read as
    # "unchanged".
    from helpers_diff import KiB, base_regions, snapshot

    from vmtop.tui import sampler as smp

    before = base_regions()
    after = [r._replace(rss=(r.rss or 0) + 16 * KiB) if r.path == "[heap]" else r for r in before]
    changes = smp.changes_since_baseline(snapshot(before), snapshot(after, taken_at=2e9))
    (heap,) = [r for r in after if r.path == "[heap]"]
    assert changes[heap.start].status == smp.RSS_UP
    assert changes[heap.start].rss_delta == 16 * KiB
    # Between two samples it stays below the threshold of a change (noise).
    assert heap.start not in smp.region_changes(snapshot(before), snapshot(after, taken_at=2e9))
