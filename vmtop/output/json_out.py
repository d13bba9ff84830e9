"""`vmtop snapshot --format json`: one object describing the whole snapshot."""

from __future__ import annotations

import json
from itertools import islice
from typing import TextIO

from vmtop.model.region import Snapshot
from vmtop.model.sysv import SYSV_PREFIX
from vmtop.output.fields import (
    live_procfs_for,
    region_record,
    section_names,
    sysv_fields,
    sysv_table,
    totals_fields,
    totals_record,
)

FORMAT = "vmtop-snapshot"
FORMAT_VERSION = 1


def snapshot_record(snapshot: Snapshot, procfs=None, cache=None) -> dict:
    """The snapshot as one dict, keys in the order ``write_json`` prints them.
    ``procfs`` is where the ELF files are opened through (for ``sections`` and
    ``objects``); by default the live /proc when the snapshot's process still runs
    there, else those stay empty."""
    from vmtop.model.objects import object_sizes
    from vmtop.procfs.elf_files import ProcessElfFiles

    info = snapshot.info
    procfs = live_procfs_for(snapshot, procfs)
    sections = section_names(snapshot, procfs, cache)
    objects = object_sizes(snapshot, ProcessElfFiles(procfs, cache)) if procfs is not None else []
    sysv = sysv_table(procfs, snapshot.info.pid, snapshot.regions)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "pid": info.pid,
        "start_time": info.start_time,
        "command": info.command,
        "regions": [
            region_record(snapshot, r, names, sysv)
            for r, names in zip(snapshot.regions, sections, strict=True)
        ],
        "taken_at": snapshot.taken_at,
        **_read_at(snapshot.smaps_read_at),
        "totals": totals_record(snapshot),
        "objects": [_object_record(o) for o in objects],
    }


def _read_at(smaps_read_at: float | None) -> dict:
    """``smaps_read_at``, where the resident figures are older than ``taken_at`` (a
    replayed sample that carried an earlier smaps read's figures): else nothing."""
    return {} if smaps_read_at is None else {"smaps_read_at": smaps_read_at}


def _object_record(size) -> dict:
    record = {"path": size.path, "text": size.text, "data": size.data, "bss": size.bss}
    if size.reason is not None:
        record["reason"] = size.reason
    return record


def write_json(snapshot: Snapshot, out: TextIO, procfs=None, cache=None, smaps_fields=None) -> None:
    """The snapshot as one JSON object (``snapshot_record``'s, as text). ``smaps_fields``:
    the only smaps fields its regions can have, when not every one (a replayed
    recording keeps a few), written as such so a reader tells a field not recorded
    from one the kernel does not print."""
    writer = JsonWriter(out, live_procfs_for(snapshot, procfs), cache)
    writer.head(snapshot.info, smaps_fields)
    writer.piece(snapshot)
    writer.tail(snapshot.taken_at, snapshot.totals, snapshot.status, snapshot.smaps_read_at)


class JsonWriter:
    """Writes the JSON object a piece at a time: the regions as they are read, then
    the time the read finished, the totals and the objects (known only at the end,
    so they come after the regions). ensure_ascii keeps surrogate-escaped bytes of
    odd names printable as \\udcXX. Regions are serialised as text straight away,
    each distinct part once: at 60 000 regions a dict per region costs more than
    taking the snapshot."""

    def __init__(self, out: TextIO, procfs=None, cache=None) -> None:
        self.out = out
        self.procfs = procfs
        self.cache = cache
        self.objects: list = []  # ObjectSize, in address order
        self.written = 0
        self.sysv: dict | None = None  # /proc/sysvipc/shm, read once when needed

    def head(self, info, smaps_fields=None) -> None:
        head = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "pid": info.pid,
            "start_time": info.start_time,
            "command": info.command,
        }
        if smaps_fields is not None:
            head["smaps_fields"] = list(smaps_fields)
        self.out.write(json.dumps(head, ensure_ascii=True)[:-1] + ', "regions": [')

    def piece(self, snapshot: Snapshot) -> None:
        """The regions of ``snapshot`` (all of it, or a piece of a streamed one)."""
        from vmtop.model.objects import object_sizes
        from vmtop.procfs.elf_files import ProcessElfFiles

        sections = section_names(snapshot, self.procfs, self.cache)
        if not self.sysv:
            self.sysv = sysv_table(self.procfs, snapshot.info.pid, snapshot.regions)
        # A chunk of regions at a time: all of a replayed million's texts at once were
        # 850 MB, with their joined copy (the streamed read's pieces are small anyway).
        rows = zip(snapshot.regions, sections, strict=True)
        while texts := _region_texts(snapshot, islice(rows, TEXT_CHUNK), self.sysv):
            if self.written:
                self.out.write(", ")
            self.out.write(", ".join(texts))
            self.written += len(texts)
        if self.procfs is not None:
            # A piece's objects are its own; one of an earlier piece is not listed again.
            known = set(self.objects)
            new = object_sizes(snapshot, ProcessElfFiles(self.procfs, self.cache))
            self.objects.extend(o for o in new if o not in known)

    def tail(
        self, taken_at: float, totals, status: dict, smaps_read_at: float | None = None
    ) -> None:
        rest = {
            "taken_at": taken_at,
            **_read_at(smaps_read_at),
            "totals": totals_fields(totals, status),
            "objects": [_object_record(o) for o in self.objects],
        }
        self.out.write("], " + json.dumps(rest, ensure_ascii=True)[1:] + "\n")


_TEXT = (
    '{"start": "0x%x", "end": "0x%x", "size": %d, "perms": %s, "offset": %d, "dev": %s, '
    '"inode": %d, "path": %s, "kind": %s, "object": %s, "sections": %s%s%s}'
)


# Regions serialised together, then written: a chunk's texts are what is held.
TEXT_CHUNK = 4096


def _region_texts(snapshot: Snapshot, rows, sysv=None) -> list[str]:
    """The JSON text of each (region, its section names) of ``rows``."""
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
    for r, names in rows:
        part = smaps_record_part(snapshot, r)
        entry = tails.get(id(part))
        if entry is None or entry[0] is not part:
            text = (", " + json.dumps(part, ensure_ascii=True)[1:-1]) if part else ""
            entry = tails[id(part)] = (part, text)
        tail = entry[1]
        tid = f', "tid": {r.tid}' if r.tid is not None else ""
        if r.path.startswith(SYSV_PREFIX):  # rare: one dict for these few
            tid += ", " + json.dumps(sysv_fields(r, sysv))[1:-1]
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
