"""Chromium's heaps named in a renderer's map (vmtop.model.chromium_heaps): the V8
sandbox and what is committed in it, PartitionAlloc's pools, metadata and guards,
Oilpan's cage, WebAssembly memories.

Ground truth: the recorded renderer (tests/fixtures/real/chromium) and what its page
says it allocated (ready.txt); hand-made maps in the renderer's layout for the cases a
recording does not have (no sandbox, other processes, shapes that only look alike);
and a live headless Chromium whose page fills an ArrayBuffer, found by the kernel's
Rss."""

from __future__ import annotations

import os
import re
import time

import pytest
from conftest import FIXTURES
from helpers_chromium import headless_chromium

from vmtop.model import chromium_heaps as ch
from vmtop.model import kinds
from vmtop.model.chromium_heaps import mark_chromium_heaps, runs_chromium
from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.explain import why_kind
from vmtop.model.facts import ClassifyFacts
from vmtop.model.stacks import GUARD_MAX, STACK_SHAPE
from vmtop.model.v8_pages import V8_LARGE, V8_PAGE, runs_v8
from vmtop.procfs.facts import read_classify_facts
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40
REAL = FIXTURES / "real" / "chromium"
V8 = ClassifyFacts(v8=True)

# -- a renderer's map, by hand --------------------------------------------------------

EXE = "/usr/lib/chromium/chromium"
METADATA = 0xD4E_90F2_A000  # PartitionAlloc's metadata region: page-aligned
OILPAN = 0x1504_0000_0000  # 16 GiB aligned
POOLS = 0x2620_0000_0000  # 32 GiB aligned: regular pool, then BRP pool
BRP = POOLS + 16 * GiB
SANDBOX = 0x2D11_0000_0000  # after a 64 GiB front guard
AB_POOL = SANDBOX + 12 * GiB  # the first 16 GiB boundary above the cage
WASM = AB_POOL + 16 * GiB
SANDBOX_END = SANDBOX + TiB


def line(start: int, end: int, perms: str = "---p", path: str = "") -> bytes:
    inode = b"fe:00 1458274" if path else b"00:00 0"
    return b"%x-%x %s 00000000 %s %s\n" % (start, end, perms.encode(), inode, path.encode())


def executable(path: str = EXE) -> list[bytes]:
    at = 0x55FB_5C94_4000
    return [line(at, at + MiB, "r--p", path), line(at + MiB, at + 2 * MiB, "r-xp", path)]


def metadata() -> list[bytes]:
    m = METADATA
    return [
        line(m, m + 0x1000), line(m + 0x1000, m + 0x2000, "rw-p"),  # regular pool's
        line(m + 0x2000, m + 0x3000), line(m + 0x3000, m + 0x4000, "rw-p"),  # BRP's
        line(m + 0x4000, m + 0x5000), line(m + 0x5000, m + 0x6000, "rw-p"),  # ArrayBuffers'
        line(m + 0x6000, m + 16 * GiB),
    ]  # fmt: skip


def oilpan() -> list[bytes]:
    c = OILPAN
    return [line(c, c + 32 * MiB), line(c + 32 * MiB, c + 0x6D8_0000, "rw-p"),
            line(c + 0x6D8_0000, c + 16 * GiB)]  # fmt: skip


def core_pools() -> list[bytes]:
    b, s = POOLS, BRP
    return [
        line(b, b + 0x4000),  # a super page's first partition page: guard
        line(b + 0x4000, b + 0x10_8000, "rw-p"),  # slot spans
        line(b + 0x10_8000, s + 0x2000),  # the rest of the regular pool
        line(s + 0x2000, s + 0x3000, "rw-p"),  # BRP's in-slot metadata table
        line(s + 0x3000, s + 0x4000),
        line(s + 0x4000, s + 0x1F_C000, "rw-p"),  # a full super page of slot spans
        line(s + 0x1F_C000, s + 0x20_2000),  # its end guard and the next one's first
        line(s + 0x20_2000, s + 0x20_3000, "rw-p"),
        line(s + 0x20_3000, s + 0x20_4000),
        line(s + 0x20_4000, s + 0x3F_C000, "rw-p"),
        line(s + 0x3F_C000, s + 0x40_4000),  # (32 KiB: 16 on either side)
        line(s + 0x40_4000, s + 0x45_0000, "rw-p"),
        line(s + 0x45_0000, s + 16 * GiB),
    ]


def cage(base: int) -> list[bytes]:
    """V8's pointer-compression cage: its read-only space, then heap pages."""
    return [line(base, base + 0x1_0000, "r--p"), line(base + 0x1_0000, base + 0x100_0000),
            line(base + 0x100_0000, base + 0x228_0000, "rw-p")]  # fmt: skip


def sandbox() -> list[bytes]:
    return [
        line(SANDBOX - 64 * GiB, SANDBOX),  # the front guard
        *cage(SANDBOX),
        line(SANDBOX + 0x228_0000, AB_POOL + 0x4000),
        line(AB_POOL + 0x4000, AB_POOL + 0x1000_4000, "rw-p"),  # a 256 MiB ArrayBuffer
        line(AB_POOL + 0x1000_4000, AB_POOL + 0x1020_4000),
        line(AB_POOL + 0x1020_4000, AB_POOL + 0x103F_C000, "rw-p"),  # small ones
        line(AB_POOL + 0x103F_C000, AB_POOL + 0x1040_4000),
        line(AB_POOL + 0x1040_4000, AB_POOL + 0x1050_0000, "rw-p"),
        line(AB_POOL + 0x1050_0000, WASM),
        line(WASM, WASM + 64 * MiB, "rw-p"),  # a 64 MiB WebAssembly memory
        line(WASM + 64 * MiB, SANDBOX_END + 288 * GiB),  # merged with the back guard
    ]


def renderer(*, with_sandbox: bool = True, path: str = EXE) -> list:
    lines = [line(0x10000, 0x1_0010_0000), *metadata(), *oilpan(), *core_pools()]
    if with_sandbox:
        lines += sandbox()
    else:
        lines += [*cage(0x2D11_0000_0000), line(0x2D11_0228_0000, 0x2D12_0000_0000)]
        wasm = 0x2E00_0000_0000
        lines += [line(wasm, wasm + 64 * MiB, "rw-p"), line(wasm + 64 * MiB, wasm + 8 * GiB)]
    lines += executable(path)
    return parse_maps(b"".join(lines))


def at(regions, address: int):
    (found,) = [r for r in regions if r.start <= address < r.end]
    return found


def named(regions) -> list:
    return [r for r in regions if r.object in ch.OBJECTS]


# -- the hand-made renderer -----------------------------------------------------------


def test_the_sandbox_and_what_is_committed_in_it():
    regions = classify_regions(renderer(), V8)
    assert (at(regions, SANDBOX - GiB).kind, at(regions, SANDBOX - GiB).object) == (
        kinds.RESERVED,
        ch.V8_SANDBOX_GUARD,
    )
    # The pointer-compression cage: the JavaScript heap, read-only space and pages.
    for address in (SANDBOX, SANDBOX + 0x100_0000):
        assert (at(regions, address).kind, at(regions, address).object) == (kinds.ANON, ch.V8_HEAP)
    assert at(regions, SANDBOX + 0x2_0000).object == ch.V8_HEAP  # its reserve
    for address in (AB_POOL + 0x4000, AB_POOL + 0x1020_4000):
        assert (at(regions, address).kind, at(regions, address).object) == (
            kinds.ANON,
            ch.ARRAY_BUFFERS,
        )
    assert at(regions, AB_POOL + 0x1000_4000).object == ch.ARRAY_BUFFERS  # a direct map's tail
    assert at(regions, WASM).object == ch.SANDBOX_BUFFER
    # Free sandbox space, whatever it runs on into.
    for address in (SANDBOX + 5 * GiB, WASM + 9 * GiB, SANDBOX_END + GiB):
        assert (at(regions, address).kind, at(regions, address).object) == (
            kinds.RESERVED,
            ch.V8_SANDBOX,
        )
    assert at(regions, 0x10000).object == ch.PA_LOW_RESERVE


def test_partitionalloc_pools_metadata_and_guards():
    regions = classify_regions(renderer(), V8)
    assert at(regions, POOLS + 0x4000).object == ch.PA_REGULAR
    assert at(regions, POOLS + GiB).object == ch.PA_REGULAR  # its reserve
    assert at(regions, BRP + 0x4000).object == ch.PA_BRP
    assert at(regions, BRP + 0x2000).object == ch.PA_BRP  # the in-slot metadata table
    assert at(regions, BRP + GiB).object == ch.PA_BRP
    guards = [r for r in regions if POOLS <= r.start < BRP + 16 * GiB and r.kind == kinds.GUARD]
    assert [(r.start - POOLS, r.size) for r in guards] == [
        (0, 0x4000),
        (16 * GiB + 0x3000, 0x1000),
        (16 * GiB + 0x1F_C000, 0x6000),
        (16 * GiB + 0x20_3000, 0x1000),
        (16 * GiB + 0x3F_C000, 0x8000),
    ]
    assert all(r.object == ch.PA_GUARDED for r in guards)
    assert not [r for r in regions if r.object == STACK_SHAPE]
    pages = [r for r in regions if r.object == ch.PA_METADATA and r.kind == kinds.ANON]
    assert [r.start - METADATA for r in pages] == [0x1000, 0x3000, 0x5000]
    assert at(regions, METADATA).kind == kinds.GUARD  # the first metadata page's guard
    assert at(regions, METADATA + GiB).object == ch.PA_METADATA
    assert at(regions, OILPAN + 32 * MiB).object == ch.OILPAN
    assert (at(regions, OILPAN).kind, at(regions, OILPAN).object) == (kinds.RESERVED, ch.OILPAN)


def zygote() -> list:
    """A zygote's pools: one super page in the regular pool, nothing handed out in the
    BRP pool, so one no-access region runs from the super page to the pools' end."""
    b = POOLS
    lines = [
        line(b, b + 0x4000),
        line(b + 0x4000, b + 0x10_8000, "rw-p"),
        line(b + 0x10_8000, b + 32 * GiB),
        *executable(),
    ]
    return parse_maps(b"".join(lines))


def test_a_region_across_both_pools_is_of_both():
    """The reviewer's zygote: 32 GiB across the regular and the BRP pool was "regular
    pool" whole. (The BRP pool's first 8 KiB, merged into the regular pool's free end,
    leave the renderer's named as before: test_partitionalloc_pools_metadata_and_guards.)"""
    regions = classify_regions(zygote(), V8)
    across = at(regions, BRP + GiB)
    assert across.start < BRP and (across.kind, across.object) == (kinds.RESERVED, ch.PA_POOLS)
    assert at(regions, POOLS + 0x4000).object == ch.PA_REGULAR
    assert "regular and BRP pools" in why_kind(across)


def test_super_pages_with_their_metadata_in_place():
    """Where PartitionAlloc keeps a super page's metadata in it (its field trial off,
    Chromium before 145): the metadata page is committed between the guard pages."""
    b = POOLS
    lines = [
        line(b, b + 0x1000), line(b + 0x1000, b + 0x2000, "rw-p"),  # metadata
        line(b + 0x2000, b + 0x4000), line(b + 0x4000, b + 0x1F_C000, "rw-p"),
        line(b + 0x1F_C000, b + 32 * GiB), *executable(),
    ]  # fmt: skip
    regions = classify_regions(parse_maps(b"".join(lines)), V8)
    assert [(r.start - b, r.kind, r.object) for r in regions[:4]] == [
        (0, kinds.GUARD, ch.PA_GUARDED),
        (0x1000, kinds.ANON, ch.PA_REGULAR),
        (0x2000, kinds.GUARD, ch.PA_GUARDED),
        (0x4000, kinds.ANON, ch.PA_REGULAR),
    ]


def test_a_running_thread_never_gets_a_super_page_for_its_stack():
    """A thread whose stack pointer cannot be read (it runs): its stack used to be
    guessed among the rw- regions above a small no-access one, super pages included."""
    regions = classify_regions(renderer(), ClassifyFacts(v8=True, stack_pointers={7: None}))
    assert not [r for r in regions if r.kind == kinds.THREAD_STACK]


def test_a_renderer_with_the_sandbox_off():
    """No V8 sandbox (a build without it): no sandbox, cage or ArrayBuffer partition to
    name; PartitionAlloc and Oilpan are where they were, and a WebAssembly memory is an
    8 GiB reservation of its own."""
    regions = classify_regions(renderer(with_sandbox=False), V8)
    objects = {r.object for r in named(regions)}
    assert not objects & {ch.V8_SANDBOX, ch.V8_SANDBOX_GUARD, ch.V8_HEAP, ch.ARRAY_BUFFERS,
                          ch.SANDBOX_BUFFER}  # fmt: skip
    # PartitionAlloc's, with or without V8's sandbox (its low reserve too).
    assert {ch.PA_REGULAR, ch.PA_BRP, ch.PA_METADATA, ch.PA_LOW_RESERVE, ch.OILPAN} <= objects
    assert at(regions, 0x2D11_0000_0000).object is None  # a 4 GiB cage, told from nothing
    wasm = 0x2E00_0000_0000
    assert (at(regions, wasm).kind, at(regions, wasm).object) == (kinds.ANON, ch.WASM_MEMORY)
    rest = at(regions, wasm + GiB)
    assert (rest.kind, rest.object, rest.end) == (kinds.RESERVED, ch.WASM_MEMORY, wasm + 8 * GiB)


def test_not_in_another_process_nor_without_v8():
    """The same shapes in a Node process, or a C program's (no V8 at all), are left
    as they were: the rules are Chromium's."""
    for path in ("/usr/bin/node", "/usr/local/bin/prog"):
        for facts in (V8, ClassifyFacts()):
            regions = classify_regions(renderer(path=path), facts)
            assert not named(regions), (path, facts.v8)
    assert not named(classify_regions(renderer(), ClassifyFacts()))  # V8 not known to run


def test_a_node_map_is_unchanged():
    node = FIXTURES / "real" / "node"
    pid = next(p.name for p in node.iterdir() if p.name.isdigit())
    raw = parse_maps((node / pid / "maps").read_bytes())
    regions = classify_regions(raw, V8)
    assert not named(regions)
    assert [r for r in regions if r.object in (V8_PAGE, V8_LARGE)]  # Node's rule ran
    copy = list(regions)
    assert mark_chromium_heaps(copy) is False and copy == regions


def test_the_rules_name_nothing_in_the_other_recorded_processes(monkeypatch):
    """Even taken for Chromium's, the maps of a JVM, Node, CPython, PostgreSQL and the
    CUDA processes hold no shape the rules name: they are that strict."""
    monkeypatch.setattr(ch, "runs_chromium", lambda paths: True)
    others = [d for d in (FIXTURES / "real").iterdir() if (d / "expected_kinds.tsv").exists()]
    assert len(others) > 8
    for d in others:
        if d == REAL:
            continue
        pid = next(p.name for p in d.iterdir() if p.name.isdigit())
        regions = list(classify_regions(parse_maps((d / pid / "maps").read_bytes())))
        assert mark_chromium_heaps(regions) and not named(regions), d.name


def test_which_processes_are_chromium():
    assert runs_chromium(["/opt/google/chrome/chrome", "[heap]"])
    assert runs_chromium(["/usr/lib/slack/slack", "/usr/lib/slack/v8_context_snapshot.bin"])
    assert runs_chromium(["/opt/app/electron"])
    assert not runs_chromium(["/usr/bin/node", "/usr/lib/chromium/chrome_crashpad_handler"])
    assert not runs_chromium(["[anon:chrome]", "/home/u/chromium-notes.txt"])
    assert runs_v8(["/usr/lib/chromium/chromium"])  # so that its heaps are named at all


def _with_first_guard(size: int) -> list:
    text = b"".join(sandbox()).replace(b"%x-" % (SANDBOX - 64 * GiB), b"%x-" % (SANDBOX - size))
    return parse_maps(text + b"".join(executable()))


def test_a_sandbox_is_told_by_its_front_guard():
    assert named(classify_regions(_with_first_guard(32 * GiB), V8))
    # A guard of no size V8 uses (its first region merged with a neighbour): nothing in
    # it is named, rather than a sandbox placed at a guess.
    regions = classify_regions(_with_first_guard(48 * GiB), V8)
    assert not [r for r in regions if SANDBOX - 48 * GiB <= r.start < SANDBOX_END and r.object]


def test_look_alikes_are_not_named():
    """16 GiB at a 16 GiB boundary committed in 4 KiB pages is no Oilpan cage (its
    pages are 128 KiB); 32 GiB at a 32 GiB boundary with no super page in it is no
    PartitionAlloc; a 16 GiB region with a committed page that is not a metadata page
    is no metadata region."""
    c, b, m = OILPAN, POOLS, METADATA
    lines = [
        line(c, c + 0x3000, "rw-p"), line(c + 0x3000, c + 16 * GiB),
        line(b, b + 0x10_0000, "rw-p"), line(b + 0x10_0000, b + 32 * GiB),
        line(m, m + 0x1000), line(m + 0x1000, m + 0x2000, "rw-p"),
        line(m + 0x2000, m + 0x3000, "rw-p"),  # (merged: 8 KiB)
        line(m + 0x3000, m + 16 * GiB), *executable(),
    ]  # fmt: skip
    assert not named(classify_regions(parse_maps(b"".join(lines)), V8))


def test_columns_give_what_a_list_gives():
    raw = renderer()
    facts = ClassifyFacts(v8=True, stack_pointers={7: None})
    assert list(classify_columns(RegionColumns.from_regions(raw), facts)) == classify_regions(
        raw, facts
    )


def test_every_object_is_explained():
    regions = classify_regions(renderer(), V8)
    seen = set()
    others = classify_regions(renderer(with_sandbox=False), V8) + classify_regions(zygote(), V8)
    for r in named(regions + others):
        why = why_kind(r)
        assert why and why != why_kind(r._replace(object=None)), (r.kind, r.object)
        seen.add((r.kind, r.object))
    assert {o for _, o in seen} == ch.OBJECTS
    sandbox_free = at(regions, SANDBOX + 5 * GiB)
    assert "address space, not memory" in why_kind(sandbox_free)
    assert "not a thread stack's guard" in why_kind(at(regions, POOLS)).lower()


# -- the recorded renderer ------------------------------------------------------------


def recorded():
    pid = int(next(p.name for p in REAL.iterdir() if p.name.isdigit()))
    return take_snapshot(ProcFS(str(REAL)), pid).regions


def ready() -> dict[str, str]:
    return dict(f.split("=") for f in (REAL / "ready.txt").read_text().split()[1:])


def test_the_recorded_page_s_allocations_are_where_they_are_named():
    """The page says what it allocated (ready.txt): one region of each big size, named."""
    regions = recorded()
    said = ready()
    (buffer,) = [r for r in regions if r.size == int(said["arraybuffer"])]
    assert (buffer.kind, buffer.object) == (kinds.ANON, ch.ARRAY_BUFFERS)
    (wasm,) = [r for r in regions if r.size == int(said["wasm"])]
    assert (wasm.kind, wasm.object) == (kinds.ANON, ch.SANDBOX_BUFFER)
    # The 100 small ArrayBuffers share super pages of the same partition.
    count, each = said["small_arraybuffers"].split("x")
    pool = [r for r in regions if r.object == ch.ARRAY_BUFFERS and r.kind == kinds.ANON]
    assert sum(r.size for r in pool) - buffer.size >= int(count) * int(each)


def test_recorded_metadata_pages_match_the_pools_super_pages():
    """Each page of PartitionAlloc's metadata region is at a super page's offset in its
    pool (plus 4, 12 or 20 KiB for the regular, BRP and ArrayBuffer pool): so for each
    page, that super page is committed where the map says the pool is. Checks the
    naming of four reservations against one another."""
    regions = recorded()
    first = next(i for i, r in enumerate(regions) if r.object == ch.PA_METADATA)
    below = regions[first - 1]  # the region's first page: the first metadata page's guard
    assert below.kind == kinds.GUARD and below.end == regions[first].start
    start = below.start
    meta = [r for r in regions if r.object == ch.PA_METADATA]
    assert max(r.end for r in meta) == start + 16 * GiB
    bases = {
        0x1000: min(r.start for r in regions if r.object == ch.PA_REGULAR),
        0x3000: min(r.start for r in regions if r.object == ch.PA_BRP),
        0x5000: min(r.start for r in regions if r.object == ch.ARRAY_BUFFERS)
        // (16 * GiB)
        * (16 * GiB),
    }
    pages = [r for r in meta if r.kind == kinds.ANON]
    assert len(pages) > 10
    for page in pages:
        offset = page.start - start
        inner = offset % (2 * MiB)
        super_page = bases[inner] + offset - inner
        committed = [r for r in regions if super_page <= r.start < super_page + 2 * MiB
                     and r.perms == "rw-p"]  # fmt: skip
        assert committed, hex(page.start)


def test_recorded_guards_are_partitionalloc_s_or_a_thread_s():
    regions = recorded()
    guards = [r for r in regions if r.kind == kinds.GUARD]
    assert all(r.size <= GUARD_MAX for r in guards)
    shapes = [r for r in guards if r.object == STACK_SHAPE]
    # The one left: below a 48 KiB rw- region no thread's stack pointer is in, in the
    # mmap area, not in PartitionAlloc's pools.
    assert len(shapes) <= 1 and all(r.start > 0x7F00_0000_0000 for r in shapes)
    assert len([r for r in guards if r.object == ch.PA_GUARDED]) > 10


def test_recorded_facts_say_v8_runs():
    pid = int(next(p.name for p in REAL.iterdir() if p.name.isdigit()))
    raw = parse_maps((REAL / str(pid) / "maps").read_bytes())
    assert read_classify_facts(ProcFS(str(REAL)), pid, raw).v8


# -- a live renderer --------------------------------------------------------------------

PAGE = """<!doctype html><script>
const b = new ArrayBuffer(256 << 20);
new Uint8Array(b).fill(7);
globalThis.keep = b;
console.log("VMTOP READY " + b.byteLength);
</script>"""


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            data = open(f"/proc/{pid}/stat", "rb").read()
        except OSError:
            return False
        pid = int(data[data.rfind(b")") + 2 :].split()[1])
    return False


def _renderers(browser: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = open(f"/proc/{name}/cmdline", "rb").read()
            except OSError:
                continue
            if b"--type=renderer" in cmdline and _descends_from(int(name), browser):
                out.append(int(name))
    return out


def _resident(pid: int) -> dict[int, int]:
    """The kernel's Rss of each region of ``pid``: start -> bytes."""
    out, start = {}, None
    for text in open(f"/proc/{pid}/smaps"):
        head = re.match(r"([0-9a-f]+)-[0-9a-f]+ ", text)
        if head:
            start = int(head[1], 16)
        elif text.startswith("Rss:"):
            out[start] = int(text.split()[1]) * 1024
    return out


@pytest.fixture
def chromium(tmp_path):
    with headless_chromium(tmp_path, PAGE) as child:
        yield child


def _wait_ready(child, timeout: float) -> bool:
    os.set_blocking(child.stderr.fileno(), False)
    deadline, seen = time.monotonic() + timeout, b""
    while time.monotonic() < deadline and child.poll() is None:
        chunk = child.stderr.read() or b""
        seen = (seen + chunk)[-100_000:]
        if b"VMTOP READY" in seen:
            return True
        time.sleep(0.1)
    return False


def test_a_live_renderer_s_arraybuffer_is_named(chromium):
    if not _wait_ready(chromium, 15):
        pytest.skip("headless chromium did not start, or its page did not run, within 15 s")
    # The renderer holding the page's 256 MiB, by the kernel's account of its regions.
    found = []
    for pid in _renderers(chromium.pid):
        found += [(pid, start) for start, rss in _resident(pid).items() if rss >= 256 * MiB]
    (pid, start), *others = found
    assert not others, found
    snapshot = take_snapshot(ProcFS(), pid)
    (region,) = [r for r in snapshot.regions if r.start == start]
    assert (region.kind, region.object) == (kinds.ANON, ch.ARRAY_BUFFERS)
    assert any(r.object == ch.V8_SANDBOX for r in snapshot.regions)
