"""Read back a ``vmtop-snapshot`` JSON document (``vmtop snapshot PID --format json``, or
``vmtop replay FILE --at TIME --format json``) as a Snapshot, for ``vmtop diff``.

What the document holds is what the snapshot gets: each region's maps fields, its
classification as it was when taken (kind, object, thread) and the resident figures a
Region keeps (the rest of the smaps fields are left in the file); the process's PID,
start time and command, the time and the totals. The other formats are for people
(pmap) and spreadsheets (CSV, without the process, time or totals): they are not read,
and ``SnapshotFileError`` says so and how to take a snapshot that is.
"""

from __future__ import annotations

import json
import os

from vmtop.model.names import display_name
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
from vmtop.output.fields import RESIDENT_FIELDS
from vmtop.output.json_out import FORMAT, FORMAT_VERSION

TAKE_ONE = "take one with: vmtop snapshot PID --format json > FILE"


class SnapshotFileError(Exception):
    """A file that is not a snapshot vmtop reads back: one line for a person."""


def read_snapshot_file(path: str) -> Snapshot:
    # (a path is the user's bytes: an escape or a newline in it is shown, not obeyed)
    shown = display_name(os.fspath(path))
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise SnapshotFileError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise SnapshotFileError(f"{shown} is a directory, not a snapshot") from None
    except OSError as e:
        raise SnapshotFileError(f"{shown}: {e.strerror or e}") from None
    what = _not_json_snapshot(data)
    if what is not None:
        raise SnapshotFileError(f"{shown} is {what}")
    try:
        document = json.loads(data)
    except ValueError:  # UnicodeDecodeError is one too
        raise SnapshotFileError(f"{shown} is not JSON: not a vmtop snapshot ({TAKE_ONE})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotFileError(f"{shown} is JSON but not a vmtop snapshot ({TAKE_ONE})")
    version = document.get("format_version")
    if version is None:
        raise SnapshotFileError(
            f"{shown} says it is a vmtop snapshot but has no format_version: not one "
            f"vmtop wrote ({TAKE_ONE})"
        )
    if version != FORMAT_VERSION:
        raise SnapshotFileError(
            f"{shown} is a vmtop snapshot of format version {version!r}; this vmtop reads "
            f"version {FORMAT_VERSION}"
        )
    try:
        return snapshot_of(document)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise SnapshotFileError(f"{shown}: a vmtop snapshot with a bad field ({e})") from None


def _not_json_snapshot(data: bytes) -> str | None:
    """What the file is when it is plainly not a JSON snapshot, in words; else None."""
    if not data.strip():
        return f"empty: not a vmtop snapshot ({TAKE_ONE})"
    if data[:2] == b"\x1f\x8b":
        return (
            "compressed: a recording, not a snapshot (two moments of a recording: "
            "vmtop diff REC FROM TO)"
        )
    head = data.lstrip()[:200]
    if head.startswith(b"{"):
        if b'"vmtop-recording"' in head:
            return "a recording, not a snapshot (two moments of one: vmtop diff REC FROM TO)"
        return None
    first = head.split(b"\n", 1)[0]
    if first.startswith(b"start,end,"):
        return (
            "a --format csv snapshot: CSV has no process, time or totals, so vmtop diff "
            f"reads --format json snapshots only ({TAKE_ONE})"
        )
    if b":" in first and first.split(b":", 1)[0].strip().isdigit():
        return (
            "a --format pmap snapshot (text for people): vmtop diff reads --format json "
            f"snapshots only ({TAKE_ONE})"
        )
    return f"not a vmtop snapshot ({TAKE_ONE})"


def snapshot_of(document: dict) -> Snapshot:
    """The Snapshot a ``vmtop-snapshot`` document describes."""
    rows = document["regions"]
    fields = document.get("smaps_fields")
    has_smaps = bool(fields) if fields is not None else any("rss" in row for row in rows)
    regions = tuple(_region(row) for row in rows)
    totals = document.get("totals") or {}
    info = ProcessInfo(
        pid=int(document["pid"]),
        start_time=int(document.get("start_time") or 0),
        command=str(document.get("command") or ""),
        comm="",
        state="",
        ppid=0,
        uid=None,
        threads=None,
        start_stack=None,
    )
    read = Totals(**{key: totals.get(key, 0 if key == "size" else None) for key in Totals._fields})
    if read.uss is None and has_smaps and "uss" not in totals:
        # A snapshot written before USS was a total: its regions have what it sums.
        read = read._replace(
            uss=sum((r.private_clean or 0) + (r.private_dirty or 0) for r in regions)
        )
    hugetlb_total = totals.get("hugetlb")
    read_at = document.get("smaps_read_at")  # (a replayed sample's older figures)
    return Snapshot(
        info=info,
        taken_at=float(document.get("taken_at") or 0.0),
        smaps_read_at=float(read_at) if has_smaps and read_at is not None else None,
        regions=regions,
        totals=read,
        has_smaps=has_smaps,
        # The process's memory in hugetlb pages (status' HugetlbPages), which no RSS
        # counts, and each region's: without them two snapshots of a database faulting
        # in its shared buffers (huge_pages=on) compared as the same.
        status={"HugetlbPages": int(hugetlb_total)} if hugetlb_total is not None else {},
        hugetlb=_hugetlb(rows) if has_smaps else None,
    )


def _hugetlb(rows: list) -> tuple[tuple[int, int], ...]:
    """(start, bytes) of each region with memory in hugetlb pages (Snapshot.hugetlb)."""
    out = []
    for row in rows:
        size = (row.get("shared_hugetlb") or 0) + (row.get("private_hugetlb") or 0)
        if size:
            out.append((int(row["start"], 16), int(size)))
    return tuple(out)


def _region(row: dict) -> Region:
    figures = {name: row.get(name) for name in RESIDENT_FIELDS}
    return Region(
        start=int(row["start"], 16),
        end=int(row["end"], 16),
        perms=str(row["perms"]),
        offset=int(row.get("offset") or 0),
        dev=str(row.get("dev") or "00:00"),
        inode=int(row.get("inode") or 0),
        path=str(row.get("path") or ""),
        **figures,
        kind=str(row.get("kind") or "anon"),
        object=row.get("object"),
        tid=row.get("tid"),
    )
