"""V8's heap pages named in a Node process's map (vmtop.model.v8_pages), checked
against V8's own list of its pages (node --trace-gc-heap-layout) of the same moment:
tests/fixtures/v8_layout/ holds the maps of Node 20 and the page list (space, address,
size)."""

from __future__ import annotations

from pathlib import Path

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts
from vmtop.model.region import Region
from vmtop.model.v8_pages import BELOW, PAGE_SIZE, V8_LARGE, V8_PAGE, runs_v8
from vmtop.procfs.parse_maps import parse_maps

LAYOUT = Path(__file__).parent / "fixtures" / "v8_layout"


def pages() -> list[tuple[str, int, int]]:
    rows = (line.split("\t") for line in (LAYOUT / "pages.tsv").read_text().splitlines())
    return [(space, int(at, 16), int(size)) for space, at, size in rows]


def named(regions) -> list:
    return [r for r in regions if r.object in (V8_PAGE, V8_LARGE)]


def test_every_heap_page_below_2_46_is_named_and_nothing_else():
    regions = classify_regions(parse_maps((LAYOUT / "maps").read_bytes()), ClassifyFacts(v8=True))
    found = named(regions)
    listed = [(at, size) for _, at, size in pages() if at < BELOW]
    assert len(listed) == 265
    for at, size in listed:
        assert any(r.start <= at and at + size <= r.end for r in found), hex(at)
    # Named and not in the list: pages V8 keeps pooled (freed by the last GC): two.
    extra = [r for r in found if not any(r.start <= at < r.end for at, _ in listed)]
    assert len(extra) <= 2 and all(r.size == PAGE_SIZE for r in extra)
    assert all(r.start % PAGE_SIZE == 0 and r.start < BELOW for r in found)
    big = [r for r in found if r.object == V8_LARGE]
    assert big and all(r.size > PAGE_SIZE for r in big)


def test_not_named_outside_v8():
    # (Where libraries sit below 2^46 too: test_node_layouts.)
    text = (LAYOUT / "maps").read_bytes()
    assert not named(classify_regions(parse_maps(text)))


def test_which_programs_run_v8():
    assert runs_v8(["/usr/bin/node", "[heap]"]) and runs_v8(["/usr/lib/libnode.so.109"])
    assert not runs_v8(["/usr/bin/python3.11", "/usr/lib/x86_64-linux-gnu/libc.so.6"])
    assert not runs_v8(["[anon:node]"])


def test_a_page_is_explained():
    from vmtop.model.explain import why_kind

    regions = classify_regions(parse_maps((LAYOUT / "maps").read_bytes()), ClassifyFacts(v8=True))
    page = next(r for r in regions if r.object == V8_PAGE)
    assert why_kind(page).startswith("Node's JavaScript heap (V8), one page")


def test_a_v8_page_mapped_is_said_to_be_one_not_a_malloc_the_map_cannot_tell():
    # watch said "malloc above its mmap threshold, or a direct mmap …; the map cannot
    # tell which" of pages snapshot names "V8 heap page".
    from vmtop.model.event_words import BIG_ANON_MAPPED, mapped_detail, unmapped_detail

    page = Region(0x1959D40000, 0x1959D80000, "rw-p", 0, "00:00", 0, "", kind=kinds.ANON,
                  object=V8_PAGE)  # fmt: skip
    said = mapped_detail(page, page.start, page.size, False, False, False)
    assert "V8 heap page" in said and "cannot tell" not in said and BIG_ANON_MAPPED not in said
    gone = unmapped_detail(page, page.start, page.end, page.size, False, False)
    assert "V8 heap page given back" in gone, gone
