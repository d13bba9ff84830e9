"""`vmtop snapshot --format json`: one object describing the whole snapshot."""

from __future__ import annotations

import json
from typing import TextIO

from vmtop.model.region import Snapshot
from vmtop.output.fields import live_procfs_for, region_record, section_names, totals_record


def snapshot_record(snapshot: Snapshot, procfs=None, cache=None) -> dict:
    """The snapshot as one dict. ``procfs`` is where the ELF files are opened through
    (for ``sections`` and ``objects``); by default the live /proc when the snapshot's
    process still runs there, else those stay empty."""
    from vmtop.model.objects import object_sizes

    info = snapshot.info
    procfs = live_procfs_for(snapshot, procfs)
    sections = section_names(snapshot, procfs, cache)
    objects = object_sizes(snapshot, procfs, cache) if procfs is not None else []
    return {
        "pid": info.pid,
        "start_time": info.start_time,
        "command": info.command,
        "taken_at": snapshot.taken_at,
        "totals": totals_record(snapshot),
        "regions": [
            region_record(snapshot, r, names)
            for r, names in zip(snapshot.regions, sections, strict=True)
        ],
        "objects": [_object_record(o) for o in objects],
    }


def _object_record(size) -> dict:
    record = {"path": size.path, "text": size.text, "data": size.data, "bss": size.bss}
    if size.reason is not None:
        record["reason"] = size.reason
    return record


def write_json(snapshot: Snapshot, out: TextIO, procfs=None, cache=None) -> None:
    # ensure_ascii keeps surrogate-escaped bytes of odd names printable as \udcXX.
    json.dump(snapshot_record(snapshot, procfs, cache), out, ensure_ascii=True)
    out.write("\n")
