"""Write a recording while sampling: a header, then each sample as a keyframe or a delta.

Compressed on the fly with zlib (gzip format): one gzip member per keyframe, so a reader
can start at any keyframe, another after every MEMBER_SAMPLES samples in one, so a
reader can read any sample line back from near it, and a sync flush after every sample,
so what is on disk is always readable up to the last complete sample (``kill -9``, a
full disk). The flush costs a few bytes per sample; an idle sample is one short line.

Nothing is kept per sample: the previous snapshot (to compute the next delta) and a few
counters. Not thread-safe: one thread writes.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import stat
import struct
import zlib
from array import array
from collections.abc import Iterable, Iterator
from itertools import islice
from operator import itemgetter
from typing import BinaryIO

from vmtop import __version__
from vmtop.model.events import Event
from vmtop.model.region import Snapshot
from vmtop.record import format as fmt
from vmtop.record.index import index_line, index_members
from vmtop.record.region_delta import RegionDelta, moved_kinds, region_delta
from vmtop.record.sample_index import SampleIndex
from vmtop.record.samples import NOTHING_CARRIED, Carried

# A keyframe after this many samples that changed the map (idle samples do not count:
# they cost nothing to replay), or once the deltas since the last keyframe add up to
# half of it: seeking decodes one keyframe and at most this many deltas.
KEYFRAME_EVERY = 30
DELTA_SHARE = 0.5
# A sample that changes the map this many samples or more after the last keyframe is
# a keyframe: rebuilding it reads no more than that many sample lines first (an idle
# process that stays idle costs no keyframe; one that wakes after a day costs one).
KEYFRAME_SAMPLES = 10_000
# The lines of at most this many samples in one gzip member: a reader reads any sample
# line back by decompressing at most that many (an idle day was one member). Each new
# member costs about 150 bytes (an idle recording grows by 1 %); readers, older ones
# too, read the members one after the other.
MEMBER_SAMPLES = 1024
COMPRESS_LEVEL = 6


def _dumps(record: dict) -> bytes:
    # ensure_ascii: names that are not UTF-8 are kept as \udcXX escapes (surrogateescape).
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


_START = itemgetter(0)

# Regions serialised at a time in a keyframe line: the whole line and a list a region
# were held at once, 570 MB at a million regions.
KEYFRAME_CHUNK = 4096


def _keyframe_pieces(i: int, snap: Snapshot) -> Iterator[bytes]:
    """The keyframe line of sample ``i``, in pieces: the bytes ``_dumps`` gives of
    {"type": "keyframe", "i", "info", "has_smaps", "status", "regions", ["hugetlb"]},
    a chunk of regions at a time."""
    head = {
        "type": "keyframe",
        "i": i,
        "info": fmt.info_row(snap.info),
        "has_smaps": snap.has_smaps,
        "status": snap.status,
    }
    yield _dumps(head)[:-2] + b',"regions":['
    regions = iter(snap.regions)
    comma = b""
    while rows := [fmt.region_row(r) for r in islice(regions, KEYFRAME_CHUNK)]:
        yield comma + _dumps(rows)[1:-2]
        comma = b","
    tail = b"]"
    if snap.hugetlb is not None:
        # Memory in hugetlb pages is in no Rss: without it a replay drew huge_pages=on
        # shared buffers untouched.
        tail += b',"hugetlb":' + _dumps(fmt.hugetlb_rows(snap.hugetlb))[:-1]
    yield tail + b"}\n"


def status_delta(old: dict, new: dict) -> tuple[dict, list]:
    changed = {k: v for k, v in new.items() if old.get(k, _MISSING) != v}
    removed = [k for k in old if k not in new]
    return changed, removed


_MISSING = object()


def keyframe_member_header(length: int) -> bytes:
    """A gzip member header (deflate, no name, mtime 0, OS unknown) with the "VK"
    extra subfield holding ``length``, the size of the compressed data that follows."""
    extra = b"VK" + struct.pack("<HQ", 8, length)
    return (
        b"\x1f\x8b\x08\x04"
        + b"\x00\x00\x00\x00"
        + b"\x00\xff"
        + struct.pack("<H", len(extra))
        + extra
    )


def kernel_release() -> str:
    return platform.release()


THIS_MACHINE = object()  # RecordingWriter's kernel/hostname: this machine's


class RecordingWriter:
    """``write_sample(snapshot, events)`` for each sample, then ``close()``."""

    def __init__(
        self,
        path: str,
        *,
        interval: float,
        rss_threshold: int | None = None,
        keyframe_every: int = KEYFRAME_EVERY,
        level: int = COMPRESS_LEVEL,
        source: str = "live",
        file: BinaryIO | None = None,
        overwrite: bool = True,
        kernel=THIS_MACHINE,
        hostname=THIS_MACHINE,
    ) -> None:
        """Writes to ``path``, or to ``file`` where one is given (stdout: it is written
        front to back, never sought; flushed, not closed, at the end; ``path`` then only
        names it). Without ``overwrite``, a file that exists raises FileExistsError.
        ``kernel`` and ``hostname`` are this machine's unless given: None leaves them
        out of the header (not known: a copied /proc tree that does not say)."""
        self.path = path
        self.interval = interval
        self.rss_threshold = rss_threshold
        self.keyframe_every = max(1, keyframe_every)
        self.level = level
        self.source = source
        self.kernel = kernel_release() if kernel is THIS_MACHINE else kernel
        self.hostname = socket.gethostname() if hostname is THIS_MACHINE else hostname
        self._owned = file is None  # opened here: closed here
        if file is None:
            file = open(path, "wb" if overwrite else "xb")  # noqa: SIM115 - closed in close()
        # A file of ours left without a sample is removed; never a device or a FIFO.
        self._removable = self._owned and stat.S_ISREG(os.fstat(file.fileno()).st_mode)
        self._file: BinaryIO | None = file
        self._written = 0  # bytes handed to the file (tell() needs a file that seeks)
        self._broken = False  # a write failed: the stream stops there
        self._z = None
        self._prev: Snapshot | None = None
        self._prev_kinds: dict | None = None
        self._prev_hugetlb: int | None = None  # the last sample's hugetlb total
        self._since_keyframe = 0
        self._samples_since_keyframe = 0  # idle ones included
        self._member_samples = 0  # sample lines in the gzip member being written
        self._delta_bytes = 0  # uncompressed bytes of deltas since the last keyframe
        self._keyframe_bytes = 0
        self.samples = 0
        self.keyframes = 0
        self.size = 0  # bytes on disk after the last complete sample
        self.closed = False
        self.ended = False  # the end mark was written: the file is whole
        # What a reader's scan would find, kept as the samples are written (arrays, a
        # few tens of bytes a sample: 2.3 MB for a day at 1 s), for the index written
        # after the end mark (``record.index``): opening the file reads that instead.
        self._index = SampleIndex()
        self._keyframe_offsets = array("q")
        self._member_start = 0  # the byte the gzip member being written starts at

    # -- compression ----------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
        except BaseException:
            self._broken = True  # part of it may be out: no end mark after that
            raise
        self._written += len(data)

    def _new_member(self) -> None:
        if self._z is not None:
            self._write(self._z.flush(zlib.Z_FINISH))
        self._z = zlib.compressobj(self.level, zlib.DEFLATED, 31)
        self._member_start = self._written
        self._member_samples = 0

    def _write_keyframe_member(self, pieces: Iterable[bytes]) -> int:
        """The keyframe line, given in ``pieces``, as a gzip member of its own, whose
        header says how long its compressed data is (RFC 1952 FEXTRA subfield "VK": 8
        bytes, little-endian), so that a reader scanning for the timeline can step over
        it without decompressing it. Other gzip readers ignore the subfield. The lines
        after it go into a new member. Returns the line's length."""
        assert self._z is not None
        self._write(self._z.flush(zlib.Z_FINISH))
        self._keyframe_offsets.append(self._written)
        c = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        raw: list[bytes] = []  # compressed: its length goes before it
        crc = length = 0
        for piece in pieces:
            raw.append(c.compress(piece))
            crc = zlib.crc32(piece, crc)
            length += len(piece)
        raw.append(c.flush())
        self._write(keyframe_member_header(sum(map(len, raw))))
        for part in raw:
            self._write(part)
        self._write(struct.pack("<II", crc, length & 0xFFFFFFFF))
        self._z = zlib.compressobj(self.level, zlib.DEFLATED, 31)
        self._member_start = self._written
        self._member_samples = 0
        return length

    def _put(self, data: bytes) -> None:
        assert self._z is not None
        self._write(self._z.compress(data))

    def _sync(self) -> None:
        assert self._file is not None and self._z is not None
        self._write(self._z.flush(zlib.Z_SYNC_FLUSH))
        try:
            self._file.flush()
        except BaseException:
            self._broken = True
            raise
        self.size = self._written

    @property
    def bytes_written(self) -> int:
        """Bytes written so far, the end mark's once closed."""
        return self._written

    # -- samples --------------------------------------------------------------------------

    def _header(self, snap: Snapshot) -> dict:
        return fmt.header_record(
            vmtop_version=__version__,
            kernel=self.kernel,
            page_size=os.sysconf("SC_PAGE_SIZE"),
            pid=snap.info.pid,
            process_start_time=snap.info.start_time,
            command=snap.info.command,
            started_at=snap.taken_at,
            interval=self.interval,
            rss_threshold=self.rss_threshold,
            keyframe_every=self.keyframe_every,
            hostname=self.hostname,
            source=self.source,
        )

    def write_sample(self, snap: Snapshot, events: Iterable[Event] = ()) -> None:
        if self.closed:
            raise ValueError("the recording is closed")
        if self._broken:
            raise ValueError("the recording stopped at a write that did not finish")
        try:
            self._write_sample(snap, events)
        except BaseException:
            # Stopped halfway (an error, Ctrl-C): part of the sample may be out, or the
            # compressor left between two gzip members. Nothing more goes into the
            # stream: an end mark after that was damage, or a zlib error closing it.
            self._broken = True
            raise

    def _write_sample(self, snap: Snapshot, events: Iterable[Event]) -> None:
        i = self.samples
        prev = self._prev
        if prev is None:
            self._new_member()
            self._put(_dumps(self._header(snap)))
        elif self._member_samples >= MEMBER_SAMPLES:
            self._new_member()
        body: dict | None = None
        delta = None
        if prev is not None and self._since_keyframe < self.keyframe_every:
            if self._delta_bytes <= self._keyframe_bytes * DELTA_SHARE:
                delta = region_delta(prev.regions, snap.regions)
        if delta is not None:
            assert prev is not None
            body = self._delta_body(i, prev, snap, delta)
            if len(body) > 2 and self._samples_since_keyframe >= KEYFRAME_SAMPLES:
                delta = None  # the map changed, long after the last keyframe
        if delta is None:
            body = {"type": "keyframe"}  # (its line is written a piece at a time)
            length = self._write_keyframe_member(_keyframe_pieces(i, snap))
            self._since_keyframe = 0
            self._samples_since_keyframe = 0
            self._delta_bytes = 0
            self._keyframe_bytes = length
            self.keyframes += 1
        else:
            assert body is not None
            if len(body) > 2:
                self._since_keyframe += 1
                data = _dumps(body)
                self._delta_bytes += len(data)
                self._put(data)
        if delta is None or self._prev_kinds is None:
            kinds = fmt.kind_rss(snap.regions)
        elif delta.gone or delta.came:
            kinds = moved_kinds(self._prev_kinds, delta.gone, delta.came, delta.kinds_moved)
        else:
            kinds = self._prev_kinds
        line: dict = {"type": "sample", "i": i, "time": snap.taken_at}
        if snap.has_smaps and snap.smaps_read_at is not None:
            # Figures carried from an earlier smaps read (the budget skipped this one):
            # said, or a replay and a diff take them for this moment's.
            line["smaps_read_at"] = snap.smaps_read_at
        if prev is None or body["type"] == "keyframe" or snap.totals != prev.totals:
            line["totals"] = fmt.totals_row(snap.totals)
        if prev is None or body["type"] == "keyframe" or kinds != self._prev_kinds:
            line["kinds"] = kinds
        hugetlb = fmt.hugetlb_total(snap.status)
        if hugetlb is not None or self._prev_hugetlb is not None:
            # The hugetlb total, for the timeline (the replay's graph, the report) as
            # the totals: with every keyframe's sample, else when it changed.
            if prev is None or body["type"] == "keyframe" or hugetlb != self._prev_hugetlb:
                line["hugetlb"] = hugetlb
        events = list(events)
        if events:
            line["events"] = [fmt.event_row(e) for e in events]
        self._put(_dumps(line))
        self._sync()
        changed = body is not None and (body["type"] == "keyframe" or len(body) > 2)
        self._note_sample(snap, line, kinds, events, changed)
        self._member_samples += 1
        self._samples_since_keyframe += 1
        self._prev = snap.compact()
        self._prev_kinds = kinds
        self._prev_hugetlb = hugetlb
        self.samples += 1

    def _note_sample(self, snap: Snapshot, line: dict, kinds: dict, events, changed: bool) -> None:
        """The sample just written, in the index, as a reader's scan reads it from the
        file (``SampleIndex.add``, from ``scan.Timeline._commit``)."""
        if self._prev is None:
            carried = NOTHING_CARRIED
        else:
            carried = Carried(self._prev.totals, self._prev_kinds, self._prev_hugetlb)
        leaves_out = not all(key in line for key in ("totals", "kinds", "hugetlb"))
        index = self._index
        index.add(
            snap.taken_at,
            snap.totals,
            kinds,
            events,
            self.samples,
            changed,
            keyframe=len(self._keyframe_offsets) > len(index.keyframes),
            member=self._member_start,
            skip=self._member_samples,
            carried=carried if leaves_out else None,
            new_member=bool(index.chunk_first) and self._member_start != index.chunk_offset[-1],
        )

    @staticmethod
    def _delta_body(i: int, prev: Snapshot, snap: Snapshot, delta: RegionDelta) -> dict:
        """The delta line of sample ``i``: only its type and number when nothing changed."""
        body: dict = {"type": "delta", "i": i}
        if snap.info != prev.info:
            body["info"] = fmt.info_row(snap.info)
        if snap.has_smaps != prev.has_smaps:
            body["has_smaps"] = snap.has_smaps
        changed, gone = status_delta(prev.status, snap.status)
        if changed:
            body["status"] = changed
        if gone:
            body["status_removed"] = gone
        if delta.removed:
            body["removed"] = delta.removed
        if delta.put:
            body["put"] = delta.put
        if delta.resident:
            body["resident"] = delta.resident
        if snap.hugetlb != prev.hugetlb:
            body["hugetlb"] = fmt.hugetlb_rows(snap.hugetlb)  # null: no longer known
        return body

    def close(self, reason: str = "stopped", events: Iterable[Event] = ()) -> None:
        """Write the end mark (with events that came after the last sample: the
        process exited) and close. A recording without a sample is removed."""
        if self.closed:
            return
        self.closed = True
        f, self._file = self._file, None
        if f is None:
            return
        try:
            if self._z is not None and not self._broken:
                end: dict = {"type": "end", "reason": reason, "samples": self.samples}
                events = list(events)
                if events:
                    end["events"] = [fmt.event_row(e) for e in events]
                tail = self._z.compress(_dumps(end)) + self._z.flush(zlib.Z_FINISH)
                f.write(tail)
                self._written += len(tail)
                f.flush()
                self.ended = True
                if self.samples:
                    # Where a reader finds what its scan would: after the end mark,
                    # which an older reader reads on past (docs/recording-format.md).
                    member = self._written
                    line = index_line(self._index, self._keyframe_offsets, member)
                    tail = index_members(line, member)
                    f.write(tail)
                    self._written += len(tail)
                    f.flush()
        finally:
            if self._owned:
                f.close()
            if self.samples == 0 and self._removable:
                try:
                    os.unlink(self.path)
                except OSError:
                    pass

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
