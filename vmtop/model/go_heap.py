"""The Go runtime's heap, named in the map of a Go program.

Two ways to tell it:
- Go 1.25 and later name their mappings where the kernel lets them (CONFIG_ANON_VMA_NAME):
  the heap is ``[anon: Go: heap]`` (runtime/set_vma_name_linux.go).
- Before Go 1.26, the heap starts at 0xc000000000 (runtime/malloc.go: ``0x00c0<<32``,
  the lowest of its hints, tried first) and grows up in 64 MiB arenas, each reserved
  no-access and made usable as it fills. So an anonymous read-write mapping that starts
  at exactly 0xc000000000, and the anonymous mappings that follow it without a hole, are
  its heap. That is the shape of a glibc malloc arena (64 MiB aligned, no-access after
  it): it was "arena heap 1". glibc never puts an arena there (mmap places them far
  above, from the top of the address space down, or from a third of it up).

Go 1.26 puts its heap at a random base: on a kernel that does not name mappings, its heap
cannot be told from the map, and may still read as an arena. Goroutine stacks live in
the heap; what the map cannot say is how much of it is live objects and how much free
spans the scavenger has not given back.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import MutableSequence, Sequence

from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, KIND, OBJECT, PATH, PERMS, START, TID, relabel

GO_HEAP = "Go heap"
GO_HEAP_START = 0xC0_0000_0000
# The name Go 1.25+ gives its heap's mappings ("[anon: Go: heap]", as maps prints it).
GO_HEAP_NAME = "[anon: Go: heap"


def _start_of(r) -> int:
    return r[START]


def go_heap_at(regions: Sequence[Region]) -> int | None:
    """The index of the region where a Go heap starts, or None (not a Go program)."""
    i = bisect_left(regions, GO_HEAP_START, key=_start_of)
    if i == len(regions):
        return None
    r = regions[i]
    if r[START] != GO_HEAP_START or r[PERMS] != "rw-p" or r[INODE] or r[PATH]:
        return None
    return i


def mark_go_heap(regions: MutableSequence[Region]) -> None:
    """In place: the Go heap's mappings at Go's old address get the object "Go heap"
    (kind anon where usable, reserved where not yet). The ones Go named are named by
    classify, as it meets their names."""
    i = go_heap_at(regions)
    if i is None:
        return
    end = GO_HEAP_START
    while i < len(regions):
        r = regions[i]
        if r[START] != end or r[INODE] or r[PATH] or r[PERMS] not in ("rw-p", "---p"):
            break
        kind = kinds.ANON if r[PERMS] == "rw-p" else kinds.RESERVED
        if (r[KIND], r[OBJECT]) != (kind, GO_HEAP):
            regions[i] = relabel(r, kind, GO_HEAP, r[TID])
        end = r[END]
        i += 1
