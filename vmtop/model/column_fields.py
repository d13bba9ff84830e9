"""What the columns of a snapshot are (``vmtop.model.columns``): which Region field
each holds, and how None is written in them. Shared by the columns and their builder."""

from __future__ import annotations

from array import array

from vmtop.model.region import Region

# Regions per step of a long loop in C (each step holds the GIL): ~10-30 ms.
CHUNK = 32_768

FIGURES = (
    "rss",
    "pss",
    "shared_clean",
    "shared_dirty",
    "private_clean",
    "private_dirty",
    "swap",
    "anonymous",
)
_NUMBERS = ("start", "end", "offset", "inode")
_NAMES = ("perms", "dev", "path", "kind", "object")
_FIELD = {name: i for i, name in enumerate(Region._fields)}
if Region._fields != (
    "start",
    "end",
    "perms",
    "offset",
    "dev",
    "inode",
    "path",
    *FIGURES,
    "kind",
    "object",
    "tid",
):
    raise ImportError("vmtop.model.region.Region changed its fields: update RegionColumns")
_NONE = -1
_TID = _FIELD["tid"]
_ALL_NONE_BYTES = array("q", [_NONE]).tobytes()
