"""A change repeated sample after sample is one line of the log (vmtop.model.event_runs).

The events are as `vmtop watch` printed them for a C program that mallocs 100 000 bytes
five times a second: each second a heap_grew of the piece brk added and an rss_changed
of the whole heap.
"""

from __future__ import annotations

from helpers_diff import KiB, MiB
from hypothesis import given
from hypothesis import strategies as st

from vmtop.model import event_runs, kinds
from vmtop.model import events as ev
from vmtop.model.event_runs import EventRun
from vmtop.model.event_words import size_text
from vmtop.model.events import Event

HEAP = 0x560B_0104_F000
BRK = 0x560B_0110_2000


def heap_second(i: int, grown: int = 392 * KiB) -> list[Event]:
    """Second ``i`` of the growing heap: brk moved up by ``grown`` from where it was."""
    low, high = BRK + i * grown, BRK + (i + 1) * grown
    t = 1000.0 + i
    return [
        Event(t, "heap_grew", low, high, kinds.HEAP, grown, grown, "[heap]", detail="brk"),
        Event(t, "rss_changed", HEAP, high, kinds.HEAP, high - HEAP, 488 * KiB, "[heap]"),
    ]


def folded(events, limit: int = 100) -> tuple[list[EventRun], int]:
    runs: list[EventRun] = []
    dropped = event_runs.add_events(runs, events, limit)
    return runs, dropped


def test_a_heap_growing_every_second_is_two_lines_with_their_counts():
    runs, _ = folded([e for i in range(10) for e in heap_second(i)])
    assert [(r.event.event, r.count) for r in runs] == [("heap_grew", 10), ("rss_changed", 10)]
    grew, rss = (r.event for r in runs)
    # The pieces brk added, end to end: the run covers them all, and says their sum.
    assert (grew.start, grew.end) == (BRK, BRK + 10 * 392 * KiB)
    assert grew.delta == grew.size == 10 * 392 * KiB
    # The whole heap's resident memory: the heap as it is now, the rises summed.
    assert (rss.start, rss.end, rss.delta) == (HEAP, BRK + 10 * 392 * KiB, 10 * 488 * KiB)
    assert rss.size == 10 * 488 * KiB  # as an rss_changed's: the bytes that moved
    assert rss.time == 1009.0 and runs[1].first.time == 1000.0  # when it began, and now


def test_how_the_events_arrive_does_not_change_the_lines():
    """A replay rebuilds its log from the recording at each jump, in one batch: it must
    read as the live log did, sample by sample."""
    seconds = [heap_second(i) for i in range(8)]
    seconds.insert(3, [Event(1002.5, "mapped", 0x7F00_0000_0000, 0x7F00_0040_0000,
                             kinds.ANON, 4 * MiB, 4 * MiB)])  # fmt: skip
    live: list[EventRun] = []
    for batch in seconds:
        event_runs.add_events(live, batch, 100)
    at_once, _ = folded([e for batch in seconds for e in batch])
    assert live == at_once


def test_up_then_down_is_not_one_line():
    up = Event(1.0, "rss_changed", HEAP, BRK, kinds.HEAP, BRK - HEAP, 2 * MiB, "[heap]")
    down = up._replace(time=2.0, delta=-2 * MiB)
    runs, _ = folded([up, down, up._replace(time=3.0)])
    assert [(r.event.delta, r.count) for r in runs] == [(2 * MiB, 1), (-2 * MiB, 1), (2 * MiB, 1)]


def test_another_region_or_another_change_is_a_line_of_its_own():
    a = Event(1.0, "rss_changed", 0x1000_0000, 0x1100_0000, kinds.ANON, 16 * MiB, MiB)
    b = a._replace(time=2.0, start=0x1100_0000, end=0x1200_0000)  # the next region
    swap = a._replace(time=3.0, event="swap_changed")
    file = a._replace(time=4.0, kind=kinds.FILE, path="/data")
    runs, _ = folded([a, b, swap, file])
    assert [r.count for r in runs] == [1, 1, 1, 1]


def test_a_mapping_is_never_folded():
    """The same 4 MiB buffer mapped and unmapped every second: each time is news, and a
    sum of the sizes would be memory the process never had at once."""
    m = Event(1.0, "mapped", 0x7F00_0000_0000, 0x7F00_0040_0000, kinds.ANON, 4 * MiB, 4 * MiB)
    u = m._replace(time=1.5, event="unmapped", delta=-4 * MiB)
    runs, _ = folded([m, u, m._replace(time=2.0), u._replace(time=2.5)])
    assert len(runs) == 4


def test_a_stack_growing_down_is_one_line():
    top = 0x7FFD_0000_0000
    events = [
        Event(
            float(i),
            "stack_grew",
            top - (i + 2) * 64 * KiB,
            top - (i + 1) * 64 * KiB,
            kinds.STACK,
            64 * KiB,
            64 * KiB,
            "[stack]",
        )  # fmt: skip
        for i in range(5)
    ]
    runs, _ = folded(events)
    assert len(runs) == 1 and runs[0].count == 5
    assert (runs[0].event.start, runs[0].event.end) == (top - 6 * 64 * KiB, top - 64 * KiB)


def test_a_line_further_down_than_the_reach_is_not_joined():
    first = heap_second(0)[1]  # rss_changed of the heap
    at = [(i + 1) << 30 for i in range(event_runs.REACH)]
    others = [
        Event(1000.0 + (i + 1) / 100, "mapped", a, a + MiB, kinds.ANON, MiB, MiB)
        for i, a in enumerate(at)
    ]
    again = heap_second(1)[1]
    runs, _ = folded([first, *others, again])
    assert runs[-1].count == 1 and len(runs) == event_runs.REACH + 2


def test_the_bound_counts_the_events_the_dropped_lines_stood_for():
    events = [e for i in range(5) for e in heap_second(i)]
    events += [
        Event(2000.0 + i, "mapped", (i + 1) << 30, ((i + 1) << 30) + MiB, kinds.ANON, MiB, MiB)
        for i in range(3)
    ]
    runs, dropped = folded(events, limit=3)
    assert len(runs) == 3 and dropped == 10  # two lines of five events each


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([-1, 1])), max_size=40))
def test_every_event_is_counted_once(steps):
    """However they fold, the lines stand for every event, and the changes add up."""
    events = [
        Event(
            float(i),
            "rss_changed",
            region << 24,
            (region + 1) << 24,
            kinds.ANON,
            1 << 24,
            sign * 4096 * (i + 1),
        )  # fmt: skip
        for i, (region, sign) in enumerate(steps)
    ]
    runs, dropped = folded(events)
    assert dropped == 0
    assert sum(r.count for r in runs) == len(events)
    assert sum(r.event.delta for r in runs) == sum(e.delta for e in events)
    assert [r.event.time for r in runs] == sorted(r.event.time for r in runs)


def test_a_heap_that_grows_and_shrinks_back_is_not_summed_into_a_leak():
    """Grown 1 MiB and shrunk back, again and again: "heap_grew +13M ×13" read as a leak
    of a heap that never held more than 1.1 MiB (review). Each growth is its own line."""
    events = []
    for i in range(4):
        t = 1000.0 + 2 * i
        events += [
            Event(t, "heap_grew", BRK, BRK + MiB, kinds.HEAP, MiB, MiB, "[heap]"),
            Event(t + 1, "heap_shrank", BRK, BRK + MiB, kinds.HEAP, MiB, -MiB, "[heap]"),
        ]
    runs, _ = folded(events)
    grew = [r for r in runs if r.event.event == "heap_grew"]
    assert [r.count for r in grew] == [1, 1, 1, 1]
    assert all(r.event.delta == MiB for r in grew)


def test_a_mapping_made_anew_at_the_same_address_starts_a_new_line():
    """8 MiB mapped, touched, unmapped; 4 MiB mapped there and touched: two mappings,
    whose rises are not one "+12M" (review: "+27M ×18 … now 4.0 MiB resident")."""
    s = 0x7F00_0000_0000
    events = [
        Event(1.0, "mapped", s, s + 8 * MiB, kinds.ANON, 8 * MiB, 8 * MiB),
        Event(2.0, "rss_changed", s, s + 8 * MiB, kinds.ANON, 8 * MiB, 8 * MiB),
        Event(3.0, "unmapped", s, s + 8 * MiB, kinds.ANON, 8 * MiB, -8 * MiB),
        Event(4.0, "mapped", s, s + 4 * MiB, kinds.ANON, 4 * MiB, 4 * MiB),
        Event(5.0, "rss_changed", s, s + 4 * MiB, kinds.ANON, 4 * MiB, 4 * MiB),
    ]
    runs, _ = folded(events)
    assert [r.event.delta for r in runs if r.event.event == "rss_changed"] == [8 * MiB, 4 * MiB]


def test_an_exec_ends_every_run():
    """With ASLR off (under gdb) the new program's heap is where the old one's was: its
    growth is not the old program's going on."""
    before = heap_second(0)
    exec_ = Event(1000.5, "exec", 0, 0, "", 0, 0, "/usr/bin/new")
    after = heap_second(1)
    runs, _ = folded([*before, exec_, *after])
    assert [r.count for r in runs] == [1, 1, 1, 1, 1]


def test_a_neighbour_mapped_does_not_end_a_run():
    """A region mapped right after the heap touches it and is none of its business."""
    neighbour = Event(1000.5, "mapped", BRK + 20 * MiB, BRK + 24 * MiB, kinds.ANON,
                      4 * MiB, 4 * MiB)  # fmt: skip
    runs, _ = folded([*heap_second(0), neighbour, *heap_second(1)])
    assert sorted(r.count for r in runs) == [1, 2, 2]


def test_of_one_sample_the_biggest_change_is_the_newest_line():
    """After pg_prewarm (huge_pages=off) a sample had 24 events in address order: the
    197 MiB of shared buffers came under 23 libraries' 64 KiB (review)."""
    t = 2000.0
    libraries = [
        Event(t, "rss_changed", 0x7F00_0000_0000 + k * MiB, 0x7F00_0010_0000 + k * MiB,
              kinds.TEXT, 64 * KiB, 64 * KiB, f"/usr/lib/lib{k}.so")
        for k in range(23)
    ]  # fmt: skip
    buffers = Event(t, "rss_changed", 0x7E00_0000_0000, 0x7E00_1000_0000, kinds.SHM,
                    197 * MiB, 197 * MiB, "/dev/zero (deleted)")  # fmt: skip
    freed = Event(t, "rss_changed", 0x7E80_0000_0000, 0x7E80_0100_0000, kinds.ANON,
                  2 * MiB, -2 * MiB, "")  # fmt: skip
    runs, _ = folded([buffers, freed, *libraries])
    newest_first = [r.event for r in reversed(runs)]
    assert newest_first[:2] == [buffers, freed]
    # The rest of the sample, and what came before it, keep their order.
    earlier = heap_second(0)
    runs, _ = folded([*earlier, buffers, *libraries])
    assert [r.event for r in runs][:2] == earlier


# -- regions of one sample mapped alike: V8's heap pages --------------------------------

V8_GREW = "a V8 heap page: Node's JavaScript heap grew (V8 maps it in 256 KiB-aligned pages)"
V8_SHRANK = "a V8 heap page given back: Node's JavaScript heap shrank"


def v8_pages(t: float, n: int, event: str = "mapped", first: int = 0) -> list[Event]:
    """``n`` V8 heap pages of 256 KiB mapped (unmapped) in the sample at ``t``, scattered
    as V8 scatters them, their resident sizes in their words as vmtop.model.diff says
    them (232 KiB of some resident, as seen in Node 20)."""
    pages = []
    for i in range(first, first + n):
        start = 0x0019_0BF8_0000 + i * 0x3_0004_0000
        rss = 232 * KiB if i % 5 == 0 else 256 * KiB
        sign, cause = (1, V8_GREW) if event == "mapped" else (-1, V8_SHRANK)
        said = f"{size_text(rss)} {'resident' if sign > 0 else 'was resident'}"
        pages.append(Event(t, event, start, start + 256 * KiB, kinds.ANON, 256 * KiB,
                           sign * 256 * KiB, detail=f"{cause}; {said}", rss=rss,
                           object="V8 heap page"))  # fmt: skip
    return pages


def test_v8_pages_mapped_in_one_sample_are_one_line_with_their_sums():
    """Node's heap grew by 1 696 pages of 256 KiB in one sample: 1 696 lines pushed the
    rest of the sample out of sight (review). One line: the count, the exact bytes and
    resident bytes, the span; among the sample's lines by its sum, the biggest on top."""
    t = 3000.0
    pages = v8_pages(t, 1696)
    large = Event(t, "mapped", 0x3C82_BC18_0000, 0x3C82_BE31_7000, kinds.ANON, 0x219_7000,
                  0x219_7000, detail="a V8 large object's page", rss=MiB,
                  object="V8 large object")  # fmt: skip
    heap = Event(t, "rss_changed", HEAP, BRK, kinds.HEAP, 1200 * KiB, 1200 * KiB, "[heap]")
    runs, dropped = folded([heap, *pages[:800], large, *pages[800:]])
    assert dropped == 0 and len(runs) == 3
    line = runs[-1]  # the newest line, on top
    assert line.count == 1696 and event_runs.regions(line) == 1696
    assert line.event.delta == line.event.size == sum(p.size for p in pages) == 424 * MiB
    assert (line.event.start, line.event.end) == (pages[0].start, pages[-1].end)
    rss = sum(p.rss for p in pages)
    assert line.event.rss == rss
    assert line.event.detail == f"{V8_GREW}; {size_text(rss)} resident"
    assert line.first is pages[0] and line.event.object == "V8 heap page"
    assert [r.event for r in runs[:2]] == [heap, large]  # each a line of its own


def test_pages_given_back_are_one_line_apart_from_those_mapped():
    t = 3000.0
    runs, _ = folded([*v8_pages(t, 40), *v8_pages(t, 30, "unmapped", first=100)])
    assert sorted((r.event.event, r.count, r.event.delta) for r in runs) == [
        ("mapped", 40, 40 * 256 * KiB),
        ("unmapped", 30, -30 * 256 * KiB),
    ]
    gone = next(r for r in runs if r.event.event == "unmapped")
    # 6 of the 30 had 232 KiB resident: the sum is what went, said as a single one says it
    assert gone.event.detail.endswith(f"; {size_text(6 * 232 * KiB + 24 * 256 * KiB)} was resident")


def test_regions_mapped_otherwise_stay_lines_of_their_own():
    """A V8 page and an unnamed anonymous mmap, another cause, another thread, another
    sample, or fewer than ALIKE_FROM alike: nothing says they are one thing."""
    t = 3000.0
    pages = v8_pages(t, 5)
    plain = [p._replace(object=None) for p in v8_pages(t, 5, first=10)]
    merged = [p._replace(detail="merged into the region below") for p in v8_pages(t, 5, first=20)]
    later = v8_pages(t + 1, 5, first=30)
    few = v8_pages(t + 2, event_runs.ALIKE_FROM - 1, first=40)
    runs, _ = folded([*pages, *plain, *merged, *later, *few])
    assert sorted(r.count for r in runs) == [1] * (event_runs.ALIKE_FROM - 1) + [5, 5, 5, 5]


def test_pages_mapped_where_smaps_was_not_read_say_no_resident_size():
    """A tick that read maps alone: no page had a resident size, the line has none."""
    pages = [p._replace(rss=None, detail=V8_GREW) for p in v8_pages(3000.0, 10)]
    (line,), _ = folded(pages)
    assert line.count == 10 and line.event.rss is None and line.event.detail == V8_GREW


def test_pages_mapped_far_off_do_not_end_the_runs_within_their_span():
    """The span of 1 696 pages covers 60 TiB: an arena inside it growing sample after
    sample is still one line; a page mapped over a region's own range does end its run."""
    arena = 0x0400_0000_0000
    grew = Event(1.0, "rss_changed", arena, arena + 64 * MiB, kinds.ARENA, MiB, MiB, "")
    runs, _ = folded([grew, *v8_pages(1.0, 50), grew._replace(time=2.0)])
    assert sorted(r.count for r in runs) == [2, 50]
    over = [p._replace(start=arena + i * 256 * KiB, end=arena + (i + 1) * 256 * KiB)
            for i, p in enumerate(v8_pages(1.5, 4))]  # fmt: skip
    runs, _ = folded([grew, *over, grew._replace(time=2.0)])
    assert sorted(r.count for r in runs) == [1, 1, 4]


def test_a_replay_folds_the_pages_of_each_sample_as_the_live_log_did():
    samples = [v8_pages(10.0 + s, 20 + s, first=100 * s) + heap_second(s) for s in range(4)]
    live: list[EventRun] = []
    for batch in samples:
        event_runs.add_events(live, batch, 100)
    at_once, _ = folded([e for batch in samples for e in batch])
    assert live == at_once
    assert [r.count for r in live if r.event.event == "mapped"] == [20, 21, 22, 23]


def test_the_lines_dropped_count_every_page_they_stood_for():
    runs, dropped = folded([*v8_pages(1.0, 100), *heap_second(5)], limit=2)
    assert len(runs) == 2 and dropped == 100


def test_sample_lines_keep_the_order_of_the_sample_with_the_fold_in_the_first_ones_place():
    """`vmtop watch` prints a sample in the diff's order (by address): the pages' line
    where their first was."""
    t = 3000.0
    before = Event(t, "heap_grew", BRK, BRK + MiB, kinds.HEAP, MiB, MiB, "[heap]")
    pages = v8_pages(t, 12)
    after = Event(t, "mapped", 0x7F00_0000_0000, 0x7F00_0040_0000, kinds.ANON, 4 * MiB, 4 * MiB)
    lines = event_runs.sample_lines([before, *pages[:6], after, *pages[6:]])
    assert [(r.event.event, r.count) for r in lines] == [
        ("heap_grew", 1),
        ("mapped", 12),
        ("mapped", 1),
    ]
    assert lines[2].event == after and event_runs.regions(lines[0]) == 1


@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(["mapped", "unmapped"]), st.integers(0, 2)),
        max_size=60,
    )
)
def test_every_mapping_is_counted_once_and_its_bytes_kept(steps):
    """However the regions of a sample fold, the lines stand for every event, and the
    bytes and resident bytes add up."""
    events = [
        Event(float(sample), event, i << 30, (i << 30) + (i + 1) * 4096, kinds.ANON,
              (i + 1) * 4096, (i + 1) * 4096 * (1 if event == "mapped" else -1),
              object=f"heap {which}", rss=i * 4096)
        for i, (sample, event, which) in enumerate(steps)
    ]  # fmt: skip
    runs, dropped = folded(events, limit=1000)
    assert dropped == 0
    assert sum(r.count for r in runs) == len(events)
    assert sum(r.event.delta for r in runs) == sum(e.delta for e in events)
    assert sum(r.event.size for r in runs) == sum(e.size for e in events)
    assert sum(r.event.rss for r in runs) == sum(e.rss for e in events)
    assert [r.event.time for r in runs] == sorted(r.event.time for r in runs)


def test_shared_memory_segments_of_one_object_fold_though_their_files_differ():
    # Review: a parallel query attached 5-12 /dev/shm/PostgreSQL.N segments in a sample,
    # a line each: their files differ, their object does not.
    from vmtop.commands.watch import human_lines
    from vmtop.model.postgres_memory import POSTGRES_DSM

    def segment(i: int) -> Event:
        start = 0x7F0000000000 + i * 0x100000
        return Event(5.0, ev.MAPPED, start, start + 0x40000, "shm", 0x40000, 0x40000,
                     f"/dev/shm/PostgreSQL.{1000 + i}", detail="attached",
                     object=POSTGRES_DSM)  # fmt: skip

    lines = event_runs.sample_lines([segment(i) for i in range(5)])
    assert len(lines) == 1 and event_runs.regions(lines[0]) == 5
    (text,) = human_lines([segment(i) for i in range(5)])
    assert "in 5 regions" in text and POSTGRES_DSM in text and "PostgreSQL.100" not in text
    # Files of no object stay apart, as before.
    plain = [segment(i)._replace(object=None) for i in range(5)]
    assert len(event_runs.sample_lines(plain)) == 5
