"""A whole region's VmFlags changed (mlock, madvise(MADV_DONTDUMP), mseal of all of
it): the region is marked changed in the views' Δ columns, as the log says it.

The maps line stays the same, so the sweep that pairs the two snapshots' regions sees
the same region; only the VmFlags of the two smaps texts tell (procfs reads them, the
log says flags_changed). Hand-made pairs of snapshots with their smaps texts (the
VmFlags written by hand): the region whose flags changed is ``changed`` since the
last sample and since a baseline, the others are not, and nothing is marked where
either sample's smaps was not read.
"""

from __future__ import annotations

from helpers_diff import KiB, base_regions, region, snapshot

from vmtop.model import region_changes as rc
from vmtop.model.diff import diff_snapshots
from vmtop.model.since_baseline import changes_since_baseline
from vmtop.model.vm_flag_events import flags_changed_starts
from vmtop.procfs.vm_flag_changes import said_with_vm_flags
from vmtop.tui import sampler

BASE = 0x6_0000_0000
PLAIN = "rd wr mr mw me ac"
KEYS = region(BASE, BASE + 64 * KiB, "rw-p", rss=64 * KiB)
OTHER = region(BASE + 128 * KiB, BASE + 192 * KiB, "rw-p", rss=64 * KiB)


def smaps_text(regions, flags: dict[int, str]) -> bytes:
    """An smaps text of ``regions`` as the kernel prints it (header, a few fields,
    VmFlags), with ``flags`` by start, the rest PLAIN."""
    return "".join(
        f"{r.start:08x}-{r.end:08x} {r.perms} {r.offset:08x} {r.dev} {r.inode} {r.path}\n"
        f"Size: {(r.end - r.start) >> 10} kB\nRss: {(r.rss or 0) >> 10} kB\n"
        f"Locked: 0 kB\nVmFlags: {flags.get(r.start, PLAIN)} \n"
        for r in regions
    ).encode()


def sample(taken_at: float, flags: dict[int, str], extra=()):
    snap = snapshot(base_regions() + [KEYS, OTHER, *extra], taken_at=taken_at)
    return snap._replace(raw_smaps=smaps_text(snap.regions, flags))


def flagged(before, now) -> frozenset[int]:
    """The starts the log's flags_changed events name, from the two texts (procfs)."""
    return flags_changed_starts(said_with_vm_flags(diff_snapshots(before, now), before, now))


def test_a_region_whose_vmflags_changed_is_marked_changed():
    before = sample(1.0, {})
    now = sample(2.0, {BASE: f"{PLAIN} dd"})  # madvise(MADV_DONTDUMP) of all of KEYS
    assert before.regions == now.regions  # the maps lines and figures: all the same
    assert rc.region_changes(before, now, changed_only=True) == {}  # (the sweep alone)
    starts = flagged(before, now)
    assert starts == {BASE}
    changes = rc.region_changes(before, now, changed_only=True, flags_changed=starts)
    assert changes == {BASE: rc.RegionChange(rc.CHANGED, 0, 0)}
    every = rc.region_changes(before, now, flags_changed=starts)
    assert every[BASE].status == rc.CHANGED
    assert {s for s, c in every.items() if c.status != rc.SAME} == {BASE}


def test_the_views_mark_it_as_a_change_of_the_same_bytes():
    before = sample(1.0, {})
    now = sample(2.0, {BASE: f"{PLAIN} lo"})  # mlock, its pages resident already
    starts = flagged(before, now)
    # The sampler finds the two maps equal (the same lines, the same figures).
    view = sampler.region_changes(before, now, same_map=True, flags_changed=starts)
    assert view == {BASE: sampler.RegionChange(sampler.RESHAPED, 0, 0)}
    assert sampler.region_changes(before, now, flags_changed=starts) == view
    assert sampler.region_changes(before, now, same_map=True) == {}


def test_since_a_baseline_too():
    base = sample(1.0, {})
    now = sample(5.0, {OTHER.start: f"{PLAIN} sl"})  # mseal of all of OTHER
    starts = flagged(base, now)
    assert starts == {OTHER.start}
    changes = changes_since_baseline(base, now, (), flags_changed=starts)
    assert changes == {OTHER.start: rc.RegionChange(rc.CHANGED, 0, 0)}
    # Over a range remapped since (compared the way a replay compares two moments).
    remapped = ((BASE + 256 * KiB, BASE + 320 * KiB),)
    later = sample(6.0, {OTHER.start: f"{PLAIN} sl"})
    changes = changes_since_baseline(base, later, remapped, flags_changed=starts)
    assert changes[OTHER.start].status == rc.CHANGED


def test_a_region_changed_otherwise_says_that():
    grown = region(BASE, BASE + 128 * KiB, "rw-p", rss=64 * KiB)
    before = sample(1.0, {})
    now = snapshot(base_regions() + [grown, OTHER], taken_at=2.0)
    changes = rc.region_changes(before, now, changed_only=True, flags_changed={BASE})
    assert changes[BASE].status == rc.GREW and changes[BASE].size_delta == 64 * KiB
    # A start that is no region of the newer snapshot marks nothing.
    assert rc.region_changes(before, now, changed_only=True, flags_changed={BASE + 4096}) == (
        rc.region_changes(before, now, changed_only=True)
    )


def test_without_smaps_read_on_both_samples_nothing_is_marked():
    before = sample(1.0, {})
    now = sample(2.0, {BASE: f"{PLAIN} dd"})
    assert flagged(before._replace(raw_smaps=None), now) == frozenset()
    assert flagged(before, now._replace(raw_smaps=None)) == frozenset()
    # A read of maps alone: the last smaps read's figures and text carried.
    carried = now._replace(raw_smaps=before.raw_smaps, smaps_read_at=1.0)
    assert flagged(before, carried) == frozenset()
    starts = flagged(before, carried)
    assert sampler.region_changes(before, carried, same_map=True, flags_changed=starts) == {}
