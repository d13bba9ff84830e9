"""Which regions that could be a glibc arena's heap were mapped without MAP_NORESERVE
(smaps' VmFlags lack ``nr``): ``ClassifyFacts.mapped_without_noreserve``.

glibc reserves each heap of a non-main arena with MAP_NORESERVE and commits it with
mprotect, which keeps the flag (malloc/arena.c, new_heap). HotSpot commits metaspace
nodes, and Go its heap arenas, by mmap over their reservations, which drops it; a JVM
with thousands of classes had 40 of its metaspace nodes (2.5 GB) taken for arenas by
their shape. The kernel keeps the flag only while ``vm.overcommit_memory`` is not 2:
strict overcommit ignores MAP_NORESERVE. So nothing is said where that setting reads 2,
or where no region of the smaps text has ``nr`` at all (a tree copied from a machine
with strict overcommit, where glibc's own reservations have none: CUDA machines).

VmFlags are in smaps only. A snapshot read from maps alone (the ticks between the smaps
reads of a big map, ``--no-smaps``) gets what the last smaps read of the same process said
of the same regions (same start and end), so a region's kind does not change between
reads; a region smaps has not shown yet is judged by its shape, as before.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Sequence

from vmtop.model.classify import ARENA_HEAP
from vmtop.model.column_masks import mask_and, zero_mask
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region
from vmtop.procfs.smaps_blocks import regions_blocks, vm_flags_of

OVERCOMMIT = "sys/vm/overcommit_memory"
STRICT_OVERCOMMIT = b"2"
# Candidates looked at in one map: a map of more 64 MiB-aligned read-write regions than
# this is judged by shape alone (a lookup each; a JVM with 2.5 GB of metaspace has 45).
CANDIDATES_MAX = 4096
# Processes whose last smaps read is remembered for the maps-only reads between.
_REMEMBERED = 16
# Some region's VmFlags has nr (the kernel keeps the flag): searched up to the first.
_ANY_NORESERVE = re.compile(rb"\nVmFlags:[^\n]* nr(?= |\n|$)")
_LAST_READ: OrderedDict[tuple[str, int], dict[tuple[int, int], bool]] = OrderedDict()


def arena_candidates(regions: Sequence[Region]) -> list[Region]:
    """The regions a glibc arena's heap could be: anonymous rw-p on a 64 MiB boundary."""
    if isinstance(regions, RegionColumns):
        wanted = mask_and(
            zero_mask(regions.starts, low_bits=ARENA_HEAP.bit_length() - 1),
            zero_mask(regions.numbers[3]),  # no inode
            regions.name_mask("perms", "rw-p"),
            regions.name_mask("path", ""),
        )
        found = []
        for i in where(wanted):
            if len(found) == CANDIDATES_MAX:
                break
            found.append(regions[i])
        return found
    return [
        r
        for r in regions
        if not r.start % ARENA_HEAP and r.perms == "rw-p" and not r.inode and not r.path
    ][:CANDIDATES_MAX]


def without_noreserve(block: bytes) -> bool | None:
    """Whether an smaps block's VmFlags lack ``nr``; None without a VmFlags line."""
    flags = vm_flags_of(block)
    return None if flags is None else "nr" not in flags


def mapped_without_noreserve(procfs, pid: int, regions: Sequence[Region], smaps_text=None):
    """The starts of the arena candidates of ``regions`` mapped without MAP_NORESERVE,
    from ``smaps_text`` (the smaps just read, or None: a read of maps alone)."""
    key = (str(procfs.root), pid)
    if smaps_text is None:  # (no pass over the regions: a million are read so)
        seen = _LAST_READ.get(key)
        if not seen:
            return frozenset()
        return frozenset(s for (s, e), fresh in seen.items() if fresh and _mapped(regions, s, e))
    candidates = arena_candidates(regions)
    if not candidates:
        return frozenset()
    setting = procfs.read_global(OVERCOMMIT)
    if setting == STRICT_OVERCOMMIT + b"\n":
        return frozenset()
    # On a live system whose setting reads not strict the kernel keeps the flag; a copy
    # (which may come from another machine) must show it somewhere. (A search of the
    # whole text: 20 ms at 60 000 regions, so not on every read of a live process.)
    unproven = setting is None or not procfs.is_live
    if unproven and not _ANY_NORESERVE.search(smaps_text):
        _LAST_READ.pop(key, None)
        return frozenset()
    blocks = regions_blocks(smaps_text, candidates)
    seen = {
        (r.start, r.end): fresh
        for r, block in zip(candidates, blocks, strict=True)
        if block is not None and (fresh := without_noreserve(block)) is not None
    }
    _LAST_READ[key] = seen
    _LAST_READ.move_to_end(key)
    while len(_LAST_READ) > _REMEMBERED:
        _LAST_READ.popitem(last=False)
    return frozenset(start for (start, _), fresh in seen.items() if fresh)


def _mapped(regions: Sequence[Region], start: int, end: int) -> bool:
    """Whether one of ``regions`` (in order) runs from ``start`` to ``end``."""
    starts = regions.starts if isinstance(regions, RegionColumns) else None
    if starts is not None:
        i = bisect_left(starts, start)
    else:
        i = bisect_left(regions, start, key=_start_of)
    if i >= len(regions):
        return False
    r = regions[i]
    return r.start == start and r.end == end


def _start_of(r: Region) -> int:
    return r.start
