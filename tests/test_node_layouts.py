"""Node's V8 named in maps copied from real Node 20 processes (tests/fixtures/node/, from
a review that ran them with V8's own figures beside): the legacy bottom-up layout
(``ulimit -s unlimited``), where libraries sit below 2^46 among V8's pages; a
WebAssembly memory and three isolates' code ranges (the main thread and two workers);
which programs run V8; and what a V8 page's explanation says."""

from __future__ import annotations

from pathlib import Path

from vmtop.model import kinds
from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.explain import why_kind
from vmtop.model.facts import ClassifyFacts
from vmtop.model.v8_pages import BELOW, PAGE_SIZE, V8_LARGE, V8_PAGE, runs_v8
from vmtop.model.v8_reservations import CODE_RANGE, WASM_MEMORY
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.v8_binary import exports_v8

NODE = Path(__file__).parent / "fixtures" / "node"
GiB, MiB = 1 << 30, 1 << 20
# The review's figures for these processes: V8's heapTotal less its code space (one
# 256 KiB page), plus V8's read-only page (52 KiB, r--), at the baseline of Node 20.
HEAP_TOTAL, CODE_SPACE, READ_ONLY_PAGE = 4_694_016, 262_144, 53_248
# Where, in legacy_maps, the kernel packed its own mmaps: libraries, the main thread's
# code range, glibc's arena, the platform threads' stacks (from the review's report).
LEGACY_CLUSTER = (0x14FC68000000, 0x14FC8E8F5000)


def classified(name: str) -> list:
    return classify_regions(parse_maps((NODE / name).read_bytes()), ClassifyFacts(v8=True))


def heap_pages(regions) -> list:
    return [r for r in regions if r.object in (V8_PAGE, V8_LARGE)]


def test_legacy_layout_pages_are_named_outside_the_kernels_cluster():
    regions = classified("legacy_maps")
    low, high = LEGACY_CLUSTER
    assert any(".so" in r.path and low <= r.start < high for r in regions)  # the layout
    named = heap_pages(regions)
    assert sum(r.size for r in named) == HEAP_TOTAL - CODE_SPACE + READ_ONLY_PAGE
    assert not [r for r in named if low <= r.start < high]
    # Every 256 KiB-aligned anonymous page outside the cluster is one.
    outside = [
        r for r in regions
        if r.kind == kinds.ANON and not r.path and r.start < BELOW
        and not r.start % PAGE_SIZE and not low <= r.start < high
    ]  # fmt: skip
    assert outside == named


def test_a_library_below_2_46_leaves_pages_far_from_it_named():
    text = (NODE / "workers_maps").read_bytes()
    usual = heap_pages(classify_regions(parse_maps(text), ClassifyFacts(v8=True)))
    page = usual[len(usual) // 2]
    # A library mapped 64 KiB above one page: that page is among the kernel's, not V8's.
    lib = f"{page.end + 0x10000:x}-{page.end + 0x20000:x} r--p 00000000 fe:00 99 /x/libz.so.1\n"
    lines = sorted(
        [*text.splitlines(keepends=True), lib.encode()],
        key=lambda line: int(line.split(b"-")[0], 16),
    )
    named = heap_pages(classify_regions(parse_maps(b"".join(lines)), ClassifyFacts(v8=True)))
    assert [(r.start, r.end) for r in named] == [
        (r.start, r.end) for r in usual if r.start != page.start
    ]


def test_a_webassembly_memory_is_named_whole():
    # The process had one WebAssembly.Memory grown to 4096 pages: 256 MiB (external
    # went from 68,661,241 to 269,987,828 bytes as it grew from 64 MiB).
    regions = classified("workers_maps")
    wasm = [r for r in regions if r.object == WASM_MEMORY]
    assert [r.kind for r in wasm] == [kinds.RESERVED, kinds.ANON, kinds.RESERVED]
    assert wasm[1].size == 256 * MiB
    assert wasm[0].size == 2 * GiB and wasm[-1].end - wasm[0].start == 10 * GiB


def test_each_isolates_code_range_is_named():
    # Three isolates: the main thread's and two workers' (two of them touch).
    regions = classified("workers_maps")
    named = [r for r in regions if r.object == CODE_RANGE]
    heads = {r.start for r in named if r.perms == "rw-p"}
    ranges = [
        (r.end - 512 * MiB, r.end)
        for r in named
        if r.kind == kinds.RESERVED and r.end - 512 * MiB in heads
    ]
    assert len(ranges) == 3
    assert all(any(s <= r.start and r.end <= e for s, e in ranges) for r in named)
    for start, end in ranges:
        inside = [r for r in regions if start <= r.start < end]
        assert sum(r.size for r in inside) == 512 * MiB  # no hole
        assert any(r.kind == kinds.JIT and r.object == CODE_RANGE for r in inside)
        # The builtins remapped from the executable stay its text.
        assert [r.path for r in inside if r.path] == ["/usr/bin/node"]


def test_a_map_held_as_columns_gets_the_same_names():
    regions = parse_maps((NODE / "workers_maps").read_bytes())
    as_columns = classify_columns(RegionColumns.from_regions(regions), ClassifyFacts(v8=True))
    as_list = classify_regions(regions, ClassifyFacts(v8=True))
    assert [(r.kind, r.object) for r in as_columns] == [(r.kind, r.object) for r in as_list]
    assert any(r.object == CODE_RANGE for r in as_list)


def wasm_lines(below: int, memory: int, above: int) -> bytes:
    at, out = 0x7F0000000000, []
    for size, perms in ((below, "---p"), (memory, "rw-p"), (above, "---p")):
        out.append(f"{at:x}-{at + size:x} {perms} 00000000 00:00 0\n")
        at += size
    return "".join(out).encode()


def test_a_webassembly_memory_with_a_merged_end_is_named_where_exact():
    def objects(below, memory, above):
        regions = classify_regions(
            parse_maps(wasm_lines(below, memory, above)), ClassifyFacts(v8=True)
        )
        return [r.object for r in regions]

    w = WASM_MEMORY
    assert objects(2 * GiB, MiB, 8 * GiB - MiB) == [w, w, w]
    # Seen live: the next memory, mapped right below, merged its end with this guard.
    assert objects(18 * GiB, MiB, 8 * GiB - MiB) == [None, w, w]
    assert objects(2 * GiB, MiB, 18 * GiB) == [w, w, None]
    assert objects(2 * GiB - 4096, MiB, 8 * GiB - MiB) == [None, None, None]
    assert objects(2 * GiB, MiB, 8 * GiB - 2 * MiB) == [None, None, None]
    # Not outside a V8 process.
    regions = classify_regions(parse_maps(wasm_lines(2 * GiB, MiB, 8 * GiB - MiB)))
    assert [r.object for r in regions] == [None, None, None]


def test_which_programs_run_v8_by_name():
    for path in ("/usr/bin/node", "/usr/bin/node-20", "/usr/bin/nodejs20", "/opt/node22",
                 "/usr/bin/node-v20.11.1", "/usr/lib/libnode.so.115"):  # fmt: skip
        assert runs_v8([path]), path
    for path in ("/usr/bin/nodemon", "/usr/bin/noded", "/usr/lib/libnodejs-helper.so"):
        assert not runs_v8([path]), path


def test_a_program_that_exports_v8s_api_runs_v8(compile_c):
    # V8's API, as an embedder exports it for native addons (mangled v8::Isolate::New).
    v8 = compile_c("void _ZN2v87Isolate3NewEv(void) {}\nint main(void) { return 0; }\n",
                   "-rdynamic")  # fmt: skip
    plain = compile_c("int main(void) { return 0; }\n", "-rdynamic")
    with open(v8, "rb") as stream:
        assert exports_v8(stream)
    with open(plain, "rb") as stream:
        assert not exports_v8(stream)


def test_a_v8_page_is_not_said_to_be_in_code_space():
    page = next(r for r in classified("workers_maps") if r.object == V8_PAGE)
    said = why_kind(page)
    assert "(old, new, code)" not in said
    assert "not code space" in said and "code range" in said


def test_the_v8_reservations_are_explained():
    regions = classified("workers_maps")
    said = {
        (r.object, r.kind): why_kind(r) for r in regions if r.object in (WASM_MEMORY, CODE_RANGE)
    }
    assert "10 GiB" in said[(WASM_MEMORY, kinds.ANON)]
    assert "external" in said[(WASM_MEMORY, kinds.ANON)]
    assert "Address space, not memory" in said[(WASM_MEMORY, kinds.RESERVED)]
    assert "512 MiB" in said[(CODE_RANGE, kinds.RESERVED)]
    assert "code space" in said[(CODE_RANGE, kinds.JIT)]
    assert "header of a code page" in said[(CODE_RANGE, kinds.ANON)]
