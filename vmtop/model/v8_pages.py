"""V8's heap pages, named in the map of a Node process.

V8 (without pointer compression, as Node is built) maps every page of its heap on its
own, 256 KiB aligned (256 KiB a page; more for a large object), at random hinted
addresses below 2^46, well below where the kernel puts mmaps and libraries. So in a
process that runs V8, an anonymous private mapping that starts 256 KiB aligned below
2^46 is a heap page: checked against V8's own page list (--trace-gc-heap-layout) on
Node 20, every such mapping was one, and none above 2^46. Which space a page belongs
to (old, new, code, large objects) the map cannot tell, nor the heap's limit
(--max-old-space-size leaves no trace). Where libraries sit below 2^46 (the legacy
bottom-up layout: ``ulimit -s unlimited``), mmaps land there too and the rule is off.
"""

from __future__ import annotations

from collections.abc import MutableSequence

from vmtop.model import kinds
from vmtop.model.chromium_heaps import runs_chromium
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, KIND, OBJECT, PATH, PERMS, START, TID, relabel

V8_PAGE = "V8 heap page"
V8_LARGE = "V8 large object"
PAGE_SIZE = 256 << 10
BELOW = 1 << 46  # V8's hints stay below; the kernel's mmap area is far above
# Executables that run V8 (by basename) and Node's shared library.
V8_PROGRAMS = ("node", "nodejs")
LIBNODE = "libnode.so"


def runs_v8(paths) -> bool:
    """Does a map with these paths run V8 (Node's executable or libnode mapped, or
    Chromium's: ``chromium_heaps`` names its heaps instead of this module)?"""
    paths = [p for p in paths if p.startswith("/")]
    return runs_chromium(paths) or any(
        p.rpartition("/")[2] in V8_PROGRAMS or p.rpartition("/")[2].startswith(LIBNODE)
        for p in paths
    )


def mark_v8_pages(regions: MutableSequence[Region]) -> None:
    """In place: V8's heap pages get the object "V8 heap page" ("V8 large object" when
    bigger than a page); their kind stays anon."""
    n = len(regions)
    low_library = any(
        regions[i][START] < BELOW and ".so" in regions[i][PATH] and regions[i][INODE]
        for i in range(n)
    )
    if low_library:
        return
    for i in range(n):
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
            name = V8_PAGE if r[END] - r[START] <= PAGE_SIZE else V8_LARGE
            if r[OBJECT] != name:
                regions[i] = relabel(r, r[KIND], name, r[TID])
