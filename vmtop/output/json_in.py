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

from vmtop.model.columns import RegionColumns
from vmtop.model.columns_builder import ColumnsBuilder
from vmtop.model.names import display_name
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
from vmtop.output import json_stream
from vmtop.output.fields import RESIDENT_FIELDS
from vmtop.output.json_out import FORMAT, FORMAT_VERSION
from vmtop.procfs.snapshot import HUGE_MAP_REGIONS

TAKE_ONE = "take one with: vmtop snapshot PID --format json > FILE"


class SnapshotFileError(Exception):
    """A file that is not a snapshot vmtop reads back: one line for a person."""


# Of the file's start: enough to tell what it is when it is plainly not a snapshot.
HEAD = 1 << 16


def read_snapshot_file(path: str) -> Snapshot:
    """The snapshot in ``path``, its regions read as they come (``json_stream``): a
    map past HUGE_MAP_REGIONS becomes columns, never a dict or a Region a region."""
    # (a path is the user's bytes: an escape or a newline in it is shown, not obeyed)
    shown = display_name(os.fspath(path))
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD)
            what = _not_json_snapshot(head, whole=len(head) < HEAD)
            if what is not None:
                raise SnapshotFileError(f"{shown} is {what}")
            f.seek(0)
            rows = _Rows()
            try:
                document = json_stream.read_object(f, "regions", rows.add)
            except ValueError:  # not one JSON object: as json.loads of it all says
                f.seek(0)
                document = _whole_document(f.read(), shown)
                rows = None
    except FileNotFoundError:
        raise SnapshotFileError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise SnapshotFileError(f"{shown} is a directory, not a snapshot") from None
    except OSError as e:
        raise SnapshotFileError(f"{shown}: {e.strerror or e}") from None
    _check_format(document, shown)
    try:
        if rows is None:
            return snapshot_of(document)
        if rows.error is not None:
            raise rows.error
        if not isinstance(document.get("regions"), json_stream.Streamed):
            document["regions"]  # (none: a KeyError; not a list: the TypeError below)
            raise TypeError("'regions' is not a list of regions")
        return _snapshot(document, rows)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise SnapshotFileError(f"{shown}: a vmtop snapshot with a bad field ({e})") from None


def _whole_document(data: bytes, shown: str):
    try:
        return json.loads(data)
    except ValueError:  # UnicodeDecodeError is one too
        raise SnapshotFileError(f"{shown} is not JSON: not a vmtop snapshot ({TAKE_ONE})") from None


def _check_format(document, shown: str) -> None:
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


class _Rows:
    """The regions of a document as they are read: Regions, then columns past
    HUGE_MAP_REGIONS (no more than that many Regions held at a time); what of them the
    snapshot needs besides (whether any had smaps figures, their USS, their memory in
    hugetlb pages); the first region that was not one (``error``), after which the rest
    are only counted."""

    def __init__(self) -> None:
        self.regions: list[Region] = []
        self.builder: ColumnsBuilder | None = None
        self.any_rss = False
        self.uss = 0
        self.hugetlb: list[tuple[int, int]] = []
        self.error: Exception | None = None

    def add(self, row) -> None:
        if self.error is not None:
            return
        try:
            region = _region(row)
            size = (row.get("shared_hugetlb") or 0) + (row.get("private_hugetlb") or 0)
            if size:
                self.hugetlb.append((region.start, int(size)))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            self.error = e
            return
        self.any_rss = self.any_rss or "rss" in row
        self.uss += (region.private_clean or 0) + (region.private_dirty or 0)
        self.regions.append(region)
        if len(self.regions) == HUGE_MAP_REGIONS:
            if self.builder is None:
                self.builder = ColumnsBuilder()
            try:  # (a figure that is no integer, an offset below 0: no column holds it)
                self.builder.extend_rows(self.regions)
            except (TypeError, ValueError, OverflowError) as e:
                self.error = e
            self.regions = []

    def taken(self) -> tuple[Region, ...] | RegionColumns:
        if self.builder is None:
            return tuple(self.regions)
        self.builder.extend_rows(self.regions)
        return RegionColumns.from_builder(self.builder)


def _not_json_snapshot(data: bytes, whole: bool = True) -> str | None:
    """What the file is when it is plainly not a JSON snapshot, in words; else None.
    ``data``: the file, or (``whole`` False) its start."""
    if whole and not data.strip():
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
    rows = _Rows()
    for row in document["regions"]:
        rows.add(row)
    if rows.error is not None:
        raise rows.error
    return _snapshot(document, rows)


def _snapshot(document: dict, rows: _Rows) -> Snapshot:
    """The snapshot of a document whose regions were read into ``rows``."""
    fields = document.get("smaps_fields")
    has_smaps = bool(fields) if fields is not None else rows.any_rss
    regions = rows.taken()
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
        read = read._replace(uss=rows.uss)
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
        hugetlb=tuple(rows.hugetlb) if has_smaps else None,
    )


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
