"""Regions of one mapping given other permissions alike in one sample are one line, and
a line of regions whose figure moved alike goes on sample after sample as one line with
its samples counted (vmtop.model.event_runs).

The events are as `vmtop watch --json` gave them for tests/c/fold_pages.c: "protect"
mprotects every other page of a mapping of 1 000 pages read-only (a split of the region
into 1 000 and 500 ``protection_changed`` of a page each, in one sample); "grow" writes
the next 256 KiB of each of four blocks (an ``rss_changed`` of each, in one sample).
"""

from __future__ import annotations

from helpers_diff import KiB, MiB

from vmtop.commands.watch import human_lines
from vmtop.model import event_runs, kinds
from vmtop.model import events as ev
from vmtop.model.event_runs import EventRun
from vmtop.model.events import Event

PAGE = 4 * KiB
PAGES_AT = 0x7F65_CF1D_6000
BLOCKS_AT = 0x7F65_CB1D_2000
BLOCK = 16 * MiB
STEP = 256 * KiB
PROTECTED = "rw-p -> r--p (mprotect)"


def protected(t: float = 1000.0, pages: int = 1000) -> list[Event]:
    """The sample that saw every other page of the mapping made read-only."""
    end = PAGES_AT + pages * PAGE
    split = Event(t, ev.SPLIT, PAGES_AT, end, kinds.ANON, 0, 0,
                  detail=f"one region became {pages}: mprotect of part of it")  # fmt: skip
    changed = [
        Event(t, ev.PROTECTION_CHANGED, at, at + PAGE, kinds.ANON, PAGE, 0, detail=PROTECTED)
        for at in range(PAGES_AT, end, 2 * PAGE)
    ]
    return [split, *changed]


def grown(step: int, t: float | None = None, blocks: int = 4) -> list[Event]:
    """The sample that saw the ``step``-th 256 KiB written in each block."""
    t = 2000.0 + step if t is None else t
    now = (step + 1) * STEP
    return [
        Event(
            t,
            ev.RSS_CHANGED,
            at,
            at + BLOCK,
            kinds.ANON,
            STEP,
            STEP,
            detail=f"pages faulted in: now {now // KiB}.0 KiB resident",
        )  # fmt: skip
        for at in range(BLOCKS_AT, BLOCKS_AT + blocks * (BLOCK + PAGE), BLOCK + PAGE)
    ]


def folded(events) -> list[EventRun]:
    runs: list[EventRun] = []
    event_runs.add_events(runs, events, 100)
    return runs


# -- permissions changed alike ----------------------------------------------------------


def test_pages_given_other_permissions_alike_are_one_line():
    """500 lines in one sample, and the split among them: two lines."""
    sample = protected()
    lines = event_runs.sample_lines(sample)
    assert [(line.event.event, line.regions) for line in lines] == [
        (ev.SPLIT, 1),
        (ev.PROTECTION_CHANGED, 500),
    ]
    line = lines[1]
    assert line.count == 500 and line.event.size == 500 * PAGE and line.event.delta == 0
    assert (line.event.start, line.event.end) == (PAGES_AT, PAGES_AT + 999 * PAGE)
    assert line.event.detail == PROTECTED and line.first is sample[1]
    text = human_lines(sample)[1]
    assert "protection_changed" in text and "2.0 MiB in 500 regions" in text
    assert f"({PROTECTED})" in text
    # The log: the same two lines.
    assert [(r.event.event, r.regions) for r in folded(sample)] == [
        (ev.SPLIT, 1),
        (ev.PROTECTION_CHANGED, 500),
    ]


def test_permissions_changed_otherwise_stay_apart():
    """Other words (code made executable), another sample, or fewer than three."""
    sample = protected()[1:7]  # six pages
    jit = [e._replace(detail="rw-p -> r-xp (mprotect): code written here made executable (JIT)")
           for e in sample[3:]]  # fmt: skip
    later = [e._replace(time=1001.0) for e in protected(pages=4)[1:]]  # two pages
    lines = event_runs.sample_lines([*sample[:3], *jit, *later])
    assert sorted(line.regions for line in lines) == [1, 1, 3, 3]


# -- figures moving alike, sample after sample ------------------------------------------


def test_regions_growing_alike_sample_after_sample_are_one_line_with_its_samples():
    samples = [grown(step) for step in range(6)]
    live: list[EventRun] = []
    for sample in samples:
        event_runs.add_events(live, sample, 100)
    assert len(live) == 1
    (line,) = live
    assert line.samples == 6 and line.regions == 4 and line.count == 24
    assert line.event.delta == line.event.size == 6 * 4 * STEP
    assert (line.event.start, line.event.end) == (BLOCKS_AT, BLOCKS_AT + 4 * BLOCK + 3 * PAGE)
    assert line.first is samples[0][0] and line.event.time == samples[-1][0].time
    # The last sample's words: what the regions hold now.
    assert line.event.detail == "pages faulted in, in 4 regions: now 6.0 MiB resident"
    # A replay, given them all at once, reads the same.
    assert folded([e for sample in samples for e in sample]) == live


def test_a_run_of_regions_alike_ends_as_a_single_regions_run_does():
    """Down after up, a mapping over one of them, or an exec: a new line."""
    up = [grown(0), grown(1)]
    down = [e._replace(delta=-e.delta) for e in grown(2)]
    runs = folded([e for sample in [*up, down, grown(3)] for e in sample])
    assert [(r.samples, r.event.delta > 0) for r in runs] == [(2, True), (1, False), (1, True)]
    over = Event(2001.5, ev.MAPPED, BLOCKS_AT, BLOCKS_AT + MiB, kinds.ANON, MiB, MiB)
    runs = folded([*grown(0), *grown(1), over, *grown(2), *grown(3)])
    assert [r.samples for r in runs if r.regions > 1] == [2, 2]
    execed = Event(2001.5, ev.EXEC, 0, 0, "", 0, 0)
    runs = folded([*grown(0), *grown(1), execed, *grown(2)])
    assert [r.samples for r in runs if r.regions > 1] == [2, 1]


def test_a_mapping_between_its_regions_does_not_end_the_run():
    """Its span is not its regions: a page mapped in the gap after the first block, or
    far below the last, is not about them (V8 maps pages between pages filling alike);
    one over a block's last page is, and so is one over a block of an earlier sample."""
    gap = Event(2001.5, ev.MAPPED, BLOCKS_AT + BLOCK, BLOCKS_AT + BLOCK + PAGE, kinds.ANON,
                PAGE, PAGE)  # fmt: skip
    runs = folded([*grown(0), *grown(1), gap, *grown(2), *grown(3)])
    assert [r.samples for r in runs if r.regions > 1] == [4]
    last_page = gap._replace(start=BLOCKS_AT + BLOCK - PAGE, end=BLOCKS_AT + BLOCK)
    runs = folded([*grown(0), *grown(1), last_page, *grown(2), *grown(3)])
    assert [r.samples for r in runs if r.regions > 1] == [2, 2]

    # Blocks 0, 1, 2, 4 grew, then 0, 1, 3, 4: a page mapped over block 2 (of the first
    # sample only) ends the run; blocks 0, 1, 4 sample after sample: over block 2 (never
    # in it, inside its span) does not.
    def blocks(step: int, *which: int) -> list[Event]:
        return [grown(step, blocks=5)[i] for i in which]

    def over(block: int) -> Event:
        at = BLOCKS_AT + block * (BLOCK + PAGE)
        return gap._replace(start=at, end=at + PAGE)

    first = [*blocks(0, 0, 1, 2, 4), *blocks(1, 0, 1, 3, 4)]
    runs = folded([*first, over(2)._replace(time=2001.5), *blocks(2, 0, 1, 3, 4)])
    assert [r.samples for r in runs if r.regions > 1] == [2, 1]
    first = [*blocks(0, 0, 1, 4), *blocks(1, 0, 1, 4)]
    runs = folded([*first, over(2)._replace(time=2001.5), *blocks(2, 0, 1, 4)])
    assert [r.samples for r in runs if r.regions > 1] == [3]


def test_a_sample_that_saw_fewer_of_them_does_not_end_the_run():
    """A read in the middle of a step saw two of the four blocks grow: their lines of
    their own, and the run of the four goes on the next sample."""
    partial = grown(1)[:2]
    runs = folded([*grown(0), *partial, *grown(2), *grown(3)])
    assert [(r.regions, r.samples, r.count) for r in runs] == [(1, 1, 1), (1, 1, 1), (4, 3, 12)]


def test_regions_of_other_objects_or_words_are_runs_of_their_own():
    others = [e._replace(object="arena heap 2") for e in grown(0, t=2000.0)]
    swapped = [
        e._replace(event=ev.SWAP_CHANGED, detail="went to swap: now 256.0 KiB on swap")
        for e in grown(0, t=2001.0)
    ]
    runs = folded([*grown(0), *others, *swapped, *grown(1), *grown(2)])
    assert sorted((r.event.event, r.event.object or "", r.samples) for r in runs) == [
        (ev.RSS_CHANGED, "", 3),
        (ev.RSS_CHANGED, "arena heap 2", 1),
        (ev.SWAP_CHANGED, "", 1),
    ]


def test_regions_mapped_alike_never_run_across_samples():
    """A mapping is a line each time (the V8 pages of every sample: a line each)."""
    mapped = [
        [Event(3000.0 + s, ev.MAPPED, a, a + STEP, kinds.ANON, STEP, STEP, detail="mmap")
         for a in range(s * 4 * MiB + BLOCKS_AT, s * 4 * MiB + BLOCKS_AT + 3 * MiB, MiB)]
        for s in range(3)
    ]  # fmt: skip
    runs = folded([e for sample in mapped for e in sample])
    assert [(r.regions, r.samples) for r in runs] == [(3, 1)] * 3


def test_lines_sunk_below_the_reach_keep_no_ranges():
    """What a line keeps to know its regions is dropped once nothing can end it: the
    log's bound is on lines, and a line's ranges are not to grow it."""
    samples = [
        [e._replace(object=f"block set {i}") for e in grown(0, t=2000.0 + i)] for i in range(12)
    ]
    runs = folded([e for sample in samples for e in sample])
    assert len(runs) == 12
    reach = event_runs.REACH
    assert [r.ranges is None for r in runs] == [True] * (12 - reach) + [False] * reach
