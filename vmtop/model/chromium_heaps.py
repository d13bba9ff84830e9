"""Chromium's heaps, named in the map of a Chromium or Electron process.

A renderer's map is mostly a few huge reservations, each committed in pieces. Their
layout, from the sources (Chromium 156, V8 15.6) and checked against renderers of
Chromium 156 on Linux 6.18 (headless, sandboxed and not, whose pages allocated
ArrayBuffers, WebAssembly memories, JS objects and DOM nodes of known sizes):

- The V8 sandbox: 1 TiB (kSandboxSize) that V8 reserves whole, with a guard region in
  front (64 GiB now; 32 or 36 GiB in older V8) and one behind (288 GiB now; the kernel
  merges it with the sandbox's unused end). Inside it, at its start, the
  pointer-compression cage: 4 GiB holding the V8 (JavaScript) heap. Elsewhere in it,
  PartitionAlloc's ArrayBuffer partition (its configurable pool: 16 GiB at a 16 GiB
  boundary, the first free one above the cage), where every ArrayBuffer's backing
  store goes; and what V8 maps itself at 64 KiB-aligned addresses: WebAssembly
  memories (8 GiB reserved each, kFullGuardSize32) and resizable ArrayBuffers (their
  maxByteLength reserved). Those last two look alike: a read-write region followed
  by no-access space that the kernel merges with the sandbox's free space, so neither
  which it is nor where its reservation ends can be told; the map names them together.
  Measured: a 256 MiB ArrayBuffer filled by the page was a 256 MiB region 16 KiB into
  the ArrayBuffer pool (a PartitionAlloc direct map); a 64 MiB WebAssembly.Memory a
  64 MiB region at a 64 KiB boundary, outside the pool; a million JS objects grew the
  cage.
- PartitionAlloc (Chromium's malloc and Blink's partitions): its regular and BRP pools,
  16 GiB each, reserved together (32 GiB at a 32 GiB boundary, regular below),
  carved into 2 MiB super pages. A super page starts with a 16 KiB partition page of
  guard and metadata pages and ends with 16 KiB of guard, so between two super pages
  sits a no-access run of up to 32 KiB: PartitionAlloc's guards (the shape of a
  thread's stack guard, which it is not). Since Chromium 145 the metadata page may
  live in a separate 16 GiB region (MOVE_METADATA_OUT_OF_GIGACAGE, a field trial):
  one 4 KiB page per super page, at the super page's offset in its pool plus 4 KiB
  (regular pool), 12 KiB (BRP), 20 KiB (configurable), each between guard pages.
- PartitionAlloc's low reserve: the no-access region from 64 KiB to just above 4 GiB
  (0x10000-0x100100000). It is not V8's: strace shows every Chromium process (the
  browser, zygotes, GPU and utility processes, and Crashpad's handler, which has no V8)
  map it at its first malloc, in PartitionAlloc's start-up, right before its 32 GiB
  pools. Named only beside those pools, found by their layout.
- Oilpan (cppgc, Blink's garbage-collected C++ heap: DOM nodes, layout objects): its
  cage, 16 GiB at a 16 GiB boundary, committed in 128 KiB pages. Measured: 100 000
  DOM nodes, laid out, grew it from 0.4 to 472 MiB resident.

Each rule names a reservation only by its size, alignment and inner layout, and only
in a Chromium or Electron process (its executable, or the V8 snapshot file Chromium
maps; Node embeds its snapshot). What cannot be told is left as it was: an older
layout, a reservation whose ends merged with a neighbour. V8's code range, trusted range
and pointer tables, outside the sandbox, are named by ``chromium_v8_ranges``.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence

from vmtop.model import kinds
from vmtop.model.chromium_v8_ranges import (
    label_code_range,
    label_pointer_tables,
    label_trusted_range,
)
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region
from vmtop.model.region_rows import (
    END,
    INODE,
    KIND,
    OBJECT,
    PATH,
    PERMS,
    START,
    TID,
    Patched,
    PlainRows,
    relabel,
)

# Objects: short (a column and a group row of the table), and stable.
V8_SANDBOX = "V8 sandbox"
V8_SANDBOX_GUARD = "V8 sandbox guard"
V8_HEAP = "V8 heap"
ARRAY_BUFFERS = "ArrayBuffer partition"
SANDBOX_BUFFER = "Wasm memory or resizable ArrayBuffer"
WASM_MEMORY = "Wasm memory"
PA_REGULAR = "PartitionAlloc regular pool"
PA_BRP = "PartitionAlloc BRP pool"
# Reserved space across the line between the two (a zygote: nothing in the BRP pool yet).
PA_POOLS = "PartitionAlloc pools"
PA_METADATA = "PartitionAlloc metadata"
# A guard's object says what it guards (the table shows "[guard of PartitionAlloc]").
PA_GUARDED = "PartitionAlloc"
PA_LOW_RESERVE = "PartitionAlloc low 4 GiB"
OILPAN = "Oilpan heap"
OBJECTS = frozenset(
    (V8_SANDBOX, V8_SANDBOX_GUARD, V8_HEAP, ARRAY_BUFFERS, SANDBOX_BUFFER, WASM_MEMORY,
     PA_REGULAR, PA_BRP, PA_POOLS, PA_METADATA, PA_GUARDED, PA_LOW_RESERVE, OILPAN)
)  # fmt: skip

# Executables of Chromium and Electron (by basename), and the V8 snapshot files only
# an embedder that loads its snapshot from a file maps (Chromium, Electron).
CHROMIUM_PROGRAMS = ("chrome", "chromium", "chromium-browser", "electron")
V8_SNAPSHOT_FILES = ("v8_context_snapshot.bin", "snapshot_blob.bin")

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
SANDBOX_SIZE = 1 << 40
SANDBOX_FRONT_GUARDS = (32 * GiB, 36 * GiB, 64 * GiB)
SANDBOX_TRAILING_GUARD_MAX = 288 * GiB
CAGE_SIZE = 4 * GiB  # the pointer-compression cage, at the sandbox's start
POOL_SIZE = 16 * GiB  # each PartitionAlloc pool, and the metadata region
SUPER_PAGE = 2 * MiB
PARTITION_PAGE = 16 * KiB
# Where a super page's first committed page can start: the metadata page (in place),
# BRP's in-slot metadata table, the first slot span (or a direct map's object).
SUPER_PAGE_FIRST_COMMITS = (0x1000, 0x2000, 0x4000)
# Offsets of the metadata pages in the metadata region, per 2 MiB: one page a pool,
# each after a guard page (regular, BRP, configurable, thread-isolated).
METADATA_PAGES = (0x1000, 0x3000, 0x5000, 0x7000)
METADATA_WINDOW = 0x8000
OILPAN_CAGE = 16 * GiB
OILPAN_PAGE = 128 * KiB
WASM_RESERVATION = 8 * GiB  # a 32-bit WebAssembly memory with guard regions
WASM_PAGE = 64 * KiB
LOW_RESERVE_START_MAX = 1 * MiB
LOW_RESERVE_END = (4 * GiB, 4 * GiB + 16 * MiB)  # (above, at most)

_NO_ACCESS = "---p"
_COMMITTED = ("rw-p", "r--p")


def runs_chromium(paths: Iterable[str]) -> bool:
    """Does a map with these paths belong to a Chromium or Electron process?"""
    for p in paths:
        if p.startswith("/"):
            name = p.rpartition("/")[2]
            if name in CHROMIUM_PROGRAMS or name in V8_SNAPSHOT_FILES:
                return True
    return False


def _paths(regions) -> Iterable[str]:
    if isinstance(regions, Patched | PlainRows):
        regions = regions.base
    if isinstance(regions, RegionColumns):
        return regions.distinct("path")
    return {regions[i][PATH] for i in range(len(regions))}


def mark_chromium_heaps(regions: MutableSequence[Region]) -> bool:
    """In place, in a Chromium or Electron process's map: the V8 sandbox, PartitionAlloc's
    pools, metadata and low reserve, Oilpan's cage, WebAssembly memories, V8's code and
    trusted ranges and pointer tables get their objects (their committed parts anon, or
    jit for code, the rest reserved, PartitionAlloc's guard pages guard).
    False, and nothing changed, when the map is no Chromium process's."""
    if not runs_chromium(_paths(regions)):
        return False
    rows = [regions[i] for i in range(len(regions))]
    labels: dict[int, tuple[str, str]] = {}
    runs = _runs(rows)
    sandbox = None
    for run in runs:
        sandbox = sandbox or _label_sandbox(rows, run, labels)
    for run in runs:
        _label_core_pools(rows, run, labels)
        _label_metadata(rows, run, labels)
        _label_oilpan(rows, run, labels)
        if sandbox is None:
            _label_wasm(rows, run, labels)
    if any(obj in (PA_REGULAR, PA_BRP, PA_POOLS) for _, obj in labels.values()):
        _label_low_reserve(rows, runs, labels)
    if sandbox is not None:
        label_trusted_range(rows, labels)
        label_pointer_tables(rows, labels)
    label_code_range(rows, labels)
    for i, (kind, obj) in labels.items():
        r = rows[i]
        if r[KIND] != kind or r[OBJECT] != obj:
            regions[i] = relabel(r, kind, obj, r[TID])
    return True


def _anon_private(r) -> bool:
    return not r[PATH] and not r[INODE] and r[PERMS] in ("rw-p", "r--p", "---p")


def _runs(rows: list) -> list[range]:
    """Runs of touching private anonymous regions (a reservation and its commits)."""
    out = []
    first = None
    for i, r in enumerate(rows):
        if not _anon_private(r):
            if first is not None:
                out.append(range(first, i))
            first = None
        elif first is None or rows[i - 1][END] != r[START]:
            if first is not None:
                out.append(range(first, i))
            first = i
    if first is not None:
        out.append(range(first, len(rows)))
    return out


def _ends(rows: list, run: range) -> dict[int, int]:
    return {rows[i][END]: i for i in run}


def _pa_evidence(rows: list, i: int) -> bool:
    """Is region i a super page's first committed page, after its no-access guard?"""
    r = rows[i]
    if r[PERMS] not in _COMMITTED or r[START] % SUPER_PAGE not in SUPER_PAGE_FIRST_COMMITS:
        return False
    prev = rows[i - 1] if i else None
    return (
        prev is not None
        and prev[END] == r[START]
        and prev[PERMS] == _NO_ACCESS
        and prev[START] <= r[START] - r[START] % SUPER_PAGE
        and _anon_private(prev)
    )


def _in_guard_window(start: int, end: int) -> bool:
    """Is [start, end) within the 16 KiB on either side of a super page boundary?"""
    boundary = (start + PARTITION_PAGE) // SUPER_PAGE * SUPER_PAGE
    return start >= boundary - PARTITION_PAGE and end <= boundary + PARTITION_PAGE


def _label_pa(rows, i: int, pool: str, labels) -> None:
    r = rows[i]
    if r[PERMS] != _NO_ACCESS:
        labels[i] = (kinds.ANON, pool)
    elif _in_guard_window(r[START], r[END]):
        labels[i] = (kinds.GUARD, PA_GUARDED)
    else:
        labels[i] = (kinds.RESERVED, pool)


def _label_sandbox(rows: list, run: range, labels) -> tuple[int, int] | None:
    """The V8 sandbox, found by its front guard: (base, end), or None."""
    for g in run:
        guard = rows[g]
        size = guard[END] - guard[START]
        if (
            guard[PERMS] == _NO_ACCESS
            and size in SANDBOX_FRONT_GUARDS
            and not guard[START] % CAGE_SIZE
            and g + 1 in run
            and rows[run[-1]][END] >= guard[END] + SANDBOX_SIZE
        ):
            break
    else:
        return None
    base = guard[END]
    end = base + SANDBOX_SIZE
    cage_end = base + CAGE_SIZE
    labels[g] = (kinds.RESERVED, V8_SANDBOX_GUARD)
    inside = [i for i in run if i > g and rows[i][START] < end]
    pools = {
        rows[i][START] // POOL_SIZE
        for i in inside
        if rows[i][START] >= cage_end and _pa_evidence(rows, i)
    }
    pools = {p for p in pools if p * POOL_SIZE >= cage_end and (p + 1) * POOL_SIZE <= end}
    for i in inside:
        r = rows[i]
        start, stop = r[START], r[END]
        committed = r[PERMS] != _NO_ACCESS
        pool = start // POOL_SIZE
        if stop <= cage_end:
            labels[i] = (kinds.ANON if committed else kinds.RESERVED, V8_HEAP)
        elif pool in pools and stop <= (pool + 1) * POOL_SIZE:
            _label_pa(rows, i, ARRAY_BUFFERS, labels)
        elif not committed:
            labels[i] = (kinds.RESERVED, V8_SANDBOX)
        elif r[PERMS] == "rw-p":
            labels[i] = (kinds.ANON, SANDBOX_BUFFER)
        else:
            labels[i] = (kinds.ANON, V8_SANDBOX)  # committed, its role unknown
    for i in run:
        r = rows[i]
        if end <= r[START] < end + SANDBOX_TRAILING_GUARD_MAX and r[PERMS] == _NO_ACCESS:
            labels[i] = (kinds.RESERVED, V8_SANDBOX_GUARD)
    return base, end


def _label_low_reserve(rows: list, runs: list[range], labels) -> None:
    for run in runs:
        r = rows[run[0]]
        if (
            r[PERMS] == _NO_ACCESS
            and r[START] <= LOW_RESERVE_START_MAX
            and LOW_RESERVE_END[0] < r[END] <= LOW_RESERVE_END[1]
            and run[0] not in labels
        ):
            labels[run[0]] = (kinds.RESERVED, PA_LOW_RESERVE)
            return


def _label_core_pools(rows: list, run: range, labels) -> None:
    """PartitionAlloc's regular and BRP pools: 32 GiB reserved at a 32 GiB boundary,
    with at least one super page's layout in it."""
    ends = _ends(rows, run)
    for i in run:
        base = rows[i][START]
        if base % (2 * POOL_SIZE) or i in labels:
            continue
        last = ends.get(base + 2 * POOL_SIZE)
        if last is None:
            continue
        span = range(i, last + 1)
        if any(k in labels for k in span) or not any(_pa_evidence(rows, k) for k in span):
            continue
        for k in span:
            _label_pa(rows, k, _pool_of(rows[k], base + POOL_SIZE), labels)


def _pool_of(r, line: int) -> str:
    """The pool a region of the core pools (the BRP pool from ``line`` on) is in. A
    no-access region crossing the line is of the pool it mostly lies in where the other
    holds no more than a super page's guard of it (the BRP pool's first 8 KiB merge with
    the regular pool's free end); of both where neither is that small (a zygote's
    32 GiB, nothing handed out in the BRP pool: it was "regular pool" whole)."""
    below, above = max(0, min(r[END], line) - r[START]), max(0, r[END] - max(r[START], line))
    if not above:
        return PA_REGULAR
    if not below:
        return PA_BRP
    if min(below, above) <= SUPER_PAGE:
        return PA_REGULAR if below > above else PA_BRP
    return PA_POOLS


def _label_metadata(rows: list, run: range, labels) -> None:
    """PartitionAlloc's metadata region: 16 GiB of no access but for 4 KiB metadata
    pages at their offsets (see the module's note)."""
    ends = _ends(rows, run)
    for i in run:
        start = rows[i][START]
        last = ends.get(start + POOL_SIZE)
        if last is None or rows[i][PERMS] != _NO_ACCESS or i in labels:
            continue
        span = range(i, last + 1)
        pages = [k for k in span if rows[k][PERMS] != _NO_ACCESS]
        if not pages or any(k in labels for k in span):
            continue
        if not all(
            rows[k][PERMS] == "rw-p"
            and rows[k][END] - rows[k][START] == 4 * KiB
            and (rows[k][START] - start) % SUPER_PAGE in METADATA_PAGES
            for k in pages
        ):
            continue
        for k in span:
            r = rows[k]
            offset = (r[START] - start) % SUPER_PAGE
            if r[PERMS] != _NO_ACCESS:
                labels[k] = (kinds.ANON, PA_METADATA)
            elif offset < METADATA_WINDOW and r[END] - r[START] <= METADATA_WINDOW - offset:
                labels[k] = (kinds.GUARD, PA_GUARDED)
            else:
                labels[k] = (kinds.RESERVED, PA_METADATA)
        return


def _label_oilpan(rows: list, run: range, labels) -> None:
    """Oilpan's cage: 16 GiB at a 16 GiB boundary, committed in 128 KiB pages (its age
    table at the start, where young generation collection is on, is 1 MiB)."""
    ends = _ends(rows, run)
    for i in run:
        base = rows[i][START]
        if base % OILPAN_CAGE or i in labels:
            continue
        last = ends.get(base + OILPAN_CAGE)
        if last is None:
            continue
        span = range(i, last + 1)
        if any(k in labels or rows[k][PERMS] not in ("rw-p", _NO_ACCESS) for k in span):
            continue
        if not any(rows[k][PERMS] == "rw-p" for k in span):
            continue
        if any(rows[k][END] % OILPAN_PAGE for k in span):
            continue
        for k in span:
            committed = rows[k][PERMS] != _NO_ACCESS
            labels[k] = (kinds.ANON if committed else kinds.RESERVED, OILPAN)


def _label_wasm(rows: list, run: range, labels) -> None:
    """Outside a V8 sandbox: a WebAssembly memory is its own 8 GiB reservation, its
    committed pages first, the rest no access."""
    for i in run:
        r = rows[i]
        if (
            r[PERMS] == "rw-p"
            and not r[START] % WASM_PAGE
            and i + 1 in run
            and i not in labels
            and i + 1 not in labels
            and rows[i + 1][PERMS] == _NO_ACCESS
            and rows[i + 1][END] - r[START] == WASM_RESERVATION
        ):
            labels[i] = (kinds.ANON, WASM_MEMORY)
            labels[i + 1] = (kinds.RESERVED, WASM_MEMORY)
