"""RssDrift: resident changes summed per region since last reported (pure, no /proc)."""

from __future__ import annotations

import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vmtop.model import events as ev
from vmtop.model.columns import RegionColumns
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
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


M = 1024 * K


def test_a_mapping_merged_into_a_neighbour_adds_what_was_faulted_in_and_a_split_moves_nothing():
    """A: 64 MiB, 32 MiB resident. B (100 MiB) is mapped right below and the kernel
    merges the two lines; B is faulted in. Then mprotect of A's first 64 KiB splits
    the line in three. What `watch`'s diff says: +100 MiB, then nothing."""
    drift = RssDrift(64 * K)
    a = (0x7F0004000000, 0x7F0008000000)
    b_start = a[0] - 100 * M
    assert drift.update(make([region(*a, 32 * M)], 0)) == []
    merged = region(b_start, a[1], 132 * M)
    out = drift.update(make([merged], 1))
    assert [(e.event, e.start, e.end, e.delta) for e in out] == [
        (ev.RSS_CHANGED, b_start, a[1], 100 * M)
    ]
    assert out[0].detail.endswith("now 132.0 MiB resident")
    pieces = [
        region(b_start, a[0], 100 * M),
        region(a[0], a[0] + 64 * K, 64 * K)._replace(perms="r--p"),
        region(a[0] + 64 * K, a[1], 32 * M - 64 * K),
    ]
    assert drift.update(make(pieces, 2)) == []
    # Each piece counts on from its own figure: A's rest freed shows as A's rest.
    pieces[2] = pieces[2]._replace(rss=0)
    out = drift.update(make(pieces, 3))
    assert [(e.start, e.end, e.delta) for e in out] == [(a[0] + 64 * K, a[1], -(32 * M - 64 * K))]


def test_a_change_too_small_to_report_stays_counted_across_a_split():
    drift = RssDrift(64 * K)
    whole = (0x10000000, 0x10100000)
    drift.update(make([region(*whole, 100 * K)], 0))
    half = 0x10080000
    # +40 KiB since first seen, and split: not yet 64 KiB.
    split = [region(whole[0], half, 90 * K), region(half, whole[1], 50 * K)._replace(perms="r--p")]
    assert drift.update(make(split, 1)) == []
    # 30 KiB more in the larger piece: 70 KiB since the figure counting started.
    split[0] = split[0]._replace(rss=120 * K)
    out = drift.update(make(split, 2))
    assert [(e.start, e.delta) for e in out] == [(whole[0], 70 * K)]


def test_a_new_mapping_overlapping_no_old_line_of_it_starts_afresh():
    drift = RssDrift(64 * K)
    # (vsyscall's line is above the largest signed 64-bit number)
    vsyscall = region(0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, 4 * K, "[vsyscall]", "vsyscall")
    drift.update(make([region(0x1000, 0x2000, 4 * K), vsyscall], 0))
    new = region(0x9000, 0x99000, 500 * K)
    out = drift.update(make([region(0x1000, 0x2000, 4 * K), new, vsyscall], 1))
    assert out == []  # (the diff's `mapped` event says it; its memory is no change)
    new = new._replace(rss=580 * K)
    out = drift.update(make([region(0x1000, 0x2000, 4 * K), new, vsyscall], 2))
    assert [(e.start, e.delta) for e in out] == [(0x9000, 80 * K)]


PAGE = 4096


@st.composite
def maps(draw):
    """Up to 8 regions on a 64-page range: anonymous or one file, two protections,
    residents in steps of 16 KiB (the threshold below is 64 KiB)."""
    cuts = sorted(draw(st.sets(st.integers(0, 64), min_size=2, max_size=12)))
    out = []
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        if draw(st.booleans()):
            continue  # a gap
        start, end = 0x10000 + lo * PAGE, 0x10000 + hi * PAGE
        rss = draw(st.integers(0, (hi - lo) // 4)) * 16 * K
        perms = draw(st.sampled_from(["rw-p", "r--p"]))
        if draw(st.booleans()):
            r = region(start, end, rss)
        else:
            r = Region(start, end, perms, start - 0x10000, "08:01", 7, "/f", rss=rss, kind="file")
        out.append(r._replace(perms=perms))
    return out


@settings(max_examples=300, deadline=None)
@given(maps(), maps())
def test_from_one_sample_to_the_next_it_reports_what_the_diff_does(before, after):
    """What `watch` reports (the diff of two snapshots) is what the TUI's drift reports
    from a first sample to the next: the same ranges and the same changes."""
    from vmtop.model.diff import diff_snapshots

    info = ProcessInfo(1, 1, "x", "x", "S", 0, 0, 1, None)
    first, second = make(before, 0)._replace(info=info), make(after, 1)._replace(info=info)
    drift = RssDrift(64 * K)
    drift.update(first)
    got = drift.update(second)
    diff = diff_snapshots(first, second, rss_threshold=64 * K)
    assume(not any(e.event == ev.EXEC for e in diff))  # (its file's first line moved)
    want = [e for e in diff if e.event == ev.RSS_CHANGED]
    assert sorted((e.start, e.end, e.delta) for e in got) == sorted(
        (e.start, e.end, e.delta) for e in want
    )


def test_memory_that_left_with_an_unmapped_part_is_no_change_of_the_rest():
    """munmap of a region's top 16 MiB: its resident pages went with it. What stays
    reported "-4 MiB freed" (as watch did) though it never held them."""
    M = 1024 * K  # noqa: N806
    a = 0x7F00_0000_0000
    drift = RssDrift(64 * K)
    drift.update(make([region(a, a + 32 * M, 5 * M)], 0))
    assert drift.update(make([region(a, a + 16 * M, 1 * M)], 1)) == []
    # More gone than the cut could have held: the rest did lose some, at least 2 MiB.
    drift = RssDrift(64 * K)
    drift.update(make([region(a, a + 32 * M, 8 * M)], 0))
    out = drift.update(make([region(a, a + 30 * M, 4 * M)], 1))
    assert [e.delta for e in out] == [-2 * M]
    # A rise is a rise, cut or not.
    drift = RssDrift(64 * K)
    drift.update(make([region(a, a + 32 * M, 1 * M)], 0))
    assert [e.delta for e in drift.update(make([region(a, a + 16 * M, 3 * M)], 1))] == [2 * M]


def test_a_reserve_committed_in_part_is_said_as_the_part_that_holds_memory():
    """A wasm memory (or an arena) commits its reserve from the bottom: mprotect cuts
    the no-access tail off. The change was said over the whole group, committed part
    and 8 GiB reserve together: a range that is no region of the map."""
    drift = RssDrift(64 * K)
    base, top = 0x7F0600000000, 0x7F0600000000 + 8 * 1024 * M

    def reserve(start):
        return region(start, top, 0, kind="reserved")._replace(perms="---p")

    drift.update(make([region(base, base + 128 * M, 100 * M), reserve(base + 128 * M)], 0))
    grown = [region(base, base + 160 * M, 133 * M), reserve(base + 160 * M)]
    out = drift.update(make(grown, 1))
    assert [(e.start, e.end, e.kind, e.delta) for e in out] == [
        (base, base + 160 * M, "anon", 33 * M)
    ]


def pages(count: int, rss: int, at: int = 0x7F00_0000_0000) -> list[Region]:
    """``count`` one-page regions side by side, rw and r in turn (so the kernel keeps
    them apart), ``rss`` each."""
    return [
        region(at + i * 4 * K, at + (i + 1) * 4 * K, rss)._replace(
            perms="rw-p" if i % 2 == 0 else "r--p"
        )
        for i in range(count)
    ]


def test_many_regions_each_under_the_threshold_are_said_together():
    """A page touched in each of 30 000 small mappings put 117 MiB in the RSS, and no
    event said it: each region moved by 4 KiB, under the 64 KiB threshold (review)."""
    drift = RssDrift(64 * K)
    assert drift.update(make(pages(3000, 0), 0)) == []
    (said,) = drift.update(make(pages(3000, 4 * K), 1))
    assert (said.event, said.delta) == (ev.RSS_CHANGED, 3000 * 4 * K)
    assert "across 3000 regions, each by less than 64.0 KiB" in said.detail
    assert (said.start, said.end) == (0x7F00_0000_0000, 0x7F00_0000_0000 + 3000 * 4 * K)
    assert drift.update(make(pages(3000, 4 * K), 2)) == []  # said once
    (freed,) = drift.update(make(pages(3000, 0), 3))
    assert freed.delta == -3000 * 4 * K and "freed" in freed.detail


def test_a_few_small_changes_are_not_said():
    drift = RssDrift(64 * K)
    drift.update(make(pages(100, 0), 0))
    assert drift.update(make(pages(100, 4 * K), 1)) == []  # 400 KiB in all: a library's pages


def test_lines_merged_say_what_moved_since_the_last_read_not_their_old_small_changes():
    """2000 one-page lines, each 4 KiB resident, merged into one (mprotect made them
    alike): nothing was faulted in at the merge (review: "+3.9 MiB, pages faulted in")."""
    drift = RssDrift(64 * K)
    drift.update(make(pages(200, 0), 0))
    assert drift.update(make(pages(200, 4 * K), 1)) == []  # 800 KiB: under 16 thresholds
    start = 0x7F00_0000_0000
    merged = [region(start, start + 200 * 4 * K, 200 * 4 * K)]
    assert drift.update(make(merged, 2)) == []
    # What moved after the merge is the merged line's own, as always.
    grown = [region(start, start + 200 * 4 * K, 200 * 4 * K + 64 * K)]
    assert [e.delta for e in drift.update(make(grown, 3))] == [64 * K]


def test_the_spread_has_a_kind_only_where_every_region_that_moved_has_it():
    drift = RssDrift(64 * K)
    mixed = [r._replace(kind="text" if i % 3 else "anon") for i, r in enumerate(pages(600, 0))]
    drift.update(make(mixed, 0))
    (said,) = drift.update(make([r._replace(rss=4 * K) for r in mixed], 1))
    assert said.kind == ""
    drift = RssDrift(64 * K)
    drift.update(make(pages(600, 0), 0))
    (said,) = drift.update(make(pages(600, 4 * K), 1))
    assert said.kind == "anon"
