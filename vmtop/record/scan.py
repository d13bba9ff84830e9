"""Scan a recording once: its header, and per sample what the timeline needs.

``Timeline.scan()`` checks the header and reads the file through: every sample line is
read and checked, and of each the ``SampleIndex`` keeps a few numbers (its time, the
RSS the timeline draws, its events counted, whether the map changed with it), with
where each keyframe's gzip member starts and where each chunk of samples is read back
from (``record.sample_index``). It does not parse the map bodies on the way (a line's type
is read from its first bytes), so opening costs decompression, not JSON of every
region. Keyframe members are decompressed only to check them against their gzip
checksum.

Damage loses only what it must. A file cut short (``kill -9``, a full disk) replays up
to its last complete sample. Where a part of the file cannot be read (compressed data
that does not decompress, a line that is not what it should be), the samples from
there to the next keyframe that is intact are left out, and reading goes on from that
keyframe: each gzip member can be decompressed on its own. A part whose gzip checksum
does not match is kept as it reads, once every sample it holds has been rebuilt
without a fault (``rebuild.rebuild_all``). ``notes`` says, in words, what was lost and
where. Anything that is not a readable recording raises ``RecordingError`` with one
line for a person.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator, Sequence

from vmtop.model.names import display_name
from vmtop.record import format as fmt
from vmtop.record.checks import MemberChecks
from vmtop.record.format import RecordingError
from vmtop.record.index import read_index
from vmtop.record.members import (
    BAD_CHECKSUM,
    DELTA_LINE,
    HEADER_LINES,
    KEYFRAME_LINE,
    KEYFRAME_NUMBER,
    Damage,
    LineReader,
    Skipped,
    next_keyframe,
)
from vmtop.record.read_back import SampleLines, Samples
from vmtop.record.rebuild import rebuild_all
from vmtop.record.sample_index import SampleIndex
from vmtop.record.samples import (
    Carried,
    SampleInfo,
    read_events,
    read_field,
    read_line,
    sample_values,
)

# A file without its end mark written this recently is taken for a recording going on.
STILL_WRITTEN_SECONDS = 5.0

__all__ = ["SampleInfo", "Timeline", "samples_words"]  # SampleInfo: where it was


def _looks_like_header(text: bytes) -> bool:
    """Whether ``text`` is the start of a header line (or the whole of one)."""
    text = text.lstrip()[:16]
    return bool(text) and any(h.startswith(text) or text.startswith(h) for h in HEADER_LINES)


def samples_words(first: int, last: int) -> str:
    """ "sample 5", "samples 2–21": samples numbered from 0, said from 1."""
    if first == last:
        return f"sample {first + 1}"
    return f"samples {first + 1}–{last + 1}"


def _clock(when: float) -> str:
    try:
        return time.strftime("%H:%M:%S", time.localtime(when))
    except (ValueError, OverflowError, OSError):
        return "time unknown"


class _Scan:
    """Where the scan of a file stands."""

    def __init__(self) -> None:
        self.number: int | None = 0  # lines read, the header 1; None after a stretch skipped
        self.offset = 0  # of the line in hand (its member's, compressed)
        self.body_offset: int | None = None  # member of the keyframe body seen, not committed
        self.body_i: int | None = None
        self.body_number: int | None = None  # the sample the keyframe says it is, from 0
        self.keyframe = -1  # index of the keyframe of the samples being read
        self.totals = None
        self.kinds: dict = {}
        self.hugetlb: int | None = None
        self.map_changed = False  # a keyframe or delta came after the last sample line
        self.member: int | None = None  # the member of the last line
        self.member_first = 0  # index of the first sample read from it
        self.suspect = False  # the samples from ``keyframe`` on are to be rebuilt to be kept
        self.bad: list = []  # (offset, first sample read from it or None) of bad checksums
        # (first sample lost, why: words, or the damage) until a sample is read again
        self.gap: tuple[int, str | Damage] | None = None
        self.resume: int | None = None  # the byte reading went on at after the damage
        self.ended = False  # the end mark was read
        self.end_samples: int | None = None  # how many samples the end mark says

    def after_gap(self) -> None:
        """Reading goes on at a keyframe after a stretch stepped over."""
        self.number = None
        self.body_offset = self.body_i = None
        self.keyframe = -1
        self.totals, self.kinds, self.hugetlb = None, {}, None
        self.map_changed = False
        self.member = None
        self.suspect = False
        self.bad = []


class Timeline:
    """What a scan of a recording found: the header, the samples that can be read (with
    where each keyframe is), and notes on what cannot."""

    def __init__(self, path: str, keep_samples: bool = False) -> None:
        self.path = path
        # Every sample as read by the scan, kept (``keep_samples``): for a reader that
        # reads them all once (``vmtop report``), which would otherwise read the file
        # through a second time; the replay keeps the index alone.
        self._kept: list[SampleInfo] | None = [] if keep_samples else None
        # (a path is the user's bytes: an escape or a newline in it is shown, not obeyed)
        self.shown_path = display_name(os.fspath(path))
        self.header: dict = {}
        self.index = SampleIndex()  # what is kept of each sample
        self._samples: Sequence[SampleInfo] | None = None
        self.keyframe_offsets: dict[int, int] = {}  # sample index -> its member's byte
        self.notes: list[str] = []
        self.end_reason: str | None = None
        self.end_events: tuple = ()
        self.compressed = True
        self.size = 0
        self._end_samples: int | None = None
        # Opened by the file's index: its members are checked when read back.
        self.checks: MemberChecks | None = None

    @property
    def samples(self) -> Sequence[SampleInfo]:
        """Every sample, each read back from the file when asked for (by chunk: see
        ``record.read_back``)."""
        if self._samples is None and self._kept is not None:
            self._samples, self._kept = self._kept, None
        if self._samples is None:
            lines = SampleLines(self.path, self.compressed, self.index, self.checks)
            self._samples = Samples(lines)
        return self._samples

    @samples.setter
    def samples(self, infos: Sequence[SampleInfo]) -> None:
        """Samples held in memory instead (made, not read from a file)."""
        self._samples = list(infos)
        self.index = SampleIndex.of(self._samples)

    def number(self, i: int) -> int:
        """Sample ``i`` as the file numbers it, from 1: the same as ``i + 1`` but after
        samples lost to damage, which ``i`` does not count."""
        return self.index.number(i) + 1

    def scan(self, use_index: bool = False) -> None:
        """Read the file through once: the header, every sample that can be read, and
        notes on what cannot. With ``use_index``, a file that ends with an index that
        fits it (``record.index``) is opened from that instead, without reading it
        through."""
        name = self.shown_path
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise RecordingError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise RecordingError(f"{name} is a directory, not a recording") from None
        except OSError as e:
            raise RecordingError(f"{name}: {e.strerror or e}") from None
        with f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                # (a pipe, /dev/stdin, <(...)) read once, it read as no recording at all
                raise RecordingError(
                    f"{name} is not a file: a recording is read back and forth, so it is "
                    "read from a file (save it to one first)"
                )
            self.size = info.st_size
            magic = f.read(2)
            if not magic:
                raise RecordingError(f"{name} is empty: not a vmtop recording")
            self.compressed = magic == b"\x1f\x8b"
            if not self.compressed and magic[:1] != b"{":
                raise RecordingError(
                    f"{name} is not a vmtop recording (not gzip-compressed JSON Lines)"
                )
            try:
                if not (use_index and self.compressed and self._open_index(f)):
                    self._scan_file(f)
            except OSError as e:
                raise RecordingError(f"{name}: {e.strerror or e}") from None

    def _open_index(self, f) -> bool:
        """What the file's index says, where it has one that fits it; else False (then
        nothing is set)."""

        def header(line: bytes) -> dict:
            self._check_header(line)
            return self.header

        opened = read_index(f, self.size, header)
        self.header = {}
        if opened is None:
            return False
        self.header = opened.header
        self.index = opened.index
        self.keyframe_offsets = opened.keyframe_offsets
        self.end_reason = opened.end_reason
        self.end_events = opened.end_events
        self._end_samples = opened.end_samples
        self.checks = MemberChecks(
            self.path, self.shown_path, opened.index, opened.keyframe_offsets
        )
        return True

    def _scan_file(self, f) -> None:
        """Every sample that can be read, stepping over damaged stretches to the next
        intact keyframe, with a note for each."""
        reader = LineReader(f, self.compressed, skip_keyframes=True)
        scan = _Scan()
        start = 0
        while True:
            try:
                self._scan_lines(reader.lines(start), scan)
                break
            except Damage as e:
                if not self.header:
                    raise RecordingError(self._header_damage(f, e)) from None
                if scan.ended:
                    break  # whatever comes after the end mark
                # What was read of the damaged part before the damage showed may be
                # wrong as well: the samples of its keyframe are rebuilt to be kept.
                had_gap = scan.gap is not None
                scan.suspect = True
                self._settle(scan)
                resume = next_keyframe(f, e.after if e.after is not None else 0, self.compressed)
                if not had_gap:
                    if scan.gap is not None:  # what _settle lost: the damage is why
                        lost = scan.gap[0]
                    else:
                        lost = self.index.last_number + 1
                    scan.gap = (lost, e)
                scan.resume = resume  # damage upon damage: one stretch, to here
                if resume is None:
                    break
                scan.after_gap()
                start = resume
        self._settle(scan)
        self._end_notes(scan, reader)

    def _header_damage(self, f, e: Damage) -> str:
        """The error for a file whose first part cannot be read: a recording damaged
        there when what came out looks like a header, or a keyframe can be read further
        on; else not a recording."""
        if _looks_like_header(e.partial) or next_keyframe(f, 0, self.compressed) is not None:
            return f"{self.shown_path} is damaged from its first bytes: its header cannot be read ({e.why})"
        return f"{self.shown_path} is not a vmtop recording ({e.why})"

    def _end_notes(self, scan: _Scan, reader: LineReader) -> None:
        name = self.shown_path
        if not self.header:
            cut = reader.cut
            if cut and _looks_like_header(cut):
                raise RecordingError(
                    f"{name} is a vmtop recording cut short: it ends inside its header, "
                    f"after {self.size} bytes"
                )
            if cut is not None and self.compressed:
                raise RecordingError(
                    f"{name} ends after {self.size} bytes, before its first line can be "
                    "read: a recording cut short, or not a recording"
                )
            raise RecordingError(f"{name} is not a vmtop recording (no header line)")
        self._end_samples = scan.end_samples
        if scan.gap is not None:
            first, why = scan.gap[0], self._why(scan)
            if not len(self.index):
                raise RecordingError(f"{name} has no complete sample: {why}")
            if scan.end_samples is not None and scan.end_samples > first:
                self.notes.append(f"{samples_words(first, scan.end_samples - 1)} lost: {why}")
            else:
                last = len(self.index) - 1
                self.notes.append(
                    f"{why}: nothing after sample {self.number(last)} "
                    f"({_clock(self.index.times[last])}) can be read"
                )
            self.end_events = ()  # they came after a sample that is lost
            return
        if not len(self.index):
            raise RecordingError(f"{name} has no complete sample")
        last = self.index.last_number
        if scan.end_samples is not None and scan.end_samples > last + 1:
            # Sample lines that are not there, and no damage seen: lines run together.
            self.notes.append(
                f"{samples_words(last + 1, scan.end_samples - 1)} lost: not in the file "
                f"(its end mark counts {scan.end_samples})"
            )
            self.end_events = ()  # they came after a sample that is lost
        if self.end_reason is None:
            last = len(self.index) - 1
            self.notes.append(
                f"{self._why_no_end_mark()}; replaying up to sample {self.number(last)} "
                f"({_clock(self.index.times[last])})"
            )

    def _why_no_end_mark(self) -> str:
        """Why the file has no end mark, in words: a recording written a moment ago
        is likely still going (recorded in one terminal, looked at in another), where
        "vmtop was stopped abruptly" sent the user looking for a crash."""
        cut = "recording cut short: it has no end mark (vmtop was stopped abruptly or the disk filled)"
        try:
            age = time.time() - os.stat(self.path).st_mtime
        except (OSError, TypeError, ValueError):
            return cut
        interval = float(self.header.get("interval") or 1.0)
        if -1.0 <= age <= max(STILL_WRITTEN_SECONDS, 3 * interval):
            return (
                "recording cut short, or still being made: it has no end mark, and it was "
                f"written {max(age, 0):.0f} s ago (a recording going on; or vmtop was stopped "
                "abruptly, or the disk filled)"
            )
        return cut

    def _check_header(self, line: bytes) -> None:
        name = self.shown_path
        try:
            header = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            if _looks_like_header(line):
                raise RecordingError(
                    f"{name} is damaged from its first bytes: its header line is not JSON"
                ) from None
            raise RecordingError(
                f"{name} is not a vmtop recording (its first line is not a header)"
            ) from None
        if not isinstance(header, dict) or header.get("format") != fmt.FORMAT_NAME:
            raise RecordingError(f"{name} is not a vmtop recording (no vmtop-recording header)")
        version = header.get("format_version")
        if version is None:
            raise RecordingError(
                f"{name} has a vmtop-recording header with no format_version: not a "
                "recording vmtop wrote"
            )
        if version != fmt.FORMAT_VERSION:
            raise RecordingError(
                f"{name} is a vmtop recording of format version {version}; this vmtop "
                f"reads version {fmt.FORMAT_VERSION}"
                + (": upgrade vmtop" if isinstance(version, int) and version > 1 else "")
            )
        if header.get("region_fields") != list(fmt.REGION_FIELDS):
            raise RecordingError(f"{name}: its regions have fields this vmtop does not know")
        self.header = header

    def _scan_lines(self, lines: Iterator[tuple[int, bytes]], scan: _Scan) -> None:
        try:
            for offset, line in lines:
                scan.offset = offset
                if line is BAD_CHECKSUM:
                    self._bad_checksum(offset, scan)
                    continue
                if scan.number is not None:
                    scan.number += 1
                if scan.ended:
                    continue
                if not self.header:
                    self._check_header(line)
                    continue
                if offset != scan.member:
                    scan.member, scan.member_first = offset, len(self.index)
                if isinstance(line, Skipped) or line.startswith(KEYFRAME_LINE):
                    self._keyframe(offset, scan, line)
                    continue
                if line.startswith(DELTA_LINE):
                    scan.map_changed = True
                    continue
                if not line.strip():
                    continue
                record = read_line(line)
                kind = record["type"]
                if kind == "keyframe":  # written by another tool: another key order
                    self._keyframe(offset, scan, line)
                    continue
                if kind == "delta":
                    scan.map_changed = True
                    continue
                if kind == "end":
                    self.end_events = read_field(record, "events", read_events, "the end mark", ())
                    self.end_reason = str(record.get("reason", ""))
                    samples = record.get("samples")
                    if type(samples) is int and samples >= 0:
                        scan.end_samples = samples
                    scan.ended = True  # read on only for the checksum of its part
                    continue
                if kind != "sample":
                    continue  # a line type from a later minor addition: skip it
                self._commit(record, scan)
        except Damage as e:
            # Damage to the compressed data is met looking for the next line; any other
            # is the line in hand's.
            if scan.number is not None:
                e.line = scan.number + 1 if e.offset is not None else scan.number
            if e.after is None:  # the line's: go on after its member (or itself)
                e.after = scan.offset
                if not self.compressed:
                    e.at = scan.offset
            raise

    def _keyframe(self, offset: int, scan: _Scan, line: bytes) -> None:
        self._settle(scan)
        scan.map_changed = True
        scan.body_offset, scan.body_i = offset, len(self.index)
        number = KEYFRAME_NUMBER.match(line)
        scan.body_number = int(number[1]) if number else None
        # Without gzip checksums, a sample is kept once it was rebuilt.
        scan.suspect = not self.compressed

    def _commit(self, record: dict, scan: _Scan) -> None:
        """The sample line ``record`` read: the sample is kept."""
        index = self.index
        at = len(index.times)
        last = index.last_number
        i = record.get("i", last + 1)
        if type(i) is not int:
            raise Damage(f"bad i in the sample after sample {last + 1}")
        if scan.body_i == at and scan.body_number not in (None, i):
            # The two agree in a file as written: a keyframe's number settles where the
            # samples after it belong, after damage too.
            raise Damage(f"the keyframe of sample {i + 1} says it is sample {scan.body_number + 1}")
        if scan.gap is None and i != last + 1:
            if scan.body_i != at:
                raise Damage(f"sample {last + 2} is missing")  # counted from 1, as in notes
            # A keyframe is read on its own: what is missing before it is lost, no more.
            why = "not in the file" if i > last else f"sample {i + 1} comes after {last + 1}"
            scan.gap = (last + 1, why)
        if scan.body_i == at:
            scan.keyframe = at
            self.keyframe_offsets[at] = scan.body_offset
        if scan.keyframe < 0:
            raise Damage("a sample before any keyframe")
        carried = Carried(scan.totals, scan.kinds, scan.hugetlb)
        when, totals, kinds, events, _hugetlb, _read_at = values = sample_values(
            record, carried, f"sample {i + 1}"
        )
        if scan.gap is not None:
            first, why = scan.gap[0], self._why(scan)
            scan.gap = None
            # A number that does not follow (i <= last) was damaged on one side or the
            # other: the samples of an intact keyframe are kept all the same.
            lost = f"{samples_words(first, i - 1)} lost: {why}" if i > first else why
            self.notes.append(f"{lost}; the replay goes on from sample {i + 1} ({_clock(when)})")
        # Read back from the sample's gzip member (its line, not compressed), after the
        # sample lines read from it before this one.
        leaves_out = not all(key in record for key in ("totals", "kinds", "hugetlb"))
        index.add(
            when,
            totals,
            kinds,
            events,
            i,
            scan.map_changed,
            keyframe=scan.keyframe == at,
            member=scan.offset,
            skip=at - scan.member_first,
            carried=carried if leaves_out else None,
            new_member=self.compressed
            and bool(index.chunk_first)
            and scan.offset != index.chunk_offset[-1],
        )
        if self._kept is not None:
            self._kept.append(SampleInfo(when, totals, kinds, scan.keyframe, *values[3:]))
        scan.map_changed = False
        scan.totals, scan.kinds, scan.hugetlb = values[1], values[2], values[4]

    def _why(self, scan: _Scan) -> str:
        """The words for the stretch lost (scan.gap)."""
        assert scan.gap is not None
        why = scan.gap[1]
        if isinstance(why, Damage):
            return why.place(scan.resume if self.compressed else None)
        return why

    def _bad_checksum(self, offset: int, scan: _Scan) -> None:
        """The part of the file at ``offset`` decompressed whole, but its gzip checksum
        does not match: what it holds is kept as it reads once the samples that depend
        on it are rebuilt (_settle)."""
        scan.suspect = True
        if offset == scan.body_offset and scan.body_i == len(self.index):
            scan.bad.append((offset, None))  # a keyframe: every sample rebuilt from it
        elif scan.member == offset:
            scan.bad.append((offset, scan.member_first))
        else:
            scan.bad.append((offset, len(self.index)))  # no sample from it

    def _settle(self, scan: _Scan) -> None:
        """The samples from the last keyframe on, rebuilt once when something in them
        is not known to be sound (a checksum that did not match, no checksum at all):
        from the first that fails, they are lost; the others are kept, and a note
        says which were read from a part whose checksum does not match."""
        if not scan.suspect:
            return
        scan.suspect = False
        bad, scan.bad = scan.bad, []
        first = scan.keyframe
        end = len(self.index)
        failed = (
            rebuild_all(self.path, self.compressed, self.keyframe_offsets[first], first, end - 1)
            if 0 <= first < end
            else None
        )
        if failed is not None:
            end = failed[0]
        parts = ", ".join(str(offset) for offset, _ in bad)
        whose = f"the part{'s' if len(bad) > 1 else ''} of the file from byte {parts}"
        kept = min((first if at is None else at for _, at in bad), default=end)
        if bad and kept < end and first >= 0:
            words = samples_words(self.index.number(kept), self.index.number(end - 1))
            self.notes.append(
                f"{whose} {'does' if len(bad) == 1 else 'do'} not match {'its' if len(bad) == 1 else 'their'} checksum: "
                f"{words}, read from {'it' if len(bad) == 1 else 'them'}, kept as read"
            )
        elif bad and failed is None:
            self.notes.append(
                f"{whose} {'does' if len(bad) == 1 else 'do'} not match {'its' if len(bad) == 1 else 'their'} checksum: kept as read"
            )
        if failed is None:
            return
        at, why = failed
        lost = self.index.number(at)
        self.index.truncate(at)
        if self._kept is not None:
            del self._kept[at:]
        for k in [k for k in self.keyframe_offsets if k >= at]:
            del self.keyframe_offsets[k]
        if scan.gap is None:
            cause = f"{whose} does not match its checksum, and " if bad else ""
            scan.gap = (lost, f"{cause}sample {lost + 1} cannot be rebuilt ({why})")
