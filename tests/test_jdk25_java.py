"""A JDK 25 JVM's memory named in its map, checked against its own account (NMT).

Recorded: tests/fixtures/jvm_native/jdk25_* (Temurin 25.0.3; README there), whose
truth.tsv also holds the code cache (Code) and the CDS archive (Shared class space).
What JDK 25 changed, and vmtop missed or would have got wrong before:

- the CDS archive and the class space right after it lie low (below 4 GiB): with
  -Xmx1g both the heap and the class space are runs of 1 GiB there, so the heap was
  not named (nor, with it, any of the collector's tables or metaspace), and where the
  heap's run is not seen the class space would have been named the heap;
- generational ZGC (the only ZGC of 25) names its collectors "ZGC minor/major ...",
  and gives both generations the whole heap: the collector was unknown and the heap
  size twice -Xmx;
- G1 has one mark bitmap and two tables of a byte per 512 heap bytes (17: two and
  three), Parallel's and Serial's card tables have no guard page, and Serial's block
  offset table is committed no entry further: none of their tables was found, so
  no metaspace either;
- ZGC reserves no mark stack space (beside it no metaspace was named, for want of
  it), and its heap's reserve (16 times the heap) was left unnamed;
- without CDS the class space lies low on its own: with -Xmx1g two runs of 1 GiB,
  told apart only by the collector's tables, which mirror the heap (neither was
  named, nor metaspace or the tables); with another heap size, the class space was
  not named;
- the CDS archive's reservation starts with a no-access page (its protection zone).

Live: a JDK 25 JVM (skipped where /usr/lib/jvm/temurin-25* is absent).
"""

from __future__ import annotations

import glob

import pytest
from test_java_native_regions import (
    GC_DATA,
    METASPACE,
    NATIVE,
    check_never_outside,
    classified,
    live_jvm,
    partly_committed,
    recorded,
    truth,
    union,
    wholly_inside,
)

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.java_regions import CDS_ARCHIVE, CLASS_SPACE, CODE_CACHE, JAVA_HEAP, JAVA_HEAP_ZGC
from vmtop.model.region import Region
from vmtop.procfs.hsperfdata import collector, max_heap_size, parse_hsperfdata
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

JDK25 = sorted(p.name for p in NATIVE.iterdir() if p.is_dir() and p.name.startswith("jdk25_"))
ZGC = [c for c in JDK25 if c.startswith("jdk25_z_")]
CDS_ON = [c for c in JDK25 if "_cds_off" not in c]
# -XX:+UseLargePages with a pool of hugetlb pages: all committed whole, nothing in part.
LARGE_PAGES = [c for c in JDK25 if c.endswith("_large_pages")]
MIB, GIB = 1 << 20, 1 << 30
JAVA25 = sorted(glob.glob("/usr/lib/jvm/temurin-25*/bin/java"))


def span(regions, name: str) -> tuple[int, int] | None:
    named = [r for r in regions if r.object and r.object.startswith(name)]
    if not named:
        return None
    assert all(a.end == b.start for a, b in zip(named, named[1:], strict=False))  # one run
    return named[0].start, named[-1].end


def nmt(config: str, what: str) -> list[tuple[int, int]]:
    return [(t.start, t.end) for t in truth(config) if t.what == what]


def test_the_recorded_jvms_are_jdk_25():
    assert len(JDK25) >= 8
    for config in JDK25:
        assert '"25.' in (NATIVE / config / "version").read_text()


def test_generational_zgc_is_zgc_and_its_heap_is_one_generations_size():
    # Both generations get the whole heap; before: collector "" and twice -Xmx.
    counters = parse_hsperfdata((NATIVE / "jdk25_z_1g" / "hsperfdata").read_bytes())
    assert collector(counters) == "Z"
    assert max_heap_size(counters) == GIB
    names = {"sun.gc.collector.0.name": "ZGC minor collection pauses"}
    names["sun.gc.collector.2.name"] = "ZGC major collection pauses"
    assert collector(names) == "Z"
    # JDK 17's ZGC, one generation: as it was.
    counters = parse_hsperfdata((NATIVE / "z_1g" / "hsperfdata").read_bytes())
    assert collector(counters) == "Z" and max_heap_size(counters) == GIB


@pytest.mark.parametrize("config", JDK25)
def test_hsperfdata_gives_the_collector_and_the_heap_size_nmt_says(config):
    counters = parse_hsperfdata((NATIVE / config / "hsperfdata").read_bytes())
    want = {"g1": "G1", "parallel": "Parallel", "serial": "Serial", "shenandoah": "Shenandoah"}
    assert collector(counters) == want.get(config.split("_")[1], "Z")
    ((lo, hi),) = nmt(config, "Java Heap")
    # (ZGC reserves 16 times the heap's size: ZVirtualToPhysicalRatio.)
    assert max_heap_size(counters) * (16 if config in ZGC else 1) == hi - lo


# The heap's committed base merged with its card table's or bitmap's top.
MERGED_BASE = ["jdk25_g1_40g", "jdk25_g1_1g_no_coops"]


@pytest.mark.parametrize("config", [c for c in JDK25 if c not in MERGED_BASE])
def test_the_heap_class_space_cds_archive_and_code_cache_are_where_nmt_says(tmp_path, config):
    # ZGC's heap: the memfd and the rest of its one view (JDK 25); the CDS archive: its
    # protection zone (a page) below the file, the rest of its reservation above.
    regions = classified(tmp_path, config)
    assert [span(regions, JAVA_HEAP_ZGC if config in ZGC else JAVA_HEAP)] == nmt(
        config, "Java Heap"
    )
    assert [span(regions, CLASS_SPACE)] == nmt(config, "Class")
    cds = [r for r in regions if r.object == CDS_ARCHIVE]
    if config not in CDS_ON:
        assert not cds and not nmt(config, "Shared class space")
    else:
        ((cds_lo, cds_hi),) = nmt(config, "Shared class space")
        assert [(r.start, r.end) for r in cds[:1]] == [(cds_lo, cds_lo + 4096)]
        assert len(cds) == 2 and cds[1].end == cds_hi
        assert all(r.kind == kinds.RESERVED for r in cds)
    if config in LARGE_PAGES:
        return  # (the code cache in hugetlb pages: tests/test_jdk_large_pages.py)
    ((code_lo, code_hi),) = nmt(config, "Code")
    assert span(regions, CODE_CACHE) == (code_lo, code_hi)
    code = [r.object for r in regions if r.object and r.object.startswith(CODE_CACHE)]
    assert {f"{CODE_CACHE}: {s}" for s in ("profiled", "JVM", "non-profiled")} == set(code)


@pytest.mark.parametrize("config", ZGC)
def test_beside_zgc_metaspace_is_named_and_nothing_as_gc_data(tmp_path, config):
    # JDK 25's ZGC has no mark stack space, and nothing of it has a pattern: every
    # metaspace node is named (before: none, for want of the mark stack space).
    regions = classified(tmp_path, config)
    check_never_outside(regions, truth(config))
    nodes = [t for t in truth(config) if t.what == "Metaspace"]
    assert nodes
    for t in nodes:
        parts = wholly_inside(regions, t)
        assert parts and all(r.object == METASPACE for r in parts), hex(t.start)
    assert not [r for r in regions if r.object in (JAVA_HEAP, GC_DATA)]


def test_beside_zgc_of_an_unknown_release_no_metaspace_without_its_mark_stacks(tmp_path):
    # Before JDK 25 (or where the release is not known), ZGC's mark stack space not
    # seen could pass for a node: none is named.
    _, regions, facts = recorded(tmp_path, "jdk25_z_1g")
    for version, named in ((25, True), (24, False), (None, False)):
        java = facts.java._replace(version=version)
        out = classify_regions(regions, facts._replace(java=java))
        assert any(r.object == METASPACE for r in out) == named, version


@pytest.mark.parametrize("config", ["jdk25_g1_1g_cds_off", "jdk25_parallel_1g_cds_off"])
def test_without_cds_the_heap_is_told_from_the_class_space_by_its_tables(tmp_path, config):
    # -Xshare:off -Xmx1g: the class space lies low on its own, not after an archive; two
    # runs of 1 GiB, told apart only by the collector's tables (found for the heap's
    # committed parts, not for the class space's). Before: neither named.
    regions = classified(tmp_path, config)
    assert [span(regions, JAVA_HEAP)] == nmt(config, "Java Heap")
    assert [span(regions, CLASS_SPACE)] == nmt(config, "Class")
    # The collector unknown (no tables to look for): nothing is guessed.
    _, regions, facts = recorded(tmp_path / "unknown", config)
    out = classify_regions(regions, facts._replace(java=facts.java._replace(collector="")))
    assert span(out, JAVA_HEAP) is None and span(out, CLASS_SPACE) is None


WHOLE_CDS_OFF = [c for c in JDK25 if c.endswith("_1g_committed_whole_cds_off")]


@pytest.mark.parametrize("config", WHOLE_CDS_OFF)
def test_without_cds_a_heap_committed_whole_is_told_from_the_class_space(tmp_path, config):
    # -Xms1g -Xmx1g -Xshare:off, Parallel, Serial, Shenandoah: the heap one rw-p region
    # of 1 GiB, its tables committed whole too (no pattern to find), the class space
    # 1 GiB low on its own, committed a few hundred KiB from its base. Before: two runs
    # of 1 GiB that nothing told apart, and neither the heap, the class space nor
    # metaspace was named.
    regions = classified(tmp_path, config)
    assert [span(regions, JAVA_HEAP)] == nmt(config, "Java Heap")
    assert [span(regions, CLASS_SPACE)] == nmt(config, "Class")
    check_never_outside(regions, truth(config))
    nodes = [t for t in truth(config) if t.what == "Metaspace"]
    assert nodes and any(r.object == METASPACE for t in nodes for r in wholly_inside(regions, t))
    # The class space committed whole as well (the JVM out of it): no run is the heap.
    _, regions, facts = recorded(tmp_path / "full", config)
    ((lo, hi),) = nmt(config, "Class")
    full = [r for r in regions if not lo <= r.start < hi]
    at = next(i for i, r in enumerate(full) if r.start > lo)
    full.insert(at, Region(lo, hi, "rw-p", 0, "00:00", 0, ""))
    assert span(classify_regions(full, facts), JAVA_HEAP) is None


@pytest.mark.parametrize("config", ["jdk25_g1_1g", "jdk25_parallel_1g", "jdk25_shenandoah_1g"])
def test_the_class_space_after_the_cds_archive_is_never_the_heap(tmp_path, config):
    # The heap's regions taken out of the map (as if merged with neighbours, or not
    # seen): the one run of 1 GiB left is the class space, and is not named the heap.
    _, regions, facts = recorded(tmp_path, config)
    ((lo, hi),) = nmt(config, "Java Heap")
    without_heap = [r for r in regions if not (lo <= r.start and r.end <= hi)]
    out = classify_regions(without_heap, facts)
    assert span(out, JAVA_HEAP) is None
    assert [span(out, CLASS_SPACE)] == nmt(config, "Class")


@pytest.mark.parametrize(
    "config",
    [c for c in JDK25 if c not in ZGC and "_committed_whole" not in c and c not in LARGE_PAGES],
)
def test_the_collectors_tables_and_metaspace_are_named(tmp_path, config):
    # JDK 25's layouts: G1 one bitmap (heap/64) and two tables (heap/512), Parallel and
    # Serial card tables of heap/512 with no guard page.
    regions = classified(tmp_path, config)
    check_never_outside(regions, truth(config))
    tables = partly_committed(regions, config)
    assert tables
    for t in tables:
        parts = wholly_inside(regions, t)
        assert parts and all(r.object == GC_DATA for r in parts), f"{t.site} {t.start:#x}"
    assert any(r.object == METASPACE for r in regions)


def test_g1s_three_tables_committed_whole_are_named(tmp_path):
    # -Xms1g -Xmx1g on JDK 25: the bitmap (16 MiB) and the two tables (2 MiB each),
    # reserved one after the other and committed whole, one region of 20 MiB; and its
    # mark stack, the one free rw-p region of 32 MiB (JDK 25 maps it anywhere).
    config = "jdk25_g1_1g_committed_whole"
    regions = classified(tmp_path, config)
    site = "G1CollectedHeap::create_aux_memory_mapper"
    tables = [t for t in truth(config) if t.what == "GC" and t.site == site]
    assert len(tables) == 3 and all(t.committed == "all" for t in tables)
    (stack,) = [t for t in truth(config) if t.site == "G1CMMarkStack::ChunkAllocator::reserve"]
    named_gc = union((r.start, r.end) for r in regions if r.object == GC_DATA)
    assert named_gc == union((t.start, t.end) for t in [*tables, stack])


@pytest.mark.parametrize("config", MERGED_BASE)
def test_a_heap_merged_with_its_card_tables_top_is_named_but_that_region(tmp_path, config):
    # -Xmx40g, or -Xmx1g -XX:-UseCompressedOops: no compressed oops, the heap reserved
    # right above G1's card table (40g) or mark bitmap (1g), committed at its top for the
    # archived objects loaded at the heap's top; the kernel merged it with the heap's
    # committed base. Before: no run of the heap's size from a region's start, so no
    # heap, no tables, no metaspace (1g: the class space right after the CDS archive,
    # 1 GiB too, was counted as a run that could be the heap, and so none was looked for
    # from inside a region).
    regions = classified(tmp_path, config)
    ((lo, hi),) = nmt(config, "Java Heap")
    (merged,) = [r for r in regions if r.start < lo < r.end]
    assert merged.perms == "rw-p" and merged.object is None
    assert span(regions, JAVA_HEAP) == (merged.end, hi)
    _, regions, facts = recorded(tmp_path / "sizes", config)
    # A size whose base is off a 2 MiB boundary, or two sizes that both fit: no heap.
    for sizes in ((hi - lo - (64 << 10),), (hi - lo, hi - lo - (2 << 20))):
        java = facts.java._replace(heap_sizes=sizes)
        out = classify_regions(regions, facts._replace(java=java))
        assert span(out, JAVA_HEAP) is None, sizes


# -- live: a JDK 25 JVM, NMT as the truth -----------------------------------------------


LIVE25 = [
    (["-Xmx1g"], ["Sleeper"]),
    (["-XX:+UseSerialGC", "-Xmx1g"], ["Sleeper"]),
    (["-XX:+UseParallelGC", "-Xmx512m", "-XX:+UseCompactObjectHeaders"], ["Sleeper"]),
    (["-XX:+UseZGC", "-Xmx2g"], ["Sleeper"]),
    (["-XX:+UseParallelGC", "-Xmx31g"], ["Sleeper"]),  # (and its 2 MiB no-access prefix)
    (["-Xmx1g", "-Xshare:off"], ["Sleeper"]),
]


@pytest.mark.live
@pytest.mark.skipif(not JAVA25, reason="no JDK 25 here (/usr/lib/jvm/temurin-25*)")
@pytest.mark.parametrize("args, main", LIVE25, ids=[" ".join(a + m) for a, m in LIVE25])
def test_a_live_jdk25_jvm_is_named_as_nmt_says(spawn, args, main):
    pid, _, reserved = live_jvm(spawn, args, main, JAVA25[-1])
    regions = list(take_snapshot(ProcFS(), pid).regions)
    check_never_outside(regions, reserved)
    for what, name in (("Java Heap", JAVA_HEAP), ("Class", CLASS_SPACE)):
        (t,) = [t for t in reserved if t.what == what]
        assert span(regions, name) == (t.start, t.end), name
    assert any(r.object == METASPACE for r in regions)
    gc = [r for r in regions if r.object == GC_DATA]
    assert all(r.kind in (kinds.ANON, kinds.RESERVED) for r in gc)
    assert bool(gc) != ("-XX:+UseZGC" in args)  # (JDK 25's ZGC: nothing with a pattern)


@pytest.mark.live
@pytest.mark.skipif(not JAVA25, reason="no JDK 25 here (/usr/lib/jvm/temurin-25*)")
@pytest.mark.parametrize("gc", ["-XX:+UseParallelGC", "-XX:+UseShenandoahGC"])
def test_a_live_jdk25_heap_committed_whole_without_cds_is_named_as_nmt_says(spawn, gc):
    # -Xms1g -Xmx1g -Xshare:off: the heap and the class space, two runs of 1 GiB low,
    # the heap's tables committed whole (no pattern): told apart by what is committed.
    args = [gc, "-Xms1g", "-Xmx1g", "-Xshare:off"]
    pid, _, reserved = live_jvm(spawn, args, ["Sleeper"], JAVA25[-1])
    regions = list(take_snapshot(ProcFS(), pid).regions)
    check_never_outside(regions, reserved)
    for what, name in (("Java Heap", JAVA_HEAP), ("Class", CLASS_SPACE)):
        (t,) = [t for t in reserved if t.what == what]
        assert span(regions, name) == (t.start, t.end), name
    assert any(r.object == METASPACE for r in regions)


@pytest.mark.live
@pytest.mark.skipif(not JAVA25, reason="no JDK 25 here (/usr/lib/jvm/temurin-25*)")
def test_a_live_jdk25_heap_above_32_gib_is_named_as_nmt_says(spawn):
    # -Xmx40g: its committed base merged with its card table's top (see above).
    pid, _, reserved = live_jvm(spawn, ["-Xmx40g"], ["Sleeper"], JAVA25[-1])
    regions = list(take_snapshot(ProcFS(), pid).regions)
    check_never_outside(regions, reserved)
    ((lo, hi),) = [(t.start, t.end) for t in reserved if t.what == "Java Heap"]
    heap = span(regions, JAVA_HEAP)
    assert heap and lo <= heap[0] and heap[1] == hi
    assert not [r for r in regions if r.object == JAVA_HEAP and not lo <= r.start < r.end <= hi]
    assert any(r.object == GC_DATA for r in regions)
    assert any(r.object == METASPACE for r in regions)
