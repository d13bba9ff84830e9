"""The Go heap, named where Go puts it (vmtop/model/go_heap.py).

The map is that of a real Go program (/usr/lib/google-cloud-sdk/bin/gcloud-crc32c,
Go's own linker, reading a FIFO), and its threads' stack pointers as its
task/*/syscall gave them: Go runs its threads on stacks it allocates in its heap. The
heap's first 64 MiB arena was "arena heap 1", and with the stack pointers, "threads
…"."""

from __future__ import annotations

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.explain import why_kind
from vmtop.model.facts import ClassifyFacts
from vmtop.model.go_heap import GO_HEAP
from vmtop.procfs.parse_maps import parse_maps

EXE = b"/usr/lib/google-cloud-sdk/bin/gcloud-crc32c"
MAPS = (
    b"00400000-004ad000 r-xp 00000000 fe:00 270902 " + EXE + b"\n"
    b"004ad000-00588000 r--p 000ad000 fe:00 270902 " + EXE + b"\n"
    b"00588000-00593000 rw-p 00188000 fe:00 270902 " + EXE + b"\n"
    b"00593000-005b7000 rw-p 00000000 00:00 0\n"
    b"c000000000-c000400000 rw-p 00000000 00:00 0\n"
    b"c000400000-c004000000 ---p 00000000 00:00 0\n"
    b"7eff3b700000-7eff3d800000 rw-p 00000000 00:00 0\n"
    b"7eff3d800000-7eff4d980000 ---p 00000000 00:00 0\n"
    b"7eff8203e000-7eff820ef000 rw-p 00000000 00:00 0\n"
    b"7ffd8d5ac000-7ffd8d5cd000 rw-p 00000000 00:00 0 [stack]\n"
)
# task/*/syscall's stack pointers (the 8th field): two in the Go heap, one in .bss.
STACK_POINTERS = {5001: 0xC00008AC88, 5002: 0xC00005FE40, 5003: 0x594280}


def kinds_and_objects(regions) -> dict[int, tuple[str, str | None]]:
    return {r.start: (r.kind, r.object) for r in regions}


def test_the_first_arena_and_its_reserve_are_the_go_heap_not_a_glibc_arena():
    got = kinds_and_objects(classify_regions(parse_maps(MAPS)))
    assert got[0xC0_0000_0000] == (kinds.ANON, GO_HEAP)
    assert got[0xC0_0040_0000] == (kinds.RESERVED, GO_HEAP)
    assert not [o for _, o in got.values() if o and o.startswith("arena heap")]


def test_threads_running_on_stacks_in_the_go_heap_leave_it_the_go_heap():
    facts = ClassifyFacts(stack_pointers=STACK_POINTERS)
    for regions in (parse_maps(MAPS), RegionColumns.from_regions(parse_maps(MAPS))):
        got = kinds_and_objects(classify_regions(regions, facts))
        assert got[0xC0_0000_0000] == (kinds.ANON, GO_HEAP)


def test_with_cgo_a_glibc_arena_elsewhere_is_still_an_arena():
    arena = (
        b"7f2e40000000-7f2e40021000 rw-p 00000000 00:00 0\n"
        b"7f2e40021000-7f2e44000000 ---p 00000000 00:00 0\n"
    )
    lines = MAPS.splitlines(keepends=True)
    got = kinds_and_objects(classify_regions(parse_maps(b"".join(lines[:-1]) + arena + lines[-1])))
    assert got[0x7F2E_4000_0000] == (kinds.ARENA, "arena heap 1")
    assert got[0xC0_0000_0000] == (kinds.ANON, GO_HEAP)


def test_not_a_go_heap_where_the_region_does_not_start_at_go_s_hint():
    moved = MAPS.replace(b"c000000000-c000400000", b"c004000000-c004400000").replace(
        b"c000400000-c004000000", b"c004400000-c008000000"
    )
    got = kinds_and_objects(classify_regions(parse_maps(moved)))
    assert GO_HEAP not in {o for _, o in got.values()}
    # A file mapped there is no heap either.
    filed = MAPS.replace(b"c000000000-c000400000 rw-p 00000000 00:00 0",
                         b"c000000000-c000400000 rw-p 00000000 fe:00 9 /data")  # fmt: skip
    assert GO_HEAP not in {
        o for _, o in kinds_and_objects(classify_regions(parse_maps(filed))).values()
    }


def test_the_go_heap_is_explained():
    regions = classify_regions(parse_maps(MAPS))
    heap = next(r for r in regions if r.start == 0xC0_0000_0000)
    reserve = next(r for r in regions if r.start == 0xC0_0040_0000)
    assert "0xc000000000" in why_kind(heap) and "scavenger" in why_kind(heap)
    assert "grow into" in why_kind(reserve)


def test_a_map_read_again_names_a_new_arena_as_a_whole_read_does():
    """The heap's second arena, made usable past the first: the map read again, only
    the piece that changed classified anew (with the heap's start: no rule cuts a run
    of anonymous memory), gives what a whole read does."""
    from vmtop.procfs.maps_delta import read_again, read_whole

    def no_facts(regions):
        return ClassifyFacts()

    state, _ = read_whole(MAPS, no_facts)
    grown = MAPS.replace(
        b"c000400000-c004000000 ---p 00000000 00:00 0\n",
        b"c000400000-c004000000 rw-p 00000000 00:00 0\n"
        b"c004000000-c004100000 rw-p 00000000 00:00 0\n"
        b"c004100000-c008000000 ---p 00000000 00:00 0\n",
    )
    _, again, _ = read_again(state, grown, no_facts)
    assert again == classify_regions(parse_maps(grown))
    assert kinds_and_objects(again)[0xC0_0410_0000] == (kinds.RESERVED, GO_HEAP)


def test_go_1_25_s_named_heap_is_the_go_heap_wherever_it_is():
    """Go 1.25+ names its heap "[anon: Go: heap]" where the kernel names mappings; Go
    1.26 puts it at a random base (review): the name says it, the address cannot."""
    named = MAPS.replace(
        b"c000000000-c000400000 rw-p 00000000 00:00 0\n",
        b"1a2c000000-1a2c400000 rw-p 00000000 00:00 0 [anon: Go: heap]\n",
    ).replace(
        b"c000400000-c004000000 ---p 00000000 00:00 0\n",
        b"1a2c400000-1a30000000 ---p 00000000 00:00 0 [anon: Go: heap]\n",
    )
    pointers = {5001: 0x1A2C08AC88, 5003: 0x594280}
    for regions in (parse_maps(named), RegionColumns.from_regions(parse_maps(named))):
        got = kinds_and_objects(classify_regions(regions, ClassifyFacts(stack_pointers=pointers)))
        assert got[0x1A_2C00_0000] == (kinds.NAMED_ANON, GO_HEAP)
        assert got[0x1A_2C40_0000][1] == GO_HEAP
    heap = next(r for r in classify_regions(parse_maps(named)) if r.start == 0x1A_2C00_0000)
    assert "[anon: Go: heap]" in why_kind(heap) and "scavenger" in why_kind(heap)
