"""A sanitizer's own memory, named on recorded processes (tests/fixtures/sanitizers,
recorded by its record.py: workload.c built by gcc 12 with -fsanitize=address, thread,
leak) against what the programs printed and what their run-times named:

- ASan's shadow layout, as ASAN_OPTIONS=verbosity=1 printed it (stderr.txt);
- ASan's size classes, as __asan_print_accumulated_stats printed them (stderr.txt);
- the chunk size of each class: the distance between two blocks malloc gave one after
  the other (stdout.txt's CHUNK lines);
- TSan's layout and every run-time's heap, as the run-time itself named its mappings
  with decorate_proc_maps=1 (the *_decorated fixtures: the kernel's map of them).
"""

from __future__ import annotations

import pytest
from helpers_sanitizer import (
    SANITIZER_FIXTURES,
    fixture_tree,
    label_hull,
    printed_chunks,
    printed_classes,
    printed_layout,
    region_at,
    runtime_label,
)

from vmtop.model import kinds
from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.explain import why_kind
from vmtop.model.facts import ClassifyFacts
from vmtop.model.sanitizer_layout import (
    ASAN_SHADOW,
    ASAN_SHADOW_GAP,
    TSAN_META,
    TSAN_PROTECTED,
    TSAN_SHADOW,
    TSAN_TRACES,
    chunks_size_of,
    heap_name,
    metadata_name,
    tool_of,
)
from vmtop.procfs.facts import read_classify_facts
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS

NAMES = ["asan", "asan_decorated", "tsan", "tsan_decorated", "lsan"]
TOOL = {"asan": "ASan", "tsan": "TSan", "lsan": "LSan"}


def tool_of_fixture(name: str) -> str:
    return TOOL[name.partition("_")[0]]


def raw(name: str):
    root, pid = fixture_tree(name)
    return parse_maps((root / str(pid) / "maps").read_bytes())


def facts_of(name: str) -> ClassifyFacts:
    root, pid = fixture_tree(name)
    return read_classify_facts(ProcFS(str(root)), pid, raw(name))


def classified(name: str):
    return classify_regions(raw(name), facts_of(name))


def printed(name: str, what: str) -> str:
    return (SANITIZER_FIXTURES / name / what).read_text()


def test_the_fixtures_are_there():
    assert all((SANITIZER_FIXTURES / name).is_dir() for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_the_sanitizer_is_told_by_its_runtime_mapped_executable(name):
    assert facts_of(name).sanitizer == tool_of_fixture(name)


@pytest.mark.parametrize("name", NAMES)
def test_columns_and_lists_name_alike(name):
    regions, facts = raw(name), facts_of(name)
    assert list(classify_columns(RegionColumns.from_regions(regions), facts)) == (
        classify_regions(regions, facts)
    )


@pytest.mark.parametrize("name", NAMES)
def test_without_the_fact_nothing_is_named(name):
    """The premise: the names come from the fact, not from the map alone."""
    plain = classify_regions(raw(name), ClassifyFacts())
    assert not [r for r in plain if tool_of(r.object)]


# -- ASan's shadow: what verbosity=1 printed ---------------------------------------------


@pytest.mark.parametrize("name", ["asan", "asan_decorated"])
def test_asan_shadow_is_the_layout_asan_printed(name):
    layout = printed_layout(printed(name, "stderr.txt"))
    assert {"LowShadow", "ShadowGap", "HighShadow"} <= set(layout)
    regions = classified(name)
    for part, obj in (
        ("LowShadow", ASAN_SHADOW),
        ("ShadowGap", ASAN_SHADOW_GAP),
        ("HighShadow", ASAN_SHADOW),
    ):
        lo, hi = layout[part]
        inside = [r for r in regions if r.start < hi and r.end > lo]
        # Every byte of the printed range is in a region so named, and each of them
        # lies in the range (the low shadow's mapping starts a page below it).
        assert sum(min(r.end, hi) - max(r.start, lo) for r in inside) == hi - lo, part
        for r in inside:
            assert r.object == obj, (part, hex(r.start))
            slack = 4096 if part == "LowShadow" else 0
            assert lo - slack <= r.start and r.end <= hi, (part, hex(r.start))
            assert r.kind == (kinds.RESERVED if part == "ShadowGap" else kinds.ANON)
    named = [r for r in regions if r.object in (ASAN_SHADOW, ASAN_SHADOW_GAP)]
    assert sum(r.size for r in named) == layout["HighShadow"][1] - layout["LowShadow"][0] + 4096


def test_the_shadow_is_reserved_without_swap_space_as_smaps_says():
    """The words say MAP_NORESERVE: smaps' VmFlags of the shadow have nr."""
    root, pid = fixture_tree("asan")
    smaps = (root / str(pid) / "smaps").read_text()
    for r in classified("asan"):
        if r.object in (ASAN_SHADOW, ASAN_SHADOW_GAP):
            block = smaps.split(f"{r.start:x}-{r.end:x} ", 1)[1]
            flags = block.split("VmFlags:", 1)[1].split("\n", 1)[0].split()
            assert "nr" in flags, hex(r.start)


def test_the_runtime_named_its_shadow_as_vmtop_does():
    labels = {"low shadow": ASAN_SHADOW, "high shadow": ASAN_SHADOW, "shadow gap": ASAN_SHADOW_GAP}
    regions = classified("asan_decorated")
    checked = 0
    for r in regions:
        label = runtime_label(r.path)
        if label in labels:
            assert r.object == labels[label], hex(r.start)
            checked += 1
    assert checked >= 3


# -- the heaps: ASan's statistics, the blocks' distances, the run-times' labels -----------


@pytest.mark.parametrize("name", ["asan", "asan_decorated"])
def test_asan_size_classes_are_the_ones_its_allocator_printed(name):
    classes = printed_classes(printed(name, "stderr.txt"))
    assert len(classes) > 20
    regions = classified(name)
    for start, (class_id, size) in classes.items():
        r = region_at(regions, start)
        assert r.start == start and r.kind == kinds.ANON, class_id
        assert chunks_size_of(r.object) == size, (class_id, r.object)
    # And no region holds chunks the allocator did not print.
    printed_sizes = {size for _, size in classes.values()}
    assert {chunks_size_of(r.object) for r in regions} - {None} <= printed_sizes


@pytest.mark.parametrize("name", NAMES)
def test_chunk_size_is_the_distance_between_two_blocks(name):
    chunks = printed_chunks(printed(name, "stdout.txt"))
    assert len(chunks) == 6
    regions = classified(name)
    for n, p, q in chunks:
        r = region_at(regions, p)
        assert chunks_size_of(r.object) == q - p >= n, (n, r.object)
        assert r.object.startswith(tool_of_fixture(name) + " heap ")


@pytest.mark.parametrize("name", ["asan_decorated", "tsan_decorated"])
def test_the_heap_is_what_the_runtime_named_it(name):
    """decorate_proc_maps=1: the allocator names the parts of its space; vmtop tells
    them apart by address alone (the same names on the undecorated twin)."""
    tool = tool_of_fixture(name)
    want = {
        "SizeClassAllocator: region data": "chunks",
        "SizeClassAllocator: freearray": metadata_name(tool),
        "SizeClassAllocator: region info": metadata_name(tool),
    }
    regions = classified(name)
    lo, hi = label_hull(regions, lambda label: label.startswith("SizeClassAllocator:"))
    seen = set()
    for r in regions:
        if not lo <= r.start < hi:
            continue
        label = runtime_label(r.path)
        if label in want:
            seen.add(label)
            if want[label] == "chunks":
                assert chunks_size_of(r.object) is not None, hex(r.start)
            else:
                assert r.object == want[label], hex(r.start)
        elif label == "SizeClassAllocator" or (label is None and r.start >= lo + (1 << 30)):
            assert r.object == heap_name(tool) and r.kind == kinds.RESERVED, hex(r.start)
    assert seen == set(want)
    twin = classified(name.partition("_")[0])
    for r in twin:
        if lo <= r.start < hi and not r.perms.startswith("---"):
            d = region_at(regions, r.start)
            assert (r.object == d.object) or (
                chunks_size_of(r.object) == chunks_size_of(d.object) is not None
            ), hex(r.start)


def test_lsan_keeps_chunk_metadata_below_the_free_array():
    """LSan's allocator has per-chunk metadata, at the top of each class's region right
    below its free array: the kernel merges the two; both are the heap's metadata."""
    regions = classified("lsan")
    metadata = [
        r for r in regions if r.object == metadata_name("LSan") and r.start < 0x640000000000
    ]
    below_free_array = [r for r in metadata if r.start % (1 << 36) < 0xE00000000]
    assert below_free_array and all(r.end % (1 << 36) > 0xE00000000 for r in below_free_array)


# -- TSan: its layout as its run-time named it -------------------------------------------


def test_tsan_parts_are_where_its_runtime_named_them():
    """The fixed parts are at the same addresses in every run: the labels of the
    decorated run say what each range of the plain run is."""
    labelled = classified("tsan_decorated")
    hulls = {
        TSAN_SHADOW: label_hull(labelled, lambda label: label == "shadow"),
        TSAN_META: label_hull(labelled, lambda label: label == "meta shadow"),
        TSAN_TRACES: label_hull(labelled, lambda label: label.startswith("trace")),
        "TSan heap": label_hull(labelled, lambda label: label.startswith("SizeClassAllocator:")),
    }
    for name in ("tsan", "tsan_decorated"):
        regions = classified(name)
        for obj, (lo, hi) in hulls.items():
            inside = [r for r in regions if lo <= r.start and r.end <= hi]
            assert inside, (name, obj)
            for r in inside:
                if obj == "TSan heap":
                    assert (r.object or "").startswith("TSan heap"), hex(r.start)
                elif obj != TSAN_TRACES or r.start < hi:
                    assert r.object == obj, (name, hex(r.start), r.object)
        # What TSan keeps unmapped: no-access memory the run-time did not name, between
        # its parts (or, merged, the heap's never used first class).
        gaps = [r for r in regions if r.object == TSAN_PROTECTED]
        assert len(gaps) >= 5
        for r in gaps:
            d = region_at(labelled, r.start)
            assert d.perms == "---p" and runtime_label(d.path) is None, hex(r.start)
            assert r.size >= 1 << 30, hex(r.start)  # (no thread stack's guard)


def test_tsan_read_only_shadow_is_its_file():
    lo, hi = label_hull(classified("tsan_decorated"), lambda label: label == "shadow")
    rodata = [r for r in classified("tsan") if "tsan.rodata" in r.path]
    assert rodata  # one a read-only mapping
    for r in rodata:
        assert (r.kind, r.object) == (kinds.FILE, TSAN_SHADOW)
        assert lo <= r.start < hi and "marker" in why_kind(r)


def test_the_runtimes_other_named_mappings_keep_its_names():
    regions = classified("tsan_decorated")
    named = {r.object for r in regions if runtime_label(r.path)}
    assert "TSan large chunk" in named and "TSan: stack depot" in named
    for r in regions:
        if runtime_label(r.path) and not r.perms.startswith("---"):
            assert r.kind == kinds.ANON, hex(r.start)


# -- the words ------------------------------------------------------------------------------


def test_every_named_region_is_explained():
    generic = why_kind(
        classify_regions(raw("asan"), ClassifyFacts())[0]._replace(object=None)
    )  # (the words any anonymous region gets)
    words = {}
    for name in NAMES:
        for r in classified(name):
            if tool_of(r.object):
                why = why_kind(r)
                assert why and why != generic, (name, r.object)
                words.setdefault(r.object, why)
    assert "one shadow byte for every 8 bytes" in words[ASAN_SHADOW].lower()
    assert "MAP_NORESERVE" in words[ASAN_SHADOW]
    assert "quarantine" in words[ASAN_SHADOW] and "redzones" in words[ASAN_SHADOW]
    assert "No access" in words[ASAN_SHADOW_GAP]
    assert "4 shadow cells" in words[TSAN_SHADOW]
    assert words["ASan heap 48 B"].startswith("Chunks of 48 bytes")
    assert "free array of the" in words[metadata_name("TSan")]
