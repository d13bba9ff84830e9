"""The Go runtime's heap, named in the map of a Go program.

Go reserves its heap in 64 MiB arenas at addresses of its own choosing: on 64-bit
Linux the first hint is 0xc000000000 (runtime/malloc.go: ``0x00c0<<32``, the lowest of
its hints, tried first), and the heap grows up from there, each arena reserved no-access
and made usable as it fills. So a process with an anonymous read-write mapping that
starts at exactly 0xc000000000 runs Go, and the anonymous mappings that follow it
without a hole are its heap. It is 64 MiB aligned with no-access memory after it, the
shape of a glibc malloc arena: it was "arena heap 1". glibc never puts an arena there
(mmap places them far above, from the top of the address space down, or from a third
of it up). Goroutine stacks live in that heap; what the map cannot say is how much of
it is live objects and how much is free spans the scavenger has not given back.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import MutableSequence, Sequence

from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, KIND, OBJECT, PATH, PERMS, START, TID, relabel

GO_HEAP = "Go heap"
GO_HEAP_START = 0xC0_0000_0000


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
    """In place: the Go heap's mappings get the object "Go heap" (kind anon where
    usable, reserved where not yet)."""
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
