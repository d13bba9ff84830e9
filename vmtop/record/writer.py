"""Write a recording while sampling: a header, then each sample as a keyframe or a delta.

Compressed on the fly with zlib (gzip format): one gzip member per keyframe, so a reader
can start at any keyframe, and a sync flush after every sample, so what is on disk is
always readable up to the last complete sample (``kill -9``, a full disk). The flush
costs a few bytes per sample; an idle sample is one short line.

Nothing is kept per sample: the previous snapshot (to compute the next delta) and a few
counters. Not thread-safe: one thread writes.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import zlib
from collections.abc import Iterable
from typing import BinaryIO

from vmtop import __version__
from vmtop.model.events import Event
from vmtop.model.region import Snapshot
from vmtop.record import format as fmt

KEYFRAME_EVERY = 60  # samples between keyframes, at most
COMPRESS_LEVEL = 6


def _dumps(record: dict) -> bytes:
    # ensure_ascii: names that are not UTF-8 are kept as \udcXX escapes (surrogateescape).
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


def _sorted_unique(regions) -> bool:
    last = -1
    for r in regions:
        if r.start <= last:
            return False
        last = r.start
    return True


def region_delta(old_regions, new_regions) -> tuple[list, list, list] | None:
    """(removed starts, full rows of new or reshaped regions, resident rows) from
    ``old_regions`` to ``new_regions``; None when a delta cannot describe it (the new
    map is not sorted by start with unique starts: then write a keyframe)."""
    if not _sorted_unique(new_regions):
        return None
    old = {r.start: r for r in old_regions}
    put: list = []
    resident: list = []
    pop = old.pop
    for r in new_regions:
        o = pop(r.start, None)
        if o is None:
            put.append(fmt.region_row(r))
        elif o is r or o == r:
            continue
        elif o[fmt.MAP_PART] == r[fmt.MAP_PART] and o[fmt.CLASS_PART] == r[fmt.CLASS_PART]:
            resident.append([r.start, *r[fmt.RESIDENT_PART]])
        else:
            put.append(fmt.region_row(r))
    return list(old), put, resident


def status_delta(old: dict, new: dict) -> tuple[dict, list]:
    changed = {k: v for k, v in new.items() if old.get(k, _MISSING) != v}
    removed = [k for k in old if k not in new]
    return changed, removed


_MISSING = object()


def kernel_release() -> str:
    return platform.release()


class RecordingWriter:
    """``write_sample(snapshot, events)`` for each sample, then ``close()``."""

    def __init__(
        self,
        path: str,
        *,
        interval: float,
        keyframe_every: int = KEYFRAME_EVERY,
        level: int = COMPRESS_LEVEL,
        source: str = "live",
    ) -> None:
        self.path = path
        self.interval = interval
        self.keyframe_every = max(1, keyframe_every)
        self.level = level
        self.source = source
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._z = None
        self._prev: Snapshot | None = None
        self._prev_kinds: dict | None = None
        self._since_keyframe = 0
        self._delta_bytes = 0  # uncompressed bytes of deltas since the last keyframe
        self._keyframe_bytes = 0
        self.samples = 0
        self.keyframes = 0
        self.size = 0  # bytes on disk after the last complete sample
        self.closed = False

    # -- compression ----------------------------------------------------------------------

    def _new_member(self) -> None:
        assert self._file is not None
        if self._z is not None:
            self._file.write(self._z.flush(zlib.Z_FINISH))
        self._z = zlib.compressobj(self.level, zlib.DEFLATED, 31)

    def _put(self, data: bytes) -> None:
        assert self._file is not None and self._z is not None
        self._file.write(self._z.compress(data))

    def _sync(self) -> None:
        assert self._file is not None and self._z is not None
        self._file.write(self._z.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()
        self.size = self._file.tell()

    @property
    def bytes_written(self) -> int:
        if self._file is None:
            try:
                return os.path.getsize(self.path)
            except OSError:
                return 0
        return self._file.tell()

    # -- samples --------------------------------------------------------------------------

    def _header(self, snap: Snapshot) -> dict:
        return fmt.header_record(
            vmtop_version=__version__,
            kernel=kernel_release(),
            page_size=os.sysconf("SC_PAGE_SIZE"),
            pid=snap.info.pid,
            process_start_time=snap.info.start_time,
            command=snap.info.command,
            started_at=snap.taken_at,
            interval=self.interval,
            keyframe_every=self.keyframe_every,
            hostname=socket.gethostname(),
            source=self.source,
        )

    def write_sample(self, snap: Snapshot, events: Iterable[Event] = ()) -> None:
        if self.closed:
            raise ValueError("the recording is closed")
        i = self.samples
        prev = self._prev
        if prev is None:
            self._new_member()
            self._put(_dumps(self._header(snap)))
        body: dict | None = None
        delta = None
        if prev is not None and self._since_keyframe < self.keyframe_every:
            if self._delta_bytes <= self._keyframe_bytes:
                delta = region_delta(prev.regions, snap.regions)
        if delta is None:
            body = {
                "type": "keyframe",
                "i": i,
                "info": fmt.info_row(snap.info),
                "has_smaps": snap.has_smaps,
                "status": snap.status,
                "regions": [fmt.region_row(r) for r in snap.regions],
            }
            data = _dumps(body)
            self._new_member()
            self._put(data)
            self._since_keyframe = 0
            self._delta_bytes = 0
            self._keyframe_bytes = len(data)
            self.keyframes += 1
        else:
            removed, put, resident = delta
            body = {"type": "delta", "i": i}
            if prev is not None and snap.info != prev.info:
                body["info"] = fmt.info_row(snap.info)
            if prev is not None and snap.has_smaps != prev.has_smaps:
                body["has_smaps"] = snap.has_smaps
            changed, gone = status_delta(prev.status, snap.status)
            if changed:
                body["status"] = changed
            if gone:
                body["status_removed"] = gone
            if removed:
                body["removed"] = removed
            if put:
                body["put"] = put
            if resident:
                body["resident"] = resident
            self._since_keyframe += 1
            if len(body) > 2:
                data = _dumps(body)
                self._delta_bytes += len(data)
                self._put(data)
        kinds = (
            fmt.kind_rss(snap.regions)
            if prev is None or prev.regions != snap.regions
            else (self._prev_kinds or {})
        )
        line: dict = {"type": "sample", "i": i, "time": snap.taken_at}
        if prev is None or body["type"] == "keyframe" or snap.totals != prev.totals:
            line["totals"] = fmt.totals_row(snap.totals)
        if prev is None or body["type"] == "keyframe" or kinds != self._prev_kinds:
            line["kinds"] = kinds
        events = list(events)
        if events:
            line["events"] = [fmt.event_row(e) for e in events]
        self._put(_dumps(line))
        self._sync()
        self._prev = snap.compact()
        self._prev_kinds = kinds
        self.samples += 1

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
            if self._z is not None:
                end: dict = {"type": "end", "reason": reason, "samples": self.samples}
                events = list(events)
                if events:
                    end["events"] = [fmt.event_row(e) for e in events]
                f.write(self._z.compress(_dumps(end)))
                f.write(self._z.flush(zlib.Z_FINISH))
        finally:
            f.close()
            if self.samples == 0:
                try:
                    os.unlink(self.path)
                except OSError:
                    pass

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
