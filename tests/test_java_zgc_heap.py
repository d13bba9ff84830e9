"""ZGC's Java heap named in a JVM's map (vmtop.model.java_zgc_heap): the memfd and the
no-access rest of its views, each 16 times the heap, checked against NMT's "Java Heap"
reservations (tests/fixtures/jvm_native: z_1g and z_1g_cds_off of OpenJDK 17, three
views; the jdk25_z_* of Temurin 25, one).

Before, only the memfd was named: the rest of each view (16 GiB less what is mapped,
for a 1 GiB heap) was reserved address space of nothing."""

from __future__ import annotations

import glob

import pytest
from test_java_native_regions import GC_DATA, classified, live_jvm, named, truth, union

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts, JavaFacts
from vmtop.model.java_regions import JAVA_HEAP_ZGC
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

ZGC17_CONFIGS = ["z_1g", "z_1g_cds_off", "z_4g", "z_default_cds_off"]
ZGC_CONFIGS = [*ZGC17_CONFIGS, "jdk25_z_1g", "jdk25_z_1g_cds_off", "jdk25_z_4g"]
MIB, GIB = 1 << 20, 1 << 30
ZGC_1G = JavaFacts((GIB,), "hsperfdata", GIB, "Z", GIB, GIB, 25)
VIEW = 0x400_0000_0000  # 4 TiB: where ZGC puts a small heap's (first) view
MEMFD = "/memfd:java_heap (deleted)"


@pytest.mark.parametrize("config", ZGC_CONFIGS)
def test_each_view_of_zgcs_heap_is_named_whole_where_nmt_says(tmp_path, config):
    regions = classified(tmp_path, config)
    heap = [r for r in regions if r.object == JAVA_HEAP_ZGC]
    views = [(t.start, t.end) for t in truth(config) if t.what == "Java Heap"]
    assert len(views) == (1 if config.startswith("jdk25_") else 3)
    assert union((r.start, r.end) for r in heap) == sorted(views)
    for r in heap:
        assert r.path.startswith("/memfd:java_heap") or (
            r.kind == kinds.RESERVED and r.perms == "---p"
        )


def view_map(*parts: tuple[int, int, str]) -> list:
    """Regions of (start, end, perms): rw-s ones the memfd, the others anonymous."""
    lines = []
    for lo, hi, perms in parts:
        what = f"00:01 28977 {MEMFD}" if perms == "rw-s" else "00:00 0"
        lines.append(f"{lo:x}-{hi:x} {perms} 00000000 {what}\n")
    return parse_maps("".join(lines).encode())


def heap_named(regions, java: JavaFacts = ZGC_1G) -> list[tuple[int, int]]:
    out = classify_regions(regions, ClassifyFacts(java=java))
    return [(r.start, r.end) for r in out if r.object == JAVA_HEAP_ZGC]


def test_a_view_is_named_only_where_it_spans_16_times_the_heap():
    used = VIEW + 378 * MIB
    memfd, rest = (VIEW, used, "rw-s"), (used, VIEW + 16 * GIB, "---p")
    assert heap_named(view_map(memfd, rest)) == [memfd[:2], rest[:2]]
    # The memfd mapped in the middle of the view (pages given back below it).
    middle = [(VIEW, VIEW + GIB, "---p"), (VIEW + GIB, used + GIB, "rw-s")]
    middle.append((used + GIB, VIEW + 16 * GIB, "---p"))
    assert heap_named(view_map(*middle)) == [p[:2] for p in middle]
    # Merged with a no-access neighbour above (1 MiB more): the memfd alone.
    longer = (used, VIEW + 16 * GIB + MIB, "---p")
    assert heap_named(view_map(memfd, longer)) == [memfd[:2]]
    # A heap of another size (2 GiB: 32 GiB views), or of a size not known: the memfd.
    assert heap_named(view_map(memfd, rest), ZGC_1G._replace(heap_sizes=(2 * GIB,))) == [memfd[:2]]
    assert heap_named(view_map(memfd, rest), JavaFacts()) == [memfd[:2]]


def test_the_reserve_is_explained_as_address_space_for_the_heap(tmp_path):
    from vmtop.model.explain import why_kind

    regions = classified(tmp_path, "jdk25_z_1g")
    memfd = next(r for r in regions if r.object == JAVA_HEAP_ZGC and r.kind != kinds.RESERVED)
    reserve = next(r for r in regions if r.object == JAVA_HEAP_ZGC and r.kind == kinds.RESERVED)
    assert "16 times the maximum heap" in why_kind(reserve)
    assert "mapped once by generational ZGC" in why_kind(memfd)


def test_from_jdk_25_no_mark_stack_space_is_looked_for_beside_zgc():
    # JDK 25's ZGC reserves none (NMT): a region of its shape there is something else.
    base = 0x7F40_0000_0000
    space = [(base, base + 32 * MIB, "rw-p"), (base + 32 * MIB, base + 8 * GIB, "---p")]
    assert GC_DATA in named(space, ZGC_1G._replace(version=17))
    assert GC_DATA not in named(space, ZGC_1G)


# JDK 17's page table and forwarding table (NMT's sites of their reservations).
GRANULE_MAP_SITES = {"ZPageTable::ZPageTable", "ZHeap::ZHeap"}


@pytest.mark.parametrize("config", ZGC17_CONFIGS)
def test_jdk17_zgcs_page_and_forwarding_tables_are_named(tmp_path, config):
    # Two reservations of 16 MiB committed whole, apart (z_1g) or side by side, merged
    # in one region of 32 MiB (the others). Before: unnamed.
    regions = classified(tmp_path, config)
    tables = [t for t in truth(config) if t.site in GRANULE_MAP_SITES]
    assert len(tables) == 2
    assert all(t.end - t.start == 16 * MIB and t.committed == "all" for t in tables)
    spans = union((t.start, t.end) for t in tables)
    holding = [r for r in regions if any(r.start < hi and lo < r.end for lo, hi in spans)]
    assert union((r.start, r.end) for r in holding) == spans
    assert all(r.object == GC_DATA and r.kind == kinds.ANON for r in holding)


def test_zgcs_tables_are_named_only_where_their_sizes_make_them_one_way():
    base = 0x7F40_0000_0000
    space = [(base, base + 32 * MIB, "rw-p"), (base + 32 * MIB, base + 8 * GIB, "---p")]
    at = base + 9 * GIB
    apart = [(at, at + 16 * MIB, "rw-p"), (at + 32 * MIB, at + 48 * MIB, "rw-p")]
    together = [(at, at + 32 * MIB, "rw-p")]
    third = [(at + 64 * MIB, at + 80 * MIB, "rw-p")]
    jdk17 = ZGC_1G._replace(version=17)

    def gc_data(parts, java=jdk17) -> set:
        return set(named(parts, java).get(GC_DATA, []))

    def spans(parts) -> set:
        return {(lo, hi) for lo, hi, _ in parts}

    assert gc_data(space + apart) == spans(space + apart)
    assert gc_data(space + together) == spans(space + together)
    for other in (apart + third, together + third):  # three of 16 MiB, or 32 and 16
        assert gc_data(space + other) == spans(space)
    assert not gc_data(apart, ZGC_1G)  # (JDK 25: other tables)
    big = jdk17._replace(heap_sizes=(512 * GIB,))  # (an address space of 8 TiB: 32 MiB)
    assert gc_data(space + apart, big) == spans(space)


# -- live: JDK 17's ZGC (three views) and JDK 25's (one), NMT as the truth ---------------

JAVA25 = sorted(glob.glob("/usr/lib/jvm/temurin-25*/bin/java"))


@pytest.mark.live
@pytest.mark.parametrize("java", ["java", *JAVA25[-1:]])
def test_a_live_zgc_heaps_views_are_named_where_nmt_says(spawn, java):
    pid, _, reserved = live_jvm(spawn, ["-XX:+UseZGC", "-Xmx3g"], ["Sleeper"], java)
    regions = list(take_snapshot(ProcFS(), pid).regions)
    views = sorted((t.start, t.end) for t in reserved if t.what == "Java Heap")
    assert views and all(hi - lo == 16 * 3 * GIB for lo, hi in views)
    heap = [(r.start, r.end) for r in regions if r.object == JAVA_HEAP_ZGC]
    assert union(heap) == views
