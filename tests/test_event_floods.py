"""Of one sample, a figure that moved alike in many regions is one line of the text and
of the log, as regions mapped alike are (vmtop.model.event_runs, alike_figures).

Measured before (Node 20, `vmtop watch`): a 200 MB growth of its heap gave 293
``rss_changed`` lines of V8 heap pages in one sample, and where smaps was read every few
ticks, 324 "pages faulted in since it was mapped"; V8 gave 124 pages back to its
reserve in one sample (124 ``reserve_released`` and 90 ``rss_changed``). A C program
with 500 regions forked: 500 ``shared_changed`` lines, 500 more when they were copied,
500 ``lazyfree_changed`` when it freed them with MADV_FREE. The events here are what
the model makes of hand-made snapshots such as those; every one stays in --json.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter

from helpers_diff import KiB, MiB, base_regions, region, snapshot
from hypothesis import given
from hypothesis import strategies as st

from vmtop.commands.watch import SmapsReads, _events, _json_lines, human_lines
from vmtop.model import alike_figures, event_runs, kinds
from vmtop.model.diff import diff_snapshots
from vmtop.model.event_runs import EventRun
from vmtop.model.event_words import size_text
from vmtop.model.events import Event
from vmtop.model.hugetlb_events import HUGETLB_WORDS
from vmtop.model.region import Snapshot
from vmtop.model.rss_drift import RssDrift

PAGE = 256 * KiB
V8 = "V8 heap page"
T0 = 1_790_000_000.0


def pages(n: int, first: int = 0) -> list[int]:
    """Starts of ``n`` V8 pages, scattered below 2^46 as V8 scatters them."""
    return [0x0019_0BF8_0000 + i * 0x3_0004_0000 for i in range(first, first + n)]


def with_objects(snap: Snapshot, objects: dict[int, str]) -> Snapshot:
    """``snap`` with the regions starting at the keys named as classification names
    them (the helpers classify without a process's facts)."""
    return snap._replace(
        regions=tuple(
            r._replace(object=objects[r.start]) if r.start in objects else r for r in snap.regions
        )
    )


def node_like(rss: dict[int, int | None], *, t: float, smaps: bool = True, **figures) -> Snapshot:
    """A small process with V8 pages at the keys of ``rss`` holding those resident
    bytes (``figures``: other smaps figures of every page, by field)."""
    regions = base_regions() + [
        region(start, start + PAGE, rss=held)._replace(**figures) for start, held in rss.items()
    ]
    snap = snapshot(regions, taken_at=t, smaps=smaps)
    return with_objects(snap, dict.fromkeys(rss, V8))


def filled(starts: list[int]) -> dict[int, int]:
    """Resident bytes of pages that filled: most whole, every fifth 232 KiB (as seen in
    Node 20)."""
    return {s: 232 * KiB if k % 5 == 0 else PAGE for k, s in enumerate(starts)}


def page_lines(events: list[Event]) -> list[EventRun]:
    return [r for r in event_runs.sample_lines(events) if r.event.object == V8]


# -- V8's pages filling as its heap grows -------------------------------------------------


def test_pages_that_filled_in_one_sample_are_one_line_with_their_sums():
    """300 pages mapped nearly empty, filled by the next sample: one line, "+X in 300
    regions", whose words sum what each page's said: now resident in them all."""
    starts = pages(300)
    before = node_like(dict.fromkeys(starts, 8 * KiB), t=T0)
    now = filled(starts)
    events = diff_snapshots(before, node_like(now, t=T0 + 1))
    assert sum(e.object == V8 for e in events) == 300  # the flood there was: a line each

    (line,) = page_lines(events)
    assert line.count == line.regions == 300 and line.event.event == "rss_changed"
    rose = sum(now.values()) - 300 * 8 * KiB
    assert line.event.delta == line.event.size == rose
    assert (line.event.start, line.event.end) == (starts[0], starts[-1] + PAGE)
    assert line.event.detail == (
        f"pages faulted in, in 300 regions: now {size_text(sum(now.values()))} resident"
    )
    (text,) = [t for t in human_lines(events) if V8 in t]
    assert re.search(rf"rss_changed +RSS \+{re.escape(size_text(rose))} in 300 regions  ", text)
    assert "in 300 regions: now 73.6 MiB resident)" in text  # 60 × 232 KiB + 240 × 256 KiB


def test_pages_mapped_between_smaps_reads_say_in_one_line_what_they_brought():
    """`vmtop watch` read smaps every few ticks: pages mapped on a tick that read maps
    alone said their resident size at the next smaps read, each a line "pages faulted
    in since it was mapped" (324 in one sample). One line, "since they were mapped"."""
    starts = pages(320)
    read = node_like({}, t=T0)
    maps_only = node_like(dict.fromkeys(starts), t=T0 + 1, smaps=False)
    now = filled(starts)
    read_again = node_like(now, t=T0 + 2)
    budget = SmapsReads(1.0)
    budget.fresh, budget.fresh_after, budget.last = True, read, read_again
    events = _events(maps_only, read_again, budget, 64 * KiB)
    assert sum(e.event == "rss_changed" and e.object == V8 for e in events) == 320

    (line,) = page_lines(events)
    assert line.event.delta == sum(now.values())
    assert line.event.detail == (
        "pages faulted in since they were mapped, in 320 regions: now "
        f"{size_text(sum(now.values()))} resident"
    )
    # Every event is a line of the JSON, for scripts.
    scripts = io.StringIO()
    _json_lines(events, scripts)
    records = [json.loads(r) for r in scripts.getvalue().splitlines()]
    assert sum(r.get("object") == V8 for r in records) == 320


def test_pages_mapped_since_and_pages_there_before_that_filled_are_one_line():
    """Of one smaps read to the next, pages there before filled ("pages faulted in")
    and pages mapped between filled too ("since it was mapped"): both are pages that
    faulted in, one line (as two, a sample was still two to four lines: measured)."""
    there, new = pages(40), pages(60, 40)
    read = node_like(dict.fromkeys(there, 0), t=T0)
    maps_only = node_like({**dict.fromkeys(there, 0), **dict.fromkeys(new)}, t=T0 + 1,
                          smaps=False)  # fmt: skip
    now = filled(there + new)
    budget = SmapsReads(1.0)
    budget.fresh, budget.fresh_after, budget.last = True, read, node_like(now, t=T0 + 2)
    events = _events(maps_only, budget.last, budget, 64 * KiB)
    assert Counter("since" in e.detail for e in events if e.object == V8) == {True: 60, False: 40}
    (line,) = page_lines(events)
    assert line.regions == 100 and line.event.delta == sum(now.values())
    assert line.event.detail == (
        "pages faulted in, in 100 regions (60 of them mapped since the last read, counted "
        f"whole): now {size_text(sum(now.values()))} resident"
    )


def test_the_tuis_drift_says_pages_mapped_unread_in_one_line_too():
    """The TUI's sampler (and `vmtop record`) say what pages mapped on a tick that read
    maps alone brought with RssDrift: "since it was mapped", a line a page."""
    starts = pages(200)
    drift = RssDrift(64 * KiB)
    drift.update(node_like({}, t=T0))
    now = filled(starts)
    events = drift.update(node_like(now, t=T0 + 2), announced=set())
    assert len(events) == 200
    (line,) = page_lines(events)
    assert line.event.detail == (
        "pages faulted in since they were mapped, in 200 regions: now "
        f"{size_text(sum(now.values()))} resident"
    )


def test_a_rounded_figure_is_left_out_of_the_words_not_summed_wrong():
    """Large objects of MiB: "now 2.3 MiB resident" is rounded, and 40 of them summed
    would be off by up to 2 MiB. The words leave it out; the change is exact."""
    big = 2560 * KiB
    starts = pages(40)
    large = {s: 1000 * KiB for s in starts}
    grown = {s: 2380 * KiB + k * 4 * KiB for k, s in enumerate(starts)}

    def objects(rss: dict[int, int], t: float) -> Snapshot:
        regions = base_regions() + [region(s, s + big, rss=held) for s, held in rss.items()]
        return with_objects(snapshot(regions, taken_at=t), dict.fromkeys(rss, "V8 large object"))

    events = diff_snapshots(objects(large, T0), objects(grown, T0 + 1))
    assert all("MiB resident" in e.detail for e in events if e.object)
    (line,) = [r for r in event_runs.sample_lines(events) if r.event.object]
    assert line.event.detail == "pages faulted in, in 40 regions"
    assert line.event.delta == sum(grown.values()) - sum(large.values())


def test_rises_falls_other_words_and_other_objects_are_lines_apart():
    """Pages that filled and pages freed in one sample, pages whose words say swap, and
    regions that are no V8 page: each their own line; fewer than three alike stay
    lines of their own."""
    up, down, swapped, few = pages(10), pages(10, 10), pages(10, 20), pages(2, 30)
    before = {**dict.fromkeys(up, 0), **dict.fromkeys(down + swapped + few, PAGE)}
    after = {**dict.fromkeys(up, PAGE), **dict.fromkeys(down + swapped + few, 0)}
    prev = node_like(before, t=T0, swap=0)
    cur = node_like(after, t=T0 + 1, swap=0)
    cur = cur._replace(regions=tuple(
        r._replace(swap=PAGE) if r.start in swapped
        else r._replace(object=None) if r.start in few else r
        for r in cur.regions
    ))  # fmt: skip
    lines = [
        r for r in event_runs.sample_lines(diff_snapshots(prev, cur)) if r.event.start > 1 << 32
    ]
    said = sorted(
        (r.regions, r.event.delta, r.event.object, r.event.detail.partition(",")[0]) for r in lines
    )
    assert said == [
        (1, -PAGE, None, "pages freed or reclaimed: now 0 B resident"),
        (1, -PAGE, None, "pages freed or reclaimed: now 0 B resident"),
        (10, -10 * PAGE, V8, "pages freed or reclaimed"),
        (10, -10 * PAGE, V8, "pages swapped out"),
        (10, 10 * PAGE, V8, "pages faulted in"),
    ]
    gone = next(r for r in lines if r.event.detail.startswith("pages swapped out"))
    assert gone.event.detail == (
        "pages swapped out, not freed, in 10 regions: now 0 B resident, 2.5 MiB on swap"
    )


def test_memory_in_hugetlb_pages_is_not_folded():
    """Its words say it is no Rss: a line each (a handful of regions)."""
    events = [
        Event(T0, "rss_changed", s, s + 2 * MiB, kinds.ANON, 2 * MiB, 2 * MiB,
              detail=f"hugetlb pages faulted in: now 2.0 MiB {HUGETLB_WORDS}")
        for s in pages(4)
    ]  # fmt: skip
    assert len(event_runs.sample_lines(events)) == 4


# -- address space committed from a reserve, or released to it ----------------------------


def test_pages_released_to_the_reserve_are_a_line_and_their_memory_another():
    """V8's memory reducer, 13 s after a heap of 200 MB was dropped: 124 pages back to
    no-access reserve (rw-p -> ---p, their memory freed), a reserve_released and an
    rss_changed each. Two lines."""
    starts = pages(124)
    before = node_like(dict.fromkeys(starts, PAGE), t=T0)
    regions = base_regions() + [
        region(s, s + PAGE, "---p", rss=0, kind=kinds.RESERVED) for s in starts
    ]
    events = diff_snapshots(before, snapshot(regions, taken_at=T0 + 1))
    assert sum(e.event == "reserve_released" for e in events) == 124
    lines = [r for r in event_runs.sample_lines(events) if r.regions > 1]
    released, freed = sorted(lines, key=lambda r: r.event.event)
    assert released.event.event == "reserve_released" and released.regions == 124
    assert released.event.size == 124 * PAGE and released.event.delta == 0
    each = {e.detail for e in events if e.event == "reserve_released"}
    assert {released.event.detail} == each  # the words each had
    assert released.event.detail.startswith("rw-p -> ---p: back to reserve, its pages freed")
    assert freed.event.detail == (
        "pages freed, reclaimed or swapped out, in 124 regions: now 0 B resident"
    )
    assert freed.event.delta == -124 * PAGE
    text = [t for t in human_lines(events) if "reserve_released" in t]
    assert len(text) == 1 and " 31.0 MiB in 124 regions  " in text[0], text


def test_a_runtimes_tables_committed_a_piece_each_are_one_line_by_object():
    """The JVM commits its collector's tables a piece each (five "Java GC data" ranges
    in one sample); arenas growing into their reserves are each their own object."""
    gc_data = [0x7FB9_DD00_0000 + k * 0x40_0000 for k in range(5)]
    arenas = [0x7FB9_B000_0000 + k * 0x400_0000 for k in range(3)]

    def map_of(perms: str, kind: str, t: float) -> Snapshot:
        regions = base_regions() + [
            region(s, s + 272 * KiB, perms, rss=0, kind=kind) for s in gc_data + arenas
        ]
        names = dict.fromkeys(gc_data, "Java GC data")
        names.update({s: f"arena heap {k + 2}" for k, s in enumerate(arenas)})
        snap = with_objects(snapshot(regions, taken_at=t), names)
        arena_kind = kinds.ARENA if kind == kinds.ANON else kind
        return snap._replace(regions=tuple(
            r._replace(kind=arena_kind) if r.start in arenas else r for r in snap.regions
        ))  # fmt: skip

    events = diff_snapshots(map_of("---p", kinds.RESERVED, T0), map_of("rw-p", kinds.ANON, T0 + 1))
    assert sum(e.event == "reserve_committed" for e in events) == 8
    lines = event_runs.sample_lines(events)
    assert sorted((r.event.object, r.regions) for r in lines) == [
        ("Java GC data", 5),
        ("arena heap 2", 1),
        ("arena heap 3", 1),
        ("arena heap 4", 1),
    ]
    gc_line = next(r for r in lines if r.regions == 5)
    assert gc_line.event.size == 5 * 272 * KiB


# -- after a fork: shared, copied; freed with MADV_FREE -----------------------------------


def anon_regions(t: float, **figures) -> Snapshot:
    """A process with 500 regions of 256 KiB written, with these smaps figures each."""
    starts = [0x7F97_EE00_0000 + k * 2 * PAGE for k in range(500)]
    regions = base_regions() + [
        region(s, s + PAGE, rss=PAGE)._replace(anonymous=PAGE, **figures) for s in starts
    ]
    return snapshot(regions, taken_at=t)


def test_five_hundred_regions_shared_after_a_fork_are_one_line():
    alone = anon_regions(T0, private_dirty=PAGE, shared_dirty=0, private_clean=0, shared_clean=0)
    shared = anon_regions(T0 + 1, private_dirty=0, shared_dirty=PAGE, private_clean=0,
                          shared_clean=0)  # fmt: skip
    events = diff_snapshots(alone, shared)
    assert sum(e.event == "shared_changed" for e in events) == 500
    (line,) = [r for r in event_runs.sample_lines(events) if r.event.event == "shared_changed"]
    assert line.regions == 500 and line.event.delta == 500 * PAGE
    words = line.event.detail
    assert words.startswith("pages now shared with another process, in 500 regions: after a fork")
    assert words.endswith(": now 125.0 MiB shared, the Rss unchanged by it"), words
    # And copied again (written by either): one line, down.
    copied = diff_snapshots(shared, alone._replace(taken_at=T0 + 2))
    (back,) = [r for r in event_runs.sample_lines(copied) if r.regions > 1]
    assert back.event.delta == -500 * PAGE and back.event.detail.endswith(
        ": now 0 B shared, the Rss unchanged by it"
    )
    text = [t for t in human_lines(copied) if "shared_changed" in t]
    assert len(text) == 1 and "shared -125.0 MiB in 500 regions" in text[0], text


def test_five_hundred_regions_freed_with_madv_free_are_one_line():
    written = anon_regions(T0, private_dirty=PAGE, shared_dirty=0, private_clean=0,
                           shared_clean=0)  # fmt: skip
    freed = anon_regions(T0 + 1, private_dirty=0, shared_dirty=0, private_clean=PAGE,
                         shared_clean=0)  # fmt: skip
    events = diff_snapshots(written, freed)
    assert sum(e.event == "lazyfree_changed" for e in events) == 500
    (line,) = event_runs.sample_lines(events)
    assert line.event.delta == 500 * PAGE
    assert line.event.detail.startswith("125.0 MiB freed with MADV_FREE, in 500 regions: still")
    assert "; now 125.0 MiB lazily freed" in line.event.detail


# -- what the words of a line alike are ------------------------------------------------


def test_figures_are_summed_where_exact_and_the_regions_counted():
    def said(detail: str, delta: int) -> Event:
        return Event(T0, "swap_changed", 0, PAGE, kinds.ANON, abs(delta), delta, detail=detail)

    went = [said(f"pages went to swap: now {size_text(n)} on swap, not in RAM", n)
            for n in (100 * KiB, 3 * MiB + 200 * KiB, 612 * KiB)]  # fmt: skip
    # 3.2 MiB is rounded, but it is the event's own change: exact.
    assert alike_figures.together(went) == (
        "pages went to swap, in 3 regions: now 3.9 MiB on swap, not in RAM"
    )
    rounded = [went[0], said("pages went to swap: now 3.2 MiB on swap, not in RAM", KiB)]
    assert alike_figures.together(rounded) == "pages went to swap, in 2 regions"
    assert alike_figures.shape(went[1].detail) == "pages went to swap: now # on swap, not in RAM"
    # A number that is no figure (a huge page's "2 MiB each") is words.
    assert alike_figures.shape("as huge pages: 2 MiB each: now 4.0 MiB") == (
        "as huge pages: 2 MiB each: now #"
    )


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(["rss_changed", "shared_changed", "reserve_committed"]),
            st.sampled_from([-1, 1]),
            st.integers(1, 300),
        ),
        max_size=60,
    )
)
def test_every_event_is_counted_once_and_its_change_kept(steps):
    """However the figures of a sample fold, the lines stand for every event, and the
    changes and sizes add up, in the log and in watch's text."""
    events = [
        Event(float(sample), event, i << 30, (i << 30) + PAGE, kinds.ANON,
              PAGE if event == "reserve_committed" else kib * KiB,
              0 if event == "reserve_committed" else sign * kib * KiB,
              detail=f"moved: now {size_text(kib * KiB)} held", object="V8 heap page")
        for i, (sample, event, sign, kib) in enumerate(steps)
    ]  # fmt: skip
    runs: list[EventRun] = []
    assert event_runs.add_events(runs, events, 1000) == 0
    lines = event_runs.sample_lines(events)
    for folded in (runs, lines):
        assert sum(r.count for r in folded) == len(events)
        assert sum(r.event.delta for r in folded) == sum(e.delta for e in events)
        assert sum(r.event.size for r in folded) == sum(e.size for e in events)
