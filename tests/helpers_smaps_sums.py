"""Ground truth for comparing processes by object: a smaps file summed by mapping name,
as a person would with awk, without vmtop's code."""

from __future__ import annotations

import re

_HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")
_FIGURE = {
    "Size": "size",
    "Rss": "rss",
    "Pss": "pss",
    "Private_Clean": "uss",  # USS, as smem counts it: Private_Clean + Private_Dirty
    "Private_Dirty": "uss",
}


def smaps_by_name(path: str) -> dict[str, dict[str, int]]:
    """Size, Rss, Pss and USS of each mapping name ("" for an unnamed one), in bytes,
    summed over its blocks of the smaps file at ``path``."""
    out: dict[str, dict[str, int]] = {}
    name = None
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            if _HEADER.match(line):
                fields = line.split(None, 5)
                name = fields[5].rstrip("\n") if len(fields) > 5 else ""
                out.setdefault(name, {"size": 0, "rss": 0, "pss": 0, "uss": 0})
                continue
            key, _, value = line.partition(":")
            figure = _FIGURE.get(key)
            if figure is not None and name is not None:
                out[name][figure] += int(value.split()[0]) * 1024
    return out


def whole(sums: dict[str, dict[str, int]]) -> dict[str, int]:
    """Every mapping's figures added up."""
    return {f: sum(s[f] for s in sums.values()) for f in ("size", "rss", "pss", "uss")}
