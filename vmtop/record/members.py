"""A recording's lines, out of its gzip members (or an uncompressed file), with the
damage found on the way: what ``scan.Timeline`` scans and ``rebuild`` rebuilds samples
from.

Each keyframe starts a gzip member whose header says how long it is (see
docs/recording-format.md), so reading can start at any keyframe, step over one, or go
on at the next intact one after damage. Compressed data that does not decompress
raises ``Damage`` (where, and why); a member whose checksum does not match gives its
lines and then ``BAD_CHECKSUM``, for the reader to decide what to keep.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Generator, Iterator
from typing import NamedTuple

CHUNK = 1 << 20
PIECE = 1 << 18  # compressed bytes handed to zlib at a time (see inflate_member)

KEYFRAME_LINE = b'{"type":"keyframe"'
DELTA_LINE = b'{"type":"delta"'
HEADER_LINES = (b'{"type":"header"', b'{"type": "header"')
# How a keyframe member starts (writer.keyframe_member_header): gzip magic, deflate,
# FLG.FEXTRA. What the reader looks for to go on after damage.
_KEYFRAME_MEMBER = b"\x1f\x8b\x08\x04"
_CHECKSUM_ERRORS = ("incorrect data check", "incorrect length check")


class Damage(Exception):
    """Where a file stops being a readable recording, and why, in words.

    ``line`` counts the lines of the uncompressed text from 1 (the header): for a
    compressed file it is the only position a person can find the damage by (``zcat
    FILE | sed -n 6p``), since a line's own offset is known only inside its gzip member;
    None once a damaged stretch was stepped over (the lines in it are not known).
    ``offset`` is a byte of the file itself, given for damage to the compressed data:
    where the part that cannot be read starts (zlib does not say where inside it), and
    ``line`` then the first line lost. ``after`` is the byte past which the next intact
    keyframe is looked for; ``partial`` what was decompressed of the part before the
    damage.
    """

    def __init__(
        self,
        why: str,
        *,
        offset: int | None = None,
        line: int | None = None,
        after: int | None = None,
    ):
        super().__init__(why)
        self.why = why
        self.offset = offset
        self.line = line
        self.after = after
        self.at: int | None = None  # the line's own byte, for a line of a file not compressed
        self.partial = b""

    def place(self, resume: int | None = None) -> str:
        """The note's words: "line 6 is damaged (not JSON)", "damaged from byte 1778 to
        5120 of the file, line 3 on (compressed data that does not decompress: …)"."""
        if self.offset is None:
            if self.line is not None:
                return f"line {self.line} is damaged ({self.why})"
            if self.at is not None:
                return f"the line at byte {self.at} is damaged ({self.why})"
            return f"a line is damaged ({self.why})"
        span = f"from byte {self.offset}" + (f" to {resume}" if resume is not None else "")
        line = f", line {self.line} on" if self.line is not None else ""
        return f"damaged {span} of the file{line} ({self.why})"


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


def _zlib_words(error: zlib.error) -> str:
    # zlib says "Error -3 while decompressing data: invalid block type".
    return str(error).rpartition(": ")[2]


def _salvage(z, data: bytes) -> tuple[bytes, int, str]:
    """What ``z`` makes of ``data``, which it refuses: the output up to the byte it
    refuses, the index of that byte in ``data``, and zlib's words for what is wrong.
    Found by bisection on copies of ``z``: a prefix that is refused stays refused when
    it grows."""
    good, bad = 0, len(data)  # the longest prefix known to pass, the shortest refused
    words = "unexpected end"
    while bad - good > 1:
        mid = (good + bad) // 2
        try:
            z.copy().decompress(data[:mid])
        except zlib.error:
            bad = mid
        else:
            good = mid
    try:
        z.copy().decompress(data[:bad])
    except zlib.error as e:
        words = _zlib_words(e)
    return z.decompress(data[:good]), good, words


def inflate_member(
    f, member: int, *, keep: bool = True
) -> Generator[bytes, None, tuple[int, bool] | None]:
    """The decompressed data of the gzip member at ``member``, as it comes (nothing
    without ``keep``: checked, not kept). Returns (the offset after the member, whether
    its checksum matched), or None where the file ends inside it. A checksum that does
    not match leaves the data as it decompressed; data that does not decompress raises
    Damage once what came before the damage was yielded: the data is fed to zlib a
    piece at a time, and the piece zlib refuses again a byte at a time, since zlib
    gives no output of a call that fails."""
    f.seek(member)
    z = zlib.decompressobj(31)
    pos = member
    while not z.eof:
        data = f.read(PIECE)
        if not data:
            return None  # cut short inside this member
        before = z.copy()
        try:
            out = z.decompress(data)
        except zlib.error:
            out, k, words = _salvage(before, data)
            if out and keep:
                yield out
            if words in _CHECKSUM_ERRORS:
                # zlib checks the CRC-32 once its 4 bytes are in, then the length (4).
                return pos + k + 1 + (4 if words == _CHECKSUM_ERRORS[0] else 0), False
            why = f"compressed data that does not decompress: {words}"
            raise Damage(why, offset=member, after=member) from None
        pos += len(data) - len(z.unused_data)
        if out and keep:
            yield out
    return pos, True


def _head(gen: Generator) -> tuple[bytes, object]:
    """The first HEAD bytes ``gen`` yields, and what it returns."""
    head = b""
    while True:
        try:
            out = next(gen)
        except StopIteration as stop:
            return head, stop.value
        if len(head) < HEAD:
            head += out[: HEAD - len(head)]


def _finish(gen: Generator) -> tuple[list, object]:
    """Everything ``gen`` yields, and what it returns."""
    out = []
    while True:
        try:
            out.append(next(gen))
        except StopIteration as stop:
            return out, stop.value


class Skipped(bytes):
    """Stands for a keyframe's line stepped over (skip_keyframes): its first bytes."""


HEAD = 64  # bytes of a keyframe line stepped over that are kept: its type and number
KEYFRAME_NUMBER = re.compile(rb'\{"type":"keyframe","i":(\d{1,18})[,}]')
# Comes after the lines of a gzip member whose checksum does not match (as its own line).
BAD_CHECKSUM = b"\x00checksum does not match\x00"


class MemberEnd(NamedTuple):
    """Comes after the lines of each gzip member, in place of a line, for a reader that
    asks for it (``LineReader(member_ends=True)``): the member was read to its end, which
    is ``end``, and ``matched`` says whether its CRC-32 and length matched (zlib checks
    them on the data it decompresses for the lines: nothing is decompressed again)."""

    end: int
    matched: bool


class LineReader:
    """The lines of a recording, from an offset on: ``lines(start)`` yields (the offset
    of the gzip member the line starts in, the line without its newline); for a file not
    compressed, the offset is the line's own. A last line without its newline (cut
    short) is not yielded: ``cut`` is then what there is of it. With
    ``skip_keyframes``, a keyframe member is decompressed only to check it: a
    ``Skipped`` (its first bytes) stands for its line. After the lines of a member whose checksum does not match
    comes ``BAD_CHECKSUM``; with ``member_ends``, after those of every member, a
    ``MemberEnd``. Raises Damage where the compressed data stops making sense."""

    def __init__(
        self, f, compressed: bool, *, skip_keyframes: bool = False, member_ends: bool = False
    ) -> None:
        self.f = f
        self.compressed = compressed
        self.skip_keyframes = skip_keyframes
        self.member_ends = member_ends
        self.size = os.fstat(f.fileno()).st_size
        self.cut: bytes | None = None

    def lines(self, start: int) -> Iterator[tuple[int, bytes]]:
        if self.compressed:
            yield from self._members(start)
        else:
            yield from self._plain(start)

    def _plain(self, start: int) -> Iterator[tuple[int, bytes]]:
        f = self.f
        f.seek(start)
        offset = start
        pending = b""
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                if pending:
                    self.cut = pending
                return
            pending += chunk
            lines = pending.split(b"\n")
            pending = lines.pop()
            for line in lines:
                yield offset, line
                offset += len(line) + 1

    def _members(self, start: int) -> Iterator[tuple[int, bytes]]:
        f = self.f
        member = start
        while member < self.size:
            if self.skip_keyframes and keyframe_member(f, member) is not None:
                head, result = _head(inflate_member(f, member))
                if result is None:
                    self._cut_short(member, b"")
                    return  # cut short inside it: its sample never came
                end, matched = result
                if matched:
                    yield member, Skipped(head)
                else:  # read it again, for the line as it decompresses
                    text = b"".join(_finish(inflate_member(f, member))[0])
                    if not text.endswith(b"\n"):
                        why = "a line runs past the end of its compressed part"
                        raise Damage(why, offset=member, after=member)
                    for line in text[:-1].split(b"\n"):
                        yield member, line
                    yield member, BAD_CHECKSUM
            else:
                end, matched = yield from self._member_lines(member)
                if end < 0:
                    return
            if self.member_ends:
                yield member, MemberEnd(end, matched)
            f.seek(end)
            magic = f.read(2)
            if magic != b"\x1f\x8b" and len(magic) == 2:
                raise Damage("data after the end of a compressed part", offset=end, after=member)
            if magic == b"\x1f":
                self.cut = b""
                return
            member = end

    def _cut_short(self, member: int, pending: bytes) -> None:
        """The file ends inside the member at ``member``: cut short there, unless a
        keyframe can be read after it (then that member's header is damaged)."""
        if next_keyframe(self.f, member, True) is not None:
            why = "a compressed part that runs past the end of the file"
            damage = Damage(why, offset=member, after=member)
            damage.partial = pending
            raise damage
        self.cut = pending

    def _member_lines(self, member: int) -> Generator[tuple[int, bytes], None, tuple[int, bool]]:
        """The lines of the member at ``member``; (its end, whether its checksum
        matched), or (-1, False) where the file ends inside it."""
        parts: list[bytes] = []  # of the line not ended yet (a keyframe: megabytes)
        gen = inflate_member(self.f, member)
        try:
            while True:
                out = next(gen)
                if b"\n" not in out:
                    parts.append(out)
                    continue
                lines = out.split(b"\n")
                if parts:
                    parts.append(lines[0])
                    lines[0] = b"".join(parts)
                    parts = []
                last = lines.pop()
                if last:
                    parts.append(last)
                for line in lines:
                    yield member, line
        except StopIteration as stop:
            result = stop.value
        except Damage as e:
            e.partial = b"".join(parts)
            raise
        pending = b"".join(parts)
        if result is None:
            self._cut_short(member, pending)
            return -1, False
        end, matched = result
        if pending:
            why = "a line runs past the end of its compressed part"
            damage = Damage(why, offset=member, after=member)
            damage.partial = pending
            raise damage
        if not matched:
            yield member, BAD_CHECKSUM
        return end, matched


def next_keyframe(f, after: int, compressed: bool) -> int | None:
    """Where the first keyframe that can be read starts after byte ``after``: the next
    keyframe gzip member that decompresses and matches its checksum, or, in a file not
    compressed, the next line that starts as a keyframe does. None if there is none."""
    pattern = _KEYFRAME_MEMBER if compressed else b"\n" + KEYFRAME_LINE
    size = os.fstat(f.fileno()).st_size
    at = after + 1
    while at < size:
        f.seek(at)
        chunk = f.read(CHUNK + len(pattern) - 1)
        k = chunk.find(pattern)
        while k >= 0:
            found = at + k
            if not compressed:
                return found + 1
            if keyframe_member(f, found) is not None:
                try:
                    _, result = _finish(inflate_member(f, found, keep=False))
                except Damage:
                    result = None
                if result is not None and result[1]:
                    return found
            k = chunk.find(pattern, k + 1)
        at += CHUNK
    return None
