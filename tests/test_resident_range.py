"""A resident change of a mapping whose lines changed is said where it happened.

A runtime giving memory back (mprotect PROT_NONE and MADV_DONTNEED of a region's top in
one sample) fell by 6 MiB, and vmtop said "rss_changed -6.0 MiB" of the 2 MiB bottom
line, which kept every page: it said the change over the lines that hold memory now,
which for a fall are the ones that did not lose it (review). Hand-made snapshots for the
diff of two samples and the TUI's drift; live, the C program of tests/c/mapping_commands.c
under `vmtop watch` and the TUI's sampler, ground truth its smaps.
"""

from __future__ import annotations

import time

import pytest
from conftest import C_DIR
from helpers_diff import MiB, base_regions, region, smaps_figures, snapshot, watched_mapping

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.model.event_words import size_text
from vmtop.model.moments import net_change
from vmtop.model.rss_drift import RssDrift

BASE = 0x7F40_0000_0000


def lines(*pieces):
    """Lines of one anonymous mapping: (offset MiB, size MiB, perms, resident MiB)."""
    return [
        region(BASE + lo * MiB, BASE + (lo + size) * MiB, perms, rss=rss * MiB)
        for lo, size, perms, rss in pieces
    ]


def said(before, after):
    a = snapshot(base_regions() + before, taken_at=1.0)
    b = snapshot(base_regions() + after, taken_at=2.0)
    events = [e for e in diff_snapshots(a, b) if e.event == ev.RSS_CHANGED]
    for e in events:  # "now N resident": what the range said holds, not the mapping
        held = sum(r.rss for r in b.regions if e.start <= r.start and r.end <= e.end)
        assert e.detail.endswith(f"now {size_text(held)} resident"), e.detail
    return [(e.delta, e.start, e.end) for e in events]


def test_a_fall_in_the_top_made_no_access_is_said_of_the_top():
    falls = said(lines((0, 8, "rw-p", 8)), lines((0, 2, "rw-p", 2), (2, 6, "---p", 0)))
    assert falls == [(-6 * MiB, BASE + 2 * MiB, BASE + 8 * MiB)]


def test_a_range_unmapped_and_mapped_again_empty_says_its_fall_there():
    # munmap + mmap(PROT_READ) of the first 2 MiB of a 3 MiB region, in one sample.
    falls = said(lines((0, 3, "rw-p", 3)), lines((0, 2, "r--p", 0), (2, 1, "rw-p", 1)))
    assert falls == [(-2 * MiB, BASE, BASE + 2 * MiB)]


def test_a_rise_in_a_part_made_accessible_is_said_of_that_part():
    rises = said(
        lines((0, 8, "---p", 0)), lines((0, 2, "---p", 0), (2, 4, "rw-p", 4), (6, 2, "---p", 0))
    )
    assert rises == [(4 * MiB, BASE + 2 * MiB, BASE + 6 * MiB)]


def test_where_the_old_figures_cannot_tell_the_lines_that_hold_memory_say_it():
    # Half of the old line was resident, which half unknown: either new line could have
    # lost it; said over the line that holds memory, as before.
    falls = said(lines((0, 8, "rw-p", 4)), lines((0, 4, "rw-p", 3), (4, 4, "r--p", 0)))
    assert falls == [(-MiB, BASE, BASE + 4 * MiB)]


def test_the_tuis_drift_says_it_of_the_top_too():
    a = snapshot(base_regions() + lines((0, 8, "rw-p", 8)), taken_at=1.0)
    b = snapshot(base_regions() + lines((0, 2, "rw-p", 2), (2, 6, "---p", 0)), taken_at=2.0)
    drift = RssDrift(64 * 1024)
    drift.update(a)
    (fell,) = drift.update(b, set())
    assert (fell.delta, fell.start, fell.end) == (-6 * MiB, BASE + 2 * MiB, BASE + 8 * MiB)
    assert fell.detail.endswith("now 0 B resident"), fell.detail


def test_comparing_two_moments_says_the_fall_inside_a_split_region():
    # `vmtop diff REC A B`: the totals said "RSS 9.4M -> 3.4M (-6.0M)", region by
    # region only "1 split" (the split's lines were never compared).
    a = snapshot(base_regions() + lines((0, 8, "rw-p", 8)), taken_at=1.0)
    b = snapshot(base_regions() + lines((0, 2, "rw-p", 2), (2, 6, "---p", 0)), taken_at=2.0)
    items = net_change(a, b, [])
    assert [e.event for e in items if e.start >= BASE] == [ev.SPLIT, ev.RSS_CHANGED]
    (fell,) = [e for e in items if e.event == ev.RSS_CHANGED]
    assert (fell.delta, fell.start, fell.end) == (-6 * MiB, BASE + 2 * MiB, BASE + 8 * MiB)
    assert fell.detail == "resident 8.0 MiB -> 2.0 MiB (in its 2 lines at B)"
    # A split with part of it unmapped: what left with that part is no change.
    b = snapshot(base_regions() + lines((0, 2, "rw-p", 2), (4, 4, "r--p", 4)), taken_at=2.0)
    assert not [e for e in net_change(a, b, []) if e.event == ev.RSS_CHANGED]


@pytest.mark.live
def test_a_live_uncommit_is_said_of_the_range_that_gave_its_pages_back(compile_c):
    with watched_mapping(compile_c(C_DIR / "mapping_commands.c")) as mapped:
        child, address, watch, sampler = mapped
        time.sleep(0.5)
        child.stdin.write("uncommit\n")
        assert child.stdout.readline().split() == ["ok", "uncommit"]
        time.sleep(0.8)
        in_the_tui = [e for e in sampler.sample().events if e.event == ev.RSS_CHANGED]
        bottom = smaps_figures(child.pid, address, "Rss")["Rss"]
        top = smaps_figures(child.pid, address + 2 * MiB, "Rss")["Rss"]
    # Ground truth: the bottom kept its 2 MiB, the top gave its 6 MiB back.
    assert (bottom, top) == (2 * MiB, 0)
    falls = [
        (e["delta"], int(e["start"], 16), int(e["end"], 16))
        for e in watch.of(ev.RSS_CHANGED)
        if address <= int(e["start"], 16) < address + 8 * MiB
    ]
    assert falls == [(-6 * MiB, address + 2 * MiB, address + 8 * MiB)]
    mine = [e for e in in_the_tui if address <= e.start < address + 8 * MiB]
    assert [(e.delta, e.start, e.end) for e in mine] == falls


def test_no_access_memory_that_holds_pages_is_not_said_to_cost_nothing():
    # mmap 4 MiB, write it, mprotect the top MiB PROT_NONE, in one sample: the top's
    # line is reserved and holds 1 MiB (review: "it costs no memory until made
    # accessible; 1.0 MiB resident").
    a = snapshot(base_regions(), taken_at=1.0)
    b = snapshot(base_regions() + lines((0, 3, "rw-p", 3), (3, 1, "---p", 1)), taken_at=2.0)
    (top,) = [e for e in diff_snapshots(a, b) if e.event == ev.MAPPED and e.kind == "reserved"]
    assert "costs no memory" not in top.detail
    assert "pages stay resident" in top.detail and top.detail.endswith("1.0 MiB resident")
    # A reserve never written says what it costs: nothing.
    b = snapshot(base_regions() + lines((0, 3, "rw-p", 3), (3, 1, "---p", 0)), taken_at=2.0)
    (top,) = [e for e in diff_snapshots(a, b) if e.event == ev.MAPPED and e.kind == "reserved"]
    assert "it costs no memory until made accessible" in top.detail
