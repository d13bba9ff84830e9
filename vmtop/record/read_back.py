"""A recording's samples read back from the file on demand, by chunk (``SampleLines``),
as a sequence (``Samples``).

A chunk is the samples of one gzip member, at most CHUNK_SAMPLES of them, whose place
the index (``record.sample_index``) keeps; the last few thousand samples read are kept.

A file opened by its index (``record.index``) was not checked against its checksums
when it was opened: a chunk's member is checked as it is read back the first time
(``checks.MemberChecks``). Its lines are read to the member's end, where zlib has
checked the CRC-32 and length of the data it decompressed, and the samples are used
once it matched; a member that does not match, or does not decompress, is refused in
the words of ``MemberChecks.chunk``.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from vmtop.model.names import display_name
from vmtop.record.checks import MemberChecks
from vmtop.record.format import RecordingError
from vmtop.record.members import (
    BAD_CHECKSUM,
    DELTA_LINE,
    KEYFRAME_LINE,
    Damage,
    LineReader,
    MemberEnd,
)
from vmtop.record.sample_index import SampleIndex
from vmtop.record.samples import (
    NOTHING_CARRIED,
    SAMPLE_LINE,
    Carried,
    SampleInfo,
    read_back_values,
    read_line,
    read_record,
)

# Samples read back and kept, by whole chunks: more than the replay's RSS graph shows
# (600), which it reads again at every step.
CACHE_SAMPLES = 4096
# What reading a chunk back raises where the file is not what its index says.
_READ_FAULTS = (Damage, ValueError, TypeError, KeyError, AttributeError, StopIteration)


class _Place(NamedTuple):
    """Where the last chunk read left off, to go on from for the next one."""

    offset: int  # the chunk's reading start
    read: int  # sample lines read from there
    lines: Iterator  # the rest of the lines
    carried: Carried


class SampleLines:
    """Samples read back from the file by chunk, the last CACHE_SAMPLES or so kept.
    Reading the chunks in order goes on from where the last one stopped. Thread-safe."""

    def __init__(
        self,
        path: str,
        compressed: bool,
        index: SampleIndex,
        checks: MemberChecks | None = None,
    ) -> None:
        self.path = path
        self.compressed = compressed
        self.index = index
        # Of a file opened by its index, whose checksums the scan did not check: which
        # chunks' members were checked. One that was not is checked as it is read.
        self.checks = checks
        self._lock = threading.Lock()
        self._chunks: OrderedDict[int, tuple[SampleInfo, ...]] = OrderedDict()
        self._cached = 0  # samples in _chunks
        self._place: _Place | None = None

    def sample(self, i: int) -> SampleInfo:
        j = self.index.chunk_of(i)
        return self.chunk(j)[i - self.index.chunk_first[j]]

    def chunk(self, j: int) -> tuple[SampleInfo, ...]:
        with self._lock:
            samples = self._chunks.get(j)
            if samples is not None:
                self._chunks.move_to_end(j)
                return samples
            checks = self.checks
            unchecked = checks is not None and checks.chunk_unchecked(j)
            if checks is not None and not unchecked:
                checks.chunk(j)  # (a member found damaged before says so again)
            try:
                samples = self._read(j, whole_member=unchecked)
            except OSError as e:
                self._close()
                raise RecordingError(
                    f"{display_name(os.fspath(self.path))}: {e.strerror or e}"
                ) from None
            except Exception as e:
                self._close()
                if unchecked:
                    # Read before its checksum was: what is wrong with the member (its
                    # checksum, its compressed data, the file cut inside it) is said,
                    # as when it was checked before it was read.
                    _refuse_damaged(checks, j)
                if not isinstance(e, _READ_FAULTS):
                    raise
                first = self.index.chunk_first[j]
                why = e.place() if isinstance(e, Damage) else "the file changed since it was opened"
                raise RecordingError(
                    f"{display_name(os.fspath(self.path))}: sample "
                    f"{self.index.number(first) + 1} cannot be read back ({why})"
                ) from None
            if unchecked:
                checks.chunk_sound(j)
            self._chunks[j] = samples
            self._cached += len(samples)
            while self._cached > CACHE_SAMPLES and len(self._chunks) > 1:
                self._cached -= len(self._chunks.popitem(last=False)[1])
            return samples

    def _close(self) -> None:
        if self._place is not None:
            self._place.lines.close()
            self._place = None

    def _read(self, j: int, whole_member: bool = False) -> tuple[SampleInfo, ...]:
        """Chunk ``j``'s samples; with ``whole_member``, read on to the end of its
        member, which must match its checksum (else ValueError)."""
        index = self.index
        offset, skip = index.chunk_offset[j], index.chunk_skip[j]
        place = self._place
        if place is not None and place.offset == offset and place.read <= skip:
            lines, read, carried = place.lines, place.read, place.carried
        else:
            self._close()
            lines = _lines_owning(open(self.path, "rb"), self.compressed, offset)  # noqa: SIM115
            read, carried = 0, index.chunk_carried.get(j, NOTHING_CARRIED)
        self._place = None
        wanted = index.chunk_range(j)
        out: list[SampleInfo] = []
        keyframe = index.keyframe_of(wanted.start)
        keyframes, k = index.keyframes, bisect_right(index.keyframes, wanted.start)
        end: MemberEnd | None = None  # the chunk's member's, once read to it
        for at, line in lines:
            if type(line) is MemberEnd:
                if at == offset:
                    end = line
                continue
            if line is BAD_CHECKSUM or line.startswith((KEYFRAME_LINE, DELTA_LINE)):
                continue
            if line.startswith(SAMPLE_LINE):
                record = None
            elif not line.strip():
                continue
            else:
                record = read_record(line)
                if record["type"] == "end":
                    break
                if record["type"] != "sample":
                    continue
            read += 1
            if read <= skip:
                continue
            i = wanted.start + len(out)
            if k < len(keyframes) and keyframes[k] == i:
                keyframe, k = i, k + 1
            if record is None:
                record = read_line(line)
            when, totals, kinds, events, hugetlb, read_at = read_back_values(record, carried)
            carried = Carried(totals, kinds, hugetlb)
            out.append(SampleInfo(when, totals, kinds, keyframe, events, hugetlb, read_at))
            if len(out) == len(wanted):
                kept = True
                if whole_member and end is None:
                    end, kept = _member_end(lines, offset)
                if whole_member and (end is None or not end.matched):
                    lines.close()
                    raise ValueError("its member does not match its checksum")
                if kept:
                    self._place = _Place(offset, read, lines, carried)
                else:
                    lines.close()
                return tuple(out)
        lines.close()
        raise ValueError("the file ends before it")


def _member_end(lines: Iterator, member: int) -> tuple[MemberEnd | None, bool]:
    """The rest of the member at ``member`` read: its MemberEnd (None where the lines
    end first), and whether no line came before it (``lines`` then goes on where the
    chunk's lines stopped)."""
    passed = False
    for at, line in lines:
        if type(line) is MemberEnd and at == member:
            return line, not passed
        passed = True
    return None, False


def _refuse_damaged(checks: MemberChecks, j: int) -> None:
    """RecordingError where chunk ``j``'s member does not check out (decompressed whole
    again: only for a chunk that could not be read)."""
    try:
        checks.chunk(j)
    except RecordingError as damaged:
        raise damaged from None


def _lines_owning(f, compressed: bool, offset: int) -> Iterator[tuple[int, bytes]]:
    with f:
        yield from LineReader(f, compressed, member_ends=True).lines(offset)


class Samples(Sequence):
    """A recording's samples as a sequence of SampleInfo, each read back when asked
    for; iterating reads the file through once."""

    def __init__(self, lines: SampleLines) -> None:
        self._lines = lines

    def __len__(self) -> int:
        return len(self._lines.index)

    def __getitem__(self, i):
        n = len(self)
        if isinstance(i, slice):
            return [self._lines.sample(k) for k in range(*i.indices(n))]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._lines.sample(i)

    def __iter__(self) -> Iterator[SampleInfo]:
        for j in range(len(self._lines.index.chunk_first)):
            yield from self._lines.chunk(j)

    def __bool__(self) -> bool:
        return len(self) > 0
