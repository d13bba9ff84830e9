"""What vmtop names in Chromium's processes beyond a renderer's heaps: PartitionAlloc's
low 4 GiB reserve (in every process; it was taken for V8's "Smi guard"), V8's code range,
trusted range and pointer tables (vmtop.model.chromium_v8_ranges).

Ground truth: the browser, zygote and renderer recorded in
tests/fixtures/chromium_processes, whose truth.tsv says, from strace of Chromium's mmap
calls and V8's sources, what each region is (README.md there); hand-made maps for the
shapes that only look alike."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from vmtop.model import chromium_heaps as ch
from vmtop.model import chromium_v8_ranges as cr
from vmtop.model import kinds
from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.explain import why_kind
from vmtop.model.facts import ClassifyFacts
from vmtop.model.v8_reservations import CODE_RANGE
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40
HERE = FIXTURES / "chromium_processes"
V8 = ClassifyFacts(v8=True)


def truth() -> list[tuple[str, int, int, str]]:
    out = []
    for text in (HERE / "truth.tsv").read_text().splitlines():
        if text and not text.startswith("#"):
            folder, start, end, obj, _evidence = text.split("\t")
            out.append((folder, int(start, 16), int(end, 16), obj))
    return out


def snapshot(folder: str):
    root = HERE / folder
    pid = int(next(root.glob("[0-9]*")).name)
    return take_snapshot(ProcFS(str(root)), pid)


def within(regions, start: int, end: int) -> list:
    return [r for r in regions if start <= r.start and r.end <= end]


# -- the recorded processes -------------------------------------------------------------


@pytest.mark.parametrize("folder, start, end, obj", truth())
def test_every_region_of_the_truth_file_gets_its_name(folder, start, end, obj):
    regions = within(snapshot(folder).regions, start, end)
    assert regions and regions[0].start == start and regions[-1].end == end
    assert {r.object for r in regions} == {obj}


def test_the_low_reserve_is_partitionalloc_s_in_every_process():
    for folder in ("browser", "zygote", "renderer"):
        (low,) = within(snapshot(folder).regions, 0x10000, 0x1_0010_0000)
        assert (low.kind, low.object) == (kinds.RESERVED, ch.PA_LOW_RESERVE), folder
        assert "PartitionAlloc" in why_kind(low)


def test_the_code_range_is_jit_and_the_trusted_range_committed_or_reserved():
    regions = snapshot("renderer").regions
    (code,) = [r for r in regions if r.object == CODE_RANGE]
    assert (code.kind, code.perms, code.size) == (kinds.JIT, "rwxp", 512 * MiB)
    trusted = [r for r in regions if r.object == cr.TRUSTED_RANGE]
    assert sum(r.size for r in trusted) == GiB
    assert {(r.perms, r.kind) for r in trusted} == {
        ("---p", kinds.RESERVED),
        ("rw-p", kinds.ANON),
    }
    for r in trusted:
        assert "trusted" in why_kind(r)


def test_processes_without_v8_s_sandbox_have_no_code_or_trusted_range():
    """The browser runs no renderer's V8 (no sandbox, no rwx code range), the zygote
    none yet: nothing of them gets V8's names."""
    for folder in ("browser", "zygote"):
        objects = {r.object for r in snapshot(folder).regions}
        assert not objects & {CODE_RANGE, cr.TRUSTED_RANGE, cr.POINTER_TABLES, ch.V8_SANDBOX}, (
            folder
        )


def test_nothing_else_of_the_recordings_gets_the_new_names():
    for folder in ("browser", "zygote", "renderer"):
        named = [
            (r.start, r.end)
            for r in snapshot(folder).regions
            if r.object in (CODE_RANGE, cr.TRUSTED_RANGE, cr.POINTER_TABLES, ch.PA_LOW_RESERVE)
        ]
        spans = [(s, e) for f, s, e, _ in truth() if f == folder]
        assert all(any(s <= a and b <= e for s, e in spans) for a, b in named), folder


# -- shapes, by hand -----------------------------------------------------------------------

EXE = "/usr/lib/chromium/chromium"
POOLS = 0x2620_0000_0000
SANDBOX = 0x2D11_0000_0000
TRUSTED = 0x143E_0000_0000
CODE = 0x55D3_9C24_0000


def line(start: int, end: int, perms: str = "---p", path: str = "") -> bytes:
    inode = b"fe:00 1458274" if path else b"00:00 0"
    return b"%x-%x %s 00000000 %s %s\n" % (start, end, perms.encode(), inode, path.encode())


def pools() -> list[bytes]:
    """PartitionAlloc's 32 GiB: a super page of slot spans after its guard."""
    b = POOLS
    return [line(b, b + 0x4000), line(b + 0x4000, b + 0x10_8000, "rw-p"),
            line(b + 0x10_8000, b + 32 * GiB)]  # fmt: skip


def sandbox() -> list[bytes]:
    return [line(SANDBOX - 64 * GiB, SANDBOX), line(SANDBOX, SANDBOX + 0x10_0000, "rw-p"),
            line(SANDBOX + 0x10_0000, SANDBOX + TiB + 288 * GiB)]  # fmt: skip


def trusted(size: int = GiB) -> list[bytes]:
    t = TRUSTED
    return [line(t, t + 16 * MiB), line(t + 16 * MiB, t + 17 * MiB, "rw-p"),
            line(t + 17 * MiB, t + size)]  # fmt: skip


def code(size: int = 512 * MiB, at: int = CODE) -> list[bytes]:
    return [line(at, at + size, "rwxp")]


def executable(path: str = EXE) -> list[bytes]:
    at = 0x55FB_5C94_4000
    return [line(at, at + MiB, "r--p", path), line(at + MiB, at + 2 * MiB, "r-xp", path)]


def process(*parts: list[bytes], low: bool = True, path: str = EXE) -> list:
    lines = [line(0x10000, 0x1_0010_0000)] if low else []
    for part in parts:
        lines += part
    return parse_maps(
        b"".join(sorted([*lines, *executable(path)], key=lambda b: int(b.split(b"-")[0], 16)))
    )


def at(regions, address: int):
    (found,) = [r for r in regions if r.start <= address < r.end]
    return found


def test_a_renderer_s_ranges_by_hand():
    regions = classify_regions(process(pools(), trusted(), sandbox(), code()), V8)
    assert at(regions, 0x10000).object == ch.PA_LOW_RESERVE
    assert (at(regions, CODE).kind, at(regions, CODE).object) == (kinds.JIT, CODE_RANGE)
    for address, kind in ((TRUSTED, kinds.RESERVED), (TRUSTED + 16 * MiB, kinds.ANON),
                          (TRUSTED + GiB - 1, kinds.RESERVED)):  # fmt: skip
        assert (at(regions, address).kind, at(regions, address).object) == (
            kind,
            cr.TRUSTED_RANGE,
        )


def test_columns_give_what_a_list_gives():
    raw = process(pools(), trusted(), sandbox(), code())
    listed = classify_regions(raw, V8)
    columned = list(classify_columns(RegionColumns.from_regions(raw), V8))
    assert [(r.kind, r.object) for r in columned] == [(r.kind, r.object) for r in listed]


def test_a_code_range_split_by_a_decommitted_part_is_named_whole():
    parts = [line(CODE, CODE + 4 * MiB, "rwxp"), line(CODE + 4 * MiB, CODE + 8 * MiB),
             line(CODE + 8 * MiB, CODE + 512 * MiB, "rwxp")]  # fmt: skip
    regions = classify_regions(process(pools(), sandbox(), parts), V8)
    assert at(regions, CODE + 5 * MiB).kind == kinds.RESERVED
    assert {at(regions, a).object for a in (CODE, CODE + 5 * MiB, CODE + 9 * MiB)} == {CODE_RANGE}


@pytest.mark.parametrize(
    "parts",
    [
        code(511 * MiB),  # not V8's size
        code(at=CODE + 4 * KiB),  # not on a V8 page boundary
        [*code(), line(CODE + 512 * MiB, CODE + 513 * MiB, "rwxp")],  # merged on
        [line(CODE - MiB, CODE), *code()],  # a no-access neighbour: where it starts is unknown
    ],
)
def test_look_alikes_of_the_code_range_are_not_named(parts):
    regions = classify_regions(process(pools(), sandbox(), parts), V8)
    assert not [r for r in regions if r.object == CODE_RANGE]


@pytest.mark.parametrize(
    "parts",
    [
        [trusted()],  # no V8 sandbox in the map: no trusted range either
        [sandbox(), trusted(2 * GiB)],  # not V8's size
        [sandbox(), [line(TRUSTED, TRUSTED + GiB)]],  # nothing committed in it
        [sandbox(), trusted(), [line(TRUSTED + GiB, TRUSTED + 2 * GiB, "rw-p")]],  # merged on
    ],
)
def test_look_alikes_of_the_trusted_range_are_not_named(parts):
    regions = classify_regions(process(pools(), *parts), V8)
    assert not [r for r in regions if r.object == cr.TRUSTED_RANGE]


def test_the_low_reserve_needs_partitionalloc_s_pools_and_a_chromium_process():
    assert at(classify_regions(process(sandbox()), V8), 0x10000).object is None
    other = process(pools(), path="/usr/bin/python3.11")
    assert at(classify_regions(other, V8), 0x10000).object is None
    assert at(classify_regions(process(pools()), V8), 0x10000).object == ch.PA_LOW_RESERVE


TABLES = 0x7FA4_37DF_0000


def table(at: int, size: int, committed: int = 64 * KiB) -> list[bytes]:
    """A pointer table: its read-only null segment, segments in use, the rest."""
    return [line(at, at + 64 * KiB, "r--p"), line(at + 64 * KiB, at + 64 * KiB + committed, "rw-p"),
            line(at + 64 * KiB + committed, at + size)]  # fmt: skip


def test_pointer_tables_side_by_side_are_named_each():
    tables = [*table(TABLES, 64 * MiB), *table(TABLES + 64 * MiB, 512 * MiB, 2 * MiB),
              *table(TABLES + 576 * MiB, 256 * MiB)]  # fmt: skip
    regions = classify_regions(process(pools(), sandbox(), tables), V8)
    for address, kind in ((TABLES, kinds.ANON), (TABLES + MiB, kinds.RESERVED),
                          (TABLES + 65 * MiB, kinds.ANON), (TABLES + 831 * MiB, kinds.RESERVED)):  # fmt: skip
        assert (at(regions, address).kind, at(regions, address).object) == (kind, cr.POINTER_TABLES)
    assert "pointer table" in why_kind(at(regions, TABLES))


@pytest.mark.parametrize(
    "parts",
    [
        [sandbox(), table(TABLES, 640 * MiB)],  # a table merged with what follows: not a size
        [sandbox(), table(TABLES + 4 * KiB, 64 * MiB)],  # not on a segment boundary
        [
            sandbox(),
            [line(TABLES, TABLES + 128 * KiB, "r--p"), line(TABLES + 128 * KiB, TABLES + 64 * MiB)],
        ],
        [table(TABLES, 64 * MiB)],  # no V8 sandbox in the map
    ],
)
def test_look_alikes_of_pointer_tables_are_not_named(parts):
    regions = classify_regions(process(pools(), *parts), V8)
    assert not [r for r in regions if r.object == cr.POINTER_TABLES]


def _start_brk(folder: str) -> int:
    root = HERE / folder
    stat = next(root.glob("[0-9]*/stat")).read_bytes()
    return int(stat[stat.rfind(b")") + 2 :].split()[44])  # field 47: start_brk


def test_a_code_range_over_the_program_break_is_no_brk_heap():
    """The kernel names the mapping that holds the program break [heap]; Chromium never
    moves its break, and V8's code range, placed near the executable, may cover it."""
    regions = snapshot("renderer_brk").regions
    brk = _start_brk("renderer_brk")
    (code,) = [r for r in regions if r.start <= brk < r.end]
    assert code.path == "[heap]" and code.perms == "rwxp"
    assert (code.kind, code.object, code.size) == (kinds.JIT, CODE_RANGE, 512 * MiB)
    assert not [r for r in regions if r.kind == kinds.HEAP]


def test_a_real_brk_heap_is_not_a_code_range():
    heap = line(CODE, CODE + 512 * MiB, "rw-p", "[heap]").replace(b"fe:00 1458274", b"00:00 0")
    regions = classify_regions(process(pools(), sandbox(), [heap]), V8)
    assert (at(regions, CODE).kind, at(regions, CODE).object) == (kinds.HEAP, None)


def test_the_code_range_s_words_say_how_chromium_maps_it():
    (code,) = [r for r in snapshot("renderer").regions if r.object == CODE_RANGE]
    assert "read-write-execute whole" in why_kind(code) and "[heap]" not in why_kind(code)
    (code,) = [r for r in snapshot("renderer_brk").regions if r.object == CODE_RANGE]
    assert "start_brk" in why_kind(code) and "no brk heap" in why_kind(code)
    # Node's code range (a read-write header page first) keeps its own words.
    root = FIXTURES / "real" / "node"
    pid = int(next(root.glob("[0-9]*")).name)
    node = [r for r in take_snapshot(ProcFS(str(root)), pid).regions if r.object == CODE_RANGE]
    assert node and not [r for r in node if "Chromium" in why_kind(r)]
