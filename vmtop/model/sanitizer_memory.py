"""Name a sanitized process's own memory: ASan's and TSan's shadow, their heaps.

In a process that runs a sanitizer (``ClassifyFacts.sanitizer``, told by its run-time:
``procfs.sanitizer_runtime``), the regions of the run-time's fixed layout
(``model.sanitizer_layout``) get that part's name as their object, and the kind their
permissions give (anon, reserved). A part is named only where the map has the mapping
the run-time makes there: one starting at the part's start (ASan's low shadow: one
holding it), the heap's reservation starting at its base, covered without a hole up to
its end, with the allocator's state in the pages right after it. A run-time whose layout
is another (another version, another architecture) gets no names.

With ``decorate_proc_maps=1`` the run-time maps its memory from files it names
``/dev/shm/PID [WHAT]`` and unlinks (sanitizer_common's GetNamedMappingFd): the parts
are named as they would be without, and every other such mapping by its WHAT ("ASan:
stack depot"), each a private mapping of an empty file, that is anonymous memory. TSan
maps the shadow of read-only memory from a file of its own (``TMPDIR/tsan.rodata.PID``).

Cost: the fixed parts are found by bisection and only the regions inside them are
looked at; the named files by their distinct paths.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, MutableSequence

from vmtop.model import kinds
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, KIND, OBJECT, PATH, PERMS, START, TID, Patched
from vmtop.model.region_rows import relabel as _relabel
from vmtop.model.sanitizer_layout import (
    ALLOCATORS,
    FAKE_STACK,
    LARGE_CHUNK_SUFFIX,
    PARTS,
    PROTECTED,
    TSAN_PROTECTED,
    Allocator,
    Part,
    chunk_size,
    chunks_name,
    heap_name,
    metadata_name,
)

# sanitizer_common's GetNamedMappingFd: "/dev/shm/%zu [%s]", then unlinked.
DECORATED = re.compile(r"/dev/shm/\d+ \[(.*)\](?: \(deleted\))?")
# TSan's MapRodata: "%s/tsan.rodata.%d" in TMPDIR (default /tmp), then unlinked.
TSAN_RODATA = re.compile(r"/.*/tsan\.rodata\.\d+(?: \(deleted\))?")
# The run-time's own labels that say more in other words (after the tool's name).
_LABELS = {"LargeMmapAllocator": LARGE_CHUNK_SUFFIX, "FakeStack": FAKE_STACK[4:]}


def _owned(r: Region) -> bool:
    """Could the run-time have mapped this region? Private, and anonymous or one of
    its named files."""
    if r[PERMS][3] != "p":
        return False
    if not r[INODE] and not r[PATH]:
        return True
    return r[INODE] != 0 and (
        DECORATED.fullmatch(r[PATH]) is not None or TSAN_RODATA.fullmatch(r[PATH]) is not None
    )


def _kind(r: Region) -> str:
    if r[PERMS][:3] == "---":
        return kinds.RESERVED
    if r[PATH] and DECORATED.fullmatch(r[PATH]) is None:
        return r[KIND]  # (TSan's read-only shadow: a file it reads)
    return kinds.ANON


def _name(regions: MutableSequence[Region], i: int, r: Region, obj: str) -> None:
    kind = _kind(r)
    if (r[KIND], r[OBJECT]) != (kind, obj):
        regions[i] = _relabel(r, kind, obj, r[TID])


def _first_from(regions, address: int) -> int:
    """The index of the first region starting at ``address`` or above (of columns: by
    bisection of their starts, no Region made)."""
    if isinstance(regions, Patched):
        return bisect_left(regions.base.starts, address)
    if isinstance(regions, RegionColumns):
        return bisect_left(regions.starts, address)
    return bisect_left(regions, address, key=_start)


def _start(r) -> int:
    return r[START]


def _between(regions, lo: int, hi: int) -> Iterator[tuple[int, Region]]:
    """(index, region) of the regions that start in [lo, hi) (of columns: as plain
    tuples, made in C, but where a rule before replaced the row)."""
    i, n = _first_from(regions, lo), len(regions)
    if isinstance(regions, Patched):
        end, replaced = bisect_left(regions.base.starts, hi), regions.rows
        for k, row in zip(range(i, end), regions.base.rows_between(i, end), strict=True):
            yield k, replaced.get(k, row)
        return
    while i < n:
        r = regions[i]
        if r[START] >= hi:
            return
        yield i, r
        i += 1


def _region_at(regions, address: int) -> Region | None:
    """The region holding ``address``."""
    i = _first_from(regions, address + 1) - 1
    if i >= 0 and regions[i][START] <= address < regions[i][END]:
        return regions[i]
    return None


def anchored(regions, part: Part) -> bool:
    """Does the map have the run-time's mapping where ``part`` is anchored?"""
    r = _region_at(regions, part.anchor)
    return (
        r is not None
        and _owned(r)
        and r[PERMS][:3] == part.access
        and (not part.exact or r[START] == part.anchor)
    )


def laid_out(regions, tool: str) -> bool:
    """Does the map have the mappings ``tool``'s layout begins with (its first two
    parts)?"""
    parts = PARTS.get(tool, ())
    return len(parts) >= 2 and anchored(regions, parts[0]) and anchored(regions, parts[1])


def region_starting(regions, address: int) -> Region | None:
    """The region the run-time could have mapped that starts at ``address``, or None."""
    i = _first_from(regions, address)
    if i < len(regions) and regions[i][START] == address and _owned(regions[i]):
        return regions[i]
    return None


def mark_sanitizer_memory(regions: MutableSequence[Region], tool: str) -> None:
    """In place: the regions of ``tool``'s own memory get its names (module docstring).
    ``tool``: "ASan", "TSan" or "LSan" (``model.sanitizer_layout``)."""
    named: set[int] = set()
    there = laid_out(regions, tool)
    for part in PARTS.get(tool, ()) if there else ():
        if not anchored(regions, part):
            continue
        for i, r in _between(regions, part.lo, part.hi):
            if r[END] <= part.hi and _owned(r):
                _name(regions, i, r, part.name)
                named.add(i)
    if there:
        for lo, hi in PROTECTED.get(tool, ()):
            for i, r in _between(regions, lo, hi):
                if i not in named and r[END] <= hi and r[PERMS][:3] == "---" and _owned(r):
                    _name(regions, i, r, TSAN_PROTECTED)
                    named.add(i)
    allocator = ALLOCATORS.get(tool)
    if allocator is not None:
        named.update(_mark_allocator(regions, allocator))
    _mark_decorated(regions, tool, named)


def _mark_allocator(regions, heap: Allocator) -> list[int]:
    """Name the allocator's regions, if its reservation is all there (see module
    docstring); the indexes named."""
    rows = list(_between(regions, heap.beg, heap.end + 1))  # and the state's, at the end
    expected, inside = heap.beg, 0
    below = _region_at(regions, heap.beg)
    if below is not None and below[START] < heap.beg:
        # The space's no-access start, merged by the kernel with no-access memory below
        # it (TSan's protected range): the space goes on from its end.
        if below[PERMS][:3] != "---" or not _owned(below):
            return []
        expected = below[END]
    for _, r in rows:
        if r[START] != expected or not _owned(r):
            break
        expected = r[END]
        inside += 1
        if expected >= heap.end:
            break
    if expected != heap.end or inside >= len(rows):
        return []
    info = rows[inside][1]  # the allocator's state (RegionInfo of every class)
    if info[START] != heap.end or not _owned(info) or info[PERMS][:3] != "rw-":
        return []
    for i, r in rows[:inside]:
        _name(regions, i, r, _allocator_object(heap, r))
    _name(regions, rows[inside][0], info, metadata_name(heap.tool))
    return [i for i, _ in rows[: inside + 1]]


def _allocator_object(heap: Allocator, r: Region) -> str:
    """What a region inside the allocator's space holds: chunks of one class (from the
    class's region's start), its free array (and LSan's chunk metadata, right below it),
    or reserved space."""
    class_id = heap.class_at(r[START])
    beg = heap.region_beg(class_id)
    if r[PERMS][:3] == "---" or r[END] > heap.region_beg(class_id + 1):
        return heap_name(heap.tool)
    # Chunks grow up from the region's start, metadata down from the free array: a
    # region in the lower half of what lies below the free array holds chunks.
    middle = beg + (heap.free_array_beg(class_id) - beg) // 2
    size = chunk_size(class_id)
    if r[END] <= middle and size is not None:
        return chunks_name(heap.tool, size)
    if r[START] >= middle or size is None:
        return metadata_name(heap.tool)
    return heap_name(heap.tool)


def _decorated_rows(regions) -> Iterator[tuple[int, Region]]:
    if isinstance(regions, Patched):
        base = regions.base
        for path in base.distinct("path"):
            if path.startswith("/dev/shm/") and DECORATED.fullmatch(path):
                for i in where(base.name_mask("path", path)):
                    yield i, regions[i]
        return
    for i, r in enumerate(regions):
        if r[PATH].startswith("/dev/shm/") and DECORATED.fullmatch(r[PATH]):
            yield i, r


def _mark_decorated(regions, tool: str, named: set[int]) -> None:
    """The run-time's other named mappings (decorate_proc_maps=1): by their label."""
    for i, r in list(_decorated_rows(regions)):
        if i in named or r[PERMS][3] != "p":
            continue
        label = DECORATED.fullmatch(r[PATH])[1]
        suffix = _LABELS.get(label)
        _name(regions, i, r, tool + suffix if suffix else f"{tool}: {label}")
