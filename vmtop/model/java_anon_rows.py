"""Anonymous regions of a JVM's map read for the collector's finders (``java_gc_tables``,
``java_gc_whole``, ``java_zgc_tables``) and ``java_metaspace``: each region read once (of
columns, a read makes a Region), and what they ask of a region: whether it is free
(anonymous, named by no rule), whether it has a glibc arena's shape."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import MutableSequence
from itertools import compress, count, repeat
from operator import eq, itemgetter

from vmtop.model import kinds
from vmtop.model.column_steps import where
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, KIND, OBJECT, PATH, PERMS, START, Patched
from vmtop.model.stacks import STACK_SHAPE

RW, NONE = "rw-p", "---p"
PAGE = 4096
ARENA = 64 << 20  # glibc's HEAP_MAX_SIZE: its arenas' size and alignment
JVM_NAMED = "Java "  # the heap's, CDS archive's, class space's names (java_regions), ours
_PERMS_OF = itemgetter(PERMS)


class AnonRows:
    """The regions, each read once: a columnar map makes a Region at every read."""

    def __init__(
        self, regions: MutableSequence[Region], fresh: frozenset[int] = frozenset()
    ) -> None:
        self.regions = regions
        # Starts of regions on a 64 MiB boundary mapped without MAP_NORESERVE, which no
        # glibc arena's heap is (ClassifyFacts.mapped_without_noreserve).
        self.fresh = fresh
        self.read: dict[int, Region] = {}
        self.starts = regions.base.starts if isinstance(regions, Patched) else None

    def __len__(self) -> int:
        return len(self.regions)

    def __getitem__(self, i: int) -> Region:
        r = self.read.get(i)
        if r is None:
            r = self.read[i] = self.regions[i]
        return r

    def __setitem__(self, i: int, r: Region) -> None:
        self.regions[i] = self.read[i] = r

    def containing(self, address: int) -> int | None:
        """The index of the region holding ``address``, or None."""
        if self.starts is not None:
            i = bisect_right(self.starts, address) - 1
        else:
            i = bisect_right(self.regions, address, key=_start_of) - 1
        if i >= 0 and address < self[i][END]:
            return i
        return None

    def no_access(self) -> list[tuple[int, int, int]]:
        """(index, start, end) of every no-access region, without reading it whole (of
        columns: found in C; a JVM has one a thread, its stack's guard)."""
        regions = self.regions
        if isinstance(regions, Patched):
            starts, ends = regions.base.starts, regions.base.ends
            return [(i, starts[i], ends[i]) for i in where(regions.base.name_mask("perms", NONE))]
        found = compress(count(), map(eq, map(_PERMS_OF, regions), repeat(NONE)))
        return [(i, (r := regions[i])[START], r[END]) for i in found]


def _start_of(r: Region) -> int:
    return r[START]


def free(r: Region) -> bool:
    """Anonymous private memory that no rule has named but by a shape the JVM's
    reservations have too: a glibc arena's (classify's rule; such a shape is seen and
    left as it is), a thread stack's guard (a no-access part between committed ones)."""
    if r[PATH] or r[INODE] or (r[PERMS] != RW and r[PERMS] != NONE):
        return False
    what, kind = r[OBJECT], r[KIND]
    if what is None:
        return kind == kinds.ANON or kind == kinds.RESERVED
    if kind == kinds.ARENA or (kind == kinds.RESERVED and what.startswith("arena heap ")):
        return True
    return kind == kinds.GUARD and what == STACK_SHAPE


def anonymous(r: Region) -> bool:
    """Private anonymous memory of any kind (a region merged with what lies outside a
    reservation: the .bss spill of a library, a malloc'd block): never named here."""
    if r[PATH] or r[INODE] or (r[PERMS] != RW and r[PERMS] != NONE):
        return False
    return r[OBJECT] is None or not r[OBJECT].startswith(JVM_NAMED)


def arena_shaped(rows: AnonRows, first: int, last: int, lo: int, hi: int) -> bool:
    """A glibc arena's shape: 64 MiB at its alignment, rw-p from the base, at most one
    no-access part after it; not where smaps says the base was mapped without
    MAP_NORESERVE (glibc commits its heaps inside a MAP_NORESERVE reservation)."""
    if lo % ARENA or hi - lo != ARENA or rows[first][PERMS] != RW or lo in rows.fresh:
        return False
    return last == first or (last == first + 1 and rows[last][PERMS] == NONE)


def merged(parts) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(parts):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return tuple(out)


def overlaps(span, spans) -> bool:
    return any(span[0] < hi and lo < span[1] for lo, hi in spans)


def overlapping(spans: list[tuple[int, int]]) -> bool:
    spans = sorted(spans)
    return any(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False))
