"""A HotSpot JVM's Java heap and code cache named in its map (vmtop.model.java_regions),
checked against the JVM's own account of its reservations (jcmd VM.native_memory
detail, NMT) on 14 configurations of OpenJDK 17: the maps, the hsperfdata counters
and the command line of each are in tests/fixtures/jvm_layouts/, with the truth.

Before, the Java heap was anonymous memory and reserve like any other, and a 64 MiB
heap (-Xmx64m, Serial) was taken for a glibc malloc arena."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts
from vmtop.model.java_regions import CDS_ARCHIVE, CLASS_SPACE, CODE_CACHE, JAVA_HEAP, JAVA_HEAP_ZGC
from vmtop.procfs.hsperfdata import MAGIC, max_heap_size, parse_hsperfdata
from vmtop.procfs.java_facts import heap_size_option, read_java_facts
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS

LAYOUTS = Path(__file__).parent / "fixtures" / "jvm_layouts"
CONFIGS = sorted(p.name for p in LAYOUTS.iterdir() if p.is_dir())
PID = 4242
# Where no size is known (-XX:-UsePerfData, no -Xmx): not named.
NOT_NAMED = {"g1_noperf"}
# Where the heap's committed base merged with a neighbour's committed memory (the card
# table's guard page, right below a heap without compressed oops): all but that region.
MERGED_BASE = {"parallel_xmx40g"}


def truth(config: str) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for line in (LAYOUTS / config / "truth.tsv").read_text().splitlines():
        what, lo, hi = line.split("\t")
        out.setdefault(what, []).append((int(lo, 16), int(hi, 16)))
    return out


def proc_tree(tmp_path: Path, config: str, *, hsperf: bool = True) -> ProcFS:
    """A copied tree of the JVM: maps, cmdline, environ, and its hsperfdata where the
    live process's would be read (/proc/PID/root + the path in its map)."""
    src, pid_dir = LAYOUTS / config, tmp_path / str(PID)
    pid_dir.mkdir(parents=True)
    for name in ("maps", "cmdline", "environ"):
        if (src / name).exists():
            shutil.copy(src / name, pid_dir / name)
    maps = (src / "maps").read_text()
    mapped = [line.split()[-1] for line in maps.splitlines() if "/hsperfdata_" in line]
    if hsperf and mapped and (src / "hsperfdata").exists():
        where = pid_dir / "root" / mapped[0].lstrip("/")
        where.parent.mkdir(parents=True)
        shutil.copy(src / "hsperfdata", where)
    return ProcFS(str(tmp_path))


def classified(tmp_path: Path, config: str, *, hsperf: bool = True):
    procfs = proc_tree(tmp_path, config, hsperf=hsperf)
    regions = parse_maps((LAYOUTS / config / "maps").read_bytes())
    java = read_java_facts(procfs, PID, {r.path for r in regions})
    return java, classify_regions(regions, ClassifyFacts(java=java))


def span(regions, prefix: str) -> tuple[int, int] | None:
    named = [r for r in regions if r.object and r.object.startswith(prefix)]
    if not named:
        return None
    assert all(a.end == b.start for a, b in zip(named, named[1:], strict=False))  # one run
    return named[0].start, named[-1].end


@pytest.mark.parametrize("config", CONFIGS)
def test_the_java_heap_is_what_the_jvm_reserved_for_it(tmp_path, config):
    java, regions = classified(tmp_path, config)
    (heap, *views) = truth(config)["java_heap"]
    if config == "zgc":
        # Three views of the memfd, each in 16 times the heap's address space (94 GiB
        # here), its no-access rest named too.
        named = [r for r in regions if r.object == JAVA_HEAP_ZGC]
        memfd = [r for r in named if r.path.startswith("/memfd:java_heap")]
        assert len(memfd) == 3
        rest = [r for r in named if r not in memfd]
        assert all(r.kind == kinds.RESERVED and r.perms == "---p" for r in rest)
        assert _union((r.start, r.end) for r in named) == [heap, *views]
        return
    if config in NOT_NAMED:
        assert span(regions, JAVA_HEAP) is None  # never a guess
        return
    assert java.source == "hsperfdata"
    if config in MERGED_BASE:  # (before: not named)
        (merged,) = [r for r in regions if r.start < heap[0] < r.end]
        assert merged.perms == "rw-p" and merged.object is None
        heap = (merged.end, heap[1])
    assert span(regions, JAVA_HEAP) == heap
    inside = [r for r in regions if heap[0] <= r.start < heap[1]]
    assert {r.kind for r in inside} <= {kinds.ANON, kinds.RESERVED, kinds.FILE}
    assert not [r for r in regions if r.object == JAVA_HEAP and r.kind == kinds.ARENA]


def _union(spans) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo == out[-1][1]:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


@pytest.mark.parametrize(
    "config", ["g1_xmx64m", "serial_xmx64m", "g1_xmx512m", "g1_xmx4g", "g1_xmx40g", "g1_jto256m"]
)
def test_without_hsperfdata_the_heap_size_comes_from_xmx(tmp_path, config):
    java, regions = classified(tmp_path, config, hsperf=False)
    assert java.source == "-Xmx"  # g1_jto256m: from JAVA_TOOL_OPTIONS
    assert span(regions, JAVA_HEAP) == truth(config)["java_heap"][0]


def test_a_64_mib_java_heap_is_no_glibc_arena(tmp_path):
    # Serial, -Xmx64m: the whole heap is one rw-p region of 64 MiB on a 64 MiB boundary.
    _, regions = classified(tmp_path, "serial_xmx64m")
    (heap,) = [r for r in regions if r.object == JAVA_HEAP]
    assert heap.kind == kinds.ANON and (heap.start, heap.end) == (0xFC000000, 0x100000000)


@pytest.mark.parametrize("config", CONFIGS)
def test_the_code_cache_and_its_three_segments(tmp_path, config):
    _, regions = classified(tmp_path, config)
    (cache,) = truth(config)["code_cache"]
    assert span(regions, CODE_CACHE) == cache
    named = [r for r in regions if r.object and r.object.startswith(CODE_CACHE)]
    code = [r for r in named if r.perms == "rwxp"]
    assert [r.object for r in code] == [
        f"{CODE_CACHE}: profiled",
        f"{CODE_CACHE}: JVM",
        f"{CODE_CACHE}: non-profiled",
    ]
    assert {r.kind for r in named} == {kinds.JIT, kinds.RESERVED}


def test_no_java_facts_without_libjvm_and_no_names_without_them():
    regions = parse_maps((LAYOUTS / "g1_default" / "maps").read_bytes())
    without_jvm = [r for r in regions if not r.path.endswith("/libjvm.so")]
    assert read_java_facts(ProcFS("/nonexistent"), PID, {r.path for r in without_jvm}) is None
    plain = classify_regions(regions)
    assert not [r for r in plain if r.object and r.object.startswith((JAVA_HEAP, CODE_CACHE))]


def test_the_heap_size_options_as_hotspot_reads_them():
    assert heap_size_option(["-Xmx512m", "-cp", "x", "-Xmx1g"]) == 1 << 30  # the last
    assert heap_size_option(["-XX:MaxHeapSize=268435456"]) == 256 << 20
    assert heap_size_option(["-Xmx", "-Xms1g", "Main", "-Xmxbad"]) is None


def test_hsperfdata_gives_the_max_heap_size_of_each_collector():
    sizes = {}
    for config in CONFIGS:
        path = LAYOUTS / config / "hsperfdata"
        if path.exists():
            sizes[config] = max_heap_size(parse_hsperfdata(path.read_bytes()))
    # MaxHeapSize as -XX:+PrintFlagsFinal printed it (25 % of this machine's memory).
    assert sizes["g1_default"] == sizes["parallel"] == sizes["serial"] == 6320816128
    assert sizes["shenandoah"] == sizes["zgc"] == 6320816128
    assert sizes["serial_xmx64m"] == sizes["g1_xmx64m"] == 64 << 20
    assert sizes["g1_xmx40g"] == sizes["parallel_xmx40g"] == 40 << 30


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(min_size=28, max_size=28))
def test_hsperfdata_parse_refuses_damage_with_valueerror_only(tail, prologue):
    for data in (MAGIC + prologue + tail, tail):
        try:
            counters = parse_hsperfdata(data)
        except ValueError:
            continue
        assert isinstance(counters, dict)


def test_the_heap_and_the_code_cache_are_explained(tmp_path):
    from vmtop.model.event_words import protection_change
    from vmtop.model.explain import why_kind

    _, regions = classified(tmp_path, "g1_default")
    committed = next(r for r in regions if r.object == JAVA_HEAP and r.kind == kinds.ANON)
    reserve = next(r for r in regions if r.object == JAVA_HEAP and r.kind == kinds.RESERVED)
    assert why_kind(committed).startswith("The Java heap, a part the collector committed")
    assert "MaxHeapSize" in why_kind(reserve) and "not committed yet" in why_kind(reserve)
    code = next(r for r in regions if r.object == f"{CODE_CACHE}: profiled")
    assert "three segments" in why_kind(code)
    # The heap growing into its reserve is said as that, not as "a runtime's heap".
    grown = reserve._replace(perms="rw-p", kind=kinds.ANON)
    assert "the Java heap grew into its reserve" in protection_change(reserve, grown)[1]
    _, zgc = classified(tmp_path / "z", "zgc")
    view = next(r for r in zgc if r.object == JAVA_HEAP_ZGC)
    assert "three addresses" in why_kind(view)


@pytest.mark.parametrize("config", CONFIGS)
def test_the_cds_archive_and_the_class_space(tmp_path, config):
    _, regions = classified(tmp_path, config)
    known = truth(config)
    if "cds_archive" in known:
        (cds,) = known["cds_archive"]
        tail = [r for r in regions if r.object == CDS_ARCHIVE]
        assert tail and tail[-1].end == cds[1] and all(r.kind == kinds.RESERVED for r in tail)
        jsa = next(r for r in regions if r.end == tail[0].start)
        assert jsa.path.endswith(".jsa") and jsa.start == cds[0]
    else:
        assert not [r for r in regions if r.object == CDS_ARCHIVE]
    # The class space's size comes from hsperfdata: none without it (g1_noperf).
    if config == "g1_noperf":
        assert span(regions, CLASS_SPACE) is None
    else:
        assert span(regions, CLASS_SPACE) == known["class_space"][0]


def test_the_archive_and_the_class_space_are_explained(tmp_path):
    from vmtop.model.explain import why_kind

    _, regions = classified(tmp_path, "g1_default")
    tail = next(r for r in regions if r.object == CDS_ARCHIVE)
    space = next(r for r in regions if r.object == CLASS_SPACE)
    assert "CDS archive" in why_kind(tail) and "16 MiB boundary" in why_kind(tail)
    assert why_kind(space).startswith("The JVM's compressed class space")
