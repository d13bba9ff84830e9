"""A recording's index: what the scan of a file finds, written at its clean end, so
that opening a long recording costs a seek to its end and a small read.

At ``close()`` the writer (``record.writer``) appends, after the ``end`` line, two gzip
members (docs/recording-format.md, "The index"):

- the *index member*: one line, ``{"type":"index",...}``, the ``SampleIndex`` the scan
  would build (``record.sample_index``) and where each keyframe is, its arrays packed
  (``pack``); its header's extra field "VI" holds the length of its compressed data, as
  a keyframe member's "VK" does;
- the *trailer*: a gzip member with no data (42 bytes, always the same length) whose
  extra field "VT" says where the index member starts and how long it is.

Readers that do not know them read on as before: the index line is a line of a type
they do not know, after the end mark, and the trailer holds no line. ``read_index``
trusts an index only where it fits the file: the trailer is the file's last bytes, the
index member ends where the trailer starts and matches its checksum, its counts and
offsets hold together and lie before it, the file's first member is its header alone,
and the last sample's member holds the last sample the index names and the end mark
after it; else it returns None, and the reader scans the file as before.
"""

from __future__ import annotations

import base64
import json
import struct
import sys
import zlib
from array import array
from typing import NamedTuple

from vmtop.record import format as fmt
from vmtop.record.members import Damage, inflate_member
from vmtop.record.sample_index import CHUNK_SAMPLES, PEAK_BLOCKS, SampleIndex
from vmtop.record.samples import Carried, read_events, read_field, read_kinds, read_line

INDEX_VERSION = 1
INDEX_LINE = b'{"type":"index"'
# The extra subfields: of the index member (its compressed data's length), and of the
# trailer (the index member's offset and whole length).
INDEX_FIELD = b"VI"
TRAILER_FIELD = b"VT"
# deflate's empty final block, and the CRC-32 and length of no data.
_EMPTY = b"\x03\x00" + b"\x00" * 8
_TRAILER_HEAD = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff" + struct.pack("<H", 20)
TRAILER_SIZE = len(_TRAILER_HEAD) + 20 + len(_EMPTY)  # 42

# Each column's item type in the file (little-endian): the SampleIndex array's own.
_TYPES = {"d": "f8", "q": "i8", "I": "u4", "B": "u1"}
_CODES = {v: k for k, v in _TYPES.items()}
_SIZES = {"f8": 8, "i8": 8, "u4": 4, "u1": 1}
assert array("I").itemsize == 4 and array("q").itemsize == 8


def member_header(field: bytes, payload: bytes) -> bytes:
    """A gzip member header (deflate, no name, mtime 0, OS unknown) with one extra
    subfield ``field`` holding ``payload``."""
    extra = field + struct.pack("<H", len(payload)) + payload
    return b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff" + struct.pack("<H", len(extra)) + extra


def pack(values) -> dict:
    """An array (or bytearray) as the index line holds it: its item type, its count,
    and its bytes, little-endian, shuffled (every value's first byte, then every
    second byte, ...: sample times that differ in their last bytes alone compress to a
    third), compressed with zlib and in base64."""
    code = "B" if isinstance(values, bytearray | bytes) else values.typecode
    kind = _TYPES[code]
    if code != "B" and sys.byteorder == "big":
        values = array(code, values)
        values.byteswap()
    raw = bytes(values)
    size = _SIZES[kind]
    shuffled = b"".join(raw[k::size] for k in range(size)) if size > 1 else raw
    data = base64.b64encode(zlib.compress(shuffled, 6)).decode("ascii")
    return {"type": kind, "count": len(raw) // size, "data": data}


def unpack(value, kind: str):
    """An array ``pack`` made, of item type ``kind``; ValueError where it is not one."""
    if type(value) is not dict or value.get("type") != kind or type(value.get("count")) is not int:
        raise ValueError("not an array of the index")
    count, size = value["count"], _SIZES[kind]
    shuffled = zlib.decompress(base64.b64decode(value["data"], validate=True))
    if len(shuffled) != count * size:
        raise ValueError("an array of the index that is not as long as it says")
    if size == 1:
        return bytearray(shuffled)
    raw = bytearray(len(shuffled))
    for k in range(size):
        raw[k::size] = shuffled[k * count : (k + 1) * count]
    values = array(_CODES[kind])
    values.frombytes(raw)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def index_line(index: SampleIndex, keyframe_offsets, member: int) -> bytes:
    """The index line of a recording whose samples ``index`` holds, its keyframes'
    members at ``keyframe_offsets`` (in sample order), the line's own member at byte
    ``member``."""
    columns = index.columns()
    record: dict = {
        "type": "index",
        "index_version": INDEX_VERSION,
        "member": member,
        "samples": len(index),
        "last_number": columns.pop("last_number"),
        "events_total": columns.pop("events_total"),
        "peak_block": columns.pop("peak_block"),
    }
    for name, values in columns.items():
        record[name] = pack(values)
    record["keyframe_offsets"] = pack(array("q", keyframe_offsets))
    record["chunk_carried"] = [
        [j, None if c.totals is None else fmt.totals_row(c.totals), c.kinds, c.hugetlb]
        for j, c in sorted(index.chunk_carried.items())
    ]
    record["peak_kinds"] = index.peak_kinds
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


def index_members(line: bytes, member: int) -> bytes:
    """The index member holding ``line`` and the trailer after it, for a file whose
    index member starts at byte ``member``."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = c.compress(line) + c.flush()
    body = (
        member_header(INDEX_FIELD, struct.pack("<Q", len(raw)))
        + raw
        + struct.pack("<II", zlib.crc32(line), len(line) & 0xFFFFFFFF)
    )
    trailer = member_header(TRAILER_FIELD, struct.pack("<QQ", member, len(body))) + _EMPTY
    assert len(trailer) == TRAILER_SIZE
    return body + trailer


# -- reading it -----------------------------------------------------------------------

# What an index line that is not what it should be raises on the way (a line that
# matches its checksum but was not written by vmtop, or not for this file).
_NOT_AN_INDEX = (
    ValueError,  # binascii.Error and JSONDecodeError are ones
    TypeError,
    KeyError,
    AttributeError,
    OverflowError,
    RecursionError,
    zlib.error,
    Damage,
)


class Opened(NamedTuple):
    """What a recording's index says: what the scan would have found."""

    header: dict
    index: SampleIndex
    keyframe_offsets: dict[int, int]
    end_reason: str
    end_events: tuple
    end_samples: int
    member: int  # where the index member starts: the samples' bytes lie before it


def _located(f, size: int) -> tuple[int, int] | None:
    """(offset, length) of the index member, as the trailer says, where the file ends
    with one."""
    if size < TRAILER_SIZE:
        return None
    f.seek(size - TRAILER_SIZE)
    tail = f.read(TRAILER_SIZE)
    head = _TRAILER_HEAD + TRAILER_FIELD + struct.pack("<H", 16)
    if len(tail) != TRAILER_SIZE or not tail.startswith(head) or not tail.endswith(_EMPTY):
        return None
    member, length = struct.unpack("<QQ", tail[len(head) : len(head) + 16])
    if member + length != size - TRAILER_SIZE:
        return None
    return member, length


def _member_text(f, offset: int, end: int | None = None) -> bytes | None:
    """The whole data of the gzip member at ``offset``, where it decompresses, matches
    its checksum and (``end``) ends at byte ``end``; else None."""
    parts = []
    member = inflate_member(f, offset)
    try:
        while True:
            parts.append(next(member))
    except StopIteration as stop:
        result = stop.value
    except Damage:
        return None
    if result is None or not result[1] or (end is not None and result[0] != end):
        return None
    return b"".join(parts)


def read_index(f, size: int, check_header) -> Opened | None:
    """The index of the recording open as ``f`` (``size`` bytes), where it has one that
    fits the file (see the module's words); else None. ``check_header(line)`` checks
    the header line (RecordingError where it is not one this vmtop reads)."""
    located = _located(f, size)
    if located is None:
        return None
    member, length = located
    f.seek(member)
    head = f.read(24)
    want = member_header(INDEX_FIELD, struct.pack("<Q", length - 24 - 8))
    if head != want:
        return None
    text = _member_text(f, member, member + length)
    if text is None or not text.startswith(INDEX_LINE) or text.count(b"\n") != 1:
        return None
    try:
        record = json.loads(text)
        opened = _opened(record, member)
    except _NOT_AN_INDEX:
        return None
    if opened is None:
        return None
    index, keyframe_offsets = opened
    # The header: the file's first member, alone (the first sample is a keyframe).
    header_text = _member_text(f, 0, keyframe_offsets[0])
    if header_text is None or header_text.count(b"\n") != 1 or not header_text.endswith(b"\n"):
        return None
    header = check_header(header_text[:-1])
    try:
        ended = _tail(f, index, member)
    except _NOT_AN_INDEX:
        return None
    if ended is None:
        return None
    reason, events, samples = ended
    return Opened(header, index, keyframe_offsets, reason, events, samples, member)


def _opened(record: dict, member: int) -> tuple[SampleIndex, dict[int, int]] | None:
    """The SampleIndex and keyframe offsets of an index line, where they hold together
    and lie before byte ``member``."""
    if record.get("index_version") != INDEX_VERSION or record.get("member") != member:
        return None
    n = record["samples"]
    if type(n) is not int or n < 1:
        return None
    columns: dict = {}
    empty = SampleIndex()  # (its arrays' item types)
    for name in SampleIndex.COLUMNS:
        key = name.lstrip("_")
        values = getattr(empty, name)
        code = "B" if isinstance(values, bytearray) else values.typecode
        columns[key] = unpack(record[key], _TYPES[code])
    for key in ("events_total", "last_number", "peak_block"):
        if type(record[key]) is not int:
            return None
        columns[key] = record[key]
    offsets = unpack(record["keyframe_offsets"], "i8")
    c = columns
    per_sample = ("times", "rss", "event_counts", "note_counts")
    flags = ("with_events", "with_changes", "map_changed")
    if any(len(c[k]) != n for k in per_sample + flags):
        return None
    if any(c[k].translate(None, b"\0\1") for k in flags):  # a value that is not 0 or 1
        return None
    keyframes, chunk_first = c["keyframes"], c["chunk_first"]
    if not _rising(keyframes, n) or len(offsets) != len(keyframes) or not _rising(offsets, member):
        return None
    if not _rising(chunk_first, n) or not (
        len(c["chunk_offset"]) == len(c["chunk_skip"]) == len(chunk_first)
    ):
        return None
    if any(not 0 <= o < member for o in c["chunk_offset"]) or any(s < 0 for s in c["chunk_skip"]):
        return None
    if not set(keyframes) <= set(chunk_first):  # a keyframe starts a chunk
        return None
    number_at, numbers = c["number_at"], c["numbers"]
    if not _rising(number_at, n) or len(numbers) != len(number_at):
        return None
    if c["last_number"] != numbers[-1] + n - 1 - number_at[-1]:
        return None
    if len(c["counted"]) != (n - 1) // CHUNK_SAMPLES + 1 or c["counted"][0] != 0:
        return None
    if c["events_total"] != sum(c["event_counts"]):
        return None
    peaks = c["peak_samples"]
    kinds = record["peak_kinds"]
    if not _rising(peaks, n) or len(peaks) > PEAK_BLOCKS or type(kinds) is not list:
        return None
    if len(kinds) != len(peaks) or c["peak_block"] < 1:
        return None
    # One dict for equal ones, as the scan shares the one the samples carry: an idle
    # stretch's blocks all peak with the same.
    shared: dict[tuple, dict] = {}
    peak_kinds = []
    for value in kinds:
        peak = read_kinds(value)
        peak_kinds.append(shared.setdefault(tuple(peak.items()), peak))
    carried: dict[int, Carried] = {}
    for j, totals, kinds_of, hugetlb in record["chunk_carried"]:
        if type(j) is not int or not 0 <= j < len(chunk_first):
            return None
        carried[j] = Carried(
            None if totals is None else fmt.row_totals(totals),
            read_kinds(kinds_of),
            fmt.row_hugetlb_total(hugetlb),
        )
    index = SampleIndex.of_columns(columns, carried, peak_kinds)
    return index, dict(zip(keyframes, offsets, strict=True))


def _rising(values, limit: int) -> bool:
    """Whether ``values`` is not empty, starts at 0 or above, and rises strictly below
    ``limit``."""
    if not values or values[0] < 0 or values[-1] >= limit:
        return False
    return all(a < b for a, b in zip(values, values[1:], strict=False))


def _tail(f, index: SampleIndex, member: int) -> tuple[str, tuple, int] | None:
    """The end mark's reason, events and count, where the last sample's gzip member
    ends where the index member starts, matches its checksum, and holds the last
    sample as the index has it (its number and time), then the end mark, counting the
    samples the index does."""
    offset = index.chunk_offset[-1]
    text = _member_text(f, offset, member)
    if text is None or not text.endswith(b"\n"):
        return None
    lines = text[:-1].split(b"\n")
    if len(lines) < 2:
        return None
    last = read_line(lines[-2])
    end = read_line(lines[-1])
    if last["type"] != "sample" or end["type"] != "end":
        return None
    if last.get("i") != index.last_number or last.get("time") != index.times[-1]:
        return None
    if type(end.get("samples")) is not int or end["samples"] != index.last_number + 1:
        return None
    events = read_field(end, "events", read_events, "the end mark", ())
    return str(end.get("reason", "")), events, end["samples"]
