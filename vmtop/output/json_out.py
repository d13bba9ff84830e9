"""`vmtop snapshot --format json`: one object describing the whole snapshot."""

from __future__ import annotations

import json
from typing import TextIO

from vmtop.model.region import Snapshot
from vmtop.output.fields import live_procfs_for, region_record, section_names, totals_record


def snapshot_record(snapshot: Snapshot, procfs=None, cache=None, region_text=None) -> dict:
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
        ]
        if region_text is None
        else region_text(snapshot, sections),
        "objects": [_object_record(o) for o in objects],
    }


def _object_record(size) -> dict:
    record = {"path": size.path, "text": size.text, "data": size.data, "bss": size.bss}
    if size.reason is not None:
        record["reason"] = size.reason
    return record


def write_json(snapshot: Snapshot, out: TextIO, procfs=None, cache=None) -> None:
    # ensure_ascii keeps surrogate-escaped bytes of odd names printable as \udcXX.
    # Regions are serialised as text straight away, each distinct part once: at
    # 60 000 regions a dict per region costs more than taking the snapshot.
    texts: list[str] = []

    def region_text(snap, sections):
        texts.extend(_region_texts(snap, sections))
        return _PLACEHOLDER

    record = snapshot_record(snapshot, procfs, cache, region_text)
    head, _, tail = json.dumps(record, ensure_ascii=True).partition(json.dumps(_PLACEHOLDER))
    out.write(head)
    out.write("[")
    out.write(", ".join(texts))
    out.write("]")
    out.write(tail)
    out.write("\n")


_PLACEHOLDER = "\x00regions\x00"
_TEXT = (
    '{"start": "0x%x", "end": "0x%x", "size": %d, "perms": %s, "offset": %d, "dev": %s, '
    '"inode": %d, "path": %s, "kind": %s, "object": %s, "sections": %s%s%s}'
)


def _region_texts(snapshot: Snapshot, sections) -> list[str]:
    from vmtop.output.fields import smaps_record_part

    quoted: dict = {}

    def q(value):
        text = quoted.get(value)
        if text is None:
            text = quoted[value] = json.dumps(value, ensure_ascii=True)
        return text

    # id(part) -> (part, its fields as JSON text); the part is kept so its id stays its own.
    tails: dict[int, tuple[dict, str]] = {}
    out = []
    append = out.append
    for r, names in zip(snapshot.regions, sections, strict=True):
        part = smaps_record_part(snapshot, r)
        entry = tails.get(id(part))
        if entry is None or entry[0] is not part:
            text = (", " + json.dumps(part, ensure_ascii=True)[1:-1]) if part else ""
            entry = tails[id(part)] = (part, text)
        tail = entry[1]
        tid = f', "tid": {r.tid}' if r.tid is not None else ""
        append(
            _TEXT
            % (
                r.start,
                r.end,
                r.end - r.start,
                q(r.perms),
                r.offset,
                q(r.dev),
                r.inode,
                q(r.path),
                q(r.kind),
                q(r.object),
                q(tuple(names)),
                tid,
                tail,
            )
        )
    return out
