"""No false names: a sanitizer is told by its run-time only, and its memory is named
only where the map has the run-time's own mappings. Every other recorded map (JVMs,
Node, Chromium, CPython, PostgreSQL, CUDA, hand-made trees) gets no sanitizer name,
not even when classified as if it ran one; a sanitized map that lacks one of the
mappings its layout begins with gets none for that part. And the cost of naming a huge
sanitized map."""

from __future__ import annotations

import time

import pytest
from conftest import FIXTURES
from helpers_sanitizer import fixture_tree

from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.facts import ClassifyFacts
from vmtop.model.region import Region
from vmtop.model.sanitizer_layout import (
    ASAN_SHADOW,
    HIGH_SHADOW_END,
    TOOLS,
    TSAN_SHADOW,
    chunk_size,
    heap_name,
    tool_of,
)
from vmtop.procfs.facts import read_classify_facts
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.sanitizer_runtime import mapped_runtime, runtime_tool

OTHER_MAPS = sorted(
    p
    for p in list(FIXTURES.rglob("maps")) + list(FIXTURES.rglob("*.maps"))
    if "sanitizers" not in p.parts and p.is_file()
)
TREES = [p for p in OTHER_MAPS if p.name == "maps" and p.parent.name.isdigit()]


def sanitizer_objects(regions) -> set[str]:
    return {r.object for r in regions if tool_of(r.object)}


def test_there_are_other_maps():
    assert len(OTHER_MAPS) > 50 and len(TREES) > 20


@pytest.mark.parametrize("maps", TREES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_no_other_recorded_process_runs_a_sanitizer(maps):
    regions = parse_maps(maps.read_bytes())
    pid = int(maps.parent.name)
    facts = read_classify_facts(ProcFS(str(maps.parent.parent)), pid, regions)
    assert facts.sanitizer == ""
    assert not sanitizer_objects(classify_regions(regions, facts))


@pytest.mark.parametrize("maps", OTHER_MAPS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_no_other_map_gets_a_name_even_taken_for_a_sanitized_one(maps):
    regions = parse_maps(maps.read_bytes())
    for tool in TOOLS:
        assert not sanitizer_objects(classify_regions(regions, ClassifyFacts(sanitizer=tool)))


# -- the run-time, told by its file -----------------------------------------------------------


def test_a_runtime_is_told_by_its_file_name():
    assert runtime_tool("/usr/lib/x86_64-linux-gnu/libasan.so.8.0.0") == "ASan"
    assert runtime_tool("/usr/lib/x86_64-linux-gnu/libasan.so.8.0.0 (deleted)") == "ASan"
    assert runtime_tool("/usr/lib/x86_64-linux-gnu/libtsan.so.2.0.0") == "TSan"
    assert runtime_tool("/usr/lib/x86_64-linux-gnu/liblsan.so.0") == "LSan"
    assert runtime_tool("/usr/lib/clang/18/lib/linux/libclang_rt.asan-x86_64.so") == "ASan"
    assert runtime_tool("/usr/lib/llvm-19/lib/clang/19/lib/x86_64/libclang_rt.tsan.so") == "TSan"
    for other in (
        "/usr/lib/x86_64-linux-gnu/libubsan.so.1",
        "/usr/lib/libasan_wrapper.so",
        "/home/me/libasan.so.txt",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
    ):
        assert runtime_tool(other) is None, other


def test_a_runtime_only_read_runs_nothing():
    lib = "/usr/lib/x86_64-linux-gnu/libasan.so.8.0.0"
    read = [Region(0x7F0000000000, 0x7F0000100000, "r--p", 0, "fe:00", 7, lib)]
    assert mapped_runtime(read, {lib}) == ""
    code = read + [Region(0x7F0000100000, 0x7F0000200000, "r-xp", 0x100000, "fe:00", 7, lib)]
    assert mapped_runtime(code, {lib}) == "ASan"
    assert mapped_runtime(RegionColumns.from_regions(code), {lib}) == "ASan"


# -- a layout that is not all there ----------------------------------------------------------


def _asan_map():
    root, pid = fixture_tree("asan")
    regions = parse_maps((root / str(pid) / "maps").read_bytes())
    return regions, ClassifyFacts(sanitizer="ASan")


def test_a_shadow_not_where_the_runtime_maps_it_is_not_named():
    regions, facts = _asan_map()
    assert ASAN_SHADOW in sanitizer_objects(classify_regions(regions, facts))
    # The high shadow ends 4 KiB short of where ASan's layout ends it, the low shadow
    # and the gap are gone: no shadow named.
    moved = [
        r._replace(end=r.end - 4096) if r.end == HIGH_SHADOW_END else r
        for r in regions
        if r.start >= 0x2008FFF7000
    ]
    named = classify_regions(moved, facts)
    assert ASAN_SHADOW not in sanitizer_objects(named)
    assert heap_name("ASan") in sanitizer_objects(named)  # (its heap is all there)


def test_reserved_address_space_where_the_shadow_starts_is_no_shadow():
    """A CUDA process reserves no-access space at 0x10000000000, where TSan's shadow
    starts: the run-time's shadow is memory (rw-), and so is its meta shadow."""
    root, pid = fixture_tree("tsan")
    regions = parse_maps((root / str(pid) / "maps").read_bytes())
    facts = ClassifyFacts(sanitizer="TSan")
    assert TSAN_SHADOW in sanitizer_objects(classify_regions(regions, facts))
    anchors = (0x010000000000, 0x300000000000)
    reserved = [r._replace(perms="---p") if r.start in anchors else r for r in regions]
    objects = sanitizer_objects(classify_regions(reserved, facts))
    assert TSAN_SHADOW not in objects and "TSan meta shadow" not in objects


def test_a_heap_with_a_hole_or_no_state_pages_is_not_named():
    regions, facts = _asan_map()
    heap = [r for r in regions if 0x600000000000 <= r.start <= 0x640000000000]
    no_state = [r for r in regions if r.start != 0x640000000000]
    holed = [r for r in regions if r is not heap[5]]
    for changed in (no_state, holed):
        objects = sanitizer_objects(classify_regions(changed, facts))
        assert ASAN_SHADOW in objects
        assert not [o for o in objects if o.startswith("ASan heap")]


def test_chunk_sizes_are_default_size_class_maps():
    # (the classes ASan printed in tests/fixtures/sanitizers/asan/stderr.txt)
    printed = {2: 32, 3: 48, 11: 176, 17: 320, 25: 1280, 33: 5120, 49: 81920, 52: 131072}
    assert {c: chunk_size(c) for c in printed} == printed
    assert chunk_size(0) is None and chunk_size(53) is None


# -- cost -----------------------------------------------------------------------------------


def test_a_huge_sanitized_map_is_named_at_the_cost_of_its_parts():
    """2 000 regions of TSan shadow (threads' stacks split it so) in a map of 200 000:
    the parts are found by bisection and only the regions in them looked at, so naming
    costs next to nothing beside classifying (which skips runs of plain anonymous
    memory in C). (A TSan process with 500 threads has 7 000 regions here.)"""
    root, pid = fixture_tree("tsan")
    base = parse_maps((root / str(pid) / "maps").read_bytes())
    shadow_lo, app_lo = 0x20000000000, 0x7E9000000000
    extra = [
        Region(lo + i * 0x2000, lo + i * 0x2000 + 0x1000, "rw-p", 0, "00:00", 0, "")
        for lo, count in ((shadow_lo, 2_000), (app_lo, 200_000))
        for i in range(count)
    ]
    regions = sorted(
        [r for r in base if not (shadow_lo <= r.start < shadow_lo + 0x40000000)] + extra,
        key=lambda r: r.start,
    )
    columns = RegionColumns.from_regions(regions)
    took = {"": [], "TSan": []}
    for _ in range(3):
        for tool in took:
            t = time.perf_counter()
            named = classify_columns(columns, ClassifyFacts(sanitizer=tool))
            took[tool].append(time.perf_counter() - t)
    assert sum(1 for o in named.column("object") if o == TSAN_SHADOW) > 2_000
    plain, sanitized = min(took[""]), min(took["TSan"])
    assert sanitized - plain < 0.1, (plain, sanitized)
