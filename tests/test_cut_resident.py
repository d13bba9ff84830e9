"""The resident memory that left with part of a region is said by the cut's event.

Eight 10 MiB malloc blocks the kernel merged into one region, four of them freed from
its middle: VmRSS fell by 40 MiB, and no event said it (the unmapped event had no
``rss``, and the rest of the region kept its own, so no rss_changed either). Hand-made
snapshots: the diff of two samples (watch, recordings, the TUI's log) and its JSON.
"""

from __future__ import annotations

from helpers_diff import MiB, base_regions, region, snapshot

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.model.rss_drift import RssDrift

BASE = 0x7F40_0000_0000


def blocks(*pieces):
    """Lines of one anonymous mapping: (offset MiB, size MiB, resident MiB) each."""
    return [
        region(BASE + lo * MiB, BASE + (lo + size) * MiB, "rw-p", rss=rss * MiB)
        for lo, size, rss in pieces
    ]


def events(before, after):
    a = snapshot(base_regions() + before, taken_at=1.0)
    b = snapshot(base_regions() + after, taken_at=2.0)
    return a, b, diff_snapshots(a, b)


def test_blocks_freed_from_the_middle_say_the_memory_that_went():
    _, _, said = events(blocks((0, 80, 80)), blocks((0, 20, 20), (60, 20, 20)))
    (cut,) = [e for e in said if e.event == ev.UNMAPPED]
    assert (cut.start, cut.end, cut.rss) == (BASE + 20 * MiB, BASE + 60 * MiB, 40 * MiB)
    assert cut.detail.endswith("; 40.0 MiB was resident")
    assert not [e for e in said if e.event == ev.RSS_CHANGED]  # said once, by the cut


def test_the_tui_drift_says_no_change_of_the_rest_beside_it():
    a, b, said = events(blocks((0, 80, 80)), blocks((0, 20, 20), (60, 20, 20)))
    drift = RssDrift(64 * 1024)
    drift.update(a)
    assert drift.update(b, set()) == []
    assert [e.rss for e in said if e.event == ev.UNMAPPED] == [40 * MiB]


def test_a_cut_that_held_less_than_the_fall_says_only_what_it_could_hold():
    # 8 MiB cut off the end, while the rest gave back 30 MiB more (MADV_DONTNEED):
    # the cut held at most its 8 MiB; the rest's fall is an rss_changed of its own.
    _, _, said = events(blocks((0, 80, 80)), blocks((0, 72, 42)))
    assert [(e.event, e.rss if e.event == ev.UNMAPPED else e.delta) for e in said] == [
        (ev.UNMAPPED, 8 * MiB),
        (ev.RSS_CHANGED, -30 * MiB),
    ]


def test_a_heap_given_back_through_brk_says_what_it_held():
    heap = [r for r in base_regions() if r.path == "[heap]"][0]
    big = heap._replace(end=heap.start + 64 * MiB, rss=60 * MiB)
    small = heap._replace(end=heap.start + 4 * MiB, rss=4 * MiB)
    rest = [r for r in base_regions() if r.path != "[heap]"]
    a = snapshot(rest + [big], taken_at=1.0)
    b = snapshot(rest + [small], taken_at=2.0)
    (shrank,) = [e for e in diff_snapshots(a, b) if e.event == ev.HEAP_SHRANK]
    assert shrank.rss == 56 * MiB


def test_two_cuts_of_one_mapping_at_once_say_it_together():
    # Which of the two held what is not known: the first says both.
    _, _, said = events(blocks((0, 80, 80)), blocks((0, 10, 10), (30, 20, 20), (70, 10, 10)))
    cuts = [e for e in said if e.event == ev.UNMAPPED]
    assert [e.rss for e in cuts] == [40 * MiB, None]
    assert cuts[0].detail.endswith(
        "40.0 MiB was resident in the 2 parts cut off this region together"
    )


def test_a_cut_while_the_rest_faults_in_says_what_it_held_at_least():
    # 8 MiB cut (all of it resident) while the rest faulted 4 MiB in: the mapping fell by
    # 4 MiB. The cut held 4 MiB or more, up to its 8 MiB.
    _, _, said = events(blocks((0, 64, 48)), blocks((0, 40, 40), (48, 16, 4)))
    (cut,) = [e for e in said if e.event == ev.UNMAPPED]
    assert cut.rss == 4 * MiB
    assert "4.0 MiB or more was resident (up to 8.0 MiB" in cut.detail
