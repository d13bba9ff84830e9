"""A HotSpot JVM's CDS archive and compressed class space, named in its map
(``java_regions`` calls it, once it has looked for the heap).

The CDS archive (classes.jsa) is mapped into a reservation that ends on a 16 MiB
boundary, no-access past the file; from JDK 24 its first page is no-access too (a
protection zone: no class's compressed pointer is 0), between the reservation's base,
on a 16 MiB boundary, and the file's first mapping. The class space (its size from
hsperfdata) lies right after the archive's reservation, or without CDS right after the
heap (JDK 17: with the heap committed whole, the kernel merges its committed base with
the heap's top, and that region is not named); JDK 22 and later reserve it without CDS
on its own, low (below 4 GiB where there is room, for pointers without a base), apart
from the heap: there it is the one run of its size below 32 GiB, committed from its
base (or from right above a no-access protection zone there, with compact object
headers), that is not the heap, taken only once the heap is known (its own run, or
ZGC's memfd: with a heap of the class space's size and neither told, either run could
be either).
Measured against NMT ("Shared class space", "Class") on OpenJDK 17 and Temurin 25: every
collector, CDS on and off.
"""

from __future__ import annotations

from vmtop.model import kinds
from vmtop.model.java_anon_rows import free
from vmtop.model.region_rows import END, INODE, OFFSET, PATH, PERMS, START, TID, relabel

CDS_ARCHIVE = "Java CDS archive"
CLASS_SPACE = "Java class space"

CDS_ALIGN = 16 << 20  # the CDS archive's reservation starts and ends on this boundary
_PAGE = 4096  # the archive's protection zone (JDK 24 and later)
_LOW_END = 32 << 30  # a class space for pointers without a base ends below this
_CLASS_SPACE_ALIGN = 4 << 20  # the class space starts on a root chunk's boundary at least
_CLASS_ZONE = 64 << 10  # the most a protection zone at the class space's base was seen


def mark_cds_archive(regions, heap: tuple[int, int] | None) -> int | None:
    """The CDS archive (classes.jsa, mapped from its start), the no-access rest of its
    reservation, up to the next 16 MiB, and its protection zone: named; its end, or
    None. (The pieces of the archive mapped inside a G1 heap, its archived objects,
    are not its base.)"""
    n = len(regions)
    pieces = [
        i
        for i in range(n)
        if regions[i][PATH].endswith(".jsa") and (heap is None or not heap[0] <= i <= heap[1])
    ]
    if not pieces:
        return None
    base = j = min(pieces, key=lambda i: regions[i][OFFSET])
    while (
        j + 1 < n
        and regions[j + 1][START] == regions[j][END]
        and regions[j + 1][PATH].endswith(".jsa")
    ):
        j += 1
    end = -(-regions[j][END] // CDS_ALIGN) * CDS_ALIGN
    k = j + 1
    while k < n and regions[k][START] == regions[k - 1][END] and regions[k][END] <= end:
        if not _no_access(regions[k]):
            break
        k += 1
    if regions[k - 1][END] != end:
        return None  # not the shape of the reservation: nothing said
    for i in range(j + 1, k):
        r = regions[i]
        regions[i] = relabel(r, kinds.RESERVED, CDS_ARCHIVE, r[TID])
    if base > 0:
        zone = regions[base - 1]
        start = regions[base][START]
        if _no_access(zone) and free(zone) and zone[END] == start and start - zone[START] == _PAGE:
            if not zone[START] % CDS_ALIGN:
                regions[base - 1] = relabel(zone, kinds.RESERVED, CDS_ARCHIVE, zone[TID])
    return end


def _no_access(r) -> bool:
    return not r[PATH] and not r[INODE] and r[PERMS] == "---p"


def mark_class_space(regions, start: int, size: int) -> bool:
    """The compressed class space: anonymous rw-/no-access regions from ``start``
    (right after the CDS archive, or after the heap without CDS) spanning ``size``;
    whether it was found."""
    n = len(regions)
    first = next((i for i in range(n) if regions[i][END] > start), None)
    if first is None or regions[first][START] > start:
        return False
    if regions[first][START] < start:
        # Its committed base merged with the heap's committed top right below (JDK 17
        # without CDS, the heap committed whole): that region is not named.
        if regions[first][PERMS] != "rw-p" or regions[first][PATH] or regions[first][INODE]:
            return False
        first += 1
        if first >= n or regions[first][START] != regions[first - 1][END]:
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
        # (A no-access part between committed ones has a thread stack's guard's shape.)
        kind = kinds.RESERVED if r[PERMS] == "---p" else kinds.ANON
        regions[i] = relabel(r, kind, CLASS_SPACE, r[TID])
    return True


def mark_class_space_alone(regions, spans, heap: tuple[int, int] | None, size: int) -> bool:
    """The class space reserved on its own (no CDS archive, not after the heap): of
    ``spans`` (first, last: runs of anonymous rw-p / no-access regions of the class
    space's size), the one below 32 GiB that is not the heap ``heap``, committed from a
    4 MiB boundary (or right above a protection zone there), every part free; whether
    it was found."""
    found = []
    for first, last in spans:
        lo = regions[first][START]
        if heap is not None and heap[0] <= last and first <= heap[1]:
            continue
        if regions[last][END] > _LOW_END or lo % _CLASS_SPACE_ALIGN:
            continue
        if not _committed_from_base(regions, first, last):
            continue
        if all(free(regions[i]) for i in range(first, last + 1)):
            found.append(lo)
    return len(found) == 1 and mark_class_space(regions, found[0], size)


def _committed_from_base(regions, first: int, last: int) -> bool:
    """Whether the run is committed from its base, or from right above a no-access
    zone of at most 64 KiB there (JDK 24 and later, where the class pointers' base is
    the class space's: no class's pointer is 0)."""
    if regions[first][PERMS] == "rw-p":
        return True
    zone = regions[first]
    return (
        first < last
        and zone[END] - zone[START] <= _CLASS_ZONE
        and regions[first + 1][PERMS] == "rw-p"
    )


def class_space_after_cds(regions, span: tuple[int, int], class_space: int | None) -> bool:
    """Whether the run ``span`` has the class space's size and starts where the CDS
    archive's reservation ends: at a 16 MiB boundary, right above no-access regions
    (none or more) right above a mapping of the archive (``.jsa``)."""
    first, last = span
    start = regions[first][START]
    if not class_space or regions[last][END] - start != class_space or start % CDS_ALIGN:
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
