"""`vmtop snapshot --format json`: one object describing the whole snapshot."""

from __future__ import annotations

import json
from typing import TextIO

from vmtop.model.region import Snapshot
from vmtop.output.fields import region_record, totals_record


def snapshot_record(snapshot: Snapshot) -> dict:
    info = snapshot.info
    return {
        "pid": info.pid,
        "start_time": info.start_time,
        "command": info.command,
        "taken_at": snapshot.taken_at,
        "totals": totals_record(snapshot),
        "regions": [region_record(snapshot, r) for r in snapshot.regions],
    }


def write_json(snapshot: Snapshot, out: TextIO) -> None:
    # ensure_ascii keeps surrogate-escaped bytes of odd names printable as \udcXX.
    json.dump(snapshot_record(snapshot), out, ensure_ascii=True)
    out.write("\n")
