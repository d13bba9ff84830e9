"""Finding a region again in a newer snapshot: the same, changed, replaced or gone.

The region detail follows one region while the process runs. Regions have no ID: a
region is the same mapping when it has the same identity (device, inode, name) and
still covers part of its old range (the heap's end moves, the stack's start moves down,
``mprotect`` splits it). Pure: regions in, an answer out.
"""

from __future__ import annotations

from typing import NamedTuple

from vmtop.model.region import Region, Snapshot

SAME = "same"  # exactly the same mapping (range, permissions, offset, identity)
CHANGED = "changed"  # the same mapping with another range or permissions
REPLACED = "replaced"  # another mapping now holds its addresses
GONE = "gone"  # nothing is mapped there any more


class Found(NamedTuple):
    status: str
    region: Region | None  # where it is now (SAME, CHANGED) or what took its place
    note: str  # one line for the screen


def _probe_addresses(region: Region) -> tuple[int, ...]:
    return (region.start, region.end - 1, region.start + region.size // 2)


def find_again(snapshot: Snapshot, old: Region) -> Found:
    candidates: list[Region] = []
    for address in _probe_addresses(old):
        r = snapshot.region_at(address)
        if r is not None and r not in candidates:
            candidates.append(r)
    for r in candidates:
        if r[:7] == old[:7]:
            return Found(SAME, r, "")
    same_identity = [r for r in candidates if r.identity == old.identity]
    if same_identity:
        # Prefer the piece that keeps the old start (a split keeps it on one side).
        r = next((c for c in same_identity if c.start == old.start), same_identity[0])
        parts = []
        if (r.start, r.end) != (old.start, old.end):
            parts.append(f"range {old.start:#x}–{old.end:#x} → {r.start:#x}–{r.end:#x}")
        if r.perms != old.perms:
            parts.append(f"perms {old.perms} → {r.perms}")
        if r.offset != old.offset:
            parts.append(f"offset {old.offset:#x} → {r.offset:#x}")
        return Found(CHANGED, r, "changed: " + ", ".join(parts or ["remapped"]))
    if candidates:
        r = candidates[0]
        name = r.safe_path or f"anonymous {r.kind}"
        return Found(
            REPLACED,
            r,
            f"replaced: {r.start:#x}–{r.end:#x} {r.perms} is now {name}",
        )
    return Found(GONE, None, "unmapped: nothing is mapped at its addresses any more")
