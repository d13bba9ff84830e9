"""A JVM run with -XX:+UseLargePages and a pool of hugetlb pages (vm.nr_hugepages):
HotSpot maps its heap, its collector's tables and its code cache with MAP_HUGETLB, each
committed whole, so the map names them ``/anon_hugepage (deleted)``, one inode each.
Checked against NMT (tests/fixtures/jvm_native: g1_1g_large_pages, OpenJDK 17;
jdk25_g1_1g_large_pages, Temurin 25).

Before, neither the heap nor the code cache was named (only anonymous regions were
looked at), and so neither the class space (17: after the CDS archive, found all the
same) nor metaspace, which is named only once the heap is."""

from __future__ import annotations

import pytest
from test_java_native_regions import (
    METASPACE,
    check_never_outside,
    classified,
    recorded,
    truth,
    wholly_inside,
)

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.java_regions import CODE_CACHE, JAVA_HEAP

CONFIGS = ["g1_1g_large_pages", "jdk25_g1_1g_large_pages"]
HUGETLB = "/anon_hugepage"


def nmt(config: str, what: str) -> list[tuple[int, int]]:
    return [(t.start, t.end) for t in truth(config) if t.what == what]


@pytest.mark.parametrize("config", CONFIGS)
def test_a_heap_in_hugetlb_pages_is_named_where_nmt_says(tmp_path, config):
    regions = classified(tmp_path, config)
    heap = [r for r in regions if r.object == JAVA_HEAP]
    assert [(r.start, r.end) for r in heap] == nmt(config, "Java Heap")
    assert all(r.path.startswith(HUGETLB) and r.kind == kinds.ANON for r in heap)
    check_never_outside(regions, truth(config))
    nodes = [t for t in truth(config) if t.what == "Metaspace"]
    assert nodes and any(r.object == METASPACE for t in nodes for r in wholly_inside(regions, t))


def test_a_code_cache_in_hugetlb_pages_is_named_alone(tmp_path):
    # One mapping of the whole reservation (240 MiB), committed whole: its segments are
    # not told apart, and the no-access region right above it (a thread's guard) is not
    # the code cache's. (JDK 25's NMT tags this reservation "Unknown", not "Code".)
    config = "g1_1g_large_pages"
    regions = classified(tmp_path, config)
    code = [r for r in regions if r.object and r.object.startswith(CODE_CACHE)]
    assert [(r.start, r.end) for r in code] == nmt(config, "Code")
    assert code[0].path.startswith(HUGETLB) and code[0].object == CODE_CACHE
    assert code[0].kind == kinds.ANON  # (the kind of memory in hugetlb pages stays)


def test_a_hugetlb_mapping_of_the_heaps_size_elsewhere_is_not_the_heap(tmp_path):
    # A second mapping in hugetlb pages of the heap's size, low too (below 32 GiB, where
    # a heap with compressed oops lies): two runs, no heap.
    _, regions, facts = recorded(tmp_path, "jdk25_g1_1g_large_pages")
    ((lo, hi),) = nmt("jdk25_g1_1g_large_pages", "Java Heap")
    (heap,) = [r for r in regions if r.start == lo]
    other = heap._replace(start=8 << 30, end=(8 << 30) + hi - lo, inode=1)
    at = next(i for i, r in enumerate(regions) if r.start > other.start)
    out = classify_regions([*regions[:at], other, *regions[at:]], facts)
    assert not [r for r in out if r.object == JAVA_HEAP]
