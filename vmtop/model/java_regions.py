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
at zero (-Xmx31g) is the heap, and of two adjacent ones of the class space's size the
lower (without CDS the class space follows the heap). A run of the class space's size
that starts where the CDS archive's reservation ends is the class space, never the
heap: JDK 25 maps the archive and the class space right after it low (below 4 GiB,
for compressed class pointers without a base), where a 1 GiB heap (-Xmx1g) and the
1 GiB class space were two runs of the heap's size, and nothing was named. Where no
run or more than one matches, nothing is named: the map then says what it always
said (JDK 25 with -Xshare:off and a heap of the class space's size: the class space
lies low on its own, and is not told from the heap).
Checked against the JVM's own account (NMT) on 17 configurations of OpenJDK 17 (G1,
Parallel, Serial, Shenandoah, ZGC; 64 MiB to 40 GiB; CDS on and off) and on Temurin
25 (the same collectors, 512 MiB to 4 GiB, CDS on and off, compact object headers):
right on every one where the size was known, never wrong.

ZGC's heap needs no size: it is shared memory named ``/memfd:java_heap``.

The code cache is a run of anonymous ``rwxp`` and ``---p`` regions starting with code:
one reservation (240 MiB by default) in three segments going up the map, profiled
methods, the JVM's own code (non-nmethods), non-profiled methods; each committed from
its base. Its no-access parts are named the code cache's reserve.

Metaspace and the collector's data structures: ``vmtop.model.java_native_regions``.

Only for a process that maps libjvm.so (``JavaFacts`` is None otherwise).
"""

from __future__ import annotations

from collections.abc import MutableSequence

from vmtop.model import kinds
from vmtop.model.facts import JavaFacts
from vmtop.model.java_native_regions import mark_java_native_regions
from vmtop.model.region import Region
from vmtop.model.region_rows import (
    END,
    INODE,
    KIND,
    OBJECT,
    OFFSET,
    PATH,
    PERMS,
    START,
    TID,
    relabel,
)

JAVA_HEAP = "Java heap"
CDS_ARCHIVE = "Java CDS archive"
CLASS_SPACE = "Java class space"
JAVA_HEAP_ZGC = "Java heap (ZGC)"
CODE_CACHE = "code cache"
# HotSpot's CodeHeaps, going up the map, when the cache is segmented (the default).
CODE_SEGMENTS = ("profiled", "JVM", "non-profiled")

_GIB = 1 << 30
_ARENA = 64 << 20  # a glibc arena heap: never part of the Java heap
_LOW_HEAP_END = 32 * _GIB  # compressed oops: the heap ends at or below 32 GiB
_SMALL_HEAP = 128 << 20  # above 32 GiB, no heap this small is named
_ZGC_NAME = "/memfd:java_heap"
_CDS_ALIGN = 16 << 20  # the CDS archive's reservation ends on this boundary


def mark_java_regions(
    regions: MutableSequence[Region], java: JavaFacts, fresh: frozenset[int] = frozenset()
) -> None:
    """In place: the Java heap's regions get the object "Java heap", the code cache's
    "code cache: <segment>"; kinds stay (anon, reserved, file, jit) but for a heap
    region taken for a glibc arena, which is anon. ``fresh``: the starts of regions
    mapped without MAP_NORESERVE (ClassifyFacts.mapped_without_noreserve)."""
    _mark_code_cache(regions)
    span = None
    if any(regions[i][PATH].startswith(_ZGC_NAME) for i in range(len(regions))):
        for i in range(len(regions)):
            r = regions[i]
            if r[PATH].startswith(_ZGC_NAME):
                regions[i] = relabel(r, r[KIND], JAVA_HEAP_ZGC, r[TID])
    elif java.heap_sizes:
        span = _heap_span(regions, java.heap_sizes, java.class_space_size)
        if span is not None:
            for i in range(span[0], span[1] + 1):
                r = regions[i]
                kind = kinds.ANON if r[KIND] == kinds.ARENA else r[KIND]
                regions[i] = relabel(r, kind, JAVA_HEAP, r[TID])
    cds_end = _mark_cds_archive(regions, span)
    heap_end = regions[span[1]][END] if span is not None else None
    start = cds_end if cds_end is not None else heap_end
    named_space = False
    if java.class_space_size and start is not None:
        named_space = _mark_class_space(regions, start, java.class_space_size)
    mark_java_native_regions(regions, java, span, named_space, fresh)


def _mark_cds_archive(regions, heap: tuple[int, int] | None) -> int | None:
    """The CDS archive (classes.jsa, mapped from its start) and the no-access rest of
    its reservation, up to the next 16 MiB: named; its end, or None. (The pieces of
    the archive mapped inside a G1 heap, its archived objects, are not its base.)"""
    n = len(regions)
    pieces = [
        i
        for i in range(n)
        if regions[i][PATH].endswith(".jsa") and (heap is None or not heap[0] <= i <= heap[1])
    ]
    if not pieces:
        return None
    j = min(pieces, key=lambda i: regions[i][OFFSET])
    while (
        j + 1 < n
        and regions[j + 1][START] == regions[j][END]
        and regions[j + 1][PATH].endswith(".jsa")
    ):
        j += 1
    end = -(-regions[j][END] // _CDS_ALIGN) * _CDS_ALIGN
    k = j + 1
    while k < n and regions[k][START] == regions[k - 1][END] and regions[k][END] <= end:
        r = regions[k]
        if r[PATH] or r[INODE] or r[PERMS] != "---p":
            break
        k += 1
    if regions[k - 1][END] != end:
        return None  # not the shape of the reservation: nothing said
    for i in range(j + 1, k):
        r = regions[i]
        regions[i] = relabel(r, kinds.RESERVED, CDS_ARCHIVE, r[TID])
    return end


def _mark_class_space(regions, start: int, size: int) -> bool:
    """The compressed class space: anonymous rw-/no-access regions from ``start``
    (right after the CDS archive, or after the heap without CDS) spanning ``size``;
    whether it was found."""
    n = len(regions)
    first = next((i for i in range(n) if regions[i][START] == start), None)
    if first is None:
        return False
    j = first
    while True:
        r = regions[j]
        if r[PATH] or r[INODE] or r[PERMS] not in ("rw-p", "---p"):
            return False
        if r[END] - start == size:
            break
        if r[END] - start > size or j + 1 >= n or regions[j + 1][START] != r[END]:
            return False
        j += 1
    for i in range(first, j + 1):
        r = regions[i]
        kind = kinds.ANON if r[KIND] == kinds.ARENA else r[KIND]
        regions[i] = relabel(r, kind, CLASS_SPACE, r[TID])
    return True


def _heap_part(r: Region) -> bool:
    if r[PATH]:
        return r[PATH].endswith(".jsa")  # archived heap objects (G1 with CDS)
    return not r[INODE] and r[PERMS] in ("rw-p", "---p")


def _heap_span(regions, sizes: tuple[int, ...], class_space: int | None = None):
    """(first, last) index of the one run of heap-like regions spanning a size of
    ``sizes``, by the rules of the module's note; None when there is none or several."""
    spans = []
    n, i = len(regions), 0
    while i < n:
        # A run of adjacent heap-like regions, read once (metaspace can make hundreds).
        run = [regions[i]]
        if not _heap_part(run[0]):
            i += 1
            continue
        while i + len(run) < n:
            nxt = regions[i + len(run)]
            if nxt[START] != run[-1][END] or not _heap_part(nxt):
                break
            run.append(nxt)
        ends = {r[END]: k for k, r in enumerate(run)}
        for k, first in enumerate(run):
            if first[PATH]:
                continue
            last = [
                ends[e] for e in (first[START] + size for size in sizes) if ends.get(e, -1) >= k
            ]
            if last:
                spans.append((i + k, i + min(last)))
        i += len(run)
    # JDK 22 and later map the CDS archive and the class space right after it low, near
    # the heap: a run of the class space's size that starts right after the archive's
    # reservation is the class space (-Xmx1g: both 1 GiB, both below 4 GiB).
    spans = [s for s in spans if not _class_space_after_cds(regions, s, class_space)]
    low = [s for s in spans if regions[s[1]][END] <= _LOW_HEAP_END]
    if len(low) == 2:
        low = _told_apart(regions, low, class_space)
    if len(low) == 1:
        return low[0]
    spans = [s for s in spans if not any(_arena_shaped(regions, k) for k in range(s[0], s[1] + 1))]
    if len(spans) == 2:
        spans = _told_apart(regions, spans, class_space)
    if len(spans) != 1 or min(sizes) <= _SMALL_HEAP:
        return None
    return spans[0]


def _class_space_after_cds(regions, span: tuple[int, int], class_space: int | None) -> bool:
    """Whether the run ``span`` has the class space's size and starts where the CDS
    archive's reservation ends: at a 16 MiB boundary, right above no-access regions
    (none or more) right above a mapping of the archive (``.jsa``)."""
    first, last = span
    start = regions[first][START]
    if not class_space or regions[last][END] - start != class_space or start % _CDS_ALIGN:
        return False
    k, at = first - 1, start
    while k >= 0 and regions[k][END] == at:
        r = regions[k]
        if r[PATH].endswith(".jsa"):
            return True
        if r[PATH] or r[INODE] or r[PERMS] != "---p":
            return False
        k, at = k - 1, r[START]
    return False


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
        if r[PERMS] != "rwxp" or r[PATH] or r[INODE]:
            i += 1
            continue
        j, bases = i, [i]
        while j + 1 < n:
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
        if r[KIND] != kind or r[OBJECT] != name:
            regions[k] = relabel(r, kind, name, r[TID])
