"""A HotSpot JVM's metaspace and its collector's data structures named in its map
(vmtop.model.java_native_regions), checked against the JVM's own account of its
reservations (jcmd VM.native_memory detail, NMT).

Recorded: tests/fixtures/jvm_native/ holds JVMs of OpenJDK 17.0.15 (every collector,
heaps of 64 MiB to 40 GiB, CDS off, -Xms = -Xmx, no compressed oops, THP, hugetlb
pages, AlwaysPreTouch, a program that loads 3000 classes, and one that then unloads
most): maps, hsperfdata, the libraries' .bss sizes, and NMT's reservations
(truth.tsv); and the jdk25_* folders, Temurin 25 with the same range (more checks of
them in tests/test_jdk25_java.py). Live: real JVMs with NMT, the same checks.

Before, all of it was plain anonymous memory and reserve, and a metaspace node at a
64 MiB boundary read as a glibc arena."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import FIXTURES

from vmtop.model import kinds
from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.facts import ClassifyFacts, JavaFacts
from vmtop.model.java_native_regions import GC_DATA, METASPACE
from vmtop.model.java_regions import (
    CDS_ARCHIVE,
    CLASS_SPACE,
    CODE_CACHE,
    JAVA_HEAP,
    JAVA_HEAP_AND_GC_DATA,
    JAVA_HEAP_AND_MORE,
)
from vmtop.model.region import Region
from vmtop.procfs.facts import read_classify_facts
from vmtop.procfs.hsperfdata import collector, generation_max, parse_hsperfdata
from vmtop.procfs.java_facts import read_java_facts
from vmtop.procfs.noreserve_flags import mapped_without_noreserve
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

NATIVE = FIXTURES / "jvm_native"
CONFIGS = sorted(p.name for p in NATIVE.iterdir() if p.is_dir())
CLASSES = FIXTURES / "jvm_classes"
SLEEPER = FIXTURES / "real" / "src"
PID = 4242
MIB = 1 << 20
NAMES = {"Metaspace": METASPACE, "GC": GC_DATA}
# JDK 17 without CDS and a heap committed whole (-Xms = -Xmx): the heap's top merged
# with the class space's committed base right above it.
MERGED_TOP = [c for c in CONFIGS if c.endswith("_committed_whole_cds_off") and "jdk25" not in c]
# Recorded JVMs beside which nothing is named, by design: JDK 17 -Xms1g -Xmx1g
# -XX:-UseCompressedOops, the heap committed whole right above G1's tables committed
# whole, and a thread's stack below them: one rw-p region of 1062 MiB, no region of the
# heap's own (named "Java heap + GC data": test_java_merged_heap.py), but where in it
# the heap lies is not known (both ends are on its alignment); so neither its tables
# nor metaspace are looked for.
NOTHING_NAMED = {"g1_1g_committed_whole_no_coops"}
# The same heap and tables merged in one region, two bases of the heap fitting in it, so
# no metaspace looked for either; but without CDS the class space alone at 2 GiB, and
# G1's mark stack on its own, are named (test_java_merged_heap.py).
HEAP_PLACE_UNKNOWN = NOTHING_NAMED | {"g1_1g_committed_whole_no_coops_cds_off"}


# -- the recorded JVMs ---------------------------------------------------------------


class Reservation:
    """One line of truth.tsv: what NMT says the JVM reserved, and how much it committed
    (all, part, none), and where (the function that reserved it)."""

    def __init__(self, line: str) -> None:
        what, lo, hi, self.committed, self.site = line.split("\t")
        self.what, self.start, self.end = what, int(lo, 16), int(hi, 16)


def truth(config: str) -> list[Reservation]:
    return [Reservation(line) for line in (NATIVE / config / "truth.tsv").read_text().splitlines()]


def recorded(tmp_path: Path, config: str) -> tuple[ProcFS, list[Region], ClassifyFacts]:
    """A copied /proc tree of the JVM (its hsperfdata where the live one's is read),
    its map, and the facts classification gets from them."""
    src, pid_dir = NATIVE / config, tmp_path / str(PID)
    pid_dir.mkdir(parents=True)
    for name in ("maps", "cmdline"):
        shutil.copy(src / name, pid_dir / name)
    maps = (src / "maps").read_bytes()
    mapped = [line.split()[-1] for line in maps.decode().splitlines() if "/hsperfdata_" in line]
    where = pid_dir / "root" / mapped[0].lstrip("/")
    where.parent.mkdir(parents=True)
    shutil.copy(src / "hsperfdata", where)
    regions = parse_maps(maps)
    procfs = ProcFS(str(tmp_path))
    java = read_java_facts(procfs, PID, {r.path for r in regions})
    bss = {int(k, 16): v for k, v in json.loads((src / "bss.json").read_text()).items()}
    fresh: frozenset[int] = frozenset()
    if (src / "smaps").exists():  # recorded with VmFlags: how each region was mapped
        shutil.copy(src / "smaps", pid_dir / "smaps")
        (tmp_path / "sys" / "vm").mkdir(parents=True)
        shutil.copy(src / "overcommit_memory", tmp_path / "sys" / "vm" / "overcommit_memory")
        fresh = mapped_without_noreserve(procfs, PID, regions, (src / "smaps").read_bytes())
    facts = ClassifyFacts(java=java, bss_after_data=bss, mapped_without_noreserve=fresh)
    return procfs, regions, facts


def classified(tmp_path: Path, config: str) -> list[Region]:
    _, regions, facts = recorded(tmp_path, config)
    return classify_regions(regions, facts)


def union(spans) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


def inside(r: Region, spans) -> bool:
    return any(lo <= r.start and r.end <= hi for lo, hi in union(spans))


def check_never_outside(regions: list[Region], reserved: list[Reservation]) -> None:
    """Every region named metaspace or GC data lies in what NMT says the JVM reserved
    for it, and has the kind its permissions give."""
    for what, name in NAMES.items():
        spans = [(t.start, t.end) for t in reserved if t.what == what]
        for r in regions:
            if r.object == name:
                assert inside(r, spans), f"{name} at {r.start:#x}-{r.end:#x} is not {what}"
                assert r.kind == (kinds.ANON if r.perms == "rw-p" else kinds.RESERVED)


def arena_shaped(regions: list[Region], lo: int, hi: int) -> bool:
    """glibc's arena shape (vmtop.model.classify): 64 MiB at its alignment, read-write
    from its base, no-access after."""
    parts = [r for r in regions if r.end > lo and r.start < hi]
    if lo % (64 * MIB) or hi - lo != 64 * MIB or parts[0].perms != "rw-p":
        return False
    return len(parts) == 1 or (len(parts) == 2 and parts[1].perms == "---p")


def wholly_inside(regions: list[Region], t: Reservation) -> list[Region]:
    return [r for r in regions if t.start <= r.start and r.end <= t.end]


@pytest.mark.parametrize("config", CONFIGS)
def test_nothing_is_named_outside_what_nmt_says_the_jvm_reserved(tmp_path, config):
    regions = classified(tmp_path, config)
    check_never_outside(regions, truth(config))
    # (Before: nothing beside JDK 25's ZGC, which has no mark stack space, nor with
    # -Xshare:off and a 1 GiB heap, not told from JDK 25's 1 GiB class space, nor with
    # -Xshare:off and the heap committed whole, on 17 and 25.)
    named_any = any(r.object in (METASPACE, GC_DATA) for r in regions)
    assert named_any != (config in NOTHING_NAMED)


# The other names, and NMT's reservation each must lie in (where truth.tsv has it: the
# folders recorded before JDK 25's have no Code nor Shared class space).
HEAP_NAMES = {JAVA_HEAP: "Java Heap", CLASS_SPACE: "Class", CDS_ARCHIVE: "Shared class space"}
HEAP_NAMES[CODE_CACHE] = "Code"


@pytest.mark.parametrize("config", CONFIGS)
def test_nothing_is_named_the_heap_class_space_archive_or_code_outside_nmts(tmp_path, config):
    # g1_2g_committed_whole_cds_off (JDK 17): the heap committed whole, its top merged
    # with the class space's committed base right above; a run of 2 GiB from inside
    # that region to the class space's top was once taken for a heap whose base merged
    # with what lies below: the class space named the heap.
    regions = classified(tmp_path, config)
    reserved = truth(config)
    for prefix, what in HEAP_NAMES.items():
        spans = [(t.start, t.end) for t in reserved if t.what == what]
        for r in regions:
            if r.object in HEAP_AND:
                continue  # (checked below)
            if spans and r.object and r.object.startswith(prefix):
                assert inside(r, spans), f"{r.object} at {r.start:#x}-{r.end:#x} is not {what}"
    for r in regions:
        if r.object in HEAP_AND:
            check_heap_and_more(r, reserved)


# A heap committed whole in one region with what lies beside it.
HEAP_AND = (JAVA_HEAP_AND_GC_DATA, JAVA_HEAP_AND_MORE)


def check_heap_and_more(r: Region, reserved: list[Reservation]) -> None:
    """A region named the heap and more holds NMT's whole Java Heap reservation and
    more; named the heap and GC data, nothing but it and NMT's GC reservations."""
    (heap,) = [t for t in reserved if t.what == "Java Heap"]
    assert r.start <= heap.start and heap.end <= r.end and r.size > heap.end - heap.start
    if r.object == JAVA_HEAP_AND_GC_DATA:
        gc = [(max(t.start, r.start), min(t.end, r.end)) for t in reserved if t.what == "GC"]
        covered = [(heap.start, heap.end), *[(lo, hi) for lo, hi in gc if lo < hi]]
        assert union(covered) == [(r.start, r.end)], f"{r.start:#x}-{r.end:#x}: not all GC"


@pytest.mark.parametrize("config", CONFIGS)
def test_every_metaspace_node_is_named_but_those_shaped_like_a_glibc_arena(tmp_path, config):
    # From maps alone, not named: a node committed whole (one rw-p region of 64 MiB, a
    # malloc'd block's shape) and one at a 64 MiB boundary committed from its base only
    # (a glibc arena's shape): g1_1g_many_classes, five of its six nodes; with
    # MetaspaceReclaimPolicy=none (chunks committed whole), all six. Where smaps was
    # recorded (its VmFlags: HotSpot commits without MAP_NORESERVE, glibc's arenas keep
    # it), every node is named: g1_1g_many_nodes, 12 nodes, 10 of them committed whole.
    regions = classified(tmp_path, config)
    with_smaps = (NATIVE / config / "smaps").exists()
    nodes = [t for t in truth(config) if t.what == "Metaspace"]
    if config in HEAP_PLACE_UNKNOWN:
        assert nodes and not [r for r in regions if r.object == METASPACE]
        return
    named = 0
    for t in nodes:
        parts = wholly_inside(regions, t)
        assert not with_smaps or all(r.kind != kinds.ARENA for r in parts), hex(t.start)
        whole = len(parts) == 1 and parts[0].perms == "rw-p"
        if not with_smaps and (whole or arena_shaped(regions, t.start, t.end)):
            assert all(r.object != METASPACE for r in parts)
            continue
        assert parts and all(r.object == METASPACE for r in parts), hex(t.start)
        named += 1
    assert named or config == "g1_1g_many_classes_reclaim_none"
    assert not with_smaps or named == len(nodes) >= 12


def test_metaspace_nodes_committed_whole_are_glibc_arenas_by_their_shape_alone(tmp_path):
    # What the VmFlags change: without them (a read of maps alone), 64 MiB nodes
    # committed whole at 64 MiB boundaries have a glibc arena heap's shape.
    _, regions, facts = recorded(tmp_path, "g1_1g_many_nodes")
    assert facts.mapped_without_noreserve
    arenas = classify_regions(regions, facts._replace(mapped_without_noreserve=frozenset()))
    nodes = [t for t in truth("g1_1g_many_nodes") if t.what == "Metaspace"]
    taken = [t for t in nodes if any(r.kind == kinds.ARENA for r in wholly_inside(arenas, t))]
    assert len(taken) >= 8
    # The process's own glibc arenas keep their kind with the flags (their heaps have nr).
    told = classify_regions(regions, facts)
    real = {(r.start, r.end) for r in told if r.kind == kinds.ARENA}
    assert real and real <= {(r.start, r.end) for r in arenas if r.kind == kinds.ARENA}
    assert len(real) == len({(r.start, r.end) for r in arenas if r.kind == kinds.ARENA}) - len(
        [r for t in taken for r in wholly_inside(arenas, t) if r.kind == kinds.ARENA]
    )


# The GC reservations HotSpot commits in part, mirroring the heap, that are not named:
# with a glibc arena's shape (Shenandoah's 64 MiB marking bitmap, at a 64 MiB boundary,
# committed from its base).
def partly_committed(regions: list[Region], config: str) -> list[Reservation]:
    return [
        t
        for t in truth(config)
        if t.what == "GC" and t.committed == "part" and not arena_shaped(regions, t.start, t.end)
    ]


@pytest.mark.parametrize("config", CONFIGS)
def test_the_collectors_tables_are_named_where_the_heap_is_committed_in_part(tmp_path, config):
    regions = classified(tmp_path, config)
    for t in partly_committed(regions, config):
        parts = wholly_inside(regions, t)
        assert parts and all(r.object == GC_DATA for r in parts), f"{t.site} at {t.start:#x}"


def test_what_the_collector_commits_whole_or_never_is_not_named_by_its_size_alone(tmp_path):
    # Parallel: its mark bitmap (heap/32) and compaction data are committed whole; here
    # the kernel merged the two in one rw-p region (44 MiB), of no known size: unnamed.
    regions = classified(tmp_path, "parallel_1g")
    whole = [t for t in truth("parallel_1g") if t.what == "GC" and t.committed == "all"]
    assert {t.site for t in whole} == {
        "ParMarkBitMap::initialize",
        "ParallelCompactData::create_vspace",
    }
    for t in whole:
        assert not [r for r in wholly_inside(regions, t) if r.object == GC_DATA]


# Parallel's mark bitmap on its own, one rw-p region of heap/32 (JDK 17) or heap/64
# (JDK 25) for a 1 GiB heap.
LONE_PARALLEL_BITMAP = {
    "parallel_1g_no_coops_cds_off": 32 * MIB,
    "jdk25_parallel_1g": 16 * MIB,
    "jdk25_parallel_1g_no_coops": 16 * MIB,
    "jdk25_parallel_1g_committed_whole_cds_off": 16 * MIB,
}


@pytest.mark.parametrize("config", sorted(LONE_PARALLEL_BITMAP))
def test_parallels_mark_bitmap_committed_whole_on_its_own_is_named(tmp_path, config):
    # Before: unnamed (committed whole, no pattern of committed parts to find it by).
    regions = classified(tmp_path, config)
    (bitmap,) = [t for t in truth(config) if t.site == "ParMarkBitMap::initialize"]
    assert bitmap.committed == "all" and bitmap.end - bitmap.start == LONE_PARALLEL_BITMAP[config]
    (r,) = wholly_inside(regions, bitmap)
    assert (r.start, r.end, r.perms) == (bitmap.start, bitmap.end, "rw-p")
    assert r.object == GC_DATA and r.kind == kinds.ANON


@pytest.mark.parametrize("config", ["parallel_2g_unloaded", "parallel_2g_committed_whole_cds_off"])
def test_parallels_mark_bitmap_with_a_glibc_arenas_shape_is_left_as_it_was(tmp_path, config):
    # -Xmx2g (JDK 17): the bitmap is 64 MiB, here at a 64 MiB boundary, the shape of a
    # glibc arena's heap used up: not named by its size (an arena could be it).
    regions = classified(tmp_path, config)
    (bitmap,) = [t for t in truth(config) if t.site == "ParMarkBitMap::initialize"]
    (r,) = wholly_inside(regions, bitmap)
    assert r.size == 64 * MIB and r.start % (64 * MIB) == 0 and r.object != GC_DATA


def test_g1s_mark_stack_is_named_right_below_its_mark_bitmaps(tmp_path):
    regions = classified(tmp_path, "g1_1g")
    (stack,) = [t for t in truth("g1_1g") if t.site == "G1CMMarkStack::resize"]
    bitmaps = [t for t in truth("g1_1g") if t.end - t.start == (1 << 30) // 64]
    assert min(t.start for t in bitmaps) == stack.end  # mapped right below them
    # Merged with the lower bitmap's committed base: one region from the stack's base.
    (merged,) = [r for r in regions if r.start == stack.start]
    assert merged.end > stack.end and merged.object == GC_DATA


@pytest.mark.parametrize("config", ["shenandoah_1g", "shenandoah_1g_committed_whole_cds_off"])
def test_shenandoahs_second_bitmap_never_committed_is_named_where_alone(tmp_path, config):
    # JDK 17: its second marking bitmap (heap/32, 32 MiB) reserved and never committed,
    # one no-access region on its own (an unmapped gap below). Before: unnamed.
    regions = classified(tmp_path, config)
    (aux,) = [t for t in truth(config) if t.what == "GC" and t.committed == "none"]
    assert aux.end - aux.start == (1 << 30) // 32
    ((r,),) = [wholly_inside(regions, aux)]
    assert (r.start, r.end, r.object, r.kind) == (aux.start, aux.end, GC_DATA, kinds.RESERVED)
    # Two no-access regions of its size, or one right above committed memory (the
    # uncommitted top of a reservation committed from its base): none is named.
    _, regions, facts = recorded(tmp_path / "two", config)
    (k,) = [i for i, r in enumerate(regions) if r.start == aux.start]
    size = aux.end - aux.start
    twin = regions[k]._replace(start=0x7000_0000_0000, end=0x7000_0000_0000 + size)
    at = next(i for i, r in enumerate(regions) if r.start > twin.start)
    above_committed = [
        regions[k]._replace(start=aux.start - 4096, end=aux.start, perms="rw-p"),
        regions[k],
    ]
    for made in (
        [*regions[:at], twin, *regions[at:]],
        [*regions[:k], *above_committed, *regions[k + 1 :]],
    ):
        out = classify_regions(made, facts)
        assert [r.object for r in out if r.start == aux.start] == [None]


def test_serials_block_offset_table_over_2_gib_is_a_page_longer_in_jdk_17(tmp_path):
    # -XX:+UseSerialGC -Xmx3g -Xshare:off: a 2 GiB old generation, its block offset table
    # 4 MiB and one entry (JDK 17; 25: 4 MiB), so a page more. Before: taken for 4 MiB,
    # the table was not found, and so neither the heap (two runs of 3 GiB: from its base,
    # and from its old generation's to the class space's top, right after it), the class
    # space, the tables nor metaspace was named.
    config = "serial_3g_cds_off"
    regions = classified(tmp_path, config)
    (bot,) = [t for t in truth(config) if t.site.startswith("BlockOffsetSharedArray")]
    assert bot.end - bot.start == (4 << 20) + 4096
    assert [r.object for r in wholly_inside(regions, bot)] == [GC_DATA, GC_DATA]
    ((lo, hi),) = [(t.start, t.end) for t in truth(config) if t.what == "Java Heap"]
    heap = [r for r in regions if r.object == JAVA_HEAP]
    assert (heap[0].start, heap[-1].end) == (lo, hi)


@pytest.mark.parametrize(
    "config", ["g1_1g_thp", "jdk25_g1_1g_thp", "shenandoah_512m_thp", "jdk25_shenandoah_512m_thp"]
)
def test_bitmaps_committed_in_transparent_huge_pages_are_named(tmp_path, config):
    # -XX:+UseTransparentHugePages: G1's and Shenandoah's mark bitmaps committed in 2 MiB
    # pages (a 378 MiB committed heap: 6 MiB of a 16 MiB G1 bitmap, 12 MiB of a 16 MiB
    # Shenandoah one), not 4 KiB ones. Before: no pattern matched, nothing was named.
    regions = classified(tmp_path, config)
    bitmaps = [t for t in truth(config) if t.what == "GC" and t.committed == "part"]
    assert bitmaps and all((t.end - t.start) == 16 * MIB for t in bitmaps)
    for t in bitmaps:
        parts = wholly_inside(regions, t)
        assert parts and all(r.object == GC_DATA for r in parts), hex(t.start)
        assert all(r.size % (2 * MIB) == 0 for r in parts if r.start > t.start)


def test_zgcs_mark_stack_space_is_named(tmp_path):
    regions = classified(tmp_path, "z_1g")
    (space,) = [t for t in truth("z_1g") if t.site.startswith("ZMarkStackAllocator")]
    assert space.end - space.start == 8 << 30
    named = wholly_inside(regions, space)
    assert [r.perms for r in named] == ["rw-p", "---p"]
    assert all(r.object == GC_DATA for r in named)


def test_a_block_offset_table_merged_with_a_librarys_bss_is_named_but_that_region(tmp_path):
    # Serial: the block offset table's committed base merged with the anonymous page
    # after libjsvml.so's data: that region is part library, part table.
    regions = classified(tmp_path, "serial_1g")
    (table,) = [t for t in truth("serial_1g") if t.site.startswith("BlockOffsetSharedArray")]
    (straddling,) = [r for r in regions if r.start < table.start < r.end]
    assert straddling.object != GC_DATA
    assert [r.object for r in wholly_inside(regions, table)] == [GC_DATA]


def test_thread_stacks_on_granules_right_below_a_node_are_no_metaspace(tmp_path):
    # HotSpot's threads' stacks (1 MiB, a 16 KiB guard) at 1 MiB boundaries, right
    # below a metaspace node: the shape of metaspace's parts, and not metaspace.
    for config in ("g1_1g_many_classes_reclaim_none", "parallel_64m"):
        regions = classified(tmp_path / config, config)
        nodes = [(t.start, t.end) for t in truth(config) if t.what == "Metaspace"]
        first = max(lo for lo, _ in nodes)  # the JVM's first node, the highest
        below = [r for r in regions if first - 4 * MIB <= r.start < first and r.perms == "---p"]
        assert below and all(r.end - r.start == 16 << 10 for r in below)
        assert not [r for r in regions if r.object == METASPACE and not inside(r, nodes)]


def test_a_fragmented_metaspace_is_named_node_by_node(tmp_path):
    # 3000 classes loaded, 2700 unloaded: six nodes in hundreds of parts, the no-access
    # parts of two nodes merged across their common edge.
    regions = classified(tmp_path, "g1_1g_unloaded")
    nodes = [t for t in truth("g1_1g_unloaded") if t.what == "Metaspace"]
    named = [r for r in regions if r.object == METASPACE]
    assert len(nodes) == 6 and len(named) > 300
    assert sum(r.size for r in named) == sum(t.end - t.start for t in nodes)


# G1's tables and bitmaps (a byte per 512 heap bytes, a bit per 8) and its mark stack.
G1_MIRRORS = {"G1CollectedHeap::create_aux_memory_mapper", "G1CMMarkStack::resize"}


@pytest.mark.parametrize("config", MERGED_TOP)
def test_a_heaps_top_merged_with_the_class_spaces_base_names_neither_that_region(tmp_path, config):
    # JDK 17, -Xms = -Xmx -Xshare:off (G1 2 GiB, Parallel 2 GiB, Serial 1 GiB, Shenandoah
    # 1 GiB): the class space reserved right after the heap, its committed base merged
    # with the heap's committed top: no run spans the heap's size from a region's start.
    # The heap is found all the same (the class space's size on from its end, at a
    # region's end): the class space, the collector's tables and metaspace are named,
    # the region that is both heap and class space the heap and other memory, and
    # nothing the heap alone.
    # Before: nothing was named.
    regions = classified(tmp_path, config)
    ((heap_lo, heap_hi),) = [(t.start, t.end) for t in truth(config) if t.what == "Java Heap"]
    ((lo, hi),) = [(t.start, t.end) for t in truth(config) if t.what == "Class"]
    assert heap_hi == lo
    (both,) = [r for r in regions if r.start <= heap_lo and heap_hi < r.end]
    # (That region is the heap, committed whole, and the class space's base: named so.)
    assert both.object == JAVA_HEAP_AND_MORE
    check_heap_and_more(both, truth(config))
    space = [r for r in regions if r.object == CLASS_SPACE]
    assert space and space[0].start == both.end and space[-1].end == hi
    assert sum(r.size for r in space) == hi - both.end
    assert not [r for r in regions if r.object == JAVA_HEAP]
    check_never_outside(regions, truth(config))
    for t in truth(config):
        if t.what == "Metaspace" or t.site in G1_MIRRORS:
            # (G1's mark stack and a bitmap, side by side, are one region: named.)
            named = [r for r in regions if r.start < t.end and t.start < r.end]
            assert any(r.object == NAMES[t.what] for r in named), f"{t.site} at {t.start:#x}"
    # With the CDS archive mapped, the class space follows the archive, not the heap:
    # the same shape is then no heap's, nor is what lies above it the class space. (But
    # the heap is committed whole, hsperfdata says, and that region is the one so big:
    # the heap and more, which it is, and from there the collector's tables, metaspace.)
    _, regions, facts = recorded(tmp_path / "cds", config)
    jsa = regions[0]._replace(start=0x7000_0000_0000, end=0x7000_0100_0000, perms="rw-p")
    jsa = jsa._replace(path="/usr/lib/jvm/classes.jsa", inode=1, dev="fe:00")
    at = next(i for i, r in enumerate(regions) if r.start > jsa.start)
    out = classify_regions([*regions[:at], jsa, *regions[at:]], facts)
    assert not [r for r in out if r.object in (CLASS_SPACE, JAVA_HEAP)]
    assert [r.object for r in out if r.start <= heap_lo and heap_hi < r.end] == [JAVA_HEAP_AND_MORE]
    check_heap_and_more(both._replace(object=JAVA_HEAP_AND_MORE), truth(config))
    check_never_outside(out, truth(config))
    # Without hsperfdata's word that the heap is committed whole, nothing of it.
    out = classify_regions(
        [*regions[:at], jsa, *regions[at:]],
        facts._replace(java=facts.java._replace(heap_committed=None)),
    )
    assert not [r for r in out if r.object in (CLASS_SPACE, METASPACE, GC_DATA, JAVA_HEAP_AND_MORE)]


@pytest.mark.parametrize("config", ["g1_31g", "g1_1g_cds_off"])
def test_the_heap_is_told_from_a_run_of_its_size_beside_it(tmp_path, config):
    # g1_31g: 16 MiB of no-access prefix below the heap (heap-based compressed oops, in
    # NMT's reservation: named the heap's too, but not counted in its 31 GiB);
    # g1_1g_cds_off: the class space (1 GiB, like the heap) right after it. Both runs
    # had the heap's size, and nothing was named.
    regions = classified(tmp_path, config)
    (heap,) = [t for t in truth(config) if t.what == "Java Heap"]
    named = [r for r in regions if r.object == JAVA_HEAP]
    if config == "g1_31g":  # NMT counts the prefix the heap's: it is named so too
        prefix = named.pop(0)
        assert (prefix.start, prefix.end - prefix.start) == (heap.start, 16 * MIB)
        assert prefix.perms == "---p" and prefix.kind == kinds.RESERVED
    assert named[-1].end == heap.end and named[-1].end - named[0].start == (
        {"g1_31g": 31, "g1_1g_cds_off": 1}[config] << 30
    )


def test_a_no_access_region_below_the_heap_is_its_prefix_only_of_the_heaps_alignment(tmp_path):
    # g1_31g's 16 MiB prefix, 4 KiB longer (merged with a no-access neighbour): not it.
    _, regions, facts = recorded(tmp_path, "g1_31g")
    (heap,) = [t for t in truth("g1_31g") if t.what == "Java Heap"]
    (k,) = [i for i, r in enumerate(regions) if r.start == heap.start]
    longer = regions[:k] + [regions[k]._replace(start=heap.start - 4096)] + regions[k + 1 :]
    out = classify_regions(longer, facts)
    assert [r.object for r in out[k : k + 2]] == [None, JAVA_HEAP]


def test_columns_name_what_a_list_names(tmp_path):
    for config in CONFIGS:
        _, regions, facts = recorded(tmp_path / config, config)
        as_list = classify_regions(regions, facts)
        as_columns = list(classify_columns(RegionColumns.from_regions(regions), facts))
        assert [(r.kind, r.object) for r in as_columns] == [(r.kind, r.object) for r in as_list]


def test_the_collector_and_generations_come_from_hsperfdata():
    seen = {}
    for config in CONFIGS:
        counters = parse_hsperfdata((NATIVE / config / "hsperfdata").read_bytes())
        seen[config] = collector(counters)
    assert {seen[c] for c in CONFIGS} == {"G1", "Parallel", "Serial", "Shenandoah", "Z"}
    assert seen["parallel_1g"] == "Parallel" and seen["z_1g"] == "Z"
    counters = parse_hsperfdata((NATIVE / "serial_1g" / "hsperfdata").read_bytes())
    young, old = generation_max(counters, 0), generation_max(counters, 1)
    assert young + old == 1 << 30  # Serial: young below old, the heap's whole
    assert collector({"sun.gc.collector.0.name": "G1 young", "sun.gc.collector.1.name": "PS"}) == ""


def test_without_the_collector_nothing_is_named(tmp_path):
    _, regions, facts = recorded(tmp_path, "g1_1g")
    unknown = facts._replace(java=facts.java._replace(collector=""))
    assert not [r for r in classify_regions(regions, unknown) if r.object in NAMES.values()]


def test_metaspace_and_gc_data_are_explained(tmp_path):
    from vmtop.model.explain import why_kind

    regions = classified(tmp_path, "g1_1g")
    meta = next(r for r in regions if r.object == METASPACE and r.kind == kinds.ANON)
    meta_reserve = next(r for r in regions if r.object == METASPACE and r.kind == kinds.RESERVED)
    gc = next(r for r in regions if r.object == GC_DATA and r.kind == kinds.ANON)
    gc_reserve = next(r for r in regions if r.object == GC_DATA and r.kind == kinds.RESERVED)
    assert why_kind(meta).startswith("The JVM's metaspace: the metadata of loaded classes")
    assert "64 MiB nodes" in why_kind(meta) and "unloaded" in why_kind(meta)
    assert "not committed yet" in why_kind(meta_reserve)
    assert why_kind(gc).startswith("The garbage collector's own data for the Java heap")
    assert "grows with the committed heap" in why_kind(gc)
    assert "heap's reserve" in why_kind(gc_reserve)


# -- hand-made maps: what each rule guards against --------------------------------------

G1_1G = JavaFacts((1 << 30,), "hsperfdata", 1 << 30, "G1", None, None)
HEAP = 0x7F00_0000_0000  # only the shape matters


def maps_of(*parts: tuple[int, int, str]) -> list[Region]:
    """Regions from (start, end, perms) of anonymous memory, in order."""
    text = "".join(f"{lo:x}-{hi:x} {perms} 00000000 00:00 0\n" for lo, hi, perms in parts)
    return parse_maps(text.encode())


def g1_heap_and_tables(base: int = 0xC000_0000) -> list[tuple[int, int, str]]:
    """A 1 GiB G1 heap committed in its first 378 MiB, its three tables (2 MiB each)
    and two mark bitmaps (16 MiB each) as HotSpot commits them."""
    heap = [(base, base + 378 * MIB, "rw-p"), (base + 378 * MIB, base + 1024 * MIB, "---p")]
    tables, at = [], 0x7F10_0000_0000
    for size, head in ((2 * MIB, 756 << 10),) * 3 + ((16 * MIB, 6048 << 10),) * 2:
        tables += [(at, at + head, "rw-p"), (at + head, at + size, "---p")]
        at += size + 16 * MIB  # apart
    return heap + tables


def node(base: int, *parts: tuple[int, int]) -> list[tuple[int, int, str]]:
    """A metaspace node at ``base``: committed (offset, size) parts, no access between."""
    out, at = [], base
    for off, size in parts:
        if base + off > at:
            out.append((at, base + off, "---p"))
        out.append((base + off, base + off + size, "rw-p"))
        at = base + off + size
    if at < base + 64 * MIB:
        out.append((at, base + 64 * MIB, "---p"))
    return out


def named(parts, java: JavaFacts = G1_1G) -> dict[str, list[tuple[int, int]]]:
    regions = classify_regions(maps_of(*sorted(parts)), ClassifyFacts(java=java))
    out: dict[str, list[tuple[int, int]]] = {}
    for r in regions:
        if r.object:
            out.setdefault(r.object, []).append((r.start, r.end))
    return out


NODE = 0x7F20_0100_0000  # a 4 MiB boundary, not a 64 MiB one


def test_hand_made_g1_tables_and_node_are_named():
    got = named(g1_heap_and_tables() + node(NODE, (0, 192 << 10), (4 * MIB, 64 << 10)))
    assert len(got[GC_DATA]) == 10 and len(got[METASPACE]) == 4


def test_g1s_tables_over_a_heap_committed_whole_are_named(tmp_path):
    # -Xms1g -Xmx1g: each table committed whole; those reserved side by side merged by
    # the kernel (here a lone 16 MiB bitmap, and a bitmap with the three 2 MiB tables
    # in one 22 MiB region). Before: no pattern, 38 MiB of plain anon.
    # Its mark stack (32 MiB) lies on its own: the one free rw-p region of its size.
    regions = classified(tmp_path, "g1_1g_committed_whole")
    site = "G1CollectedHeap::create_aux_memory_mapper"
    tables = [t for t in truth("g1_1g_committed_whole") if t.what == "GC" and t.site == site]
    assert len(tables) == 5 and all(t.committed == "all" for t in tables)
    (stack,) = [t for t in truth("g1_1g_committed_whole") if t.site == "G1CMMarkStack::resize"]
    named_gc = union((r.start, r.end) for r in regions if r.object == GC_DATA)
    assert named_gc == union((t.start, t.end) for t in [*tables, stack])


def whole_heap_and(*tables: tuple[int, int]) -> list[tuple[int, int, str]]:
    """A 1 GiB G1 heap committed whole, and free rw-p regions at (start, size)."""
    return [(0xC000_0000, 0x1_0000_0000, "rw-p")] + [(a, a + n, "rw-p") for a, n in tables]


def test_g1s_tables_committed_whole_are_named_only_where_the_map_leaves_no_choice():
    at = 0x7F10_0000_0000
    merged_five = whole_heap_and((at, 38 * MIB))
    assert named(merged_five)[GC_DATA] == [(at, at + 38 * MIB)]
    apart = whole_heap_and((at, 16 * MIB), (at + 64 * MIB, 22 * MIB))
    assert named(apart)[GC_DATA] == [(at, at + 16 * MIB), (at + 64 * MIB, at + 86 * MIB)]
    # Two bitmaps and the three tables either as one 6 MiB region or as 2 + 4 MiB:
    # two ways to make all five, so only what both take is: the bitmaps.
    two_ways = whole_heap_and(
        (at, 32 * MIB),
        (at + 64 * MIB, 6 * MIB),
        (at + 128 * MIB, 2 * MIB),
        (at + 192 * MIB, 4 * MIB),
    )
    assert named(two_ways)[GC_DATA] == [(at, at + 32 * MIB)]
    # Seen live (CI): the five merged in 38 MiB and the mark stack alone, 32 MiB, which
    # has two bitmaps' size too (then 38 MiB would be three tables and the stack). Both
    # readings take the 38 MiB; the 32 MiB, only one as a table, but both as G1's:
    # the map's one free rw-p region of the mark stack's size (its mark stack, or two
    # bitmaps).
    stack_apart = whole_heap_and((at, 32 * MIB), (at + 64 * MIB, 38 * MIB))
    for version in (17, None):
        got = named(stack_apart, G1_1G._replace(version=version))
        assert got[GC_DATA] == [(at, at + 32 * MIB), (at + 64 * MIB, at + 102 * MIB)], version
    # Sizes that make no whole set, of JDK 17 (two bitmaps, three tables) or of JDK 25
    # (one bitmap, two tables: 16 + 4 MiB is one, test_jdk25_java.py): nothing.
    assert GC_DATA not in named(whole_heap_and((at, 16 * MIB), (at + 64 * MIB, 6 * MIB)))


def test_a_fourth_place_of_a_g1_tables_pattern_names_none_of_them():
    # Three tables, and a glibc arena whose head is the tables' committed part: four
    # places of three tables, so none is named (and no metaspace either: a table that
    # could pass for a node may be among those not named).
    arena = 0x7F30_0000_0000
    extra = [(arena, arena + (756 << 10), "rw-p"), (arena + (756 << 10), arena + 2 * MIB, "---p")]
    extra += [(arena + 2 * MIB, arena + 2 * MIB + (4 << 10), "rw-p")]
    parts = g1_heap_and_tables() + node(NODE, (0, 192 << 10), (4 * MIB, 64 << 10))
    got = named(parts + extra)
    assert len(got[GC_DATA]) == 4  # the two bitmaps only
    assert METASPACE not in got


def test_a_node_merged_with_a_block_below_is_named_but_that_region():
    # The kernel merged the node's committed base with a malloc'd block right below it.
    parts = g1_heap_and_tables() + node(NODE, (0, 192 << 10), (4 * MIB, 64 << 10))
    block = (NODE - 0x28D000, NODE, "rw-p")
    merged = [p for p in parts if p[0] != NODE] + [(block[0], NODE + (192 << 10), "rw-p")]
    got = named(merged)
    assert got[METASPACE] == [
        (NODE + (192 << 10), NODE + 4 * MIB),
        (NODE + 4 * MIB, NODE + 4 * MIB + (64 << 10)),
        (NODE + 4 * MIB + (64 << 10), NODE + 64 * MIB),
    ]


def test_a_node_with_a_glibc_arenas_shape_is_not_named():
    aligned = 0x7F20_0400_0000  # a 64 MiB boundary
    got = named(g1_heap_and_tables() + node(aligned, (0, 60480 << 10)))
    assert METASPACE not in got


def test_no_metaspace_while_a_table_that_could_pass_for_a_node_is_unseen():
    # The two 16 MiB bitmaps and a 32 MiB block below them span 64 MiB from a 4 MiB
    # boundary, with no-access parts on 16 KiB granules: a node's shape. Unseen (the
    # heap was committed further when the map was read), they must not become one.
    parts = g1_heap_and_tables()
    heap_now = [(0xC000_0000, 0xC000_0000 + 380 * MIB, "rw-p")]
    heap_now += [(0xC000_0000 + 380 * MIB, 0xC000_0000 + 1024 * MIB, "---p")]
    bitmaps = 0x7F20_0200_0000
    stale = [(bitmaps - 32 * MIB, bitmaps + (6048 << 10), "rw-p")]
    stale += [(bitmaps + (6048 << 10), bitmaps + 16 * MIB, "---p")]
    stale += [(bitmaps + 16 * MIB, bitmaps + 16 * MIB + (6048 << 10), "rw-p")]
    stale += [(bitmaps + 16 * MIB + (6048 << 10), bitmaps + 32 * MIB, "---p")]
    tables = [p for p in parts[2:] if p[1] - p[0] < 8 * MIB and p[0] < 0x7F10_0000_0000 + 54 * MIB]
    got = named(heap_now + tables + stale)
    assert METASPACE not in got


def test_zgcs_mark_stack_space_is_named_only_where_its_size_is_seen():
    zgc = JavaFacts((1 << 30,), "hsperfdata", 1 << 30, "Z", None, None)
    base = 0x7F40_0000_0000
    space = [(base, base + 32 * MIB, "rw-p"), (base + 32 * MIB, base + (8 << 30), "---p")]
    assert named(space, zgc)[GC_DATA] == [(space[0][0], space[0][1]), (space[1][0], space[1][1])]
    # Its committed base merged with a block below: the rest is named, not that region.
    merged = [(base - MIB, base + 32 * MIB, "rw-p"), space[1]]
    assert named(merged, zgc)[GC_DATA] == [(space[1][0], space[1][1])]
    # Its no-access part merged with one above: 8 GiB is no longer seen.
    longer = [space[0], (base + 32 * MIB, base + (8 << 30) + MIB, "---p")]
    assert GC_DATA not in named(longer, zgc)


def test_a_glibc_arena_whose_head_is_a_tables_committed_part_is_not_that_table(tmp_path):
    # Serial, -Xmx1g: its block offset table is 508 KiB committed, 860 KiB not; a
    # glibc arena had 508 KiB committed too, its no-access rest going on past 1368 KiB.
    # Taken for a second block offset table, it left the real one unnamed (two places
    # for one table) and metaspace with it.
    regions = classified(tmp_path, "serial_1g_cds_off")
    (table,) = [t for t in truth("serial_1g_cds_off") if t.site.startswith("BlockOffset")]
    arenas = [r for r in regions if r.kind == kinds.ARENA and r.end - r.start == 508 << 10]
    assert arenas and all(r.object.startswith("arena heap") for r in arenas)
    assert [r.object for r in wholly_inside(regions, table)] == [GC_DATA]
    assert any(r.object == METASPACE for r in regions)


def test_the_cost_is_a_few_reads_a_no_access_region(tmp_path):
    # A JVM with 30 000 threads: 60 000 regions, a guard page a thread. Of columns,
    # the regions read whole (each made into a Region) are counted.
    _, regions, facts = recorded(tmp_path, "g1_1g_unloaded")
    lines = (NATIVE / "g1_1g_unloaded" / "maps").read_text().splitlines(keepends=True)
    stacks = range(0x6000_0000_0000, 0x6000_0000_0000 + 30_000 * MIB, MIB)
    lines += [f"{a:x}-{a + 0x4000:x} ---p 00000000 00:00 0\n" for a in stacks]
    lines += [f"{a + 0x4000:x}-{a + MIB:x} rw-p 00000000 00:00 0\n" for a in stacks]
    lines.sort(key=lambda line: int(line.split("-")[0], 16))
    columns = RegionColumns.from_regions(parse_maps("".join(lines).encode()))
    from vmtop.model.java_anon_rows import AnonRows

    reads = []
    real = AnonRows.__getitem__

    def counted(self, i):
        if i not in self.read:
            reads.append(i)
        return real(self, i)

    AnonRows.__getitem__ = counted
    try:
        started = time.perf_counter()
        out = classify_columns(columns, facts)
        assert time.perf_counter() - started < 30  # (the test's bound, not its point)
    finally:
        AnonRows.__getitem__ = real
    assert len(columns) > 60_000 and len(reads) < 5_000
    assert sum(1 for r in out if r.object == METASPACE) > 300


# -- live: real JVMs, NMT as the truth ---------------------------------------------------

LIVE_WANTED = {"Java Heap", "Metaspace", "GC", "Class", "Shared class space", "Code"}
NMT_RESERVED = re.compile(
    r"^\[0x([0-9a-f]+) - 0x([0-9a-f]+)\] reserved (?:and committed )?\d+KB for (.+?) from"
)


def live_jvm(spawn, args: list[str], main: list[str], java: str = "java"):
    """A JVM run with NMT, once it says READY: its pid, its map (read twice around
    NMT, the same both times) and NMT's reservations. ``java``: the java to run (a
    path: the jcmd beside it)."""
    jcmd = str(Path(java).with_name("jcmd")) if "/" in java else "jcmd"
    if not shutil.which(java) or not shutil.which(jcmd):
        pytest.skip("no java and jcmd here (apt install openjdk-17-jdk-headless)")
    cp = f"{SLEEPER}:{CLASSES}"
    child = spawn([java, "-XX:NativeMemoryTracking=detail", *args, "-cp", cp, *main])
    child.read_until("READY", timeout=120)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # its hsperfdata, where the collector is named
        paths = {r.path for r in parse_maps(Path(f"/proc/{child.pid}/maps").read_bytes())}
        if read_java_facts(ProcFS(), child.pid, paths).source == "hsperfdata":
            break
        time.sleep(0.2)
    for _ in range(5):
        before = Path(f"/proc/{child.pid}/maps").read_bytes()
        nmt = subprocess.run(
            [jcmd, str(child.pid), "VM.native_memory", "detail"],
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
        after = Path(f"/proc/{child.pid}/maps").read_bytes()
        if before == after:
            break
        time.sleep(0.5)
    else:
        pytest.skip("the JVM's map kept changing")
    if "Native Memory Tracking" not in nmt:
        pytest.skip(f"no NMT report: {nmt[:200]}")
    reserved = []
    for line in nmt.splitlines():
        if m := NMT_RESERVED.match(line):
            what = m[3] if m[3] in LIVE_WANTED else None
            if what:
                t = Reservation(f"{what}\t{m[1]}\t{m[2]}\t?\t?")
                reserved.append(t)
    return child.pid, after, reserved


def live_classified(pid: int, maps: bytes) -> list[Region]:
    """The map classified with the facts vmtop reads for it (threads' stacks, .bss)."""
    regions = parse_maps(maps)
    return classify_regions(regions, read_classify_facts(ProcFS(), pid, regions))


LIVE = [
    (["-Xmx1g"], ["Sleeper"]),
    (["-XX:+UseParallelGC", "-Xmx1g"], ["Sleeper"]),
    (["-XX:+UseSerialGC", "-Xmx1g", "-Xshare:off"], ["Sleeper"]),
    (["-XX:+UseShenandoahGC", "-Xmx1g"], ["Sleeper"]),
    (["-XX:+UseZGC", "-Xmx1g"], ["Sleeper"]),
    (["-Xmx1g", "-XX:-UseCompressedClassPointers"], ["Loader", "800", "4"]),
]


@pytest.mark.live
@pytest.mark.parametrize("args, main", LIVE, ids=[" ".join(a + m) for a, m in LIVE])
def test_a_live_jvms_metaspace_and_gc_data_are_where_nmt_says(spawn, args, main):
    pid, maps, reserved = live_jvm(spawn, args, main)
    regions = live_classified(pid, maps)
    check_never_outside(regions, reserved)
    nodes = [t for t in reserved if t.what == "Metaspace"]
    if main[0] == "Loader":
        assert len(nodes) > 1  # 800 classes of 300 methods: more than one node
    # The first node holds the JVM's own classes: a few parts, never an arena's shape.
    named_nodes = [
        t for t in nodes if any(r.object == METASPACE for r in wholly_inside(regions, t))
    ]
    assert named_nodes
    gc = [r for r in regions if r.object == GC_DATA]
    assert gc and sum(r.size for r in gc) >= MIB


@pytest.mark.live
@pytest.mark.parametrize("gc", ["-XX:+UseG1GC", "-XX:+UseSerialGC"])
def test_a_live_jvms_heap_top_merged_with_the_class_space_names_neither(spawn, gc):
    # JDK 17, -Xms1g -Xmx1g -Xshare:off: the class space right after the heap, the
    # heap's committed top merged with its committed base (see the recorded ones).
    pid, _, reserved = live_jvm(spawn, [gc, "-Xms1g", "-Xmx1g", "-Xshare:off"], ["Sleeper"])
    regions = list(take_snapshot(ProcFS(), pid).regions)
    check_never_outside(regions, reserved)
    ((heap_lo, heap_hi),) = [(t.start, t.end) for t in reserved if t.what == "Java Heap"]
    ((lo, hi),) = [(t.start, t.end) for t in reserved if t.what == "Class"]
    if heap_hi != lo or not [r for r in regions if r.start < heap_hi < r.end]:
        pytest.skip("the class space not right after the heap, or not merged with it")
    assert not [r for r in regions if r.object == JAVA_HEAP]
    space = [r for r in regions if r.object == CLASS_SPACE]
    assert space and space[-1].end == hi and all(heap_hi < r.start for r in space)
    assert any(r.object == METASPACE for r in regions)


@pytest.mark.live
def test_a_live_jvms_metaspace_nodes_committed_whole_are_named_from_smaps(spawn):
    # 6000 classes of 300 methods: a dozen 64 MiB nodes, most committed whole at 64 MiB
    # boundaries (a glibc arena heap's shape); read with smaps, as vmtop reads a JVM,
    # every one is named, and none is an arena.
    pid, _, reserved = live_jvm(spawn, ["-Xmx1g"], ["Loader", "6000"])
    snap = take_snapshot(ProcFS(), pid)
    regions = list(snap.regions)
    check_never_outside(regions, reserved)
    nodes = [t for t in reserved if t.what == "Metaspace"]
    assert len(nodes) >= 8
    for t in nodes:
        parts = wholly_inside(regions, t)
        assert parts and all(r.object == METASPACE for r in parts), hex(t.start)
    spans = [(t.start, t.end) for t in nodes]
    assert not [r for r in regions if r.kind == kinds.ARENA and inside(r, spans)]


@pytest.mark.live
@pytest.mark.parametrize("size", [1, 4])
def test_a_live_g1_heap_committed_whole_has_its_tables_named_within_nmts(spawn, size):
    # -Xms = -Xmx: no table has a pattern. Never named outside what NMT says the
    # collector reserved; and where the kernel merged G1's tables with nothing but each
    # other and the mark stack (32 MiB), every region of them is named. (Merged with
    # other memory, its own small G1FromCardCache too, a size no longer says it: left.)
    heap = size << 30
    pid, _, reserved = live_jvm(spawn, [f"-Xms{size}g", f"-Xmx{size}g"], ["Sleeper"])
    regions = list(take_snapshot(ProcFS(), pid).regions)
    check_never_outside(regions, reserved)
    gc = [(t.start, t.end) for t in reserved if t.what == "GC"]
    tables = [s for s in gc if s[1] - s[0] in (heap // 512, heap // 64)]
    assert len(tables) == 5
    holding = [r for r in regions if any(r.start < hi and lo < r.end for lo, hi in tables)]
    parts = tables + [s for s in gc if s[1] - s[0] == 32 << 20]  # (and the stack)
    if all(inside(r, parts) for r in holding):
        assert all(r.object == GC_DATA for r in holding), [(hex(r.start), r.size) for r in holding]


def test_a_glibc_arena_shaped_like_a_table_is_not_named():
    # Shenandoah, -Xmx2g: its marking bitmap is 64 MiB, committed 12032 KiB from its
    # base for a heap committed 376 MiB from its own: at a 64 MiB boundary, that is a
    # glibc arena's shape. Here the bitmap itself is not in view; the arena is.
    shenandoah = JavaFacts((2 << 30,), "hsperfdata", 1 << 30, "Shenandoah", None, None)
    heap = [(0x8000_0000, 0x8000_0000 + 376 * MIB, "rw-p")]
    heap += [(0x8000_0000 + 376 * MIB, 0x1_0000_0000, "---p")]
    arena = 0x7F44_0000_0000
    arena_parts = [(arena, arena + (12032 << 10), "rw-p")]
    arena_parts += [(arena + (12032 << 10), arena + 64 * MIB, "---p")]
    got = named(heap + arena_parts, shenandoah)
    assert GC_DATA not in got and got["arena heap 1"]


def test_a_block_below_a_node_on_its_granules_is_not_taken_for_metaspace():
    # A 4 MiB block right below a node, both on 4 MiB boundaries: tiles laid up from
    # the block's base and down from the node's top disagree; neither is taken.
    block = NODE - 4 * MIB
    parts = g1_heap_and_tables() + [(block, NODE, "rw-p")]
    parts += node(NODE, (0, 192 << 10), (4 * MIB, 64 << 10))
    got = named(parts)
    assert not [s for s in got.get(METASPACE, []) if s[0] < NODE]


def test_a_node_committed_whole_between_two_nodes_is_named():
    parts = g1_heap_and_tables() + node(NODE, (0, 192 << 10), (4 * MIB, 64 << 10))
    parts += [(NODE + 64 * MIB, NODE + 128 * MIB, "rw-p")]
    parts += node(NODE + 128 * MIB, (0, 8 * MIB))
    got = named(parts)
    assert (NODE + 64 * MIB, NODE + 128 * MIB) in got[METASPACE]
    assert sum(hi - lo for lo, hi in got[METASPACE]) == 192 * MIB


def test_classifying_a_jvm_map_reads_each_region_a_few_times(tmp_path):
    # Of columns, a region read by index is made into a Region (~1 us): the passes over
    # a JVM's map read each a few times. Finding the heap read each one again for every
    # region before it, up to the heap's size: 500 times a region of this map.
    from vmtop.model.region_rows import Patched

    _, regions, facts = recorded(tmp_path, "g1_1g_unloaded")
    columns = RegionColumns.from_regions(regions)
    reads = [0]
    real = Patched.__getitem__

    def counted(self, i):
        reads[0] += 1
        return real(self, i)

    Patched.__getitem__ = counted
    try:
        classify_columns(columns, facts)
    finally:
        Patched.__getitem__ = real
    assert reads[0] < 20 * len(columns)


def test_a_class_space_of_a_nodes_size_not_found_is_no_metaspace_node():
    # -XX:CompressedClassSpaceSize=64m: where the class space is not found (here away
    # from the heap and any CDS archive), it could be taken for a node.
    small = G1_1G._replace(class_space_size=64 * MIB)
    parts = g1_heap_and_tables() + node(NODE, (0, 256 << 10))
    assert METASPACE not in named(parts, small)
    assert METASPACE in named(parts)  # (with a class space of 1 GiB, it is a node)


def test_metaspace_growing_into_a_node_is_said_so(tmp_path):
    from vmtop.model.event_words import protection_change

    regions = classified(tmp_path, "g1_1g")
    reserve = next(r for r in regions if r.object == METASPACE and r.kind == kinds.RESERVED)
    grown = reserve._replace(perms="rw-p", kind=kinds.ANON)
    assert "the Java metaspace grew into its reserve" in protection_change(reserve, grown)[1]


def g1_25_heap_and_tables(base: int = 0xC000_0000) -> list[tuple[int, int, str]]:
    """A 1 GiB G1 heap committed in its first 378 MiB as JDK 25 lays out its tables:
    two of a byte per 512 heap bytes and one mark bitmap."""
    heap = [(base, base + 378 * MIB, "rw-p"), (base + 378 * MIB, base + 1024 * MIB, "---p")]
    tables, at = [], 0x7F10_0000_0000
    for size, head in ((2 * MIB, 756 << 10),) * 2 + ((16 * MIB, 6048 << 10),):
        tables += [(at, at + head, "rw-p"), (at + head, at + size, "---p")]
        at += size + 16 * MIB  # apart
    return heap + tables


def test_the_jvms_release_says_which_layout_of_tables_to_look_for():
    # JDK 25's two tables and one bitmap are what a JDK 17 map shows with a table and a
    # bitmap unseen: told by the release hsperfdata gives, not by which layout fits.
    parts = g1_25_heap_and_tables() + node(NODE, (0, 192 << 10), (4 * MIB, 64 << 10))
    for version, found in ((None, True), (25, True), (21, True), (17, False)):
        got = named(parts, G1_1G._replace(version=version))
        assert (len(got.get(GC_DATA, [])) == 6) == found, version
        assert (METASPACE in got) == found, version  # a table unseen: no node either
    # JDK 17's layout is still found on JDK 17.
    got = named(g1_heap_and_tables(), G1_1G._replace(version=17))
    assert len(got[GC_DATA]) == 10


def test_the_release_is_read_from_hsperfdata():
    from vmtop.procfs.hsperfdata import java_version

    for config, version in (("g1_1g", 17), ("jdk25_g1_1g", 25)):
        counters = parse_hsperfdata((NATIVE / config / "hsperfdata").read_bytes())
        assert java_version(counters) == version
    assert java_version({"java.property.java.vm.specification.version": "1.8"}) == 8
    assert java_version({}) is None
