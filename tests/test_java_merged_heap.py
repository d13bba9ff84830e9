"""A JVM's regions that vmtop left unnamed or named wrong, checked against the JVM's own
account (NMT: truth.tsv beside each recorded map, tests/fixtures/jvm_native/README.md).

- JDK 17 -XX:-UseCompressedOops -Xshare:off -Xmx1g (G1, Serial, Shenandoah:
  ``*_1g_no_coops_cds_off``): the class space lies alone at 2 GiB, 1 GiB like the
  heap, and was named the Java heap (the one run of the heap's size below 32 GiB),
  and the real heap, high, left unnamed; with Shenandoah the 32 MiB of its second
  bitmap right below the heap was named the heap's no-access prefix too, and its
  collection set map (254 MiB, a byte per region indexed by address) left unnamed.
- JDK 17 -Xms1g -Xmx1g -XX:-UseCompressedOops (g1_1g_committed_whole_no_coops): the
  heap committed whole and G1's five tables committed whole below it, one rw-p region
  of 1062 MiB: unnamed; now "Java heap + GC data", since hsperfdata says the heap is
  committed whole (its generations' capacities: ``JavaFacts.heap_committed``).
- G1's mark stack (32 MiB, committed whole) mapped on its own (JDK 25 anywhere, JDK 17
  where no room is left below the bitmaps): unnamed; now named where it is the map's
  one free rw-p region of its size.

Live: real JVMs of JDK 17 (java) and JDK 25 (/usr/lib/jvm/temurin-25*), with NMT.
"""

from __future__ import annotations

import glob

import pytest
from test_java_native_regions import (
    CONFIGS,
    NATIVE,
    check_heap_and_more,
    check_never_outside,
    classified,
    inside,
    live_jvm,
    recorded,
    truth,
    wholly_inside,
)

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.java_native_regions import GC_DATA, GC_DATA_AND_MORE
from vmtop.model.java_regions import (
    CLASS_SPACE,
    JAVA_HEAP,
    JAVA_HEAP_AND_GC_DATA,
    JAVA_HEAP_AND_MORE,
)
from vmtop.procfs.hsperfdata import heap_capacity, max_heap_size, parse_hsperfdata
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

MIB, GIB = 1 << 20, 1 << 30
NO_COOPS_CDS_OFF = ["g1_1g_no_coops_cds_off", "serial_1g_no_coops_cds_off"]
NO_COOPS_CDS_OFF += ["shenandoah_1g_no_coops_cds_off"]
G1_CONFIGS = [c for c in CONFIGS if c.startswith(("g1_", "jdk25_g1_"))]
MARK_STACK_SITES = ("G1CMMarkStack::resize", "G1CMMarkStack::ChunkAllocator::reserve")
JAVA25 = sorted(glob.glob("/usr/lib/jvm/temurin-25*/bin/java"))


def heap_names(regions) -> list:
    return [r for r in regions if r.object and r.object.startswith(JAVA_HEAP)]


# -- hsperfdata: the heap's committed bytes ------------------------------------------


# (Not ZGC, which gives no capacities of its own; nor hugetlb pages, which NMT counts
# committed whole where G1 has committed only part of the heap.)
WITH_CAPACITIES = [
    c for c in CONFIGS if not c.startswith(("z_", "jdk25_z_")) and not c.endswith("_large_pages")
]


@pytest.mark.parametrize("config", WITH_CAPACITIES)
def test_hsperfdata_says_the_heap_is_committed_whole_where_nmt_does(config):
    counters = parse_hsperfdata((NATIVE / config / "hsperfdata").read_bytes())
    ((state,),) = [[t.committed] for t in truth(config) if t.what == "Java Heap"]
    committed, size = heap_capacity(counters), max_heap_size(counters)
    assert committed is not None and 0 < committed <= size
    assert (committed == size) == (state == "all"), (committed, size, state)


# -- JDK 17 without compressed oops nor CDS: the class space is no heap --------------


@pytest.mark.parametrize("config", NO_COOPS_CDS_OFF)
def test_the_class_space_alone_at_2_gib_is_not_the_heap(tmp_path, config):
    regions = classified(tmp_path, config)
    reserved = truth(config)
    ((heap_lo, heap_hi),) = [(t.start, t.end) for t in reserved if t.what == "Java Heap"]
    ((lo, hi),) = [(t.start, t.end) for t in reserved if t.what == "Class"]
    assert hi - lo == heap_hi - heap_lo == GIB and hi <= 32 * GIB < heap_lo
    named = heap_names(regions)
    assert named and all(heap_lo <= r.start and r.end <= heap_hi for r in named)
    # Every region wholly inside NMT's heap is named so (the kernel may have merged its
    # committed base with a neighbour: that one region is not).
    assert all(r.object == JAVA_HEAP for r in regions if heap_lo <= r.start and r.end <= heap_hi)
    space = [r for r in regions if r.object == CLASS_SPACE]
    assert space and space[0].start == lo and space[-1].end == hi
    check_never_outside(regions, reserved)


def test_the_class_space_alone_at_2_gib_beside_a_heap_merged_whole_is_named(tmp_path):
    # JDK 17 -Xms1g -Xmx1g -XX:-UseCompressedOops -Xshare:off: the heap committed whole,
    # merged with one of G1's bitmaps into one rw-p region where two of its bases fit
    # (where the heap lies in it is not known), and the class space alone at 2 GiB.
    # Before: the class space unnamed (it was looked for only beside a heap found).
    config = "g1_1g_committed_whole_no_coops_cds_off"
    regions = classified(tmp_path, config)
    reserved = truth(config)
    (heap,) = [t for t in reserved if t.what == "Java Heap"]
    (space,) = [t for t in reserved if t.what == "Class"]
    assert heap.committed == "all" and space.committed == "part"
    assert (space.start, space.end) == (2 * GIB, 3 * GIB)
    (holder,) = [r for r in regions if r.start <= heap.start and heap.end <= r.end]
    assert holder.object == JAVA_HEAP_AND_MORE and holder.size - GIB >= 2 * MIB
    parts = [r for r in regions if space.start <= r.start and r.end <= space.end]
    assert [r.perms for r in parts][-1] == "---p" and "rw-p" in {r.perms for r in parts}
    assert all(r.object == CLASS_SPACE for r in parts)
    assert (parts[0].start, parts[-1].end) == (space.start, space.end)
    assert all(r.kind == (kinds.ANON if r.perms == "rw-p" else kinds.RESERVED) for r in parts)
    assert [r for r in regions if r.object == CLASS_SPACE] == parts
    check_never_outside(regions, reserved)


def test_shenandoahs_collection_set_map_is_named_and_its_second_bitmap_no_heap(tmp_path):
    config = "shenandoah_1g_no_coops_cds_off"
    regions = classified(tmp_path, config)
    gc = [t for t in truth(config) if t.what == "GC"]
    (cset,) = [t for t in gc if t.end <= 4 * GIB]  # (low: indexed by address >> 19)
    assert cset.end - cset.start > 200 * MIB and cset.committed == "part"
    parts = wholly_inside(regions, cset)
    assert len(parts) == 3 and all(r.object == GC_DATA for r in parts)
    (heap,) = [t for t in truth(config) if t.what == "Java Heap"]
    (below,) = [r for r in regions if r.end == heap.start]
    assert below.size == 32 * MIB and below.perms == "---p"
    assert any(t.start == below.start and t.end == below.end for t in gc)
    assert below.object != JAVA_HEAP


# -- a heap committed whole, merged with what lies beside it -------------------------


def test_a_heap_committed_whole_merged_with_g1s_tables_is_named_both(tmp_path):
    # -Xms1g -Xmx1g -XX:-UseCompressedOops, JDK 17: G1's five tables (38 MiB) committed
    # whole right below the heap: one region of 1062 MiB.
    config = "g1_1g_committed_whole_no_coops"
    regions = classified(tmp_path, config)
    (heap,) = [t for t in truth(config) if t.what == "Java Heap"]
    (both,) = [r for r in regions if r.start <= heap.start and heap.end <= r.end]
    assert both.size == heap.end - heap.start + 38 * MIB
    assert both.object == JAVA_HEAP_AND_GC_DATA and both.kind == kinds.ANON
    check_heap_and_more(both, truth(config))
    assert len(heap_names(regions)) == 1
    # Without hsperfdata's word that the heap is committed whole: nothing.
    _, regions, facts = recorded(tmp_path / "not_whole", config)
    facts = facts._replace(java=facts.java._replace(heap_committed=facts.java.heap_committed - 1))
    assert not heap_names(classify_regions(regions, facts))


def test_the_heap_and_more_is_named_only_where_one_region_can_hold_it(tmp_path):
    config = "g1_1g_committed_whole_no_coops"
    _, regions, facts = recorded(tmp_path, config)
    (heap,) = [t for t in truth(config) if t.what == "Java Heap"]
    (k,) = [i for i, r in enumerate(regions) if r.start <= heap.start and heap.end <= r.end]
    big = regions[k]
    # Another region as big (a malloc'd block of 1.5 GiB): either could hold the heap.
    block = big._replace(start=0x7000_0000_0000, end=0x7000_0000_0000 + 3 * GIB // 2)
    at = next(i for i, r in enumerate(regions) if r.start > block.start)
    assert not heap_names(classify_regions([*regions[:at], block, *regions[at:]], facts))
    # The rest not G1's tables to the byte (2 MiB less): the heap and other memory.
    less = big._replace(start=big.start + 2 * MIB)
    out = classify_regions([*regions[:k], less, *regions[k + 1 :]], facts)
    assert [r.object for r in heap_names(out)] == [JAVA_HEAP_AND_MORE]


def test_the_heap_and_more_is_explained():
    from vmtop.model.explain import why_kind

    r = classified_region(JAVA_HEAP_AND_GC_DATA)
    assert "committed whole" in why_kind(r) and "tables" in why_kind(r)
    assert "other memory" in why_kind(r._replace(object=JAVA_HEAP_AND_MORE))


def classified_region(name: str):
    from vmtop.model.region import Region

    return Region(
        0x7F00_0000_0000, 0x7F00_0000_0000 + GIB + 38 * MIB, "rw-p", 0, "00:00", 0, ""
    )._replace(kind=kinds.ANON, object=name)


# -- a table's committed edge merged with what lies beside it -------------------------


def test_a_tables_committed_edge_merged_with_its_neighbour_is_named_so(tmp_path):
    # A table found by its pattern whose committed edge runs on past it, merged with a
    # malloc'd block or a thread's stack (Parallel's and Serial's card tables, G1's
    # bitmap with its mark stack and a thread's stack below): that region holds the
    # collector's data, and more. Before: unnamed. Never a region without NMT's GC in
    # it, nor one with any other of NMT's reservations (heap, class space, metaspace).
    taken = 0
    for config in CONFIGS:
        regions = classified(tmp_path / config, config)
        for r in regions:
            if r.object != GC_DATA_AND_MORE:
                continue
            reserved = [t for t in truth(config) if t.start < r.end and r.start < t.end]
            assert reserved and {t.what for t in reserved} == {"GC"}, (config, hex(r.start))
            assert not any(t.start <= r.start and r.end <= t.end for t in reserved)
            assert r.kind == kinds.ANON and r.perms == "rw-p"
            taken += 1
    assert taken >= 20


def test_a_tables_edge_merged_with_its_neighbour_is_explained():
    from vmtop.model.explain import why_kind

    r = classified_region(GC_DATA_AND_MORE)
    assert "tables" in why_kind(r) and "merged" in why_kind(r)


# -- G1's mark stack on its own --------------------------------------------------------


def test_g1s_mark_stack_on_its_own_is_named_wherever_it_lies(tmp_path):
    taken = []
    for config in G1_CONFIGS:
        regions = classified(tmp_path / config, config)
        (stack,) = [t for t in truth(config) if t.site in MARK_STACK_SITES]
        alone = [r for r in regions if (r.start, r.end) == (stack.start, stack.end)]
        if alone:
            assert alone[0].object == GC_DATA, config
            taken.append(config)
        check_never_outside(regions, truth(config))
    assert len(taken) >= 12 and len([c for c in taken if c.startswith("jdk25_")]) >= 6


def test_two_regions_of_the_mark_stacks_size_name_neither(tmp_path):
    config = "jdk25_g1_1g"
    _, regions, facts = recorded(tmp_path, config)
    (stack,) = [t for t in truth(config) if t.site in MARK_STACK_SITES]
    (k,) = [i for i, r in enumerate(regions) if (r.start, r.end) == (stack.start, stack.end)]
    other = regions[k]._replace(start=0x7000_0000_0000, end=0x7000_0000_0000 + 32 * MIB)
    at = next(i for i, r in enumerate(regions) if r.start > other.start)
    out = classify_regions([*regions[:at], other, *regions[at:]], facts)
    assert not [r for r in out if r.size == 32 * MIB and r.object == GC_DATA]


def test_g1s_mark_stack_merged_with_what_lies_below_is_named_so(tmp_path):
    # Mapped on its own, the stack's base merged by the kernel with committed memory
    # right below it (thread stacks, 1 to 3.2 MiB): one rw-p region, the stack its top.
    # Before: unnamed. Now "GC data + other memory" (never a region with anything of
    # NMT's but GC in it: test_a_tables_committed_edge_merged_with_its_neighbour...).
    taken = []
    for config in G1_CONFIGS:
        regions = classified(tmp_path / config, config)
        (stack,) = [t for t in truth(config) if t.site in MARK_STACK_SITES]
        holding = [r for r in regions if r.start < stack.end and stack.start < r.end]
        if len(holding) == 1 and holding[0].start < stack.start and holding[0].end == stack.end:
            (r,) = holding
            assert r.object == GC_DATA_AND_MORE and r.kind == kinds.ANON, config
            taken.append(config)
    assert len(taken) >= 11 and len([c for c in taken if c.startswith("jdk25_")]) >= 5


def _with_region(regions, start: int, size: int):
    other = regions[0]._replace(start=start, end=start + size, perms="rw-p", path="", inode=0)
    at = next(i for i, r in enumerate(regions) if r.start > start)
    return [*regions[:at], other, *regions[at:]]


@pytest.mark.parametrize("size", [32 * MIB, 34 * MIB])
def test_the_mark_stack_merged_is_not_named_beside_a_region_that_could_be_it(tmp_path, size):
    # Another rw-p region of the stack's size (that one would be the stack, and is named
    # so) or a little more, ending on a 2 MiB boundary: no choice is made.
    config = "g1_4g"
    _, regions, facts = recorded(tmp_path, config)
    out = classify_regions(_with_region(regions, 0x7000_0000_0000, size), facts)
    (stack,) = [t for t in truth(config) if t.site in MARK_STACK_SITES]
    (r,) = [r for r in out if r.start < stack.end and stack.start < r.end]
    assert r.end == stack.end and r.object is None


def test_no_region_is_taken_for_the_mark_stack_merged_where_it_was_found_elsewhere(tmp_path):
    # g1_1g: the stack right below the mark bitmaps (named so); a region of 34 MiB on a
    # 2 MiB boundary elsewhere is something else.
    config = "g1_1g"
    _, regions, facts = recorded(tmp_path, config)
    out = classify_regions(_with_region(regions, 0x7000_0000_0000, 34 * MIB), facts)
    (stack,) = [t for t in truth(config) if t.site in MARK_STACK_SITES]
    assert [r.object for r in out if r.start == stack.start] == [GC_DATA]
    assert [r.object for r in out if r.start == 0x7000_0000_0000] == [None]


# -- live ------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize("gc", ["-XX:+UseG1GC", "-XX:+UseSerialGC", "-XX:+UseShenandoahGC"])
def test_a_live_jvm_without_compressed_oops_has_no_class_space_named_heap(spawn, gc):
    args = [gc, "-Xmx1g", "-XX:-UseCompressedOops", "-Xshare:off"]
    pid, _, reserved = live_jvm(spawn, args, ["Sleeper"])
    regions = list(take_snapshot(ProcFS(), pid).regions)
    check_never_outside(regions, reserved)
    heap = [(t.start, t.end) for t in reserved if t.what == "Java Heap"]
    for r in heap_names(regions):
        assert inside(r, heap), f"{r.object} at {r.start:#x}-{r.end:#x} is not NMT's heap"
    space = [(t.start, t.end) for t in reserved if t.what == "Class"]
    assert all(inside(r, space) for r in regions if r.object == CLASS_SPACE)


@pytest.mark.live
def test_a_live_g1_heap_committed_whole_without_compressed_oops_is_named(spawn):
    args = ["-Xms1g", "-Xmx1g", "-XX:-UseCompressedOops", "-Xshare:off"]
    pid, _, reserved = live_jvm(spawn, args, ["Sleeper"])
    regions = list(take_snapshot(ProcFS(), pid).regions)
    check_never_outside(regions, reserved)
    ((lo, hi),) = [(t.start, t.end) for t in reserved if t.what == "Java Heap"]
    (holding,) = [r for r in regions if r.start <= lo and hi <= r.end]
    if holding.size == hi - lo:
        assert holding.object == JAVA_HEAP
    else:  # merged with what lies beside it
        assert holding.object in (JAVA_HEAP_AND_GC_DATA, JAVA_HEAP_AND_MORE)
        check_heap_and_more(holding, reserved)


@pytest.mark.live
def test_a_live_jdk25_g1s_mark_stack_on_its_own_is_named(spawn):
    if not JAVA25:
        pytest.skip("no JDK 25 here (/usr/lib/jvm/temurin-25*)")
    pid, _, reserved = live_jvm(spawn, ["-Xmx1g"], ["Sleeper"], JAVA25[-1])
    regions = list(take_snapshot(ProcFS(), pid).regions)
    check_never_outside(regions, reserved)
    (stack,) = [t for t in reserved if t.what == "GC" and t.end - t.start == 32 * MIB]
    holding = [r for r in regions if r.start < stack.end and stack.start < r.end]
    if not all(inside(r, [(t.start, t.end) for t in reserved if t.what == "GC"]) for r in holding):
        pytest.skip("G1's mark stack merged with other memory than the collector's")
    others = [r for r in regions if r.size == 32 * MIB and r.perms == "rw-p" and not r.path]
    if len(holding) == 1 and holding[0].size == 32 * MIB and len(others) > 1:
        pytest.skip("G1's mark stack on its own, but not the one region of its size")
    # On its own, or right below the mark bitmap, merged with its committed base.
    assert all(r.object == GC_DATA for r in holding)
