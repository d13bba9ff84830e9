"""Finding a region again in a newer snapshot: the same, changed, replaced or gone.

The region detail follows the memory the person opened while the process runs. Regions
have no ID, and the kernel merges a new mapping into an adjacent one with the same
permissions, splits one on ``mprotect``, moves the heap's end (``brk``) and the stack's
start. So the detail keeps the range it was opened on (``opened``) and, each sample:

1. The region it followed, unchanged (range, permissions, offset, identity): SAME.
2. Else the regions of the same identity (device, inode, name) that overlap the opened
   range are the pieces of that memory; the one holding most of the opened range is
   followed (ties: the lowest), whatever piece keeps the old start. After a merge and a
   split the piece keeping the merged region's start can be the neighbour that merged
   in: it holds none of the opened memory, so it is never followed. CHANGED, with a
   note saying what changed (and, after a split, which piece it follows and why).
3. Else another mapping overlapping the opened range has taken its place: REPLACED.
4. Else nothing is mapped in the opened range: GONE. The memory opened is unmapped,
   even when a neighbour it had merged with is still mapped.

What the region's RSS history so far means for the region followed now (``history``):
- CONTINUES: the same range; or the heap's end / the stack's start moved (``brk``,
  stack growth: one mapping the kernel resizes).
- GREW: it covers its old range and more (merged with a neighbour, or grew in place):
  the history goes on, but from now on it is of the larger region, and the screen says
  so, so that a min/max spanning both is never taken for one allocation's.
- RESTARTS: anything else (split into pieces, partly unmapped, moved): the earlier
  figures were of memory this region no longer is, so the history starts again.

Pure: regions in, an answer out.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple

from vmtop.model.columns import starts_of
from vmtop.model.region import Region, Snapshot
from vmtop.tui.formatting import format_bytes

SAME = "same"  # exactly the same mapping (range, permissions, offset, identity)
CHANGED = "changed"  # the same mapping with another range or permissions
REPLACED = "replaced"  # another mapping now holds its addresses
GONE = "gone"  # nothing is mapped there any more

CONTINUES = "continues"  # the history so far is of this region
GREW = "grew"  # the history goes on; from now on of a larger region
RESTARTS = "restarts"  # the history so far is of other memory: start again


class Found(NamedTuple):
    status: str
    region: Region | None  # where it is now (SAME, CHANGED) or what took its place
    note: str  # one line for the screen
    history: str = CONTINUES  # what the RSS history so far is worth (see above)


def overlapping(snapshot: Snapshot, start: int, end: int) -> list[Region]:
    """The regions of ``snapshot`` that overlap ``[start, end)``, in address order."""
    regions = snapshot.regions
    starts = starts_of(regions)
    i = max(0, bisect_right(starts, start) - 1)
    out = []
    while i < len(regions) and starts[i] < end:
        region = regions[i]
        if region.end > start:
            out.append(region)
        i += 1
    return out


def _overlap(region: Region, start: int, end: int) -> int:
    return max(0, min(region.end, end) - max(region.start, start))


def _span(region: Region) -> str:
    return f"{region.start:#x}–{region.end:#x}"


def _history(old: Region, new: Region, pieces_of_old: int) -> str:
    if (new.start, new.end) == (old.start, old.end):
        return CONTINUES
    if pieces_of_old > 1:
        return RESTARTS  # split: the old figures are of all the pieces together
    if (old.kind == "heap" and new.start == old.start) or (
        old.kind == "stack" and new.end == old.end
    ):
        return CONTINUES
    if new.start <= old.start and new.end >= old.end:
        return GREW
    return RESTARTS


def find_again(snapshot: Snapshot, old: Region, opened: tuple[int, int] | None = None) -> Found:
    """Where the memory of ``opened`` (the range the person opened; by default
    ``old``'s), last seen as ``old``, is in ``snapshot``."""
    lo, hi = opened if opened is not None else (old.start, old.end)
    candidates = overlapping(snapshot, lo, hi)
    for r in candidates:
        if r[:7] == old[:7]:
            return Found(SAME, r, "")
    pieces = [r for r in candidates if r.identity == old.identity]
    if pieces:
        r = max(pieces, key=lambda c: (_overlap(c, lo, hi), -c.start))
        pieces_of_old = sum(
            1 for c in overlapping(snapshot, old.start, old.end) if c.identity == old.identity
        )
        history = _history(old, r, pieces_of_old)
        parts = []
        if (r.start, r.end) != (old.start, old.end):
            change = f"range {_span(old)} → {_span(r)}"
            if pieces_of_old > 1:
                change += (
                    f" (split into {pieces_of_old} pieces: follows {_span(r)}, "
                    f"{format_bytes(r.size)}, the one holding most of the memory opened)"
                )
            elif _overlap(r, old.start, old.end) == 0:
                change += " (the old range is unmapped: follows what is left of the memory opened)"
            elif history == GREW:
                change += f" (grew by {format_bytes(r.size - old.size)})"
            parts.append(change)
        if r.perms != old.perms:
            parts.append(f"perms {old.perms} → {r.perms}")
        if r.offset != old.offset:
            parts.append(f"offset {old.offset:#x} → {r.offset:#x}")
        return Found(CHANGED, r, "changed: " + ", ".join(parts or ["remapped"]), history)
    if candidates:
        r = max(candidates, key=lambda c: (_overlap(c, lo, hi), -c.start))
        name = r.safe_path or f"anonymous {r.kind}"
        return Found(
            REPLACED,
            r,
            f"replaced: {_span(r)} {r.perms} is now {name}",
            RESTARTS,
        )
    return Found(
        GONE,
        None,
        f"unmapped: nothing is mapped in {lo:#x}–{hi:#x} (the memory opened) any more",
        RESTARTS,
    )
