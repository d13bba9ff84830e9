"""A HotSpot JVM's Java heap and JIT code cache, named in its map.

The Java heap is one reservation of exactly MaxHeapSize bytes (``JavaFacts.heap_sizes``,
read by ``vmtop.procfs.java_facts`` from the JVM's hsperfdata counters, or from -Xmx),
committed in parts (``rw-p``) with the rest no-access (``---p``), and with G1 and CDS
also the archived heap objects mapped from ``classes.jsa`` inside it. So the heap is
the run of such regions that spans exactly that size. With compressed oops HotSpot puts
it to end at or below 32 GiB, which settles a size that several runs match (64 MiB
glibc arenas); above 32 GiB a small heap is not named (a run of arenas or metaspace
nodes could be it), and no run with a glibc arena's shape in it is taken. Of two runs,
the one not starting in the no-access prefix HotSpot puts below a heap it cannot base
at zero (-Xmx31g; the prefix is named the heap's too, as NMT counts it) is the heap,
and of two adjacent ones of the class space's size the
lower (without CDS the class space follows the heap). A run of the class space's size
that starts where the CDS archive's reservation ends is the class space, never the
heap: JDK 25 maps the archive and the class space right after it low (below 4 GiB,
for compressed class pointers without a base), where a 1 GiB heap (-Xmx1g) and the
1 GiB class space were two runs of the heap's size, and nothing was named. Without
CDS (JDK 22 and later) the class space lies low on its own: with a heap of its size,
two runs that the layout does not tell apart; the heap is then the one whose
collector's tables, which mirror its committed parts, the map holds
(``java_gc_tables``), if only one's are found. Where no run or more than one matches,
nothing is named: the map then says what it always said. Where no run spans the size
from a region's start, a heap above 32 GiB whose committed base the kernel merged with
the committed top of a table right below it (JDK 25, G1: the card table, committed at
its top for the archived objects loaded at the heap's top) is the one run from a 2 MiB
boundary inside a free rw-p region, where the collector's tables are found for that
base (they mirror the heap's committed parts: a heap's top merged with what lies above
makes such a run too, from the wrong base); the regions wholly inside are named, not
that one (JDK 25 -Xmx1g -XX:-UseCompressedOops too: its base merged with G1's bitmap's
top; there the class space after the archive is a run of 1 GiB as well, not counted).
Of two low runs no table tells apart (JDK 22 and later without CDS, -Xms = -Xmx: the
heap's tables committed whole have no pattern), the heap is the one committed whole
where the other, of the class space's size, is not (the class space is committed as
classes load). JDK 17 without CDS and -Xms = -Xmx: the class space right after the
heap, the heap's committed top merged with the class space's committed base, so no run
spans the heap's size; the heap is then the run from a region's start that ends inside
that region with the class space's size on from there at a region's end
(``_merged_top_spans``): no region of it is named (the one region is both), but the
class space's regions above it, the tables and metaspace are. A heap in hugetlb pages
(-XX:+UseLargePages with a pool of them: ``/anon_hugepage (deleted)``, committed whole)
is a run like any other; so is the code cache there, one mapping. Where hsperfdata says
the heap is committed whole (its generations' capacities: ``JavaFacts.heap_committed``),
a run with a no-access part is not it; and where no run is, the one region big enough
to hold it is the heap merged with what lies beside it (``java_merged_heap``). JDK 17
without compressed oops and without CDS puts the class space alone at 2 GiB, the heap
high: with -Xmx1g the low run of 1 GiB is the class space unless the collector's tables
are found for it, and another run, or a heap whose base merged with what lies below,
with its tables found, is the heap; with -Xms = -Xmx too, the heap merged whole with a
bitmap in one region (``java_merged_heap``, where in it not known), the class space is
the one such low run outside that region. The no-access prefix is looked for only below a
heap too big to fit between HeapBaseMinAddress (2 GiB) and 32 GiB: another one, above
32 GiB, runs without compressed oops, and what lies below it is another's.
Checked against the JVM's own account (NMT) on 28 configurations of OpenJDK 17 (G1,
Parallel, Serial, Shenandoah, ZGC; 64 MiB to 40 GiB; CDS on and off; -Xms = -Xmx;
no compressed oops; THP, hugetlb pages, AlwaysPreTouch) and on Temurin 25 (the same
collectors and options, 512 MiB to 40 GiB, compact object headers): right on every one
where the size was known, never wrong.

ZGC's heap needs no size: it is shared memory named ``/memfd:java_heap``
(``java_zgc_heap``, which names its reserve too). The CDS archive and the class space:
``java_class_space``.

The code cache is a run of anonymous ``rwxp`` and ``---p`` regions starting with code:
one reservation (240 MiB by default) in three segments going up the map, profiled
methods, the JVM's own code (non-nmethods), non-profiled methods; each committed from
its base. Its no-access parts are named the code cache's reserve.

Metaspace and the collector's data structures: ``vmtop.model.java_native_regions``.

Only for a process that maps libjvm.so (``JavaFacts`` is None otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableSequence

from vmtop.model import kinds
from vmtop.model.facts import JavaFacts
from vmtop.model.java_anon_rows import AnonRows
from vmtop.model.java_class_space import (
    CDS_ARCHIVE,
    CLASS_SPACE,
    class_space_after_cds,
    mark_cds_archive,
    mark_class_space,
    mark_class_space_alone,
)
from vmtop.model.java_gc_tables import HeapSpan, collector_tables
from vmtop.model.java_merged_heap import (
    HEAP_ALIGN,
    JAVA_HEAP_AND_GC_DATA,
    JAVA_HEAP_AND_MORE,
    adjacent_runs,
    committed_whole,
    heap_part,
    hugetlb,
    mark_heap_holder,
    mark_heap_merged_whole,
)
from vmtop.model.java_native_regions import mark_java_native_regions
from vmtop.model.java_zgc_heap import JAVA_HEAP_ZGC, mark_zgc_heap
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
    relabel,
)

JAVA_HEAP = "Java heap"
CODE_CACHE = "code cache"
# HotSpot's CodeHeaps, going up the map, when the cache is segmented (the default).
CODE_SEGMENTS = ("profiled", "JVM", "non-profiled")
# (The names of java_class_space's and java_zgc_heap's regions are said from here too.)
__all__ = [
    "CDS_ARCHIVE",
    "CLASS_SPACE",
    "CODE_CACHE",
    "CODE_SEGMENTS",
    "JAVA_HEAP",
    "JAVA_HEAP_AND_GC_DATA",
    "JAVA_HEAP_AND_MORE",
    "JAVA_HEAP_ZGC",
    "mark_java_regions",
]

_GIB = 1 << 30
_ARENA = 64 << 20  # a glibc arena heap: never part of the Java heap
_LOW_HEAP_END = 32 * _GIB  # compressed oops: the heap ends at or below 32 GiB
_SMALL_HEAP = 128 << 20  # above 32 GiB, no heap this small is named
_HEAP_BASE_MIN = 2 * _GIB  # HotSpot's HeapBaseMinAddress: no heap lies below it


def mark_java_regions(
    regions: MutableSequence[Region], java: JavaFacts, fresh: frozenset[int] = frozenset()
) -> None:
    """In place: the Java heap's regions get the object "Java heap", the code cache's
    "code cache: <segment>"; kinds stay (anon, reserved, file, jit) but for a heap
    region taken for a glibc arena, which is anon. ``fresh``: the starts of regions
    mapped without MAP_NORESERVE (ClassifyFacts.mapped_without_noreserve)."""
    _mark_code_cache(regions)
    span = None
    # The regions the heap is known to lie in: its span's, or the one holding it where
    # the kernel merged it whole with its neighbours (where in it, maybe not known).
    heap_at: tuple[int, int] | None = None
    zgc = mark_zgc_heap(regions, java)
    if not zgc and java.heap_sizes:
        span = _heap_span(regions, java, fresh)
        if span is not None:
            for i in range(span[0], span[1] + 1):
                r = regions[i]
                kind = kinds.ANON if r[KIND] == kinds.ARENA else r[KIND]
                regions[i] = relabel(r, kind, JAVA_HEAP, r[TID])
            _mark_noaccess_prefix(regions, span)
            mark_heap_holder(regions, span)
            heap_at = (span.first, span.last)
        elif (merged := mark_heap_merged_whole(regions, java)) is not None:
            span, heap_at = merged.span, (merged.holder, merged.holder)
    cds_end = mark_cds_archive(regions, span)
    heap_end = span.end if span is not None else None
    start = cds_end if cds_end is not None else heap_end
    named_space = False
    size = java.class_space_size
    if size and start is not None:
        named_space = mark_class_space(regions, start, size)
    if size and not named_space and cds_end is None and (heap_at is not None or zgc):
        # (JDK 17 -Xms1g -Xmx1g -XX:-UseCompressedOops -Xshare:off: the heap merged
        # whole with G1's tables, two bases fitting in that region, and the class space
        # alone at 2 GiB: no run but the class space's is left to be it.)
        named_space = mark_class_space_alone(regions, _spans(regions, (size,)), heap_at, size)
    mark_java_native_regions(regions, java, span, named_space, fresh)


def _mark_noaccess_prefix(regions, heap: HeapSpan) -> None:
    """The no-access prefix HotSpot reserves right below a heap with compressed oops it
    cannot base at zero (ending above 32 GiB, too big to fit below it), so that a null's offset faults: one
    no-access region of the heap's alignment (a power of two, 2 MiB at least: 2 with
    Parallel, 8 with Shenandoah, 16 with G1 at -Xmx31g), aligned to it."""
    base, end = heap.base, heap.end
    if heap.first == 0 or end <= _LOW_HEAP_END or end - base > _LOW_HEAP_END:
        return
    if end - base <= _LOW_HEAP_END - _HEAP_BASE_MIN:
        # (A heap that fits between HeapBaseMinAddress and 32 GiB is put there, zero
        # based, and has no prefix: above, it runs without compressed oops, and what
        # lies below is another's: Shenandoah's second bitmap, -Xmx1g, of 32 MiB.)
        return
    r = regions[heap.first - 1]
    size = r[END] - r[START]
    if r[END] != base or r[PATH] or r[INODE] or r[PERMS] != "---p" or r[OBJECT] is not None:
        return
    if size < HEAP_ALIGN or size & (size - 1) or r[START] % size:
        return
    regions[heap.first - 1] = relabel(r, kinds.RESERVED, JAVA_HEAP, r[TID])


def _spans(regions, sizes) -> list[tuple[int, int]]:
    """(first, last) index of every run of heap-like regions spanning a size of
    ``sizes`` from a region's start (a mapping of the CDS archive is no such start)."""
    spans = []
    n, i = len(regions), 0
    while i < n:
        # A run of adjacent heap-like regions, read once (metaspace can make hundreds).
        run = [regions[i]]
        if not heap_part(run[0]):
            i += 1
            continue
        while i + len(run) < n:
            nxt = regions[i + len(run)]
            if nxt[START] != run[-1][END] or not heap_part(nxt):
                break
            run.append(nxt)
        ends = {r[END]: k for k, r in enumerate(run)}
        for k, first in enumerate(run):
            if first[PATH] and not hugetlb(first):
                continue
            last = [
                ends[e] for e in (first[START] + size for size in sizes) if ends.get(e, -1) >= k
            ]
            if last:
                spans.append((i + k, i + min(last)))
        i += len(run)
    return spans


def _heap_span(regions, java: JavaFacts, fresh: frozenset[int]) -> HeapSpan | None:
    """The one run of heap-like regions spanning a size of ``java.heap_sizes``, by the
    rules of the module's note; None when there is none or several."""
    # JDK 22 and later map the CDS archive and the class space right after it low, near
    # the heap: a run of the class space's size that starts right after the archive's
    # reservation is the class space (-Xmx1g: both 1 GiB, both below 4 GiB), and no
    # run that could be the heap (-XX:-UseCompressedOops: the heap far above, its base
    # merged with its bitmap's top).
    class_space = java.class_space_size
    spans = [
        s
        for s in _spans(regions, java.heap_sizes)
        if not class_space_after_cds(regions, s, class_space)
    ]
    if committed_whole(java):  # (hsperfdata says so: the heap has no no-access part)
        spans = [s for s in spans if not _has_no_access(regions, s)]
    doubted = _doubted_low_run(regions, spans, java, fresh)
    if doubted is not None:
        heap = _heap_beside_a_class_space(regions, java, fresh, spans, doubted)
        if heap is not None:
            return heap
    span = _whole_heap_span(regions, java, fresh, spans)
    if span is not None:
        return _whole(regions, span)
    # (Runs of glibc arenas, eight of 64 MiB side by side for a 512 MiB heap, are no
    # heap: they leave the heap to be looked for inside a region.)
    if [s for s in spans if not any(_arena_shaped(regions, k) for k in range(s[0], s[1] + 1))]:
        return None
    if java.class_space_size:
        merged_top = _merged_top_spans(regions, java.heap_sizes, java.class_space_size)
        if len(merged_top) == 1:
            return merged_top[0]
    if min(java.heap_sizes) <= _SMALL_HEAP:
        return None
    # (A heap's top merged with what lies above makes such a run too, of the wrong base:
    # only the tables, which mirror the heap's committed parts from its base, tell.)
    merged = _merged_base_heaps(regions, java, fresh)
    return merged[0] if len(merged) == 1 else None


def _merged_base_heaps(regions, java: JavaFacts, fresh) -> list[HeapSpan]:
    """Heaps above 32 GiB whose committed base the kernel merged with what lies below
    (``_merged_base_spans``) for which the collector's tables are found."""
    return [
        heap
        for heap in _merged_base_spans(regions, java.heap_sizes)
        if regions[heap.last][END] > _LOW_HEAP_END and _tables_found(regions, java, heap, fresh)
    ]


def _whole_heap_span(regions, java: JavaFacts, fresh: frozenset[int], spans: list):
    """(first, last) index of the one of ``spans`` (runs of heap-like regions spanning
    a size of ``java.heap_sizes`` from a region's start) that is the heap, or None."""
    sizes, class_space = java.heap_sizes, java.class_space_size
    low = [s for s in spans if regions[s[1]][END] <= _LOW_HEAP_END]
    if len(low) == 2:
        low = _told_apart(regions, low, class_space)
    if len(low) == 2:
        low = _told_by_tables(regions, low, java, fresh)
    if len(low) == 2:
        low = _told_by_commit(regions, low, class_space)
    if len(low) == 1:
        return low[0]
    spans = [s for s in spans if not any(_arena_shaped(regions, k) for k in range(s[0], s[1] + 1))]
    if len(spans) == 2:
        spans = _told_apart(regions, spans, class_space)
    if len(spans) == 2:
        spans = _told_by_tables(regions, spans, java, fresh)
    if len(spans) != 1 or min(sizes) <= _SMALL_HEAP:
        return None
    return spans[0]


def _has_no_access(regions, span: tuple[int, int]) -> bool:
    return any(regions[k][PERMS] == "---p" for k in range(span[0], span[1] + 1))


def _doubted_low_run(regions, spans, java: JavaFacts, fresh) -> tuple[int, int] | None:
    """The one run of the heap's size below 32 GiB where it could be the class space
    as well: of its size, no CDS archive mapped, no collector's tables found for it,
    not committed whole (the class space is committed as classes load). JDK 17
    without compressed oops and without CDS puts the class space alone at 2 GiB and
    the heap anywhere: with -Xmx1g a run of 1 GiB each (or none for the heap, where
    the kernel merged its committed base with a neighbour's), and the low one, the
    class space, was named the heap."""
    low = [s for s in spans if regions[s[1]][END] <= _LOW_HEAP_END]
    if len(low) != 1:
        return None
    ((first, last),) = low
    if regions[last][END] - regions[first][START] != java.class_space_size:
        return None
    if not _has_no_access(regions, low[0]):
        return None
    if any(r[PATH].endswith(".jsa") for r in regions):
        return None
    return None if _tables_found(regions, java, _whole(regions, low[0]), fresh) else low[0]


def _heap_beside_a_class_space(
    regions, java: JavaFacts, fresh, spans, doubted: tuple[int, int]
) -> HeapSpan | None:
    """The heap where the one low run ``doubted`` could be the class space: another
    run, or a heap whose committed base the kernel merged with what lies below, for
    which the collector's tables are found (or, committed whole, a run with no
    no-access part); None where there is no such other one (the low run is then
    taken as before)."""
    others = [s for s in spans if s != doubted]
    span = _whole_heap_span(regions, java, fresh, others)
    if span is not None:
        heap = _whole(regions, span)
        whole = committed_whole(java) and not _has_no_access(regions, span)
        if whole or _tables_found(regions, java, heap, fresh):
            return heap
    if min(java.heap_sizes) <= _SMALL_HEAP:
        return None
    merged = _merged_base_heaps(regions, java, fresh)
    return merged[0] if len(merged) == 1 else None


def _told_by_tables(regions, two: list[tuple[int, int]], java: JavaFacts, fresh) -> list:
    """Of two runs of the heap's size, the heap where the collector's tables, which
    mirror the heap's committed parts, are found for one and not for the other (JDK 22
    and later without CDS: the class space, low on its own, of a 1 GiB heap's size)."""
    told = [span for span in two if _tables_found(regions, java, _whole(regions, span), fresh)]
    return told if len(told) == 1 else two


def _told_by_commit(regions, two: list[tuple[int, int]], class_space: int | None) -> list:
    """Of two runs of the heap's size that no table tells apart, the heap where it is
    committed whole and the other, of the class space's size, is not (JDK 22 and later
    without CDS, -Xms = -Xmx: the heap, and so its tables, committed whole from the
    start, with no pattern to find; the class space, low on its own, committed as
    classes load, a few MiB of it, the rest no-access: whole only once the JVM has run
    out of it)."""
    whole = [s for s in two if s[0] == s[1] and regions[s[0]][PERMS] == "rw-p"]
    if len(whole) != 1:
        return two
    (other,) = [s for s in two if s not in whole]
    first, last = other
    if regions[last][END] - regions[first][START] != class_space:
        return two
    if not any(regions[k][PERMS] == "---p" for k in range(first, last + 1)):
        return two
    return whole


def _tables_found(regions, java: JavaFacts, heap: HeapSpan, fresh) -> bool:
    """Whether the collector's tables for ``heap`` are in the map, each seen (none of
    them: not found)."""
    rows = AnonRows(regions, fresh)
    found, complete = collector_tables(rows, java, heap, rows.no_access())
    return bool(found) and complete


def _heap_runs(regions) -> Iterator[tuple[int, int]]:
    """(first, last) index of each run of adjacent heap-like regions (``heap_part``)."""
    return adjacent_runs(regions, heap_part)


def _merged_base_spans(regions, sizes) -> list[HeapSpan]:
    """Heaps whose committed base the kernel merged with committed memory right below
    (JDK 25, G1, a heap above 32 GiB: the card table reserved right below it, committed
    at its top for the archived objects loaded at the heap's top): a run of heap-like
    regions from a 2 MiB boundary inside a free rw-p region to a region's end, of a
    size of ``sizes``, no glibc arena's shape in it, not committed whole (G1's tables
    would then be found by their sizes alone, whatever the base); the regions wholly
    inside."""
    out = []
    for i, j in _heap_runs(regions):
        starts = {regions[k][START]: k for k in range(i, j + 1)}
        for last in range(i, j + 1):
            for size in sizes:
                base = regions[last][END] - size
                if base < regions[i][START] or base % HEAP_ALIGN or base in starts:
                    continue
                k = _holding(regions, i, last, base)
                r = regions[k]
                if r[PERMS] != "rw-p" or r[PATH] or r[OBJECT] is not None or k == last:
                    continue
                inside = range(k + 1, last + 1)
                if any(_arena_shaped(regions, m) for m in range(k, last + 1)):
                    continue
                if any(regions[m][PERMS] == "---p" for m in inside):
                    out.append(HeapSpan(k + 1, last, base, regions[last][END]))
    return out


def _merged_top_spans(regions, sizes, class_space: int) -> list[HeapSpan]:
    """Heaps whose committed top the kernel merged with the class space's committed
    base right above (JDK 17 without CDS reserves the class space right after the
    heap; a heap committed whole, -Xms = -Xmx): from a region's start on a 2 MiB
    boundary, below 32 GiB, a run of heap-like regions a size of ``sizes`` long ends
    inside a rw-p region, and the class space's size on from there, at a region's end,
    has a no-access part (the class space committed in part, from its base). The
    kernel merges only committed edges: the class space's top is never committed
    before its base, so the lower of the two is the heap. Not with the CDS archive
    mapped (the class space then follows the archive); the regions wholly inside."""
    out = []
    for i, j in _heap_runs(regions):
        ends = {regions[k][END]: k for k in range(i, j + 1)}
        for k in range(i, j + 1):
            base = regions[k][START]
            if base % HEAP_ALIGN:
                continue
            for size in sizes:
                top = base + size
                last = ends.get(top + class_space, -1)
                if top > _LOW_HEAP_END or last < k:
                    continue
                h = _holding(regions, k, last, top)
                r = regions[h]
                if r[START] == top or r[PERMS] != "rw-p" or r[OBJECT] is not None:
                    continue
                if not any(regions[m][PERMS] == "---p" for m in range(h + 1, last + 1)):
                    continue
                if any(_arena_shaped(regions, m) for m in range(k, h + 1)):
                    continue
                out.append(HeapSpan(k, h - 1, base, top))
    if out and any(r[PATH].endswith(".jsa") for r in regions):
        return []  # (read last: a pass over every region)
    return out


def _whole(regions, span: tuple[int, int]) -> HeapSpan:
    """The heap of the run ``span``, from its first region's start to its last's end."""
    return HeapSpan(span[0], span[1], regions[span[0]][START], regions[span[1]][END])


def _holding(regions, lo: int, hi: int, address: int) -> int:
    """The index, between ``lo`` and ``hi``, of the region holding ``address``."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if regions[mid][START] <= address:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _told_apart(regions, two: list[tuple[int, int]], class_space: int | None) -> list:
    """Of two runs of the heap's size, the heap where the layout says which: the one
    not starting in the no-access prefix HotSpot puts below a heap it cannot place at
    a zero base (-Xmx31g); the lower of two adjacent ones of the class space's size
    (without CDS, the class space is reserved right after the heap)."""
    (a, b), (c, d) = two
    prefix = [s for s in two if regions[s[0]][PERMS] == "---p"]
    if len(prefix) == 1:
        return [s for s in two if s not in prefix]
    if regions[b][END] == regions[c][START] and class_space == regions[b][END] - regions[a][START]:
        return [two[0]]
    return two


def _arena_shaped(regions, k: int) -> bool:
    r = regions[k]
    if r[START] % _ARENA or r[PERMS] != "rw-p" or r[PATH]:
        return False
    if r[END] - r[START] == _ARENA:
        return True
    if k + 1 >= len(regions):
        return False
    nxt = regions[k + 1]
    return nxt[START] == r[END] and nxt[PERMS] == "---p" and nxt[END] == r[START] + _ARENA


def _mark_code_cache(regions: MutableSequence[Region]) -> None:
    """The JIT code cache: the run of anonymous rwxp / ---p regions that starts with
    code and holds at least 16 MiB (HotSpot's smallest reserved code cache is bigger)."""
    n = len(regions)
    i = 0
    while i < n:
        r = regions[i]
        if r[PERMS] != "rwxp" or (r[PATH] or r[INODE]) and not hugetlb(r):
            i += 1
            continue
        j, bases = i, [i]
        # (In hugetlb pages, the whole reservation is one mapping, committed whole.)
        while j + 1 < n and not r[PATH]:
            nxt, last = regions[j + 1], regions[j]
            if nxt[START] != last[END] or nxt[PATH] or nxt[INODE]:
                break
            if nxt[PERMS] not in ("rwxp", "---p"):
                break
            j += 1
            if nxt[PERMS] == "rwxp" and last[PERMS] != "rwxp":
                bases.append(j)
        if regions[j][END] - r[START] >= 16 << 20:
            _name_code_cache(regions, i, j, bases)
        i = j + 1


def _name_code_cache(regions, first: int, last: int, bases: list[int]) -> None:
    segment = -1
    for k in range(first, last + 1):
        if segment + 1 < len(bases) and k == bases[segment + 1]:
            segment += 1
        name = CODE_CACHE
        if len(bases) == len(CODE_SEGMENTS):
            name = f"{CODE_CACHE}: {CODE_SEGMENTS[segment]}"
        r = regions[k]
        kind = kinds.JIT if r[PERMS] == "rwxp" else kinds.RESERVED
        if r[PATH]:  # in hugetlb pages: its kind says so
            kind = r[KIND]
        if r[KIND] != kind or r[OBJECT] != name:
            regions[k] = relabel(r, kind, name, r[TID])
