"""Two moments compared (vmtop.model.moments): a region is compared with one at A only
where it is the same mapping at both and, when a recording says what was mapped or
unmapped between, nothing was mapped over it.

The case from a review: 100 MiB freed and four thread stacks (with their guard pages)
mapped where it was. The diff of two samples in a row read the ends as one anonymous
region "split … one region became 8", the guards as "protection_changed rw-p -> ---p",
and the Δ columns gave each thread stack `~-8.0M`, a share of the old region's resident
size that it never held.
"""

from __future__ import annotations

from vmtop.model import events as ev
from vmtop.model import moments
from vmtop.model.events import Event
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
from vmtop.model.region_changes import CHANGED, GREW, NEW, SHRANK

MIB = 1 << 20
BASE = 0x7F0000000000
INFO = ProcessInfo(42, 1000, "./prog", "prog", "S", 1, 0, 1, None)


def region(start, size, perms="rw-p", kind="anon", rss=None, path="", inode=0, tid=None):
    return Region(
        start, start + size, perms, 0, "00:00" if not inode else "fe:00", inode, path,
        rss=size if rss is None else rss, kind=kind, tid=tid,
    )  # fmt: skip


def snap(regions, t=0.0, info=INFO):
    regions = tuple(sorted(regions))
    totals = Totals(sum(r.size for r in regions), sum(r.rss or 0 for r in regions), 0, 0, 0, 0)
    return Snapshot(info, t, regions, totals, True, {})


LIB = region(BASE + 200 * MIB, MIB, "r-xp", "text", path="/lib/libc.so.6", inode=7)
BIG = region(BASE, 104 * MIB)  # 100 MiB malloc merged into a 4 MiB anonymous region


def threads_where_the_block_was():
    """At B: the bottom 100 MiB freed, four 8 MiB stacks with guards mapped in it."""
    out = [LIB, region(BASE + 100 * MIB, 4 * MIB)]
    at = BASE + 60 * MIB
    for k in range(4):
        out.append(region(at, 4096, "---p", "guard", rss=0))
        out.append(region(at + 4096, 8 * MIB, kind="thread_stack", rss=8192, tid=100 + k))
        at += 8 * MIB + 4096
    return out


def events_between():
    """What a recording held: the block unmapped, then each guard and stack mapped."""
    b = threads_where_the_block_was()
    out = [Event(1.0, ev.UNMAPPED, BASE, BASE + 100 * MIB, "anon", 100 * MIB, -100 * MIB)]
    for r in b[2:]:
        out.append(Event(2.0, ev.MAPPED, r.start, r.end, r.kind, r.size, r.size))
    out.append(Event(2.0, ev.NOTE, 0, 0, "", 0, 0, detail="threads started"))
    return out


def test_with_the_recorded_events_the_stacks_are_new_and_the_block_shrank():
    a, b = snap([BIG, LIB]), snap(threads_where_the_block_was(), 5.0)
    remapped = moments.remapped_ranges(events_between())
    net = moments.net_change(a, b, remapped)
    names = sorted(e.event for e in net)
    assert ev.SPLIT not in names and ev.PROTECTION_CHANGED not in names
    assert names.count(ev.MAPPED) == 8  # four stacks, four guards: new
    shrank = [e for e in net if e.event == moments.REGION_SHRANK]
    assert len(shrank) == 1 and shrank[0].delta == -100 * MIB
    assert (shrank[0].start, shrank[0].end) == (BASE, BASE + 100 * MIB)  # the part cut off
    # The Δ columns: each stack new, with its own resident size, never a share.
    changes = moments.changes_since(a, b, remapped)
    stack = b.regions[[r.kind for r in b.regions].index("thread_stack")]
    assert changes[stack.start].status == NEW and changes[stack.start].rss_delta == 8192
    rest = changes[BASE + 100 * MIB]
    assert rest.status == SHRANK and rest.size_delta == -100 * MIB
    assert rest.rss_delta == 4 * MIB - 104 * MIB  # read, not estimated
    assert not any(c.rss_estimated for c in changes.values())


def test_two_maps_alone_cannot_tell_and_say_so():
    a, b = snap([BIG, LIB]), snap(threads_where_the_block_was(), 5.0)
    net = moments.net_change(a, b)  # no recording: nothing says what was remapped
    split = [e for e in net if e.event == ev.SPLIT]
    assert len(split) == 1
    assert "cannot tell" in split[0].detail and "4 guard, 4 thread_stack" in split[0].detail
    assert not any(e.event == ev.PROTECTION_CHANGED for e in net)
    changes = moments.changes_since(a, b)
    stack = next(r for r in b.regions if r.kind == "thread_stack")
    # Part of a line of A: its resident change is unknown (None), not shared out.
    assert changes[stack.start].status == CHANGED and changes[stack.start].rss_delta is None


def test_a_block_mapped_and_freed_between_leaves_no_change_at_the_ends():
    a = snap([region(BASE + 100 * MIB, 4 * MIB), LIB])
    b = snap([region(BASE + 100 * MIB, 4 * MIB), LIB], 5.0)
    events = [
        Event(1.0, ev.MAPPED, BASE, BASE + 100 * MIB, "anon", 100 * MIB, 100 * MIB),
        Event(2.0, ev.UNMAPPED, BASE, BASE + 100 * MIB, "anon", 100 * MIB, -100 * MIB),
    ]
    assert moments.net_change(a, b, moments.remapped_ranges(events)) == []
    tally = {t.event: t for t in moments.tally(events)}
    assert tally[ev.MAPPED] == moments.Tally(ev.MAPPED, 1, 100 * MIB, 100 * MIB)
    assert tally[ev.UNMAPPED].delta == -100 * MIB


def test_a_range_unmapped_and_mapped_again_alike_is_a_new_region():
    """malloc(100 MiB), free, malloc(100 MiB) again at the same address: the same line at
    both ends, but the recording says it is another mapping."""
    block = region(BASE, 100 * MIB)
    a, b = snap([block, LIB]), snap([block, LIB], 5.0)
    events = [
        Event(1.0, ev.UNMAPPED, BASE, BASE + 100 * MIB, "anon", 100 * MIB, -100 * MIB),
        Event(2.0, ev.MAPPED, BASE, BASE + 100 * MIB, "anon", 100 * MIB, 100 * MIB),
    ]
    net = moments.net_change(a, b, moments.remapped_ranges(events))
    assert [e.event for e in net] == [ev.UNMAPPED, ev.MAPPED]
    assert moments.net_change(a, b) == []  # two maps alone: the same


def test_the_same_mapping_grown_and_its_permissions():
    heap = region(BASE, 132 * 1024, path="[heap]", kind="heap", rss=12 * 1024)
    grown = heap._replace(end=heap.end + MIB, rss=MIB)
    lib_ro = LIB._replace(perms="r--p", kind="relro")
    a, b = snap([heap, LIB]), snap([grown, lib_ro], 5.0)
    net = {e.event: e for e in moments.net_change(a, b, [])}
    assert net[ev.HEAP_GREW].delta == MIB and net[ev.HEAP_GREW].start == heap.end
    assert net[ev.PROTECTION_CHANGED].detail == "r-xp -> r--p"
    assert net[ev.RSS_CHANGED].delta == MIB - 12 * 1024
    changes = moments.changes_since(a, b, [])
    assert changes[heap.start].status == GREW
    assert changes[LIB.start].status == CHANGED


def test_two_processes_or_programs_are_not_compared():
    a = snap([BIG, LIB])
    other = snap([BIG, LIB], 5.0, INFO._replace(start_time=2000))
    assert "two processes" in moments.comparable(a, other)
    # When each started, as a person reads it: stat's clock ticks (USER_HZ, 100) after
    # boot, not the ticks themselves.
    later = snap([BIG, LIB], 5.0, INFO._replace(start_time=51301))
    assert f"started {INFO.start_time / 100:.2f} s after boot" in moments.comparable(a, later)
    assert "started 8 min 33.01 s after boot" in moments.comparable(a, later)
    late = snap([BIG, LIB], 5.0, INFO._replace(start_time=100 * (3600 + 61) + 5))
    assert "started 1 h 1 min 1.05 s after boot" in moments.comparable(a, late)
    assert "51301" not in moments.comparable(a, later)
    assert moments.net_change(a, other) == []
    assert all(c.status == NEW for c in moments.changes_since(a, other).values())


def test_remapped_ranges_merge_and_leave_out_a_stack_kept_for_reuse():
    events = [
        Event(1.0, ev.MAPPED, 10, 20, "anon", 10, 10),
        Event(1.0, ev.UNMAPPED, 20, 30, "anon", 10, -10),
        Event(1.0, ev.THREAD_EXITED, 50, 60, "thread_stack", 0, 0),  # stack kept by glibc
        Event(1.0, ev.THREAD_EXITED, 70, 80, "thread_stack", 10, -10),
        Event(1.0, ev.HEAP_GREW, 90, 99, "heap", 9, 9),  # the same mapping, grown
    ]
    assert moments.remapped_ranges(events) == [(10, 30), (70, 80)]


def test_tally_leaves_narration_out():
    events = events_between()
    tally = moments.tally(events)
    assert [t.event for t in tally] == [ev.MAPPED, ev.UNMAPPED]
    assert tally[0].count == 8


def test_a_hole_punched_in_a_region_is_a_split_and_what_went():
    whole = region(BASE, 100 * MIB)
    a = snap([whole, LIB])
    b = snap([region(BASE, 40 * MIB), region(BASE + 60 * MIB, 40 * MIB), LIB], 5.0)
    hole = [Event(1.0, ev.UNMAPPED, BASE + 40 * MIB, BASE + 60 * MIB, "anon", 20 * MIB, 0)]
    net = moments.net_change(a, b, moments.remapped_ranges(hole))
    split = next(e for e in net if e.event == ev.SPLIT)
    assert "unmapped or mapped over in between" in split.detail
    assert [e.delta for e in net if e.event == moments.REGION_SHRANK] == [-20 * MIB]
    # With no recording to say so, an mprotect of the middle is as likely.
    protected = snap([region(BASE, 40 * MIB), region(BASE + 40 * MIB, 20 * MIB, "r--p"),
                      region(BASE + 60 * MIB, 40 * MIB), LIB], 5.0)  # fmt: skip
    split = next(e for e in moments.net_change(a, protected, []) if e.event == ev.SPLIT)
    assert split.detail.endswith("mprotect of part of it")  # (its middle is r--p now)


def test_what_is_new_at_b_is_said_as_what_the_map_named_it():
    # Review: `vmtop diff` called 1 000 new pages of V8's heap "malloc above its mmap
    # threshold, or a direct mmap … the map cannot tell which", as watch no longer does.
    from vmtop.model.v8_pages import V8_PAGE

    v8 = region(BASE + 300 * MIB, 256 << 10)._replace(object=V8_PAGE)
    arenas = region(BASE + 310 * MIB, 3 * MIB)._replace(
        object="Python 3.12 object arenas (obmalloc)"
    )
    plain = region(BASE + 320 * MIB, 3 * MIB)
    a, b = snap([LIB], 0.0), snap([LIB, v8, arenas, plain], 1.0)
    said = {e.start: e.detail for e in moments.net_change(a, b) if e.event == ev.MAPPED}
    assert "V8 heap page" in said[v8.start] and "cannot tell" not in said[v8.start]
    assert "3 of CPython's object arenas mapped" in said[arenas.start]
    assert "cannot tell" in said[plain.start]  # (malloc or mmap: the map cannot tell)
    gone = {e.start: e.detail for e in moments.net_change(b, a) if e.event == ev.UNMAPPED}
    assert "given back" in gone[v8.start] and "3 of CPython's object arenas" in gone[arenas.start]
