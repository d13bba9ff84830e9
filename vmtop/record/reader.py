"""Read a recording: scan it once for the timeline, then rebuild any sample on demand.

``Recording.open(path)`` checks the header and scans the file: per sample its time,
totals, RSS by kind and events, and where its keyframe's gzip member starts. It does
not parse the map bodies on the way (a line's type is read from its first bytes), so
opening costs decompression, not JSON of every region. ``snapshot(i)`` starts
decompressing at the keyframe at or before sample ``i`` and applies the deltas after
it; stepping forward continues from where the last call stopped.

A file cut short (``kill -9``, a full disk) or damaged part way replays up to its last
complete sample, and ``notes`` says where it was cut. Anything that is not a readable
recording raises ``RecordingError`` with one line for a person.
"""

from __future__ import annotations

import gc
import json
import os
import struct
import threading
import time
import zlib
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from functools import cached_property
from typing import NamedTuple

from vmtop.model.events import NOTE, Event
from vmtop.model.region import Region, Snapshot
from vmtop.record import format as fmt
from vmtop.record.format import RecordingError
from vmtop.record.timespec import label_digits, nearest_index

CHUNK = 1 << 20
SNAPSHOT_CACHE = 16  # rebuilt snapshots kept for stepping back and forth
KEYFRAME_CACHE = 3  # decoded keyframes kept: stepping back starts from one, not the file

_KEYFRAME = b'{"type":"keyframe"'
_DELTA = b'{"type":"delta"'


class _Damage(Exception):
    """Where a file stops being a readable recording, and why, in words.

    ``line`` counts the lines of the uncompressed text from 1 (the header): for a
    compressed file it is the only position a person can find the damage by (``zcat
    FILE | sed -n 6p``), since a line's own offset is known only inside its gzip member.
    ``offset`` is a byte of the file itself, given for damage to the compressed data:
    where the part that cannot be read starts (zlib does not say where inside it), and
    ``line`` then the first line lost.
    """

    def __init__(self, why: str, *, offset: int | None = None, line: int | None = None):
        super().__init__(why)
        self.why = why
        self.offset = offset
        self.line = line

    def place(self) -> str:
        """The note's words: "line 6 is damaged (not JSON)"."""
        if self.offset is None:
            return f"line {self.line} is damaged ({self.why})"
        return f"damaged from byte {self.offset} of the file, line {self.line} on ({self.why})"


def keyframe_member(f, offset: int) -> int | None:
    """The whole length of the gzip member at ``offset`` if it is a keyframe member
    (header with the "VK" extra subfield: see writer.keyframe_member_header), else None."""
    f.seek(offset)
    head = f.read(12)
    if len(head) < 12 or head[:2] != b"\x1f\x8b" or not head[3] & 0x04 or head[3] & 0x1A:
        return None
    (xlen,) = struct.unpack("<H", head[10:12])
    extra = f.read(xlen)
    k = 0
    while k + 4 <= len(extra):
        (size,) = struct.unpack("<H", extra[k + 2 : k + 4])
        if extra[k : k + 2] == b"VK" and size == 8 and k + 12 <= len(extra):
            (length,) = struct.unpack("<Q", extra[k + 4 : k + 12])
            return 12 + xlen + length + 8
        k += 4 + size
    return None


SKIPPED = b"\x00keyframe stepped over\x00"  # stands for its line (skip_keyframes)


def iter_lines(
    f, start: int, compressed: bool, *, skip_keyframes: bool = False
) -> Iterator[tuple[int, bytes]]:
    """(offset of the gzip member the line starts in, line without its newline) from
    ``start``; for an uncompressed file the offset is the line's own. A last line
    without its newline (cut short) is not yielded. With ``skip_keyframes``, a
    keyframe member is not decompressed: ``SKIPPED`` stands for its line. Raises
    _Damage where the compressed data stops making sense."""
    f.seek(start)
    if not compressed:
        offset = start
        pending = b""
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                return
            pending += chunk
            lines = pending.split(b"\n")
            pending = lines.pop()
            for line in lines:
                yield offset, line
                offset += len(line) + 1
    size = os.fstat(f.fileno()).st_size
    member = start
    while member < size:
        if skip_keyframes:
            length = keyframe_member(f, member)
            if length is not None:
                if member + length > size:
                    return  # cut short inside it: its sample never came
                yield member, SKIPPED
                member += length
                continue
        f.seek(member)
        used = 0  # compressed bytes of this member fed so far
        z = zlib.decompressobj(31)
        pending = b""
        line_member = member
        while not z.eof:
            data = f.read(CHUNK)
            if not data:
                return  # cut short inside this member
            try:
                out = z.decompress(data)
            except zlib.error as e:
                # zlib says "Error -3 while decompressing data: invalid block type".
                detail = str(e).rpartition(": ")[2]
                why = f"compressed data that does not decompress: {detail}"
                raise _Damage(why, offset=member + used) from None
            used += len(data) - len(z.unused_data)
            if out:
                pending += out
                if b"\n" in out:
                    lines = pending.split(b"\n")
                    pending = lines.pop()
                    for line in lines:
                        yield line_member, line
        if pending:
            raise _Damage("a line runs past the end of its compressed part", offset=member + used)
        member += used
        f.seek(member)
        if f.read(2) not in (b"\x1f\x8b", b""):
            raise _Damage("data after the end of a compressed part", offset=member)


_JSON_KINDS = {list: "a JSON array", str: "a JSON string", bool: "true or false"}
_REQUIRED = object()


def _record(line: bytes) -> dict:
    """The line as a record object with a type, or _Damage saying what it is instead."""
    try:
        record = json.loads(line)
    except ValueError:  # UnicodeDecodeError is one too
        raise _Damage("not JSON") from None
    if not isinstance(record, dict):
        kind = "null" if record is None else _JSON_KINDS.get(type(record), "a number")
        raise _Damage(f"{kind}, not a record object")
    if "type" not in record:
        raise _Damage("a record object without a type")
    return record


def _field(record: dict, key: str, convert, of: str, default=_REQUIRED, *, what: str = ""):
    """``convert(record[key])``, ``default`` where the key is absent, or _Damage naming
    the field and the record ("bad totals in sample 5", "no time in sample 5")."""
    name = what or key
    if key not in record:
        if default is _REQUIRED:
            raise _Damage(f"no {name} in {of}")
        return default
    try:
        return convert(record[key])
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
        raise _Damage(f"bad {name} in {of}") from None


def _events(rows) -> tuple:
    return tuple(map(fmt.row_event, rows))


class SampleInfo(NamedTuple):
    time: float
    totals: tuple  # vmtop.model.region.Totals
    kinds: dict  # kind -> resident bytes
    keyframe: int  # index of the sample whose keyframe this one is rebuilt from
    events: tuple  # Event, this sample's


class _Cursor:
    """Where a sequential rebuild stands: after sample ``i``, ready for the next line."""

    def __init__(self, lines: Iterator[tuple[int, bytes]]) -> None:
        self.lines = lines
        self.i = -1
        self.regions: dict[int, Region] = {}
        self.order: tuple[Region, ...] | None = ()  # the map as a tuple, while up to date
        self.in_order = True  # ``regions`` iterates in address order
        self.keyframe_state = None  # a decoded keyframe to start from instead of parsing
        self.status: dict = {}
        self.info = None
        self.has_smaps = False


class Recording:
    """A recording opened for replay. Thread-safe for ``snapshot()`` calls."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.header: dict = {}
        self.samples: list[SampleInfo] = []
        self.keyframe_offsets: dict[int, int] = {}
        self.notes: list[str] = []
        self.end_reason: str | None = None
        self.end_events: tuple = ()
        self.compressed = True
        self.size = 0
        self._times: list[float] = []
        self._lock = threading.Lock()
        self._cursor: _Cursor | None = None
        self._cache: OrderedDict[int, Snapshot] = OrderedDict()
        self._keyframes: OrderedDict[int, tuple] = OrderedDict()

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str) -> Recording:
        rec = cls(path)
        rec._scan()
        return rec

    def _scan(self) -> None:
        name = self.path
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise RecordingError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise RecordingError(f"{name} is a directory, not a recording") from None
        except OSError as e:
            raise RecordingError(f"{name}: {e.strerror or e}") from None
        with f:
            self.size = os.fstat(f.fileno()).st_size
            magic = f.read(2)
            if not magic:
                raise RecordingError(f"{name} is empty: not a vmtop recording")
            self.compressed = magic == b"\x1f\x8b"
            if not self.compressed and magic[:1] != b"{":
                raise RecordingError(
                    f"{name} is not a vmtop recording (not gzip-compressed JSON Lines)"
                )
            try:
                self._scan_lines(iter_lines(f, 0, self.compressed, skip_keyframes=True))
            except _Damage as e:
                self._cut(e.place())
                return
            except OSError as e:
                raise RecordingError(f"{name}: {e.strerror or e}") from None
        if self.end_reason is None and self.samples:
            self._cut("it has no end mark (vmtop was stopped abruptly or the disk filled)")

    def _cut(self, why: str) -> None:
        if not self.header:
            raise RecordingError(f"{self.path} is not a vmtop recording: {why}")
        if not self.samples:
            raise RecordingError(f"{self.path} has no complete sample: {why}")
        last = self.samples[-1].time
        self.notes.append(
            f"recording cut short: {why}; replaying up to sample {len(self.samples)} "
            f"({time.strftime('%H:%M:%S', time.localtime(last))})"
        )

    def _check_header(self, line: bytes) -> None:
        name = self.path
        try:
            header = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise RecordingError(
                f"{name} is not a vmtop recording (its first line is not a header)"
            ) from None
        if not isinstance(header, dict) or header.get("format") != fmt.FORMAT_NAME:
            raise RecordingError(f"{name} is not a vmtop recording (no vmtop-recording header)")
        version = header.get("format_version")
        if version != fmt.FORMAT_VERSION:
            raise RecordingError(
                f"{name} is a vmtop recording of format version {version}; this vmtop "
                f"reads version {fmt.FORMAT_VERSION}"
                + (": upgrade vmtop" if isinstance(version, int) and version > 1 else "")
            )
        if header.get("region_fields") != list(fmt.REGION_FIELDS):
            raise RecordingError(f"{name}: its regions have fields this vmtop does not know")
        self.header = header

    def _scan_lines(self, lines: Iterator[tuple[int, bytes]]) -> None:
        body_offset: int | None = None  # member of the keyframe body seen, not committed
        body_i: int | None = None
        keyframe = -1
        totals = None
        kinds: dict = {}
        number = 0  # of the line in hand, from 1 (the header)
        try:
            for offset, line in lines:
                number += 1
                if not self.header:
                    self._check_header(line)
                    continue
                if line is SKIPPED or line.startswith(_KEYFRAME):
                    body_offset, body_i = offset, len(self.samples)
                    continue
                if line.startswith(_DELTA) or not line.strip():
                    continue
                record = _record(line)
                kind = record["type"]
                if kind == "keyframe":  # written by another tool: another key order
                    body_offset, body_i = offset, len(self.samples)
                    continue
                if kind == "delta":
                    continue
                if kind == "end":
                    self.end_events = _field(record, "events", _events, "the end mark", ())
                    self.end_reason = str(record.get("reason", ""))  # read to the end
                    break
                if kind != "sample":
                    continue  # a line type from a later minor addition: skip it
                i = len(self.samples)
                if record.get("i", i) != i:
                    raise _Damage(f"sample {i + 1} is missing")  # counted from 1, as in notes
                if body_i == i:
                    keyframe = i
                    self.keyframe_offsets[i] = body_offset
                if keyframe < 0:
                    raise _Damage("a sample before any keyframe")
                of = f"sample {i + 1}"
                totals = _field(record, "totals", fmt.row_totals, of, totals)
                kinds = _field(record, "kinds", dict, of, kinds, what="resident bytes by kind")
                events = _field(record, "events", _events, of, ())
                when = _field(record, "time", float, of)
                self.samples.append(SampleInfo(when, totals, kinds, keyframe, events))
                self._times.append(when)
        except _Damage as e:
            # Damage to the compressed data is met looking for the next line; any other
            # is the line in hand's.
            e.line = number + 1 if e.offset is not None else number
            raise
        if not self.header:
            raise RecordingError(f"{self.path} is not a vmtop recording (no header line)")
        if not self.samples:
            raise RecordingError(f"{self.path} has no complete sample")

    # -- what it holds ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def pid(self) -> int:
        return int(self.header.get("pid", 0))

    @property
    def command(self) -> str:
        return str(self.header.get("command", ""))

    @property
    def start(self) -> float:
        return self.samples[0].time

    @property
    def end(self) -> float:
        return self.samples[-1].time

    @property
    def interval(self) -> float:
        return float(self.header.get("interval", 1.0))

    def time_of(self, i: int) -> float:
        return self.samples[i].time

    def index_at(self, when: float) -> int:
        """The last sample taken at or before ``when`` (the first one if before all):
        where playing has got to."""
        return max(0, bisect_right(self._times, when) - 1)

    def index_nearest(self, when: float) -> int:
        """The sample a time someone typed names: the nearest (timespec.nearest_index)."""
        return nearest_index(self._times, when)

    @cached_property
    def digits(self) -> int:
        """The decimals of a second in the labels of this recording's sample times
        (timespec.label_digits): enough that no two samples share one."""
        return label_digits(self._times)

    def events(self) -> list[tuple[int, Event]]:
        """Every event with the sample it came with; the end mark's after the last."""
        out = [(i, e) for i, s in enumerate(self.samples) for e in s.events]
        last = len(self.samples) - 1
        out.extend((last, e) for e in self.end_events)
        return out

    def events_of(self, i: int) -> tuple:
        events = self.samples[i].events
        if i == len(self.samples) - 1 and self.end_events:
            events = events + self.end_events
        return events

    def next_event(self, i: int, step: int) -> int | None:
        """The nearest sample after (step 1) or before (step -1) ``i`` with events
        (changes to the map: narration alone does not count)."""
        j = i + step
        while 0 <= j < len(self.samples):
            if any(e.event != NOTE for e in self.events_of(j)):
                return j
            j += step
        return None

    # -- rebuilding samples -------------------------------------------------------------

    def snapshot(self, i: int) -> Snapshot:
        """Sample ``i`` as the snapshot that was recorded (without smaps text)."""
        if not 0 <= i < len(self.samples):
            raise IndexError(i)
        with self._lock:
            snap = self._cache.get(i)
            if snap is not None:
                self._cache.move_to_end(i)
                return snap
            snap = self._rebuild(i)
            self._cache[i] = snap
            if len(self._cache) > SNAPSHOT_CACHE:
                self._cache.popitem(last=False)
            return snap

    def _rebuild(self, i: int) -> Snapshot:
        keyframe = self.samples[i].keyframe
        cursor = self._cursor
        if cursor is None or not (cursor.i < i and cursor.i >= keyframe):
            f = open(self.path, "rb")  # noqa: SIM115 - the cursor's generator owns it
            cursor = _Cursor(self._lines_owning(f, self.keyframe_offsets[keyframe]))
            cursor.i = keyframe - 1
            cursor.keyframe_state = self._keyframes.get(keyframe)
        self._cursor = None
        # Tens of thousands of new tuples would set the cyclic collector off again and
        # again over everything this process holds; none of them makes a cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._advance(cursor, i)
            regions = cursor.order
            if regions is None:
                if not cursor.in_order:
                    ordered = sorted(cursor.regions.values(), key=_start)
                    cursor.regions = {r.start: r for r in ordered}
                    cursor.in_order = True
                regions = tuple(cursor.regions.values())
                cursor.order = regions
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, _Damage) as e:
            raise RecordingError(f"{self.path}: sample {i} cannot be read back ({e})") from None
        except OSError as e:
            raise RecordingError(f"{self.path}: {e.strerror or e}") from None
        finally:
            if collecting:
                gc.enable()
        self._cursor = cursor
        info = self.samples[i]
        return Snapshot(
            info=cursor.info,
            taken_at=info.time,
            regions=regions,
            totals=info.totals,
            has_smaps=cursor.has_smaps,
            status=dict(cursor.status),
        )

    def _lines_owning(self, f, offset: int) -> Iterator[tuple[int, bytes]]:
        with f:
            yield from iter_lines(f, offset, self.compressed)

    def _advance(self, cursor: _Cursor, target: int) -> None:
        for _offset, line in cursor.lines:
            if line.startswith(b'{"type":"sample"') or line.startswith(b'{"type":"end"'):
                kind = "sample" if line[9:10] == b"s" else "end"
                record = None
            elif cursor.keyframe_state is not None and line.startswith(_KEYFRAME):
                state = cursor.keyframe_state
                regions, cursor.status, cursor.info, cursor.has_smaps, cursor.in_order = state
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
                rows = record["regions"]
                regions = tuple(map(fmt.row_region, rows))
                cursor.regions = {r.start: r for r in regions}
                cursor.order = regions
                cursor.in_order = all(
                    a.start < b.start for a, b in zip(regions, regions[1:], strict=False)
                )
                cursor.status = dict(record.get("status") or {})
                cursor.info = fmt.row_info(record["info"])
                cursor.has_smaps = bool(record.get("has_smaps"))
                self._keep_keyframe(cursor.i + 1, cursor)
            elif kind == "delta":
                _apply_delta(cursor, record)
            elif kind == "end":
                break
        raise ValueError("the file ends before it")

    def _keep_keyframe(self, index: int, cursor: _Cursor) -> None:
        state = (cursor.order, cursor.status, cursor.info, cursor.has_smaps, cursor.in_order)
        self._keyframes[index] = state
        self._keyframes.move_to_end(index)
        if len(self._keyframes) > KEYFRAME_CACHE:
            self._keyframes.popitem(last=False)


def _start(region: Region) -> int:
    return region.start


def _apply_delta(cursor: _Cursor, record: dict) -> None:
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
    for row in record.get("resident", ()):
        old = regions[row[0]]
        if len(row) != 1 + len(fmt.RESIDENT_FIELDS):
            raise ValueError(f"a resident entry has {len(row)} fields")
        regions[row[0]] = Region._make((*old[fmt.MAP_PART], *row[1:], *old[fmt.CLASS_PART]))
        changed = True
    if changed:
        cursor.order = None
    if "info" in record:
        cursor.info = fmt.row_info(record["info"])
    if "has_smaps" in record:
        cursor.has_smaps = bool(record["has_smaps"])
    status = record.get("status")
    if status or record.get("status_removed"):
        cursor.status = dict(cursor.status)
        cursor.status.update(status or {})
        for key in record.get("status_removed", ()):
            cursor.status.pop(key, None)
