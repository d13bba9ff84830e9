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
from vmtop.model.event_runs import EventRun
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
