"""A recording ended cleanly carries its index at its end: opening it reads that, not
the whole file (issue 10, "hours of watching": opening a churning 300 000-sample
recording read 77 MB through, 11.8 s).

Ground truth: the snapshots and events the real writer was given, and the same file
without its index (the bytes before it: what a writer before the index wrote), opened
by the scan. The index must give what the scan gives, sample for sample; an index that
does not fit the file is not used; damage to the file after it was written is found
when a sample is read from the damaged part, and never makes a wrong sample.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import struct
import threading
import zlib

import pytest
from conftest import PROC_FIXTURES
from helpers_hugetlb import PID, PRIVATE, SHARED, MiB, hugetlb_tree
from test_recording import (
    FIXTURE_PIDS,
    assert_same_sample,
    fixture_sequence,
    without_index,
    write,
)

from vmtop.model.events import Event
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record import scan as scan_module
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter
from vmtop.tui.sources import LiveSource

T0 = 1_700_000_000.0


# -- recordings, written by the real writer ---------------------------------------------


def churning(count: int = 300) -> list:
    """Each sample maps or unmaps one of 16 regions below the map and moves one
    region's resident figures (a keyframe every few samples)."""
    base = fixture_sequence()[0]
    fixed = list(base.regions)
    anon = fixed[0]._replace(path="", inode=0, dev="00:00", offset=0, kind="anon")
    slots: dict = {}
    out = []
    for i in range(count):
        start = 0x10000000 + (i % 16) * 0x40000
        if slots.pop(start, None) is None:
            slots[start] = anon._replace(start=start, end=start + 0x21000, rss=4096 * (i % 7))
        k = i % len(fixed)
        fixed[k] = fixed[k]._replace(rss=(fixed[k].rss or 0) + 4096)
        regions = tuple(slots[s] for s in sorted(slots)) + tuple(fixed)
        out.append(base._replace(taken_at=T0 + i * 0.1, regions=regions))
    return out


def idle(count: int) -> list:
    base = fixture_sequence()[0]
    return [base._replace(taken_at=T0 + i) for i in range(count)]


def note(when: float, words: str) -> Event:
    return Event(when, "note", 0, 0, "", 0, 0, detail=words)


def write_to(path, snaps, events_of=None, keyframe_every: int = 8) -> bytes:
    write(path, snaps, keyframe_every=keyframe_every, events_of=events_of)
    with open(path, "rb") as f:
        return f.read()


def hugetlb_snaps(tmp_path) -> list:
    courses = zip([4, 4, 10, 30, 30, 60, 60, 20], [6, 6, 6, 6, 8, 8, 6, 6], strict=True)
    snaps = []
    for i, (shared, private) in enumerate(courses):
        root = hugetlb_tree(tmp_path / f"t{i}", {SHARED: shared * MiB, PRIVATE: private * MiB})
        snaps.append(take_snapshot(ProcFS(str(root)), PID)._replace(taken_at=T0 + i))
    return snaps


def recordings(tmp_path) -> dict:
    """name: (the snapshots written, the events of each)."""
    churn = churning()
    quiet = idle(2500)  # more than one gzip member of sample lines
    fixtures = fixture_sequence()
    words = {3: [note(fixtures[3].taken_at, "malloc(1 MiB)")], 30: []}
    return {
        "fixtures": (fixtures, None),
        "churn": (churn, lambda i: [note(churn[i].taken_at, f"step {i}")] if i % 9 == 0 else []),
        "idle": (quiet, None),
        "notes": (fixtures, lambda i: words.get(i, [])),
        "hugetlb": (hugetlb_snaps(tmp_path), lambda i: []),
    }


class Scans:
    """How many times the scan read a file through (patched in)."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        scan_file = scan_module.Timeline._scan_file

        def counted(timeline, f):
            self.count += 1
            return scan_file(timeline, f)

        monkeypatch.setattr(scan_module.Timeline, "_scan_file", counted)


@pytest.fixture
def scans(monkeypatch) -> Scans:
    return Scans(monkeypatch)


def assert_same_recording(got: Recording, want: Recording) -> None:
    """Every sample's values, events, snapshot and number; the timeline's arrays; the
    notes and the end mark: the same."""
    assert len(got) == len(want) and got.header == want.header
    assert got.notes == want.notes and got.recorded == want.recorded
    assert (got.end_reason, got.end_events) == (want.end_reason, want.end_events)
    assert got.keyframe_offsets == want.keyframe_offsets
    assert got.index.columns() == want.index.columns()
    assert got.index.chunk_carried == want.index.chunk_carried
    assert got.index.peak_kinds == want.index.peak_kinds
    assert list(got.samples) == list(want.samples)
    assert got.events() == want.events()
    n = len(got)
    for i in range(n):
        assert got.label(i) == want.label(i)
        assert got.events_of(i) == want.events_of(i)
        assert got.next_event(i, 1) == want.next_event(i, 1)
        assert got.next_event(i, -1) == want.next_event(i, -1)
    for i in [*range(n - 1, -1, -max(1, n // 40)), 0, n // 2]:
        assert got.events_before(i, 5) == want.events_before(i, 5)
        assert got.index.peak_in(0, i) == want.index.peak_in(0, i)
        assert got.snapshot(i) == want.snapshot(i)


# -- the index gives what the scan gives --------------------------------------------------


@pytest.mark.parametrize("name", ["fixtures", "churn", "idle", "notes", "hugetlb"])
def test_opened_by_its_index_a_recording_is_the_one_the_scan_reads(tmp_path, scans, name):
    snaps, events_of = recordings(tmp_path)[name]
    path = tmp_path / "r.jsonl.gz"
    data = write_to(path, snaps, events_of)
    old = tmp_path / "old.jsonl.gz"
    old.write_bytes(without_index(data))

    rec = Recording.open(str(path))
    assert scans.count == 0, "opened by its index, not read through"
    scanned = Recording.open(str(old))
    assert scans.count == 1
    assert_same_recording(rec, scanned)
    assert rec.notes == [] and len(rec) == len(snaps) and rec.end_reason == "stopped"
    for i in range(0, len(snaps), max(1, len(snaps) // 60)):
        assert_same_sample(rec.snapshot(i), snaps[i], i)
        assert rec.snapshot(i).hugetlb == snaps[i].hugetlb
        if events_of is not None:
            assert list(rec.events_of(i)) == events_of(i)
    # The same file read through (what a reader that knows no index does) reads the
    # same: the index comes after the end mark, and the trailer holds no line.
    full = Recording(str(path))
    full.scan()
    assert full.notes == [] and list(full.samples) == list(rec.samples)
    assert full.index.columns() == rec.index.columns()


def test_the_index_is_a_json_line_after_the_end_mark_anyone_can_read(tmp_path):
    snaps = fixture_sequence()[:12]
    path = tmp_path / "r.jsonl.gz"
    write(path, snaps)
    with gzip.open(path, "rt") as f:  # every line JSON; the trailer member holds none
        lines = [json.loads(line) for line in f]
    assert [line["type"] for line in lines[-2:]] == ["end", "index"]
    index = lines[-1]
    assert index["samples"] == 12 and index["times"]["type"] == "f8"
    assert index["times"]["count"] == 12
    # Its times, as docs/recording-format.md says they are packed: the sample lines'.
    raw = zlib.decompress(base64.b64decode(index["times"]["data"]))
    unshuffled = bytes(raw[k * 12 + j] for j in range(12) for k in range(8))
    times = struct.unpack("<12d", unshuffled)
    assert list(times) == [line["time"] for line in lines if line["type"] == "sample"]
    # The trailer: the last 42 bytes, an empty gzip member whose "VT" subfield says
    # where the index member starts and how long it is.
    data = path.read_bytes()
    trailer = data[-42:]
    assert trailer[:4] == b"\x1f\x8b\x08\x04" and trailer[12:14] == b"VT"
    member, length = struct.unpack("<QQ", trailer[16:32])
    assert member + length == len(data) - 42
    assert zlib.decompressobj(31).decompress(data[member:]).startswith(b'{"type":"index"')


def test_written_to_a_pipe_it_has_its_index_too(tmp_path, scans):
    snaps = churning(60)
    read, written = os.pipe()
    got: list[bytes] = []

    def drain():
        with os.fdopen(read, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=drain)
    reader.start()
    with os.fdopen(written, "wb") as pipe:
        writer = RecordingWriter("-", interval=0.1, file=pipe)
        for snap in snaps:
            writer.write_sample(snap, [])
        writer.close()
    reader.join()
    path = tmp_path / "piped.jsonl.gz"
    path.write_bytes(got[0])
    rec = Recording.open(str(path))
    assert scans.count == 0 and len(rec) == len(snaps)
    for i in (0, 17, len(snaps) - 1):
        assert_same_sample(rec.snapshot(i), snaps[i], i)


# -- opening costs what the screen needs ------------------------------------------------


class CountingFile:
    def __init__(self, f, counter: list) -> None:
        self._f, self._counter = f, counter

    def read(self, *args):
        data = self._f.read(*args)
        self._counter[0] += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def test_opening_a_long_recording_reads_a_small_part_of_it(tmp_path, monkeypatch, scans):
    snaps = idle(40_000)
    step = [note(T0 + i, f"step {i}") for i in range(0, 40_000, 1000)]
    path = tmp_path / "long.jsonl.gz"
    write(path, snaps, events_of=lambda i: [step[i // 1000]] if i % 1000 == 0 else [])
    size = os.path.getsize(path)
    counted = [0]
    monkeypatch.setattr(
        scan_module, "open", lambda *a: CountingFile(open(*a), counted), raising=False
    )
    rec = Recording.open(str(path))
    assert scans.count == 0 and len(rec) == 40_000
    assert counted[0] < size / 2, (counted[0], size)
    # What the screen needs at once: the timeline and the last sample.
    assert rec.index.with_events.count(1) == 40
    assert_same_sample(rec.snapshot(len(rec) - 1), snaps[-1], len(rec) - 1)
    assert rec.events_of(39_000) == (step[39],)


# -- an index that does not fit the file is not used -------------------------------------


def _index_parts(data: bytes) -> tuple[int, dict]:
    member = len(without_index(data))
    text = zlib.decompressobj(31).decompress(data[member:])
    return member, json.loads(text)


def _with_index(data: bytes, record: dict) -> bytes:
    """The file with ``record`` as its index line, in a member and trailer as the
    format says (a checksum that matches: only what the index says is wrong)."""
    member = len(without_index(data))
    line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = c.compress(line) + c.flush()

    def head(field, payload):
        extra = field + struct.pack("<H", len(payload)) + payload
        return b"\x1f\x8b\x08\x04\0\0\0\0\0\xff" + struct.pack("<H", len(extra)) + extra

    body = head(b"VI", struct.pack("<Q", len(raw))) + raw
    body += struct.pack("<II", zlib.crc32(line), len(line))
    trailer = head(b"VT", struct.pack("<QQ", member, len(body))) + b"\x03\x00" + b"\0" * 8
    return data[:member] + body + trailer


def _tampered(data: bytes, how: str) -> bytes:
    member, record = _index_parts(data)
    if how == "samples":
        return _with_index(data, {**record, "samples": record["samples"] - 1})
    if how == "member":
        return _with_index(data, {**record, "member": record["member"] - 1})
    if how == "last number":
        return _with_index(data, {**record, "last_number": record["last_number"] + 1})
    if how == "an array that is not one":
        garbage = base64.b64encode(b"not zlib data").decode()
        return _with_index(data, {**record, "times": {**record["times"], "data": garbage}})
    if how == "another file's":
        other = _index_parts(write_to_bytes(fixture_sequence()[:30]))[1]
        return _with_index(data, other)
    if how == "trailer offset":
        out = bytearray(data)
        out[-42 + 16] ^= 1
        return bytes(out)
    if how == "flipped in the index":
        out = bytearray(data)
        out[member + 40] ^= 0x10
        return bytes(out)
    if how == "cut in the trailer":
        return data[:-5]
    if how == "cut in the index":
        return data[: member + 30]
    if how == "bytes after it":
        return data + b"\x1f\x8b"
    raise AssertionError(how)


def write_to_bytes(snaps) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return write_to(os.path.join(folder, "r.jsonl.gz"), snaps)


TAMPERINGS = [
    "samples",
    "member",
    "last number",
    "an array that is not one",
    "another file's",
    "trailer offset",
    "flipped in the index",
    "cut in the trailer",
    "cut in the index",
    "bytes after it",
]


@pytest.mark.parametrize("how", TAMPERINGS)
def test_an_index_that_does_not_fit_the_file_is_not_used(tmp_path, scans, how):
    snaps = fixture_sequence()
    path = tmp_path / "r.jsonl.gz"
    data = write_to(path, snaps)
    assert Recording.open(str(path)) and scans.count == 0  # as written: by its index
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(_tampered(data, how))
    rec = Recording.open(str(bad))
    assert scans.count == 1, "read through, the index not trusted"
    assert len(rec) == len(snaps) and rec.end_reason == "stopped"
    for i in range(len(snaps)):
        assert_same_sample(rec.snapshot(i), snaps[i], i)
    assert rec.notes == []


@pytest.mark.parametrize("cut", [0.3, 0.7, 0.99])
def test_a_file_cut_short_before_its_end_is_read_through(tmp_path, scans, cut):
    snaps = churning(200)
    path = tmp_path / "r.jsonl.gz"
    data = write_to(path, snaps)
    assert Recording.open(str(path)) and scans.count == 0
    short = tmp_path / "short.jsonl.gz"
    end = len(without_index(data))
    short.write_bytes(data[: int(end * cut)])
    rec = Recording.open(str(short))
    assert scans.count == 1 and 0 < len(rec) < len(snaps)
    assert rec.notes[-1].startswith("recording cut short")
    for i in (0, len(rec) // 2, len(rec) - 1):
        assert_same_sample(rec.snapshot(i), snaps[i], i)


def test_a_writer_killed_before_its_end_leaves_no_index(tmp_path, scans):
    snaps = churning(50)
    path = tmp_path / "r.jsonl.gz"
    writer = write(path, snaps, end=False)  # flushed sample by sample, never closed
    rec = Recording.open(str(path))
    assert scans.count == 1 and len(rec) == len(snaps) and rec.end_reason is None
    writer.close()  # ended after all: the index is there
    rec = Recording.open(str(path))
    assert scans.count == 1 and len(rec) == len(snaps) and rec.end_reason == "stopped"


# -- damage after the index was written: found when read back, never a wrong sample ------


def _members(data: bytes) -> list[tuple[int, int, bytes]]:
    """(start, end, first line) of each gzip member before the index."""
    out, at = [], 0
    data = without_index(data)
    while at < len(data):
        z = zlib.decompressobj(31)
        text = z.decompress(data[at:])
        end = len(data) - len(z.unused_data)
        out.append((at, end, text.split(b"\n")[0]))
        at = end
    return out


def _breaking(data: bytes, start: int, at: int) -> int:
    """The first byte from ``at`` whose flip stops the member at ``start`` from
    decompressing (not only its checksum)."""
    while True:
        out = bytearray(data)
        out[at] ^= 0xFF
        try:
            zlib.decompressobj(31).decompress(bytes(out[start:]))
        except zlib.error as e:
            if "incorrect data check" not in str(e):
                return at
        at += 1


@pytest.mark.parametrize("where", ["keyframe", "lines", "checksum"])
def test_a_member_damaged_after_the_index_is_found_when_read_and_gives_no_wrong_sample(
    tmp_path, scans, where
):
    snaps = fixture_sequence()
    path = tmp_path / "r.jsonl.gz"
    data = write_to(path, snaps)
    members = _members(data)
    keyframes = [m for m in members if m[2].startswith(b'{"type":"keyframe"')]
    second = keyframes[1]
    lines = next(m for m in members if m[0] == second[1])  # the lines after it
    if where == "keyframe":
        at = _breaking(data, second[0], (second[0] + second[1]) // 2)
    elif where == "lines":
        at = _breaking(data, lines[0], (lines[0] + lines[1]) // 2)
    else:
        at = lines[1] - 8  # its CRC-32
    out = bytearray(data)
    out[at] ^= 0xFF
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(bytes(out))
    rec = Recording.open(str(bad))
    assert scans.count == 0 and len(rec) == len(snaps)  # the index fits: it is used
    failed = []
    for i in [*range(len(rec)), *range(len(rec) - 1, -1, -1)]:
        try:
            snap = rec.snapshot(i)
            info = rec.samples[i]
        except RecordingError as e:
            message = str(e)
            assert f"sample {i + 1}" in message or "cannot be read back" in message
            assert "damaged after it was written" in message, message
            failed.append(i)
            continue
        assert_same_sample(snap, snaps[i], i)  # never a wrong one
        assert info.time == snaps[i].taken_at and info.totals == snaps[i].totals
    assert failed, "the damage is found"
    # Only the samples of the damaged stretch: from the second keyframe to the third.
    first, last = rec.index.keyframes[1], rec.index.keyframes[2] - 1
    assert set(failed) <= set(range(first, last + 1)), failed
    if where == "checksum":
        with pytest.raises(RecordingError, match="does not match its checksum"):
            rec.samples[rec.index.chunk_first[rec.index.chunk_of(first)]]


def test_a_recording_the_screen_stops_ends_with_its_index(tmp_path, scans):
    # R on the process screen, and the app's ending (a SIGHUP, a SIGTERM, the terminal
    # gone: recording_controls.end_recordings) close the writer through the source's
    # stop_recording, as R again does.
    source = LiveSource(ProcFS(str(PROC_FIXTURES)), FIXTURE_PIDS[0])
    path = tmp_path / "screen.jsonl.gz"
    source.start_recording(str(path), 1.0)
    for _ in range(3):
        source.sample(1.0)
    writer = source.stop_recording()
    rec = Recording.open(str(path))
    assert scans.count == 0 and len(rec) == writer.samples == 3
    assert rec.end_reason == "stopped" and rec.notes == []
