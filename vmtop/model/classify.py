"""Refine the per-line kinds with what needs the whole map.

- Regions of one file that has an executable mapping form an ELF object: its r-x
  regions are ``text``, r-- ``rodata``, rw- ``data``; the anonymous rw- region right
  after its last file-backed rw- region is its ``bss`` (where .bss spills past the
  file-backed page).
- Everything of an object carries ``object`` = the object's path.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model import kinds
from vmtop.model.region import Region


def classify_regions(regions: Sequence[Region], procfs=None, pid: int | None = None) -> list[Region]:
    """A new list of regions with refined ``kind`` and ``object``."""
    exec_objects = {
        (r.dev, r.inode) for r in regions if r.inode and "x" in r.perms[:3] and r.path.startswith("/")
    }
    out: list[Region] = []
    prev: Region | None = None
    for r in regions:
        kind = r.kind
        obj = r.object
        if r.inode and (r.dev, r.inode) in exec_objects and kind in (kinds.TEXT, kinds.FILE, kinds.GUARD):
            obj = r.path
            p = r.perms[:3]
            if kind != kinds.GUARD:
                kind = kinds.TEXT if "x" in p else kinds.DATA if "w" in p else kinds.RODATA
        elif (
            kind == kinds.ANON
            and not r.path
            and prev is not None
            and prev.end == r.start
            and prev.kind == kinds.DATA
            and r.perms == "rw-p"
        ):
            kind = kinds.BSS
            obj = prev.object
        if kind != r.kind or obj != r.object:
            r = r._replace(kind=kind, object=obj)
        out.append(r)
        prev = r
    return out
