"""Rebuild a recorded sample: decompress from its keyframe and apply the deltas after it.

``Rebuilder.snapshot(i, …)`` starts at the keyframe at or before sample ``i`` (or a
decoded keyframe kept from an earlier call) and applies the deltas after it; stepping
forward continues from where the last call stopped. ``rebuild_all`` is the scan's check
of a stretch it cannot vouch for (no checksum, or one that does not match): every
sample from a keyframe on, with every value's type checked.

Where each sample and keyframe is comes from the scan (``record.scan``); this module
knows only how to read the lines back.
"""

from __future__ import annotations

import gc
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import NamedTuple

from vmtop.model.names import display_name
from vmtop.model.region import Region, Snapshot
from vmtop.record import format as fmt
from vmtop.record.format import RecordingError
from vmtop.record.members import BAD_CHECKSUM, KEYFRAME_LINE, Damage, LineReader

SNAPSHOT_CACHE = 16  # rebuilt snapshots kept for stepping back and forth
MAP_CACHE = 4  # rebuilt maps kept: the samples after one that leave it as it is show it
KEYFRAME_CACHE = 3  # decoded keyframes kept: stepping back starts from one, not the file

# What a bad line or value raises on the way: a sample that cannot be rebuilt.
REBUILD_FAULTS = (ValueError, KeyError, TypeError, IndexError, AttributeError, Damage)

# A decoded keyframe: (regions, status, info, has_smaps, in_order, hugetlb)
KeyframeState = tuple


class MapState(NamedTuple):
    """What the keyframes and deltas up to a sample make: all of its snapshot but the
    time and totals its own sample line gives."""

    regions: tuple[Region, ...]
    info: object
    status: dict
    has_smaps: bool
    hugetlb: tuple | None


class Cursor:
    """Where a sequential rebuild stands: after sample ``i``, ready for the next line."""

    def __init__(self, lines: Iterator[tuple[int, bytes]], i: int) -> None:
        self.lines = lines
        self.i = i
        self.regions: dict[int, Region] = {}
        self.order: tuple[Region, ...] | None = ()  # the map as a tuple, while up to date
        self.in_order = True  # ``regions`` iterates in address order
        self.keyframe_state: KeyframeState | None = None  # to start from instead of parsing
        self.status: dict = {}
        self.info = None
        self.has_smaps = False
        # Snapshot.hugetlb: None where not recorded (a file written before vmtop kept it)
        self.hugetlb: tuple | None = None
        self.strict = False  # check every value's type (a file that may be damaged)


def open_cursor(path: str, compressed: bool, offset: int, keyframe: int) -> Cursor:
    """A cursor before sample ``keyframe``, reading the file from byte ``offset`` (its
    keyframe's member); the cursor's line generator owns the open file."""
    f = open(path, "rb")  # noqa: SIM115 - the generator owns it
    return Cursor(_lines_owning(f, compressed, offset), keyframe - 1)


def _lines_owning(f, compressed: bool, offset: int) -> Iterator[tuple[int, bytes]]:
    with f:
        yield from LineReader(f, compressed).lines(offset)


def rebuild_all(
    path: str, compressed: bool, offset: int, keyframe: int, last: int
) -> tuple[int, str] | None:
    """Rebuild every sample from ``keyframe`` (whose keyframe starts at byte ``offset``)
    to ``last``, checking every value: None when each could be, else the first that
    could not and why."""
    cursor = open_cursor(path, compressed, offset, keyframe)
    cursor.strict = True
    try:
        advance(cursor, last)
        if cursor.order is None and not cursor.in_order:
            sorted(cursor.regions.values(), key=_start)
    except REBUILD_FAULTS as e:
        return max(cursor.i + 1, keyframe), fault(e)
    finally:
        cursor.lines.close()
    return None


class Rebuilder:
    """Samples of one file rebuilt on demand, with the last few kept. Thread-safe."""

    def __init__(
        self,
        path: str,
        compressed: bool,
        keyframe_offsets: dict[int, int],
        *,
        uss_recorded: bool = True,
        check: Callable[[int, int, str], None] | None = None,
    ) -> None:
        self.path = path
        # Called with (keyframe, sample, label) before a sample is first rebuilt from
        # the file (``checks.MemberChecks``: a file opened by its index).
        self.check = check
        self.compressed = compressed
        self.keyframe_offsets = keyframe_offsets  # sample index -> its member's byte
        # False for a file written before totals had USS (its header does not name it).
        self.uss_recorded = uss_recorded
        self._lock = threading.Lock()
        self._cursor: Cursor | None = None
        self._cache: OrderedDict[int, Snapshot] = OrderedDict()
        self._maps: OrderedDict[int, MapState] = OrderedDict()
        self._keyframes: OrderedDict[int, KeyframeState] = OrderedDict()

    def snapshot(
        self,
        i: int,
        keyframe: int,
        taken_at: float,
        totals,
        label: str,
        smaps_read_at: float | None = None,
        *,
        map_of: int | None = None,
    ) -> Snapshot:
        """Sample ``i`` (rebuilt from the keyframe of sample ``keyframe``) as recorded;
        ``label`` names it in the error when it cannot be read back; ``smaps_read_at``:
        when its resident figures were read, where not with it (its sample line says).
        ``map_of``: the sample at or before ``i`` (and not before ``keyframe``) after
        which the map did not change (no keyframe or delta up to sample ``i``): rebuilt
        to that one."""
        with self._lock:
            snap = self._cache.get(i)
            if snap is not None:
                self._cache.move_to_end(i)
                return snap
            target = i if map_of is None else map_of
            state = self._maps.get(target)
            if state is None:
                state = self._rebuild(target, keyframe, label)
                self._maps[target] = state
                if len(self._maps) > MAP_CACHE:
                    self._maps.popitem(last=False)
            else:
                self._maps.move_to_end(target)
            snap = self._snapshot(state, taken_at, totals)
            if smaps_read_at is not None and snap.has_smaps:
                snap = snap._replace(smaps_read_at=smaps_read_at)
            self._cache[i] = snap
            if len(self._cache) > SNAPSHOT_CACHE:
                self._cache.popitem(last=False)
            return snap

    def _rebuild(self, i: int, keyframe: int, label: str) -> MapState:
        if self.check is not None:
            self.check(keyframe, i, label)
        cursor = self._cursor
        if cursor is None or not (cursor.i < i and cursor.i >= keyframe):
            offset = self.keyframe_offsets[keyframe]
            cursor = open_cursor(self.path, self.compressed, offset, keyframe)
            cursor.keyframe_state = self._keyframes.get(keyframe)
        self._cursor = None
        # Tens of thousands of new tuples would set the cyclic collector off again and
        # again over everything this process holds; none of them makes a cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            advance(cursor, i, self._keep_keyframe)
            regions = cursor.order
            if regions is None:
                if not cursor.in_order:
                    ordered = sorted(cursor.regions.values(), key=_start)
                    cursor.regions = {r.start: r for r in ordered}
                    cursor.in_order = True
                regions = tuple(cursor.regions.values())
                cursor.order = regions
        except REBUILD_FAULTS as e:
            raise RecordingError(
                f"{display_name(os.fspath(self.path))}: {label} cannot be read back ({fault(e)})"
            ) from None
        except OSError as e:
            raise RecordingError(
                f"{display_name(os.fspath(self.path))}: {e.strerror or e}"
            ) from None
        finally:
            if collecting:
                gc.enable()
        self._cursor = cursor
        return MapState(regions, cursor.info, cursor.status, cursor.has_smaps, cursor.hugetlb)

    def _snapshot(self, state: MapState, taken_at: float, totals) -> Snapshot:
        if not self.uss_recorded and totals is not None and state.has_smaps:
            # A file written before totals had USS: the figures it kept of each region
            # give it, as they gave it live (the sum of those very figures).
            totals = totals._replace(
                uss=sum((r.private_clean or 0) + (r.private_dirty or 0) for r in state.regions)
            )
        return Snapshot(
            info=state.info,
            taken_at=taken_at,
            regions=state.regions,
            totals=totals,
            has_smaps=state.has_smaps,
            status=dict(state.status),
            hugetlb=state.hugetlb,
        )

    def _keep_keyframe(self, index: int, cursor: Cursor) -> None:
        state = (
            cursor.order,
            cursor.status,
            cursor.info,
            cursor.has_smaps,
            cursor.in_order,
            cursor.hugetlb,
        )
        self._keyframes[index] = state
        self._keyframes.move_to_end(index)
        if len(self._keyframes) > KEYFRAME_CACHE:
            self._keyframes.popitem(last=False)


def advance(
    cursor: Cursor, target: int, keep_keyframe: Callable[[int, Cursor], None] | None = None
) -> None:
    """Read on until ``cursor`` stands at sample ``target``; each keyframe decoded on
    the way is handed to ``keep_keyframe`` with the index of its sample."""
    for _offset, line in cursor.lines:
        if line is BAD_CHECKSUM:
            continue  # the scan said so, and rebuilt what it holds
        if line.startswith(b'{"type":"sample"') or line.startswith(b'{"type":"end"'):
            kind = "sample" if line[9:10] == b"s" else "end"
            record = None
        elif cursor.keyframe_state is not None and line.startswith(KEYFRAME_LINE):
            state = cursor.keyframe_state
            regions, cursor.status, cursor.info, cursor.has_smaps, cursor.in_order, hugetlb = state
            cursor.hugetlb = hugetlb
            cursor.keyframe_state = None
            cursor.regions = {r.start: r for r in regions}
            cursor.order = regions
            continue
        else:
            record = json.loads(line)
            kind = record.get("type")
        if kind == "sample":
            cursor.i += 1
            if cursor.i == target:
                return
        elif kind == "keyframe":
            _load_keyframe(cursor, record)
            if keep_keyframe is not None:
                keep_keyframe(cursor.i + 1, cursor)
        elif kind == "delta":
            if cursor.strict:
                _check_delta(record)
            _apply_delta(cursor, record)
        elif kind == "end":
            break
    raise ValueError("the file ends before it")


def _load_keyframe(cursor: Cursor, record: dict) -> None:
    rows = record["regions"]
    if cursor.strict:
        _check_status(record.get("status") or {})
    regions = _regions_of_rows(rows, fmt.checked_region if cursor.strict else fmt.row_region)
    cursor.regions = {r.start: r for r in regions}
    cursor.order = regions
    cursor.in_order = all(a.start < b.start for a, b in zip(regions, regions[1:], strict=False))
    cursor.status = dict(record.get("status") or {})
    cursor.info = fmt.row_info(record["info"])
    cursor.has_smaps = bool(record.get("has_smaps"))
    cursor.hugetlb = fmt.row_hugetlb(record.get("hugetlb"))


# Rows made Regions this many at a time: what a chunk's columns cost on the way.
ROWS_CHUNK = 4096
# The fields whose values repeat from region to region and are objects of their own
# (texts, figures past 256): perms, dev, path, the resident figures, kind, object.
_SHARED_FIELDS = (2, 4, 6, *range(7, 15), 15, 16)


def _regions_of_rows(rows: list, make: Callable[[list], Region]) -> tuple[Region, ...]:
    """The keyframe's rows as Regions, ``rows`` emptied on the way. json.loads makes
    an object of every value it reads: each region's "r--p", "anon" and 4096 were
    objects of their own (590 bytes a region held, 320 now), and every row's list was
    held while its Region was made beside it. Here each chunk of rows replaces its
    lists by Regions as it goes, and a value that repeats within the chunk is held
    once (a memo per chunk, so distinct figures do not pile up in it)."""
    fields = len(fmt.REGION_FIELDS)
    for first in range(0, len(rows), ROWS_CHUNK):
        chunk = rows[first : first + ROWS_CHUNK]
        if make is not fmt.row_region or any(len(row) != fields for row in chunk):
            chunk = list(map(make, chunk))  # its checks, and its error for a bad row
        columns = list(zip(*chunk, strict=True))
        for field in _SHARED_FIELDS:
            memo: dict = {}
            columns[field] = map(memo.setdefault, columns[field], columns[field])
        rows[first : first + ROWS_CHUNK] = map(Region._make, zip(*columns, strict=True))
    regions = tuple(rows)
    rows.clear()
    return regions


def _start(region: Region) -> int:
    return region.start


def fault(e: Exception) -> str:
    """What went wrong rebuilding a sample, in words."""
    if isinstance(e, Damage):
        return e.place()
    if isinstance(e, json.JSONDecodeError | UnicodeDecodeError):
        return "a line is not JSON"
    if isinstance(e, ValueError) and str(e):
        return str(e)  # "the file ends before it", JSON's own words
    if isinstance(e, KeyError):
        return "a change names a region that is not there"
    return "a line does not hold what it should"


def _check_status(status) -> None:
    if type(status) is not dict or not all(
        type(k) is str and type(v) in (str, int) for k, v in status.items()
    ):
        raise ValueError("a status that does not hold what it should")


def _check_delta(record: dict) -> None:
    """The types of every value of a delta, for a file that may be damaged."""
    removed = record.get("removed", [])
    if type(removed) is not list or not all(type(start) is int for start in removed):
        raise ValueError("a delta that removes what is not a region's start")
    put = record.get("put", [])
    resident = record.get("resident", [])
    if type(put) is not list or type(resident) is not list:
        raise ValueError("a delta that does not hold what it should")
    for row in put:
        fmt.check_row(row, fmt.REGION_TYPES, "a region")
    for row in resident:
        fmt.check_row(row, fmt.RESIDENT_TYPES, "resident figures")
    _check_status(record.get("status") or {})
    gone = record.get("status_removed", [])
    if type(gone) is not list or not all(type(key) is str for key in gone):
        raise ValueError("a delta that does not hold what it should")


def _apply_delta(cursor: Cursor, record: dict) -> None:
    regions = cursor.regions
    changed = False
    for start in record.get("removed", ()):
        del regions[start]
        changed = True
    for row in record.get("put", ()):
        r = fmt.row_region(row)
        if r.start not in regions:
            cursor.in_order = False  # a new start goes to the end of the dict
        regions[r.start] = r
        changed = True
    resident = record.get("resident", [])
    for k, row in enumerate(resident):
        old = regions[row[0]]
        if len(row) != 1 + len(fmt.RESIDENT_FIELDS):
            raise ValueError(f"a resident entry has {len(row)} fields")
        regions[row[0]] = Region._make((*old[fmt.MAP_PART], *row[1:], *old[fmt.CLASS_PART]))
        # Each entry's list dropped once applied: a smaps read of a million regions
        # after a maps-only one is a million entries, held beside their new Regions.
        resident[k] = None
        changed = True
    if changed:
        cursor.order = None
    if "info" in record:
        cursor.info = fmt.row_info(record["info"])
    if "has_smaps" in record:
        cursor.has_smaps = bool(record["has_smaps"])
    if "hugetlb" in record:
        cursor.hugetlb = fmt.row_hugetlb(record["hugetlb"])
    status = record.get("status")
    if status or record.get("status_removed"):
        cursor.status = dict(cursor.status)
        cursor.status.update(status or {})
        for key in record.get("status_removed", ()):
            cursor.status.pop(key, None)
