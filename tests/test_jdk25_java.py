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
  no metaspace either.

Live: a JDK 25 JVM (skipped where /usr/lib/jvm/temurin-25* is absent).
"""

from __future__ import annotations

import glob

import pytest
from test_java_native_regions import (
    GC_DATA,
    METASPACE,
    NATIVE,
    NOTHING_NAMED,
    check_never_outside,
    classified,
    inside,
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
from vmtop.procfs.hsperfdata import collector, max_heap_size, parse_hsperfdata
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

JDK25 = sorted(p.name for p in NATIVE.iterdir() if p.is_dir() and p.name.startswith("jdk25_"))
# Those where the heap is named (ZGC's is its memfd; with -Xshare:off not told apart).
HEAP_NAMED = [c for c in JDK25 if c not in NOTHING_NAMED]
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
    if config != "jdk25_z_1g":  # (ZGC reserves 16 times the heap's address space)
        ((lo, hi),) = nmt(config, "Java Heap")
        assert max_heap_size(counters) == hi - lo


@pytest.mark.parametrize("config", HEAP_NAMED)
def test_the_heap_class_space_cds_archive_and_code_cache_are_where_nmt_says(tmp_path, config):
    regions = classified(tmp_path, config)
    assert [span(regions, JAVA_HEAP)] == nmt(config, "Java Heap")
    assert [span(regions, CLASS_SPACE)] == nmt(config, "Class")
    ((cds_lo, cds_hi),) = nmt(config, "Shared class space")
    tail = span(regions, CDS_ARCHIVE)
    assert tail and cds_lo < tail[0] and tail[1] == cds_hi
    ((code_lo, code_hi),) = nmt(config, "Code")
    assert span(regions, CODE_CACHE) == (code_lo, code_hi)
    code = [r.object for r in regions if r.object and r.object.startswith(CODE_CACHE)]
    assert {f"{CODE_CACHE}: {s}" for s in ("profiled", "JVM", "non-profiled")} == set(code)


def test_zgcs_heap_is_its_memfd_and_nothing_else_is_named(tmp_path):
    regions = classified(tmp_path, "jdk25_z_1g")
    heap = [r for r in regions if r.object == JAVA_HEAP_ZGC]
    assert heap and all(inside(r, nmt("jdk25_z_1g", "Java Heap")) for r in heap)
    assert [span(regions, CLASS_SPACE)] == nmt("jdk25_z_1g", "Class")
    assert not [r for r in regions if r.object in (JAVA_HEAP, METASPACE, GC_DATA)]


def test_without_cds_a_heap_of_the_class_spaces_size_is_not_guessed(tmp_path):
    # -Xshare:off -Xmx1g: the class space lies low on its own, not after an archive;
    # two runs of 1 GiB, nothing tells them apart: neither is named.
    regions = classified(tmp_path, "jdk25_g1_1g_cds_off")
    assert span(regions, JAVA_HEAP) is None and span(regions, CLASS_SPACE) is None


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


@pytest.mark.parametrize("config", [c for c in HEAP_NAMED if c != "jdk25_g1_1g_committed_whole"])
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
    # reserved one after the other and committed whole, one region of 20 MiB.
    config = "jdk25_g1_1g_committed_whole"
    regions = classified(tmp_path, config)
    site = "G1CollectedHeap::create_aux_memory_mapper"
    tables = [t for t in truth(config) if t.what == "GC" and t.site == site]
    assert len(tables) == 3 and all(t.committed == "all" for t in tables)
    named_gc = union((r.start, r.end) for r in regions if r.object == GC_DATA)
    assert named_gc == union((t.start, t.end) for t in tables)


# -- live: a JDK 25 JVM, NMT as the truth -----------------------------------------------


LIVE25 = [
    (["-Xmx1g"], ["Sleeper"]),
    (["-XX:+UseSerialGC", "-Xmx1g"], ["Sleeper"]),
    (["-XX:+UseParallelGC", "-Xmx512m", "-XX:+UseCompactObjectHeaders"], ["Sleeper"]),
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
    assert gc and all(r.kind in (kinds.ANON, kinds.RESERVED) for r in gc)
