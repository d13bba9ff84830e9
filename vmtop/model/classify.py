"""Refine the per-line kinds with what needs the whole map and the process's facts.

Pure: the map plus ``ClassifyFacts`` (thread stack pointers, .bss sizes from program
headers, the SysV table), which ``vmtop.procfs.facts`` reads and hands in. The same code
classifies a live process, a copied ``/proc`` tree and a recording.

- ELF objects: regions of a file that has an executable mapping. r-x is ``text``, rw-
  ``data``, r-- ``rodata``, except the r-- region right below the object's rw- data,
  which is its RELRO part (``.got``, ``.dynamic``, ``.init_array`` made read-only after
  relocation): ``relro``. No-access parts of the object's file, and no-access anonymous
  regions between two regions of the same object, are the loader's alignment ``gap``.
  The anonymous rw- region right after the object's data is its ``bss`` (where .bss
  spills past the file-backed page) unless the program headers say it has no bss
  pages. Every region of an object carries ``object`` = the object's path.
- heaps of glibc's non-main malloc arenas (threads share them): an rw- anonymous
  region starting on a 64 MiB boundary, followed by no-access memory up to the next
  boundary (or 64 MiB long), is an ``arena`` (``object`` "arena heap N", numbered from
  the top of the map down: in the order glibc made them, as each new one goes below
  the last; an arena whose heap is full maps another, so N counts heaps, not arenas,
  which the map cannot tell apart); its no-access tail is
  ``reserved`` with the same object: the arena grows into it with mprotect. Not one
  that smaps says was mapped without MAP_NORESERVE (``mapped_without_noreserve``: a
  JVM's metaspace node, a Go heap arena), which glibc's heaps never are. Where glibc
  names its mappings (``[anon: glibc: malloc arena]``, ``[anon: glibc: pthread stack:
  TID]``, glibc 2.40+ with ``glibc.mem.decorate_maps``), the names say it.
- Thread stacks: the anonymous region holding a thread's stack pointer is its
  ``thread_stack`` (``tid``; when the kernel merged several threads' stacks into one
  region, ``tid`` is the lowest and ``object`` lists them all: "threads 12, 13").
  When some thread's stack pointer is unknown, rw-p anonymous regions directly above a
  small no-access region (glibc's pthread_create layout) are taken for thread stacks
  without a TID, at most one per such thread (``vmtop.model.stacks``).
- No-access anonymous regions: ``guard`` when small (GUARD_MAX) and right below a stack
  or beside JIT code, with ``object`` saying whose guard it is; any other is
  ``reserved``: address space kept for growth (runtime heap and code reserves, arena
  tails, the GPU's unified address space).
- In a process that maps /dev/nvidia-uvm (CUDA), a reserve bigger than a guard that
  touches an NVIDIA device mapping or shared anonymous memory is ``reserved`` with
  ``object`` "CUDA driver", and shared anonymous memory is ``shm`` with
  ``object`` "CUDA pinned host memory" (why: ``vmtop.model.cuda``).
- In a Chromium or Electron process, the V8 sandbox, PartitionAlloc's pools and
  Oilpan's cage are named by their layout (``vmtop.model.chromium_heaps``); in a Go
  program, the Go heap by where Go puts it (``vmtop.model.go_heap``); in PostgreSQL,
  its shared memory (``vmtop.model.postgres_memory``); in CPython, obmalloc's object
  arenas by their size (``vmtop.model.python_arenas``); in a program built with a
  sanitizer, ASan's and TSan's shadow and the sanitizer's heap
  (``vmtop.model.sanitizer_memory``).
- Devices get the device's short name as ``object``; SysV segments their shmid and key;
  memory in hugetlb pages (``/anon_hugepage``, files on ``/dev/hugepages``) "hugetlb
  pages".

This runs on every snapshot, for processes with tens of thousands of regions: a few
passes over the list, no I/O.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Sequence

from vmtop.model import cuda, kinds
from vmtop.model.bss import PAGE, RELRO_HOLE_MAX
from vmtop.model.chromium_heaps import mark_chromium_heaps
from vmtop.model.column_masks import after_mask, mask_and, mask_not, zero_mask
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.devices import device_name
from vmtop.model.facts import NO_FACTS, ClassifyFacts
from vmtop.model.go_heap import GO_HEAP, GO_HEAP_NAME, mark_go_heap
from vmtop.model.java_regions import mark_java_regions
from vmtop.model.kinds import NO_ACCESS_KINDS
from vmtop.model.postgres_memory import mark_postgres_memory
from vmtop.model.python_arenas import mark_python_arenas
from vmtop.model.region import Region
from vmtop.model.region_rows import (
    DEV,
    END,
    INODE,
    KIND,
    OBJECT,
    OFFSET,
    PATH,
    PERMS,
    START,
    TID,
    Patched,
    PlainRows,
    relabel,
)
from vmtop.model.sanitizer_memory import mark_sanitizer_memory
from vmtop.model.stacks import (
    GUARD_MAX,
    JIT_CODE,
    STACK_SHAPE,
    THREAD_STACK_MIN,
    is_guard_beside,
    mark_thread_stacks,
    name_stack_guards,
    reserve_above,
)
from vmtop.model.sysv import SYSV_PREFIX, describe_sysv
from vmtop.model.v8_pages import mark_v8_pages
from vmtop.model.v8_reservations import mark_v8_reservations
from vmtop.model.valgrind import mark_valgrind_memory

# glibc's per-thread malloc heaps are HEAP_MAX_SIZE apart and long (64-bit).
ARENA_HEAP = 64 << 20

_OBJECT_KINDS = (
    frozenset((kinds.TEXT, kinds.RODATA, kinds.RELRO, kinds.DATA, kinds.FILE)) | NO_ACCESS_KINDS
)
_RW_ANON_KINDS = frozenset((kinds.ANON, kinds.ARENA, kinds.BSS))
_JIT_CODE = JIT_CODE
_RESERVED_KIND = kinds.RESERVED
# The object of memory in hugetlb pages (MAP_HUGETLB, a file on /dev/hugepages): they
# come from the pool of /proc/sys/vm/nr_hugepages and are not counted in Rss.
HUGETLB = "hugetlb pages"
_HUGETLB_NAMES = (kinds.HUGETLB_ANON_NAME, kinds.HUGETLBFS_DIR)
_GLIBC_NAMED = "[anon: glibc: "
_GLIBC_STACKS = ("pthread stack: ", "pthread user stack: ")


def classify_regions(regions: Sequence[Region], facts: ClassifyFacts | None = None) -> list[Region]:
    """A new list of regions with refined ``kind``, ``object`` and ``tid``."""
    facts = facts if facts is not None else NO_FACTS
    # Relabelling tens of thousands of regions allocates as many tuples, and each 700
    # allocations start a collection that walks the caller's heap too (a TUI's is big):
    # without the pause that more than doubled the time. Nothing here makes cycles.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        out = classify_objects(regions, facts)
        if facts.java is not None:
            mark_java_regions(out, facts.java, facts.mapped_without_noreserve)
        if facts.v8 and not mark_chromium_heaps(out):
            mark_v8_pages(out)
            mark_v8_reservations(out)
        mark_go_heap(out)
        if facts.sanitizer:
            mark_sanitizer_memory(out, facts.sanitizer)
        if facts.postgres:
            mark_postgres_memory(out, facts.postgres_dsm_control)
        if facts.valgrind:
            mark_valgrind_memory(out)
        if facts.stack_pointers:
            mark_thread_stacks(out, facts.stack_pointers, facts.thread_names)
        name_stack_guards(out)
        if facts.python is not None:  # after the stacks: a stack is no arena
            mark_python_arenas(out, facts.python)
    finally:
        if paused:
            gc.enable()
    return out


def classify_columns(regions: RegionColumns, facts: ClassifyFacts | None = None) -> RegionColumns:
    """``classify_regions`` for a map held as columns, giving columns: the same regions,
    never a list of all of them (a Region is made for each in turn, and dropped)."""
    facts = facts if facts is not None else NO_FACTS
    # Most regions keep the kind their line gave them: only the relabelled ones are
    # kept (by index), and patched into a copy of the arrays at the end.
    patched = Patched(regions)
    rows = patched.rows
    # Rows as plain tuples (no Region made: ~0.5 µs a row), read by index; and not the
    # runs of plain anonymous memory no rule can touch.
    rows_in = PlainRows(regions)
    arena_rows: list[tuple[int, int]] = []
    classified = _classified_objects(_rows_to_classify(regions), rows_in, facts, arena_rows)
    for i, r, as_it_came in classified:
        if r is not as_it_came:
            rows[i] = r
    _number_arenas_from_the_top(patched, arena_rows)
    if facts.java is not None:
        mark_java_regions(patched, facts.java, facts.mapped_without_noreserve)
    if facts.v8 and not mark_chromium_heaps(patched):
        mark_v8_pages(patched)
        mark_v8_reservations(patched)
    mark_go_heap(patched)
    if facts.sanitizer:
        mark_sanitizer_memory(patched, facts.sanitizer)
    if facts.postgres:
        mark_postgres_memory(patched, facts.postgres_dsm_control)
    if facts.valgrind:
        mark_valgrind_memory(patched)
    if facts.stack_pointers:
        mark_thread_stacks(patched, facts.stack_pointers, facts.thread_names)
    name_stack_guards(patched)
    if facts.python is not None:
        mark_python_arenas(patched, facts.python)
    return regions.replaced(rows)


def _rows_to_classify(regions: RegionColumns) -> Iterator[tuple[int, tuple]]:
    """(index, row as a plain tuple) of the regions classification must look at: all but
    those that are plain anonymous memory (no file, no name, kind ``anon``), not on a
    64 MiB boundary (no arena), right after another such region. For those no rule can
    apply: they are not an arena, the one before them is not an object's data (no bss)
    or a small no-access region (no guard shape), and as the one before the next region
    they are neither no-access nor code nor an object's part, so they make no rule
    apply to it either; a region after a skipped run is not next to the last one
    classified, and every rule that looks back wants the one right before it. A map of
    a million anonymous pages is classified in a few passes in C."""
    n = len(regions)
    kind_table, path_table = regions.distinct("kind"), regions.distinct("path")
    if n < 2 or kinds.ANON not in kind_table or "" not in path_table:
        yield from enumerate(regions.plain_rows())
        return
    # A byte a region, 1 where it is plain anonymous memory (in C: see columns' masks).
    plain = mask_and(
        zero_mask(regions.numbers[3]),  # no inode
        regions.name_mask("kind", kinds.ANON),
        regions.name_mask("path", ""),
    )
    aligned = zero_mask(regions.starts, low_bits=ARENA_HEAP.bit_length() - 1)
    skip = mask_and(plain, after_mask(plain), mask_not(aligned))
    for run in re.finditer(rb"\x00+", skip):
        lo, hi = run.span()
        yield from zip(range(lo, hi), regions.rows_between(lo, hi), strict=True)


def _relro_shape(below: Region, data: Region, relro: bool | None, next_to: bool) -> bool:
    """Whether the read-only region ``below`` the object's ``data`` sits as its RELRO
    would: mapped on into the data, at the next address or (``next_to``: nothing mapped
    between) across a small hole; sharing the data's first file page only where the
    program headers say the object has RELRO."""
    gap = data[START] - below[END]
    shared = below[OFFSET] + (below[END] - below[START]) - data[OFFSET]
    if shared == 0:
        return gap == 0 or (next_to and 0 < gap <= RELRO_HOLE_MAX)
    return bool(relro) and shared == PAGE and gap == 0


def _runs_on_in_the_file(below: Region, above: Region) -> bool:
    """Whether ``above`` maps the same file from where ``below`` stops."""
    return (
        below[INODE] == above[INODE]
        and below[DEV] == above[DEV]
        and below[OFFSET] + (below[END] - below[START]) == above[OFFSET]
    )


def _is_arena(r: Region, nxt: Region | None) -> bool:
    """The usable part of a glibc heap of a non-main arena (see module docstring)."""
    if r[START] % ARENA_HEAP or r[PERMS] != "rw-p" or r[PATH] or r[INODE]:
        return False
    size = r[END] - r[START]
    if size == ARENA_HEAP:
        # A whole heap (every page of it committed), unless a reservation goes on right
        # after it: then it is the start of something bigger (a WebAssembly memory of
        # 64 MiB at a 4 GiB boundary, its 8 GiB of guard above it), no arena's.
        return not (
            nxt is not None
            and nxt[START] == r[END]
            and nxt[KIND] in NO_ACCESS_KINDS
            and not nxt[INODE]
            and not nxt[PATH]
            and nxt[END] - nxt[START] > GUARD_MAX
        )
    return (
        size < ARENA_HEAP
        and nxt is not None
        and nxt[START] == r[END]
        and nxt[KIND] in NO_ACCESS_KINDS
        and not nxt[INODE]
        and not nxt[PATH]
        and nxt[END] == r[START] + ARENA_HEAP
    )


def classify_objects(regions: Sequence[Region], facts: ClassifyFacts = NO_FACTS) -> list[Region]:
    """Everything but thread stacks and guards: ELF objects (text, rodata, relro, data,
    bss, gap), arenas and their reserved tails, devices, SysV segments."""
    arena_rows: list[tuple[int, int]] = []
    out = [r for _, r, _ in _classified_objects(enumerate(regions), regions, facts, arena_rows)]
    _number_arenas_from_the_top(out, arena_rows)
    return out


def _number_arenas_from_the_top(out, arena_rows: list[tuple[int, int]]) -> None:
    """In place: arena heap N of M (numbered going up the map) becomes M + 1 - N.
    glibc maps each new arena below the last (mmap goes down), so numbered from the
    top an arena keeps its number as the program makes more: the log's "arena heap 3" is
    the table's "arena heap 3" minutes later (numbered from the bottom, the newest arena was
    always 1 and every other one moved up)."""
    if not arena_rows:
        return
    total = max(n for _, n in arena_rows)
    for i, n in arena_rows:
        r = out[i]
        out[i] = relabel(r, r[KIND], f"arena heap {total + 1 - n}", r[TID])


def _exec_objects(regions: Sequence[Region]) -> set[tuple[str, int]]:
    """(dev, inode) of every file with an executable (text) mapping."""
    if isinstance(regions, PlainRows):
        regions = regions.base
    if isinstance(regions, RegionColumns):
        if kinds.TEXT not in regions.distinct("kind"):
            return set()
        rows = where(regions.name_mask("kind", kinds.TEXT))
        dev, inode = regions.distinct("dev"), regions.numbers[3]
        return {(dev[regions.names[1][i]], inode[i]) for i in rows if inode[i]}
    return {(r.dev, r.inode) for r in regions if r.kind == kinds.TEXT and r.inode}


# How many regions the look for an object's other segments goes past on either side.
_NEIGHBOURS_LOOKED_AT = 8


def _apart_from_its_object(
    prev: Region | None, r: Region, regions: Sequence[Region], i: int, n: int
) -> bool:
    """Whether no private mapping of r's file is near r: the nearest region with a file
    or a name on either side (anonymous memory, as an object's .bss between two of its
    segments, and holes, as the kernel leaves between an executable's segments when
    they are aligned to 2 MiB, looked past) is another."""
    if prev is not None and prev[END] == r[START] and _same_file(prev, r):
        return False
    for step in (-1, 1):
        j = i + step
        for _ in range(_NEIGHBOURS_LOOKED_AT):
            if not 0 <= j < n:
                break
            other = regions[j]
            if other[INODE] or other[PATH]:
                if _same_file(other, r) and other[PERMS][3] == "p":
                    return False
                break
            j += step
    return True


def _same_file(a: Region, b: Region) -> bool:
    return a[INODE] == b[INODE] and a[DEV] == b[DEV]


def _uses_cuda(regions: Sequence[Region]) -> bool:
    """Does some region map /dev/nvidia-uvm (the process uses CUDA)?"""
    if isinstance(regions, PlainRows):
        regions = regions.base
    if isinstance(regions, RegionColumns):
        return next(where(regions.name_mask("path", cuda.UVM)), None) is not None
    return any(r[PATH] == cuda.UVM for r in regions)


def _touches_driver_mapping(r: Region, prev: Region | None, nxt: Region | None) -> bool:
    """Is the region right beside an NVIDIA device mapping or shared anonymous memory?"""
    return (
        prev is not None
        and prev[END] == r[START]
        and cuda.is_driver_mapping(prev[PATH], prev[PERMS])
    ) or (
        nxt is not None and nxt[START] == r[END] and cuda.is_driver_mapping(nxt[PATH], nxt[PERMS])
    )


def _classified_objects(
    rows: Iterable[tuple[int, Region]],
    regions: Sequence[Region],
    facts: ClassifyFacts,
    arena_rows: list[tuple[int, int]],
) -> Iterator[tuple[int, Region, Region]]:
    """classify_objects, one region at a time, in order: (index, classified, as it
    came). ``rows``: (index, region) of every region of ``regions``, or of all but runs
    that no rule can touch (see ``_rows_to_classify``). Arenas are numbered going up;
    ``arena_rows`` gets (index, number) of each arena and tail, for the caller to
    number them from the top once all are seen."""
    TEXT, DATA, RODATA, RELRO, BSS, GAP = (
        kinds.TEXT,
        kinds.DATA,
        kinds.RODATA,
        kinds.RELRO,
        kinds.BSS,
        kinds.GAP,
    )
    ANON, ARENA, RESERVED, STACK = kinds.ANON, kinds.ARENA, kinds.RESERVED, kinds.STACK
    GUARD, JIT = kinds.GUARD, kinds.JIT
    NO_ACCESS, OBJECT_KINDS, RW_ANON = NO_ACCESS_KINDS, _OBJECT_KINDS, _RW_ANON_KINDS
    bss_after, relro_below = facts.bss_after_data, facts.relro_below_data
    exec_objects = _exec_objects(regions)
    uses_cuda = _uses_cuda(regions)
    # Each region is final once the next one is seen (only the one before can be
    # relabelled): ``held`` waits for that, and what is final is yielded, so classified
    # columns are built without a list of every region.
    held: Region | None = None
    held_as_it_came: Region | None = None
    held_at = -1
    prev: Region | None = None
    arenas = 0
    tail_start = -1  # start of the no-access tail of the arena just seen
    n = len(regions)
    for i, r in rows:
        as_it_came = r
        k = r[KIND]
        if r[INODE]:
            # (Not a shared mapping: the loader maps an object's segments private; a
            # MAP_SHARED view of libc.so is a program reading the file as data.)
            if k in OBJECT_KINDS and r[PERMS][3] != "s" and (r[DEV], r[INODE]) in exec_objects:
                p = r[PERMS]
                if p[:3] == "---":
                    kind = GAP
                elif p[2] == "x":
                    kind = TEXT
                elif p[1] == "w":
                    kind = DATA
                    # The r-- part of the data segment right below: RELRO. One segment
                    # that mprotect split, so its file offsets run on into the data's (a
                    # read-only segment of its own, as in a static binary with no
                    # RELRO, ends elsewhere in the file). lld makes RELRO a segment of
                    # its own, the data's next in the file but a page or so higher up
                    # (Chromium): the offsets run on across an unmapped hole; or the
                    # two share a file page at adjacent addresses, which a segment
                    # with no RELRO can do too: the program headers say (Go's linker
                    # makes none, and its rodata runs on into its data).
                    relro = relro_below.get(r[START])
                    if (
                        relro is not False
                        and prev is not None
                        and prev[KIND] == RODATA
                        and prev[INODE] == r[INODE]
                        and prev[DEV] == r[DEV]
                        and _relro_shape(prev, r, relro, regions[i - 1][START] == prev[START])
                    ):
                        prev = held = relabel(prev, RELRO, prev[OBJECT], prev[TID])
                elif (
                    prev is not None
                    and prev[KIND] == DATA
                    and prev[END] == r[START]
                    and _runs_on_in_the_file(prev, r)
                ):
                    # Read-only inside the data segment, above writable data: pages the
                    # program made read-only itself (mprotect), as Chromium does with
                    # its protected_memory section. RELRO is only ever below the data.
                    kind = DATA
                else:
                    kind = RODATA
                if kind != TEXT and kind != GAP and _apart_from_its_object(prev, r, regions, i, n):
                    # The loader maps an object's segments next to each other: one with
                    # no segment of its file beside it is a view of the file (a Rust
                    # panic's backtrace maps the whole executable to read its symbols).
                    if k != kinds.FILE or r[OBJECT] is not None:
                        r = relabel(r, kinds.FILE, None, r[TID])
                elif kind != k or r[OBJECT] != r[PATH]:
                    r = relabel(r, kind, r[PATH], r[TID])
            elif k == kinds.DEVICE:
                name = device_name(r[PATH])
                if r[OBJECT] != name:
                    r = relabel(r, k, name, r[TID])
            elif k == kinds.SHM and r[PATH].startswith(SYSV_PREFIX):
                described = describe_sysv(r[PATH], r[INODE], facts.sysv)
                if r[OBJECT] != described:
                    r = relabel(r, k, described, r[TID])
            elif r[PATH].startswith(_HUGETLB_NAMES):
                if r[OBJECT] != HUGETLB:
                    r = relabel(r, k, HUGETLB, r[TID])
            elif uses_cuda and k == kinds.SHM and cuda.is_pinned_shape(r[PATH], r[PERMS]):
                if r[OBJECT] != cuda.PINNED:
                    r = relabel(r, k, cuda.PINNED, r[TID])
        elif r[PATH]:
            if k == STACK and r[PATH].startswith("[stack:"):
                # Kernels before 4.5 named thread stacks themselves: "[stack:TID]".
                tid = r[PATH][7:-1]
                if tid.isdigit():
                    r = relabel(r, kinds.THREAD_STACK, r[OBJECT], int(tid))
            elif r[PATH].startswith(GO_HEAP_NAME):
                if r[OBJECT] != GO_HEAP:  # Go 1.25+ names its mappings (model.go_heap)
                    r = relabel(r, k, GO_HEAP, r[TID])
            elif r[PATH].startswith(_GLIBC_NAMED):
                # glibc 2.40+ with glibc.mem.decorate_maps=1 names its own mappings.
                named = r[PATH][len(_GLIBC_NAMED) :]
                if named == "malloc arena]":
                    arenas += 1
                    tail_start = r[END]
                    r = relabel(r, ARENA, f"arena heap {arenas}", None)
                    arena_rows.append((i, arenas))
                elif named.startswith(_GLIBC_STACKS) and named[-1:] == "]":
                    tid = named[named.rfind(" ") + 1 : -1]
                    tid_n = int(tid) if tid.isdigit() else None
                    r = relabel(r, kinds.THREAD_STACK, r[OBJECT], tid_n)
        elif k in RW_ANON:
            if (
                not r[START] % ARENA_HEAP
                and r[START] not in facts.mapped_without_noreserve
                and _is_arena(r, regions[i + 1] if i + 1 < n else None)
            ):
                arenas += 1
                # (A whole heap has no no-access tail: what follows is not its.)
                tail_start = r[END] if r[END] - r[START] < ARENA_HEAP else -1
                r = relabel(r, ARENA, f"arena heap {arenas}", r[TID])
                arena_rows.append((i, arenas))
            elif (
                prev is not None
                and prev[KIND] == DATA
                and prev[END] == r[START]
                and prev[INODE]
                and r[PERMS] == "rw-p"
                and bss_after.get(prev[START]) != 0
            ):
                r = relabel(r, BSS, prev[OBJECT], r[TID])
            elif k != ANON:
                r = relabel(r, ANON, None, r[TID])
            if (
                prev is not None
                and prev[KIND] == RESERVED
                and prev[END] == r[START]
                and prev[END] - prev[START] <= GUARD_MAX
                and r[KIND] == ANON
                and r[PERMS] == "rw-p"
                and r[END] - r[START] >= THREAD_STACK_MIN
                and prev[OBJECT] is None
                and not prev[INODE]
                and not prev[PATH]
                and not reserve_above(r, regions[i + 1] if i + 1 < n else None)
            ):
                # A small no-access region below rw- memory: a thread stack's shape.
                # name_stack_guards says whose once thread stacks are known.
                held = relabel(prev, GUARD, STACK_SHAPE, None)
        elif k == JIT:
            if is_guard_beside(prev, r):
                held = relabel(prev, GUARD, _JIT_CODE, None)
        elif k in NO_ACCESS:
            if r[START] == tail_start:
                r = relabel(r, RESERVED, f"arena heap {arenas}", None)
                arena_rows.append((i, arenas))
            elif (
                prev is not None
                and prev[OBJECT]
                and prev[END] == r[START]
                and prev[INODE]
                and i + 1 < n
                and (nxt := regions[i + 1])[START] == r[END]
                and nxt[INODE] == prev[INODE]
                and nxt[DEV] == prev[DEV]
                and (nxt[DEV], nxt[INODE]) in exec_objects
            ):
                # Between two parts of one object: the loader reserved the whole span.
                r = relabel(r, GAP, prev[OBJECT], None)
            elif prev is not None and prev[KIND] == JIT and is_guard_beside(r, prev):
                r = relabel(r, GUARD, _JIT_CODE, None)
            elif (
                uses_cuda
                # A guard's size is left to the guard rules: in the recording, a thread's
                # guard page sits right on a /dev/nvidia0 mapping.
                and r[END] - r[START] > GUARD_MAX
                and _touches_driver_mapping(r, prev, regions[i + 1] if i + 1 < n else None)
            ):
                if k != RESERVED or r[OBJECT] != cuda.RESERVE:
                    r = relabel(r, RESERVED, cuda.RESERVE, None)
            elif k != RESERVED or r[OBJECT] is not None:
                r = relabel(r, RESERVED, None, None)
        if held is not None:
            yield held_at, held, held_as_it_came
        held = prev = r
        held_as_it_came = as_it_came
        held_at = i
    if held is not None:
        yield held_at, held, held_as_it_came
