"""The diff of two hand-built snapshots: every event type, region_changes, unmapped_ranges.

Expected values are worked out by hand from the ranges each test builds (what the
kernel would show after the operation named in the test), and a hypothesis test checks
the events against a page-by-page comparison of random pairs of maps.
"""

from __future__ import annotations

from helpers_diff import (
    EXE,
    HEAP,
    LIBC,
    LIBC_BASE,
    PAGE,
    STACK_TOP,
    VDSO,
    KiB,
    MiB,
    base_regions,
    region,
    snapshot,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.diff import diff_snapshots
from vmtop.model.process_events import exited_event
from vmtop.model.region_changes import RegionChange, region_changes, unmapped_ranges

T0 = 1_700_000_000.0
T1 = T0 + 1.0
ANON = 0x7F10_0000_0000  # somewhere in the mmap area, away from the base regions


def diff(before, after, **kw):
    return diff_snapshots(snapshot(before, taken_at=T0), snapshot(after, taken_at=T1), **kw)


def names(events):
    return [e.event for e in events]


# -- nothing changed -------------------------------------------------------------------


def test_identical_snapshots_give_no_events():
    assert diff(base_regions(), base_regions()) == []


def test_figures_other_than_rss_and_the_classification_changing_are_not_events():
    """Keys cover every field of a region; a change in PSS, the other smaps figures or
    the kind must still read as the same mapping with the same resident size."""
    lib = region(LIBC_BASE + 0x400000, LIBC_BASE + 0x401000, "r--p", "/usr/lib/x.so")
    lib = lib._replace(rss=8 * KiB, pss=8 * KiB, shared_clean=0)
    before = base_regions() + [lib]
    after = base_regions() + [lib._replace(pss=2 * KiB, shared_clean=8 * KiB, object="x")]
    assert diff(before, after) == []
    old, new = snapshot(before, taken_at=T0), snapshot(after, taken_at=T1)
    changes = region_changes(old, new)
    assert changes[lib.start].status == "same" and changes[lib.start].rss_delta == 0
    assert unmapped_ranges(old, new) == []


def test_small_rss_changes_below_the_threshold_are_not_events():
    before = base_regions() + [region(ANON, ANON + MiB, rss=100 * KiB)]
    after = base_regions() + [region(ANON, ANON + MiB, rss=100 * KiB + 60 * KiB)]
    assert diff(before, after) == []


# -- heap --------------------------------------------------------------------------------


def test_heap_end_moving_up_is_heap_grew_for_the_new_range():
    before = base_regions(heap_end=HEAP + 132 * KiB)
    after = base_regions(heap_end=HEAP + 396 * KiB)
    (event,) = diff(before, after)
    assert event.event == ev.HEAP_GREW
    assert (event.start, event.end) == (HEAP + 132 * KiB, HEAP + 396 * KiB)
    assert event.size == 264 * KiB and event.delta == 264 * KiB
    assert event.kind == kinds.HEAP and event.path == "[heap]"
    assert event.time == T1
    # 264 KiB between two samples: one big block, or many small ones; it cannot tell.
    assert "many small blocks" in event.detail and "128 KiB or more" in event.detail


def test_heap_end_moving_down_is_heap_shrank():
    before = base_regions(heap_end=HEAP + 396 * KiB)
    after = base_regions(heap_end=HEAP + 132 * KiB)
    (event,) = diff(before, after)
    assert event.event == ev.HEAP_SHRANK
    assert (event.start, event.end) == (HEAP + 132 * KiB, HEAP + 396 * KiB)
    assert event.size == 264 * KiB and event.delta == -264 * KiB


def test_a_heap_that_appears_is_heap_grew_not_mapped():
    before = [r for r in base_regions() if r.path != "[heap]"]
    (event,) = diff(before, base_regions(heap_end=HEAP + 132 * KiB))
    assert event.event == ev.HEAP_GREW
    assert (event.start, event.end, event.delta) == (HEAP, HEAP + 132 * KiB, 132 * KiB)


def test_a_forked_childs_first_brk_is_the_heap_growing_not_a_first_brk():
    # A forked child (a PostgreSQL backend) inherits its parent's heap; its first brk
    # maps a second [heap] line right after it (the inherited one has another anon_vma).
    # It was told as "the heap appeared: the program's first brk".
    before = base_regions(heap_end=HEAP + 132 * KiB)
    inherited = next(r for r in before if r.path == "[heap]")
    own = inherited._replace(start=inherited.end, end=inherited.end + 360 * KiB)
    after = sorted([*before, own], key=lambda r: r.start)
    (event,) = diff(before, after)
    assert event.event == ev.HEAP_GREW
    assert (event.start, event.end) == (own.start, own.end)
    assert "first brk" not in event.detail and "brk moved the end of the heap up" in event.detail
    # A heap line with no heap before it is still the first brk.
    alone = [r for r in after if r is not inherited]
    (event,) = diff([r for r in before if r is not inherited], alone)
    assert "first brk" in event.detail


def test_heap_growth_with_pages_touched_also_reports_rss():
    before = base_regions()
    after = base_regions(heap_end=HEAP + 1 * MiB)
    after = [r._replace(rss=512 * KiB) if r.path == "[heap]" else r for r in after]
    events = diff(before, after)
    assert names(events) == [ev.HEAP_GREW, ev.RSS_CHANGED]
    rss = events[1]
    assert (rss.start, rss.end) == (HEAP, HEAP + 1 * MiB)
    assert rss.delta == 512 * KiB and rss.size == 512 * KiB


# -- stack -------------------------------------------------------------------------------


def test_stack_start_moving_down_is_stack_grew_below_the_old_start():
    before = base_regions(stack_start=STACK_TOP - 132 * KiB)
    after = base_regions(stack_start=STACK_TOP - 4 * MiB)
    (event,) = diff(before, after)
    assert event.event == ev.STACK_GREW
    assert (event.start, event.end) == (STACK_TOP - 4 * MiB, STACK_TOP - 132 * KiB)
    assert event.delta == 4 * MiB - 132 * KiB
    assert event.kind == kinds.STACK


def test_stack_start_moving_up_is_stack_shrank():
    before = base_regions(stack_start=STACK_TOP - 4 * MiB)
    after = base_regions(stack_start=STACK_TOP - 1 * MiB)
    (event,) = diff(before, after)
    assert event.event == ev.STACK_SHRANK
    assert (event.start, event.end, event.delta) == (
        STACK_TOP - 4 * MiB,
        STACK_TOP - 1 * MiB,
        -3 * MiB,
    )


# -- mapped / unmapped -------------------------------------------------------------------


def test_a_new_anonymous_region_of_1_mib_is_mapped_and_flagged_as_malloc_mmap():
    block = MiB + PAGE  # malloc(1 MiB): glibc maps the chunk header's page too
    at = ANON + 0x1_2345_6000  # where mmap puts things: no particular alignment
    (event,) = diff(base_regions(), base_regions() + [region(at, at + block)])
    assert event.event == ev.MAPPED
    assert (event.start, event.end, event.size, event.delta) == (at, at + block, block, block)
    assert event.kind == kinds.ANON
    assert "malloc above its mmap threshold, or a direct mmap" in event.detail
    assert "the JVM's heap" in event.detail  # not malloc's alone
    # Not V8's heap pages, named apart where V8 runs: what a Node process maps so
    # unnamed is its Buffers' storage (review: the words pointed at the JS heap).
    assert "V8" not in event.detail and "ArrayBuffers" in event.detail
    (freed,) = diff(base_regions() + [region(at, at + block)], base_regions())
    assert freed.event == ev.UNMAPPED and "mmap threshold" in freed.detail
    assert "or a direct munmap" in freed.detail


def test_an_anonymous_region_at_a_64_mib_boundary_is_named_as_a_malloc_arena():
    arena = [region(ANON, ANON + 132 * KiB), region(ANON + 132 * KiB, ANON + 64 * MiB, "---p")]
    usable, reserved = diff(base_regions(), base_regions() + arena)
    assert usable.event == reserved.event == ev.MAPPED
    assert "new 64 MiB-aligned glibc malloc heap (arena heap 1)" in usable.detail
    # One arena can own several heaps: a new heap is not said to be a new arena.
    assert "or more room for an arena whose heap was full" in usable.detail
    assert usable.size == 132 * KiB
    assert usable.kind == kinds.ARENA
    assert reserved.kind == kinds.RESERVED and reserved.size == 64 * MiB - 132 * KiB
    assert "the rest of arena heap 1's 64 MiB heap" in reserved.detail


def test_an_arena_growing_into_its_reserve_is_a_reserve_committed():
    before = [region(ANON, ANON + 132 * KiB), region(ANON + 132 * KiB, ANON + 64 * MiB, "---p")]
    after = [region(ANON, ANON + 264 * KiB), region(ANON + 264 * KiB, ANON + 64 * MiB, "---p")]
    (event,) = diff(base_regions() + before, base_regions() + after)
    assert event.event == ev.RESERVE_COMMITTED
    assert (event.start, event.end) == (ANON + 132 * KiB, ANON + 264 * KiB)
    assert event.kind == kinds.ARENA and "arena heap 1 grew into its reserve" in event.detail
    (back,) = diff(base_regions() + after, base_regions() + before)
    assert back.event == ev.RESERVE_RELEASED and "arena heap 1 shrank" in back.detail


def test_a_runtime_committing_part_of_a_big_reserve():
    reserve = [region(ANON, ANON + 512 * MiB, "---p")]
    committed = [region(ANON, ANON + 2 * MiB), region(ANON + 2 * MiB, ANON + 512 * MiB, "---p")]
    split, event = diff(base_regions() + reserve, base_regions() + committed)
    assert split.event == ev.SPLIT
    assert event.event == ev.RESERVE_COMMITTED and event.size == 2 * MiB
    assert "committed address space it had reserved" in event.detail


def test_a_thread_exiting_unmaps_its_stack_and_guard_in_one_event():
    guard = region(ANON, ANON + PAGE, "---p")
    stack = region(ANON + PAGE, ANON + PAGE + 8 * MiB, kind=kinds.THREAD_STACK, tid=4322)
    (event,) = diff(base_regions() + [guard, stack], base_regions())
    assert event.event == ev.THREAD_EXITED and event.tid == 4322
    assert (event.start, event.end, event.delta) == (ANON, ANON + PAGE + 8 * MiB, -(8 * MiB + PAGE))
    assert "thread exited" in event.detail and "free()" not in event.detail


def test_a_thread_exiting_with_its_stack_kept_for_reuse_is_said_too():
    """glibc keeps a finished thread's stack for the next thread: nothing is unmapped,
    the region is anonymous memory now. A stack pointer not read this time (a busy
    thread) relabels a stack too: the thread count tells the two apart."""
    guard = region(ANON, ANON + PAGE, "---p")
    stack = region(ANON + PAGE, ANON + PAGE + 8 * MiB, kind=kinds.THREAD_STACK, tid=4322)
    cached = region(ANON + PAGE, ANON + PAGE + 8 * MiB, kind=kinds.ANON)
    before = snapshot(base_regions() + [guard, stack], taken_at=T0)
    before = before._replace(info=before.info._replace(threads=2))
    after = snapshot(base_regions() + [guard, cached], taken_at=T1)
    (event,) = diff_snapshots(before, after._replace(info=after.info._replace(threads=1)))
    assert event.event == ev.THREAD_EXITED and event.tid == 4322
    assert (event.start, event.end, event.delta) == (ANON + PAGE, ANON + PAGE + 8 * MiB, 0)
    assert "stays mapped" in event.detail and "cached" in event.detail
    # Still two threads: the stack pointer was not read, nobody exited.
    assert diff_snapshots(before, after._replace(info=after.info._replace(threads=2))) == []


def test_jit_code_and_device_mappings_say_what_they_are():
    code = region(ANON, ANON + 64 * KiB, "rwxp")
    (jit,) = diff(base_regions(), base_regions() + [code])
    assert jit.kind == kinds.JIT and "JIT-compiled code appeared" in jit.detail
    uvm = region(ANON, ANON + 2 * MiB, "rw-s", "/dev/nvidia-uvm", inode=77, dev="00:05")
    (device,) = diff(base_regions(), base_regions() + [uvm])
    assert device.kind == kinds.DEVICE and "Unified Memory" in device.detail


def test_a_cuda_reserve_is_not_called_an_arena_tail():
    uvm = region(ANON, ANON + 2 * MiB, "rw-s", "/dev/nvidia-uvm", inode=77, dev="00:05")
    reserve = region(ANON + 2 * MiB, ANON + 66 * MiB, "---p")
    (event,) = diff(base_regions() + [uvm], base_regions() + [uvm, reserve])
    assert event.event == ev.MAPPED and event.kind == kinds.RESERVED
    assert "CUDA driver" in event.detail and "heap" not in event.detail


def test_a_big_brk_growth_explains_the_dynamic_mmap_threshold():
    before = base_regions()
    after = base_regions(heap_end=HEAP + 132 * KiB + 388 * KiB)
    (event,) = diff(before, after)
    assert event.event == ev.HEAP_GREW and "threshold is dynamic" in event.detail
    small = base_regions(heap_end=HEAP + 132 * KiB + 136 * KiB)
    (event,) = diff(before, small)
    assert event.event == ev.HEAP_GREW and "threshold" not in event.detail


def test_a_small_anonymous_mapping_is_not_flagged_as_malloc_mmap():
    (event,) = diff(base_regions(), base_regions() + [region(ANON, ANON + 64 * KiB)])
    assert event.event == ev.MAPPED and event.size == 64 * KiB
    assert "mmap threshold" not in event.detail


def test_a_new_mapping_merged_into_the_region_above_is_mapped_for_the_new_range_only():
    # mmap picks the hole right below an anonymous rw region; the kernel extends that
    # region downwards instead of adding a line.
    before = base_regions() + [region(ANON, ANON + 2 * MiB)]
    after = base_regions() + [region(ANON - MiB, ANON + 2 * MiB)]
    (event,) = diff(before, after)
    assert event.event == ev.MAPPED
    assert (event.start, event.end, event.size) == (ANON - MiB, ANON, MiB)
    assert "merged into the region above" in event.detail


def test_a_new_mapping_merged_into_the_region_below():
    before = base_regions() + [region(ANON, ANON + 2 * MiB)]
    after = base_regions() + [region(ANON, ANON + 3 * MiB)]
    (event,) = diff(before, after)
    assert event.event == ev.MAPPED
    assert (event.start, event.end) == (ANON + 2 * MiB, ANON + 3 * MiB)
    assert "merged into the region below" in event.detail


def test_a_mapping_filling_a_gap_joins_both_neighbours():
    before = base_regions() + [region(ANON, ANON + MiB), region(ANON + 2 * MiB, ANON + 3 * MiB)]
    after = base_regions() + [region(ANON, ANON + 3 * MiB)]
    (event,) = diff(before, after)
    assert event.event == ev.MAPPED
    assert (event.start, event.end) == (ANON + MiB, ANON + 2 * MiB)
    assert "below and above" in event.detail


def test_a_region_that_disappears_is_unmapped():
    before = base_regions() + [region(ANON, ANON + MiB + PAGE)]
    (event,) = diff(before, base_regions())
    assert event.event == ev.UNMAPPED
    assert (event.start, event.end, event.size, event.delta) == (
        ANON,
        ANON + MiB + PAGE,
        MiB + PAGE,
        -(MiB + PAGE),
    )
    assert event.kind == kinds.ANON


def test_unmapping_the_bottom_of_a_merged_region_is_cut_from_it():
    before = base_regions() + [region(ANON - MiB, ANON + 2 * MiB)]
    after = base_regions() + [region(ANON, ANON + 2 * MiB)]
    (event,) = diff(before, after)
    assert event.event == ev.UNMAPPED
    assert (event.start, event.end) == (ANON - MiB, ANON)
    assert "cut from" in event.detail


def test_unmapping_the_middle_of_a_region_punches_a_hole():
    before = base_regions() + [region(ANON, ANON + 3 * MiB)]
    after = base_regions() + [region(ANON, ANON + MiB), region(ANON + 2 * MiB, ANON + 3 * MiB)]
    (event,) = diff(before, after)
    assert event.event == ev.UNMAPPED
    assert (event.start, event.end) == (ANON + MiB, ANON + 2 * MiB)
    assert "hole" in event.detail


def test_a_file_mapped_and_unmapped():
    data = region(ANON, ANON + 256 * MiB, "r--p", "/tmp/data.bin", inode=77, dev="fe:01")
    (mapped,) = diff(base_regions(), base_regions() + [data])
    assert mapped.event == ev.MAPPED and mapped.kind == kinds.FILE
    assert mapped.path == "/tmp/data.bin" and mapped.size == 256 * MiB
    (unmapped,) = diff(base_regions() + [data], base_regions())
    assert unmapped.event == ev.UNMAPPED and unmapped.path == "/tmp/data.bin"


def test_another_file_mapped_over_the_same_range_is_unmapped_then_mapped():
    old = region(ANON, ANON + MiB, "r--p", "/tmp/a", inode=1, dev="fe:01")
    new = region(ANON, ANON + MiB, "r--p", "/tmp/b", inode=2, dev="fe:01")
    events = diff(base_regions() + [old], base_regions() + [new])
    assert names(events) == [ev.UNMAPPED, ev.MAPPED]
    assert [e.path for e in events] == ["/tmp/a", "/tmp/b"]
    assert all((e.start, e.end) == (ANON, ANON + MiB) for e in events)


def test_a_range_mapped_again_between_samples_is_not_called_map_fixed():
    """munmap of a file, then a thread's stack that the kernel put in the freed range,
    between two samples (a slow interval): the map cannot tell that from an mmap with
    MAP_FIXED over the file, so neither event says it was MAP_FIXED, and both say it
    could have been either."""
    data = region(ANON, ANON + 32 * MiB, "rw-p", "/tmp/data.bin", inode=1, dev="fe:01")
    guard = region(ANON, ANON + PAGE, "---p")
    stack = region(ANON + PAGE, ANON + 8 * MiB, kind=kinds.THREAD_STACK, tid=4322)
    events = diff(base_regions() + [data], base_regions() + [guard, stack])
    unmapped = [e for e in events if e.event == ev.UNMAPPED]
    mapped = [e for e in events if e.event == ev.MAPPED]
    assert [e.path for e in unmapped] == ["/tmp/data.bin"] and len(mapped) == 2
    said = unmapped[0].detail
    assert "replaced between samples" in said, said
    assert "unmapped and mapped again, or MAP_FIXED" in said, said
    for e in mapped:
        assert "between samples" in e.detail and "or an mmap with MAP_FIXED" in e.detail
    for e in events:
        assert "(MAP_FIXED)" not in e.detail, e.detail
        assert "mapped over what was there" not in e.detail, e.detail


def test_the_same_file_at_another_offset_is_another_mapping():
    old = region(ANON, ANON + MiB, "r--p", "/tmp/a", inode=1, dev="fe:01", offset=0)
    new = region(ANON, ANON + MiB, "r--p", "/tmp/a", inode=1, dev="fe:01", offset=MiB)
    assert names(diff(base_regions() + [old], base_regions() + [new])) == [
        ev.UNMAPPED,
        ev.MAPPED,
    ]


def test_a_file_mapping_growing_at_the_right_offset_is_the_same_mapping_grown():
    # mremap of a file mapping in place: offsets continue, so only the tail is new.
    old = region(ANON, ANON + MiB, "r--p", "/tmp/a", inode=1, dev="fe:01", offset=0)
    new = region(ANON, ANON + 2 * MiB, "r--p", "/tmp/a", inode=1, dev="fe:01", offset=0)
    (event,) = diff(base_regions() + [old], base_regions() + [new])
    assert event.event == ev.MAPPED and (event.start, event.end) == (ANON + MiB, ANON + 2 * MiB)


def test_a_thread_stack_appears_as_a_guard_page_and_its_stack():
    guard = region(ANON, ANON + PAGE, "---p")
    stack = region(ANON + PAGE, ANON + PAGE + 8 * MiB, kind=kinds.THREAD_STACK, tid=4322)
    events = diff(base_regions(), base_regions() + [guard, stack])
    assert names(events) == [ev.MAPPED, ev.MAPPED]
    assert events[0].kind == kinds.GUARD and events[0].size == PAGE
    assert events[1].kind == kinds.THREAD_STACK and events[1].tid == 4322
    assert events[1].size == 8 * MiB


# -- mprotect: split, merged, protection_changed -----------------------------------------


def three_way_split():
    return [
        region(ANON, ANON + 4 * PAGE),
        region(ANON + 4 * PAGE, ANON + 6 * PAGE, "r--p"),
        region(ANON + 6 * PAGE, ANON + 10 * PAGE),
    ]


def test_mprotect_of_the_middle_splits_one_region_into_three():
    before = base_regions() + [region(ANON, ANON + 10 * PAGE)]
    after = base_regions() + three_way_split()
    events = diff(before, after)
    assert names(events) == [ev.SPLIT, ev.PROTECTION_CHANGED]
    split, prot = events
    assert (split.start, split.end, split.size, split.delta) == (
        ANON,
        ANON + 10 * PAGE,
        10 * PAGE,
        0,
    )
    assert "became 3" in split.detail
    assert (prot.start, prot.end, prot.size) == (ANON + 4 * PAGE, ANON + 6 * PAGE, 2 * PAGE)
    assert prot.detail.startswith("rw-p -> r--p")


def test_mprotect_back_merges_three_regions_into_one():
    before = base_regions() + three_way_split()
    after = base_regions() + [region(ANON, ANON + 10 * PAGE)]
    events = diff(before, after)
    assert names(events) == [ev.MERGED, ev.PROTECTION_CHANGED]
    merged, prot = events
    assert (merged.start, merged.end) == (ANON, ANON + 10 * PAGE)
    assert (prot.start, prot.end) == (ANON + 4 * PAGE, ANON + 6 * PAGE)
    assert prot.detail.startswith("r--p -> rw-p")


def test_mprotect_of_a_whole_region_is_protection_changed_only():
    before = base_regions() + [region(ANON, ANON + MiB, "rw-p")]
    after = base_regions() + [region(ANON, ANON + MiB, "r--p")]
    (event,) = diff(before, after)
    assert event.event == ev.PROTECTION_CHANGED
    assert (event.start, event.end, event.size) == (ANON, ANON + MiB, MiB)


def test_a_boundary_moving_between_two_kept_regions_is_protection_changed_for_the_part():
    before = base_regions() + [
        region(ANON, ANON + 4 * PAGE),
        region(ANON + 4 * PAGE, ANON + 8 * PAGE, "r--p"),
    ]
    after = base_regions() + [
        region(ANON, ANON + 6 * PAGE),
        region(ANON + 6 * PAGE, ANON + 8 * PAGE, "r--p"),
    ]
    (event,) = diff(before, after)
    assert event.event == ev.PROTECTION_CHANGED
    assert (event.start, event.end) == (ANON + 4 * PAGE, ANON + 6 * PAGE)
    assert event.detail.startswith("r--p -> rw-p")


# -- resident memory ----------------------------------------------------------------------


def test_rss_rising_by_the_threshold_is_rss_changed():
    data = region(ANON, ANON + 256 * MiB, "r--p", "/tmp/data.bin", inode=77, dev="fe:01")
    before = base_regions() + [data._replace(rss=4 * KiB)]
    after = base_regions() + [data._replace(rss=4 * KiB + 64 * KiB)]
    (event,) = diff(before, after)
    assert event.event == ev.RSS_CHANGED
    assert (event.start, event.end) == (ANON, ANON + 256 * MiB)
    assert event.delta == 64 * KiB and event.size == 64 * KiB
    assert event.kind == kinds.FILE and event.path == "/tmp/data.bin"


def test_rss_falling_is_a_negative_rss_changed():
    before = base_regions() + [region(ANON, ANON + 4 * MiB, rss=4 * MiB)]
    after = base_regions() + [region(ANON, ANON + 4 * MiB, rss=1 * MiB)]
    (event,) = diff(before, after)
    assert event.event == ev.RSS_CHANGED and event.delta == -3 * MiB and event.size == 3 * MiB


def test_the_rss_threshold_is_configurable():
    before = base_regions() + [region(ANON, ANON + 4 * MiB, rss=0)]
    after = base_regions() + [region(ANON, ANON + 4 * MiB, rss=8 * KiB)]
    assert diff(before, after) == []
    assert names(diff(before, after, rss_threshold=8 * KiB)) == [ev.RSS_CHANGED]


def test_no_rss_events_when_either_snapshot_lacks_smaps():
    before = base_regions() + [region(ANON, ANON + 4 * MiB, rss=0)]
    after = base_regions() + [region(ANON, ANON + 4 * MiB, rss=4 * MiB)]
    prev = snapshot(before, smaps=False)
    assert diff_snapshots(prev, snapshot(after)) == []
    assert diff_snapshots(snapshot(before), snapshot(after, smaps=False)) == []


# -- other processes, other programs --------------------------------------------------------


def test_pid_reused_is_one_event_and_no_region_diff():
    before = snapshot(base_regions(), start_time=1000)
    after = snapshot(
        base_regions(heap_end=HEAP + MiB) + [region(ANON, ANON + MiB)],
        start_time=2000,
        comm="other",
    )
    (event,) = diff_snapshots(before, after)
    assert event.event == ev.PID_REUSED
    assert event.time == after.taken_at


def test_exec_is_one_event_and_no_region_diff():
    before = snapshot(base_regions(), comm="sh")
    after = snapshot(
        base_regions(exe="/usr/bin/python3", exe_base=0x5600_0000_0000, vdso=VDSO - 0x1000_0000),
        comm="python3",
    )
    (event,) = diff_snapshots(before, after)
    assert event.event == ev.EXEC
    assert event.path == "/usr/bin/python3"
    assert "sh -> python3" in event.detail


def test_exec_of_the_same_program_is_seen_by_the_vdso_moving():
    before = snapshot(base_regions())
    after = snapshot(base_regions(vdso=VDSO - 0x1000_0000, exe_base=0x5600_0000_0000))
    assert names(diff_snapshots(before, after)) == [ev.EXEC]


def test_a_program_renaming_itself_is_not_an_exec():
    # prctl(PR_SET_NAME) changes comm, nothing else.
    before = snapshot(base_regions(), comm="worker")
    after = snapshot(base_regions(heap_end=HEAP + MiB), comm="worker: idle")
    assert names(diff_snapshots(before, after)) == [ev.HEAP_GREW]


def test_exited_event_describes_the_last_snapshot():
    last = snapshot(base_regions())
    event = exited_event(last, T1 + 5)
    assert event.event == ev.EXITED
    assert event.time == T1 + 5
    assert event.size == last.totals.size and event.delta == -last.totals.size
    assert "4321" in event.detail


# -- changed since a baseline ---------------------------------------------------------------


def changes(before, after, **kw):
    return region_changes(snapshot(before), snapshot(after), **kw)


def test_region_changes_covers_every_region_of_the_newer_snapshot():
    after = base_regions() + [region(ANON, ANON + MiB)]
    result = changes(base_regions(), after)
    assert sorted(result) == sorted(r.start for r in after)
    assert result[ANON] == RegionChange("new", MiB, 0)
    assert all(result[r.start].status == "same" for r in base_regions())


def test_region_changes_heap_grew_and_shrank():
    grown = changes(base_regions(heap_end=HEAP + 132 * KiB), base_regions(heap_end=HEAP + MiB))
    assert grown[HEAP] == RegionChange("grew", MiB - 132 * KiB, 0)
    shrunk = changes(base_regions(heap_end=HEAP + MiB), base_regions(heap_end=HEAP + 132 * KiB))
    assert shrunk[HEAP] == RegionChange("shrank", -(MiB - 132 * KiB), 0)


def test_region_changes_stack_grew_is_keyed_by_the_new_start():
    result = changes(base_regions(), base_regions(stack_start=STACK_TOP - MiB))
    assert result[STACK_TOP - MiB] == RegionChange("grew", MiB - 132 * KiB, 0)


def test_region_changes_merged_neighbour_grew():
    result = changes(
        base_regions() + [region(ANON, ANON + 2 * MiB)],
        base_regions() + [region(ANON - MiB, ANON + 2 * MiB)],
    )
    assert result[ANON - MiB].status == "grew" and result[ANON - MiB].size_delta == MiB


def test_region_changes_split_regions_are_changed():
    result = changes(
        base_regions() + [region(ANON, ANON + 10 * PAGE)], base_regions() + three_way_split()
    )
    for start in (ANON, ANON + 4 * PAGE, ANON + 6 * PAGE):
        assert result[start].status == "changed" and result[start].size_delta == 0
        # Each piece's resident change is against its share of the old line: worked out.
        assert result[start].rss_estimated


def test_region_changes_says_which_resident_changes_are_worked_out():
    grown = changes(base_regions(heap_end=HEAP + 132 * KiB), base_regions(heap_end=HEAP + MiB))
    assert not grown[HEAP].rss_estimated  # one old line, one new: read, not shared out
    merged = changes(
        base_regions() + [region(ANON, ANON + MiB, rss=MiB), region(ANON + MiB, ANON + 2 * MiB)],
        base_regions() + [region(ANON, ANON + 2 * MiB, rss=MiB)],
    )
    assert not merged[ANON].rss_estimated and merged[ANON].rss_delta == 0  # whole lines: exact


def test_region_changes_rss_beyond_the_threshold_is_changed():
    before = base_regions() + [region(ANON, ANON + 4 * MiB, rss=0)]
    result = changes(before, base_regions() + [region(ANON, ANON + 4 * MiB, rss=MiB)])
    assert result[ANON] == RegionChange("changed", 0, MiB)
    small = changes(before, base_regions() + [region(ANON, ANON + 4 * MiB, rss=8 * KiB)])
    assert small[ANON] == RegionChange("same", 0, 8 * KiB)


def test_region_changes_without_smaps_has_no_rss_delta():
    result = region_changes(
        snapshot(base_regions(), smaps=False), snapshot(base_regions(heap_end=HEAP + MiB))
    )
    assert result[HEAP] == RegionChange("grew", MiB - 132 * KiB, None)


def test_unmapped_ranges_are_what_disappeared_merged():
    before = base_regions() + [
        region(ANON, ANON + 3 * MiB),
        region(ANON + 3 * MiB, ANON + 4 * MiB, "r--p"),
    ]
    after = base_regions(heap_end=HEAP + 64 * KiB) + [region(ANON, ANON + MiB)]
    assert unmapped_ranges(snapshot(before), snapshot(after)) == [
        (HEAP + 64 * KiB, HEAP + 132 * KiB),
        (ANON + MiB, ANON + 4 * MiB),
    ]


def test_unmapped_ranges_empty_when_only_growing():
    assert (
        unmapped_ranges(snapshot(base_regions()), snapshot(base_regions(heap_end=HEAP + MiB))) == []
    )


# -- random maps, checked page by page ----------------------------------------------------

GRID = 48  # pages in the random area
AREA = 0x7F20_0000_0000
IDENTITIES = [
    ("rw-p", "", 0),
    ("r--p", "", 0),
    ("---p", "", 0),
    ("r--p", "/tmp/f", 9),  # file mapped with offset = its page index: always continuous
    ("rw-p", "[heap]", 0),
]


@st.composite
def random_maps(draw):
    """Non-overlapping regions on a page grid, with a few identities."""
    cuts = sorted(draw(st.sets(st.integers(0, GRID), min_size=2, max_size=14)))
    regions = []
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        if draw(st.booleans()):
            continue
        perms, path, inode = draw(st.sampled_from(IDENTITIES))
        start, end = AREA + lo * PAGE, AREA + hi * PAGE
        regions.append(
            region(
                start,
                end,
                perms,
                path,
                inode=inode,
                dev="fe:01" if inode else "00:00",
                offset=lo * PAGE if inode else 0,
            )
        )
    return regions


def page_owner(regions):
    """page index -> (perms, dev, inode, path, file offset of that page)."""
    owner = {}
    for r in regions:
        for page in range((r.start - AREA) // PAGE, (r.end - AREA) // PAGE):
            file_offset = r.offset + page * PAGE - (r.start - AREA) if r.inode else 0
            owner[page] = (r.dev, r.inode, r.path, file_offset, r.perms)
    return owner


GROWING = {ev.MAPPED, ev.HEAP_GREW, ev.STACK_GREW}
SHRINKING = {ev.UNMAPPED, ev.HEAP_SHRANK, ev.STACK_SHRANK}


def pages_of(events, names_):
    pages = []
    for e in events:
        if e.event in names_:
            pages.extend(range((e.start - AREA) // PAGE, (e.end - AREA) // PAGE))
    return pages


@settings(max_examples=300, deadline=None)
@given(random_maps(), random_maps())
def test_random_maps_events_account_for_every_page(before, after):
    fixed = [
        region(LIBC_BASE, LIBC_BASE + 0x1000, "r-xp", LIBC, inode=22),
        region(VDSO, VDSO + 0x2000, "r-xp", "[vdso]"),
        region(0x5555_0000_0000, 0x5555_0000_1000, "r-xp", EXE, inode=11),
    ]
    events = diff(before + fixed, after + fixed)
    old, new = page_owner(before), page_owner(after)
    # A page is new when it is mapped now and was not mapped by the same mapping before
    # (same device, inode, name and file offset); gone is the reverse.
    same = {p for p in old.keys() & new.keys() if old[p][:4] == new[p][:4]}
    appeared = sorted(new.keys() - same)
    vanished = sorted(old.keys() - same)
    assert sorted(pages_of(events, GROWING)) == appeared
    assert sorted(pages_of(events, SHRINKING)) == vanished
    reprotected = sorted(p for p in same if old[p][4] != new[p][4])
    protection = {ev.PROTECTION_CHANGED, ev.RESERVE_COMMITTED, ev.RESERVE_RELEASED}
    assert sorted(pages_of(events, protection)) == reprotected
    total = sum(e.delta for e in events if e.event in GROWING | SHRINKING)
    assert total == sum(r.size for r in after) - sum(r.size for r in before)
    if before == after:
        assert events == []


@settings(max_examples=150, deadline=None)
@given(random_maps(), random_maps())
def test_random_maps_region_changes_and_unmapped_ranges(before, after):
    fixed = [region(VDSO, VDSO + 0x2000, "r-xp", "[vdso]")]
    prev, cur = snapshot(before + fixed), snapshot(after + fixed)
    result = region_changes(prev, cur)
    assert sorted(result) == sorted(r.start for r in cur.regions)
    old, new = page_owner(before), page_owner(after)
    for r in after:
        pages = range((r.start - AREA) // PAGE, (r.end - AREA) // PAGE)
        kept = [p for p in pages if p in old and old[p][:4] == new[p][:4]]
        assert (result[r.start].status == "new") == (not kept)
    gone_pages = sorted(old.keys() - new.keys())
    ranges = unmapped_ranges(prev, cur)
    listed = [p for lo, hi in ranges for p in range((lo - AREA) // PAGE, (hi - AREA) // PAGE)]
    assert listed == gone_pages
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))


def test_a_big_mapping_merged_into_a_bss_region_is_still_malloc_or_mmap():
    LIB = 0x7F20_0000_0000  # noqa: N806
    bss_end = LIB + 0x20000
    exe = region(LIB, LIB + 0x1000, "r-xp", "/lib/libx.so", inode=99)
    data = region(LIB + 0x1000, LIB + 0x2000, "rw-p", "/lib/libx.so", inode=99)
    before = [exe, data, region(LIB + 0x2000, bss_end)]
    after = [exe, data, region(LIB + 0x2000, bss_end + 256 * KiB)]
    (event,) = diff(base_regions() + before, base_regions() + after)
    assert event.kind == kinds.BSS and "malloc above its mmap threshold" in event.detail
    (gone,) = [e for e in diff(base_regions() + before, base_regions()) if e.kind == kinds.BSS]
    assert "dlclose" in gone.detail


def test_unmapping_part_of_a_region_moves_no_memory_out_of_the_rest():
    """munmap of the top 16 MiB of a 32 MiB region with 5 MiB resident, 4 MiB of it in
    the top: the unmapped event, and no "-4 MiB freed" on the half that stays."""
    A = 0x7F40_0000_0000  # noqa: N806
    before = base_regions() + [region(A, A + 32 * MiB, rss=5 * MiB)]
    after = base_regions() + [region(A, A + 16 * MiB, rss=1 * MiB)]
    events = diff(before, after)
    assert [(e.event, e.start, e.end) for e in events] == [
        (ev.UNMAPPED, A + 16 * MiB, A + 32 * MiB)
    ]


def test_a_library_loaded_with_its_bss_says_dlopen_not_malloc():
    """dlopen maps an object with a .bss of 488 KiB (libLLVM, under PostgreSQL's JIT):
    that .bss is the object's, not a malloc block."""
    LIB = 0x7F20_0000_0000  # noqa: N806
    exe = region(LIB, LIB + 0x1000, "r-xp", "/lib/libllvm.so", inode=99)
    data = region(LIB + 0x1000, LIB + 0x2000, "rw-p", "/lib/libllvm.so", inode=99)
    bss = region(LIB + 0x2000, LIB + 0x2000 + 488 * KiB)
    events = diff(base_regions(), base_regions() + [exe, data, bss])
    (event,) = [e for e in events if e.kind == kinds.BSS]
    assert "the .bss of /lib/libllvm.so: mapped with its object (dlopen)" in event.detail
    assert "malloc" not in event.detail


def test_anonymous_memory_that_is_not_read_write_is_explained():
    """mmap then mprotect(PROT_READ) within one sample: r--p anonymous memory, which no
    malloc block is. It had no explanation at all."""
    ANON = 0x7F30_0000_0000  # noqa: N806
    (event,) = diff(base_regions(), base_regions() + [region(ANON, ANON + MiB, "r--p")])
    assert event.kind == kinds.ANON
    assert "anonymous memory, r--" in event.detail and "malloc's memory is rw-" in event.detail


def test_an_event_read_in_full_does_not_contradict_itself():
    """The event detail shows what every event of its type is, then this one's why:
    a reserve's mapped event was introduced as 'malloc above its mmap threshold'."""
    from vmtop.tui.screens.event_detail import event_text

    reserve = region(ANON, ANON + 16 * MiB, "---p")
    (event,) = diff(base_regions(), base_regions() + [reserve])
    assert event.event == ev.MAPPED and "reserve" in event.detail
    shown = event_text(event).plain
    assert "malloc" not in shown, shown


def test_resident_change_of_a_reserve_committed_in_part_is_the_committed_range():
    """mprotect commits a wasm memory's reserve from the bottom: the rw- line grows into
    the ---p tail. Its resident change was said over both lines (8 GiB, "anon"), a range
    that is no region of the map."""
    M = 1 << 20
    base, top = 0x7F0600000000, 0x7F0600000000 + (8 << 30)
    before = snapshot(
        [region(base, base + 128 * M, rss=100 * M), region(base + 128 * M, top, "---p", rss=0)]
    )
    after = snapshot(
        [region(base, base + 160 * M, rss=133 * M), region(base + 160 * M, top, "---p", rss=0)],
        taken_at=before.taken_at + 1,
    )
    events = diff_snapshots(before, after)
    (committed,) = [e for e in events if e.event == "reserve_committed"]
    assert (committed.start, committed.end) == (base + 128 * M, base + 160 * M)
    (resident,) = [e for e in events if e.event == "rss_changed"]
    assert (resident.start, resident.end, resident.kind) == (base, base + 160 * M, "anon")
    assert resident.delta == 33 * M


def test_an_event_read_in_full_gives_its_date_and_time_to_the_millisecond(monkeypatch):
    # The log's whole seconds gave events of samples a quarter second apart one time.
    import time

    from vmtop.model.events import Event
    from vmtop.tui.screens.event_detail import event_text

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        event = Event(1_700_000_000.25, ev.MAPPED, ANON, ANON + MiB, kinds.ANON, MiB, MiB)
        assert "at 2023-11-14 22:13:20.250" in event_text(event).plain
    finally:
        monkeypatch.undo()
        time.tzset()
