"""V8's heap pages, named in the map of a Node process.

V8 (without pointer compression, as Node is built) maps every page of its heap on its
own, 256 KiB aligned (256 KiB a page; more for a large object), at random hinted
addresses below 2^46, well below where the kernel puts mmaps and libraries. So in a
process that runs V8, an anonymous private mapping that starts 256 KiB aligned below
2^46 is a heap page: checked against V8's own page list (--trace-gc-heap-layout) on
Node 20, every such mapping was one, and none above 2^46. Which space a page belongs
to (old, new, large objects; the read-only page is the r-- one) the map cannot tell,
nor the heap's limit (--max-old-space-size leaves no trace). Code space is not among
them: on x64 its pages live in the isolate's code range, which the kernel places with
the other mmaps (``v8_reservations`` names it), so the named pages add up to heapTotal
less code space, plus the read-only page.

Where libraries sit below 2^46 (the legacy bottom-up layout: ``ulimit -s unlimited``),
the kernel's mmaps land there too, but packed together: one cluster of libraries,
thread stacks, arenas, malloc's mmaps and V8's code range, while V8's hinted pages stay
scattered over the 64 TiB. So pages are named outside the clusters only: a cluster is
a run of mappings no more than ``PACKED_GAP`` apart that holds a library. A heap page
that lands that close to a cluster is left unnamed (a 1 GiB reach in 64 TiB: a heap of
a thousand pages loses one in about one run in twenty). A mapping of the kernel's is
taken for a heap page only if it is on a 256 KiB boundary and over 1 GiB from the rest
of its cluster: an unmap of that size beside it, and nothing mapped there since.
"""

from __future__ import annotations

import re
from collections.abc import MutableSequence

from vmtop.model import kinds
from vmtop.model.chromium_heaps import runs_chromium
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, KIND, OBJECT, PATH, PERMS, START, TID, relabel

V8_PAGE = "V8 heap page"
V8_LARGE = "V8 large object"
PAGE_SIZE = 256 << 10
BELOW = 1 << 46  # V8's hints stay below; the kernel's mmap area is far above
# The widest hole between two mappings of the kernel's packed mmap area (an arena's
# 64 MiB alignment, a freed buffer) that still keeps them in one cluster.
PACKED_GAP = 1 << 30
# Executables that run V8, by basename: Node as Debian names it (node, nodejs) and as
# distributions name one of several versions (Fedora's node-20, nodejs20, node22).
# Any other name (a single-executable app, pkg, nexe) is told by the program's own
# symbols (vmtop.procfs.v8_binary).
V8_PROGRAM = re.compile(r"(node|nodejs)(-?v?[0-9]+(\.[0-9]+)*)?")
LIBNODE = "libnode.so"


def runs_v8(paths) -> bool:
    """Does a map with these paths run V8 (Node's executable or libnode mapped, or
    Chromium's: ``chromium_heaps`` names its heaps instead of this module)?"""
    paths = [p for p in paths if p.startswith("/")]
    return runs_chromium(paths) or any(
        V8_PROGRAM.fullmatch(p.rpartition("/")[2]) or p.rpartition("/")[2].startswith(LIBNODE)
        for p in paths
    )


def mark_v8_pages(regions: MutableSequence[Region]) -> None:
    """In place: V8's heap pages get the object "V8 heap page" ("V8 large object" when
    bigger than a page); their kind stays anon. Outside the kernel's packed mmap area
    only, where that lies below 2^46 too."""
    packed = _packed_clusters(regions)
    cluster = 0
    for i in range(len(regions)):
        r = regions[i]
        if r[START] >= BELOW:
            break
        if (
            r[KIND] == kinds.ANON
            and not r[PATH]
            and not r[INODE]
            and r[PERMS] in ("rw-p", "r--p")
            and not r[START] % PAGE_SIZE
        ):
            while cluster < len(packed) and packed[cluster][1] <= r[START]:
                cluster += 1
            if cluster < len(packed) and packed[cluster][0] <= r[START]:
                continue  # among the kernel's own mmaps
            name = V8_PAGE if r[END] - r[START] <= PAGE_SIZE else V8_LARGE
            if r[OBJECT] != name:
                regions[i] = relabel(r, r[KIND], name, r[TID])


def _packed_clusters(regions) -> list[tuple[int, int]]:
    """(start, end) of each cluster of the kernel's mmaps below 2^46, in order: runs of
    mappings no more than PACKED_GAP apart that hold a library (none in the usual
    layout, where the kernel maps everything above 2^46)."""
    out: list[tuple[int, int]] = []
    run_start = run_end = -PACKED_GAP - 1  # no run yet
    has_library = False
    for i in range(len(regions)):
        r = regions[i]
        if r[START] >= BELOW:
            break
        if r[START] - run_end > PACKED_GAP:
            if has_library:
                out.append((run_start, run_end))
            run_start, has_library = r[START], False
        run_end = r[END]
        has_library = has_library or (bool(r[INODE]) and ".so" in r[PATH])
    if has_library:
        out.append((run_start, run_end))
    return out
