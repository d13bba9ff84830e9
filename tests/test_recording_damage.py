"""Damage to a recording loses only the damaged stretch, the same way on every reader path.

A recording is gzip members: the header, then per keyframe a member holding it and a
member holding the lines after it (docs/recording-format.md). One flipped byte used to
lose everything after it (reading stopped at the first damage, although every keyframe
after it could be read on its own), a bad checksum lost the samples that had read well
(while the same file with its trailer cut off kept them all), and damage inside a
keyframe, which the scan steps over, went unnoticed until a sample was rebuilt: then
`replay --events` printed every event with no warning and `report` and `--at end`
failed outright, naming the sample from 0.

Here a recording is written by the real writer, damaged at chosen bytes (and, with
Hypothesis, anywhere), and what each reader path keeps is checked against what was
written: every sample of an intact keyframe stretch, the same on every path, with one
note for each damage.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import time
import zlib
from typing import NamedTuple

import pytest
from conftest import run_vmtop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_recording import assert_same_sample, fixture_sequence, without_index, write

from vmtop.commands.report import report_lines
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording


class Stretch(NamedTuple):
    """Bytes [start, end) of the file hold samples [first, last] (from 0) and the
    keyframe they are rebuilt from."""

    start: int
    end: int
    first: int
    last: int


class Written(NamedTuple):
    data: bytes
    snaps: list
    header_end: int  # the header's bytes are [0, header_end)
    stretches: list[Stretch]


_WRITTEN: dict = {}


def written(plain: bool = False) -> Written:
    """44 samples of the fixture processes, keyframes at samples 1, 11, 28 and 42 (from
    1): each keyframe's stretch is its member and the member of the lines after it."""
    if "gzip" not in _WRITTEN:
        snaps = fixture_sequence()
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "r.jsonl.gz")
            write(path, snaps, keyframe_every=8)
            with open(path, "rb") as f:
                # Without its index: what these tests damage is what the scan reads
                # (test_recording_index.py damages files opened by their index).
                data = without_index(f.read())
        members = []  # (offset, the first line's record)
        at = 0
        while at < len(data):
            z = zlib.decompressobj(31)
            text = z.decompress(data[at:])
            members.append((at, json.loads(text.split(b"\n")[0])))
            at = len(data) - len(z.unused_data)
        keyframes = [(at, r["i"]) for at, r in members if r["type"] == "keyframe"]
        _WRITTEN["gzip"] = Written(data, snaps, members[1][0], _stretches(keyframes, data, snaps))
        # The same lines, not compressed; a stretch runs from the newline before its
        # keyframe (without it, its line is one with the line before) to the one that
        # ends its last line (the next stretch's first byte).
        text = gzip.decompress(data)
        starts = [0]
        for line in text.split(b"\n")[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        keyframes = [
            (starts[k] - 1, json.loads(line)["i"])
            for k, line in enumerate(text.split(b"\n")[:-1])
            if line.startswith(b'{"type":"keyframe"')
        ]
        stretches = _stretches(keyframes, text, snaps)
        stretches = [s._replace(end=min(s.end + 1, len(text))) for s in stretches]
        _WRITTEN["plain"] = Written(text, snaps, starts[1], stretches)
    return _WRITTEN["plain" if plain else "gzip"]


def _stretches(keyframes, data: bytes, snaps) -> list[Stretch]:
    bounds = [*keyframes, (len(data), len(snaps))]
    return [
        Stretch(at, end, i, j - 1) for (at, i), (end, j) in zip(bounds, bounds[1:], strict=False)
    ]


def damaged(tmp_path, data: bytes, flips=(), cut: int | None = None, name="r.jsonl.gz"):
    out = bytearray(data)
    for at, value in flips:
        out[at] = value
    if cut is not None:
        del out[cut:]
    path = tmp_path / name
    path.write_bytes(bytes(out))
    return path


def kept(rec: Recording) -> list[int]:
    """The samples read, as the file numbers them from 0."""
    return [rec.number(i) - 1 for i in range(len(rec))]


def check_kept_samples(rec: Recording, w: Written, stretches) -> None:
    """Every sample read rebuilds (the same way in any order); those of ``stretches``
    are all there, as they were written."""
    numbers = kept(rec)
    assert numbers == sorted(numbers) or rec.notes, numbers
    for s in stretches:
        assert set(range(s.first, s.last + 1)) <= set(numbers), (s, numbers, rec.notes)
    intact = {n for s in stretches for n in range(s.first, s.last + 1)}
    full = undamaged(w)
    for i in [*range(len(rec) - 1, -1, -1), *range(len(rec))]:
        snap = rec.snapshot(i)  # no RecordingError: what the scan kept, it rebuilt
        if numbers[i] in intact:
            assert_same_sample(snap, w.snaps[numbers[i]], numbers[i])
            assert rec.samples[i].events == full.samples[numbers[i]].events


_FULL: dict = {}


def undamaged(w: Written) -> Recording:
    """The recording as written, opened once."""
    key = id(w)
    if key not in _FULL:
        folder = tempfile.mkdtemp()
        path = os.path.join(folder, "full.jsonl.gz")
        with open(path, "wb") as f:
            f.write(w.data)
        _FULL[key] = Recording.open(path)
    return _FULL[key]


def stretch_of(w: Written, at: int) -> Stretch:
    return next(s for s in w.stretches if s.start <= at < s.end)


# -- one byte flipped, at chosen places -------------------------------------------------


def test_the_recording_has_the_stretches_these_tests_expect():
    w = written()
    assert [(s.first, s.last) for s in w.stretches] == [(0, 9), (10, 26), (27, 40), (41, 43)]


@pytest.mark.parametrize("where", ["lines", "keyframe"])
@pytest.mark.parametrize("stretch", [0, 1, 2, 3])
def test_a_flipped_byte_loses_its_stretch_and_no_more(tmp_path, stretch, where):
    w = written()
    s = w.stretches[stretch]
    keyframe_end = _member_end(w.data, s.start)
    at = (s.start + keyframe_end) // 2 if where == "keyframe" else (keyframe_end + s.end) // 2
    if where == "lines":
        at = _breaking(w.data, keyframe_end, at, 0x55)
    path = damaged(tmp_path, w.data, [(at, w.data[at] ^ 0x55)])
    rec = Recording.open(str(path))
    others = [t for t in w.stretches if t != s]
    check_kept_samples(rec, w, others)
    numbers = kept(rec)
    lost = [n for n in range(len(w.snaps)) if n not in numbers]
    assert lost, "a flipped byte in the middle of a member loses something"
    assert set(lost) <= set(range(s.first, s.last + 1)) | {len(w.snaps)}
    (note,) = rec.notes
    words = f"sample {lost[0] + 1}" if len(lost) == 1 else f"samples {lost[0] + 1}–{lost[-1] + 1}"
    if s is w.stretches[-1] and where == "lines":  # the end mark is lost too
        when = time.strftime("%H:%M:%S", time.localtime(w.snaps[lost[0] - 1].taken_at))
        assert note.endswith(f": nothing after sample {lost[0]} ({when}) can be read"), note
    elif s is w.stretches[-1]:  # the end mark says how many samples there were
        assert note.startswith(f"{words} lost: "), note
    else:
        assert note.startswith(f"{words} lost: "), note
        assert f"the replay goes on from sample {s.last + 2} " in note, note
    assert "Error" not in note


def _breaking(data: bytes, member: int, at: int, mask: int) -> int:
    """The first byte from ``at`` whose flip (xor ``mask``) stops the member at byte
    ``member`` decompressing: a flip that turns a digit into another leaves JSON that
    only the checksum tells (kept as read), and where that is depends on the bytes."""
    while True:
        out = bytearray(data)
        out[at] ^= mask
        try:
            zlib.decompressobj(31).decompress(bytes(out[member:]))
        except zlib.error as e:
            if "incorrect data check" not in str(e):
                return at
        at += 1


def _member_end(data: bytes, at: int) -> int:
    z = zlib.decompressobj(31)
    z.decompress(data[at:])
    return len(data) - len(z.unused_data)


def test_damage_in_the_lines_after_a_keyframe_keeps_the_samples_before_it(tmp_path):
    # The lines after the first keyframe, damaged half way: the samples whose lines
    # decompressed before the damage are kept, and reading goes on at the next keyframe
    # (before, nothing was kept: "has no complete sample").
    w = written()
    s = w.stretches[0]
    lines = _member_end(w.data, s.start)
    at = _breaking(w.data, lines, lines + (s.end - lines) * 2 // 3, 0xFF)
    path = damaged(tmp_path, w.data, [(at, w.data[at] ^ 0xFF)])
    rec = Recording.open(str(path))
    numbers = kept(rec)
    assert numbers[0] == 0 and 1 <= numbers.index(10) < 10
    (note,) = rec.notes
    last = numbers[numbers.index(10) - 1]
    assert note.startswith(f"samples {last + 2}–10 lost: damaged from byte {lines} to {s.end} ")
    check_kept_samples(rec, w, w.stretches[1:])


def test_a_bad_checksum_keeps_what_reads_well_and_says_so(tmp_path):
    # The last member's CRC-32 flipped: its samples decompress and rebuild, and are
    # kept (as they are when those bytes are cut off), with a note.
    w = written()
    last = w.stretches[-1]
    crc = len(w.data) - 8
    path = damaged(tmp_path, w.data, [(crc, w.data[crc] ^ 1)])
    rec = Recording.open(str(path))
    assert kept(rec) == list(range(len(w.snaps))) and rec.end_reason == "stopped"
    (note,) = rec.notes
    member = _member_end(w.data, last.start)
    assert note == (
        f"the part of the file from byte {member} does not match its checksum: "
        f"samples 42–44, read from it, kept as read"
    )
    check_kept_samples(rec, w, w.stretches)
    # Cut off there instead: the same samples, cut short.
    cut = Recording.open(str(damaged(tmp_path, w.data, cut=crc, name="cut.jsonl.gz")))
    assert kept(cut) == kept(rec)


def test_a_keyframe_whose_checksum_fails_and_does_not_rebuild_loses_its_stretch(tmp_path):
    w = written()
    s = w.stretches[1]
    end = _member_end(w.data, s.start)
    path = damaged(tmp_path, w.data, [(end - 8, w.data[end - 8] ^ 1)])  # its CRC-32
    rec = Recording.open(str(path))  # decompresses, rebuilds: kept, with a note
    assert kept(rec) == list(range(len(w.snaps)))
    (note,) = rec.notes
    assert f"from byte {s.start} does not match its checksum: samples 11–27" in note


@pytest.mark.parametrize("plain", [False, True], ids=["gzip", "plain"])
def test_every_reader_path_keeps_the_same_samples_and_warns_once(tmp_path, plain):
    """`replay --events`, `report`, `replay --at end` on a file whose second keyframe
    is damaged: each keeps samples 1-10 and 28-44, warns once on stderr, and exits 0."""
    w = written(plain)
    s = w.stretches[1]
    if plain:
        at = s.start + 200  # inside the keyframe line: JSON no more
        flips = [(at, ord("}"))]
    else:
        at = (s.start + _member_end(w.data, s.start)) // 2
        flips = [(at, w.data[at] ^ 0xFF)]
    path = damaged(tmp_path, w.data, flips)
    rec = Recording.open(str(path))
    assert kept(rec) == [*range(0, 10), *range(27, 44)]
    (note,) = rec.notes
    assert note.startswith("samples 11–27 lost: ")
    full = undamaged(w)
    events = [e for n in kept(rec) for e in full.events_of(n)]

    out = run_vmtop("replay", path, "--events", "--json")
    err = out.stderr.decode()
    assert out.returncode == 0, err
    assert err == f"vmtop: {path}: {note}\n"
    lines = out.stdout.decode().splitlines()[1:]
    assert len(lines) == len(events)

    out = run_vmtop("report", path)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert f"  note: {note}" in text and "27 samples" in text
    # The time the lost samples covered is a gap in the report: lost, not a pause.
    assert "): samples 11–27 of the file lost to damage (see the note below)" in text
    assert "sampling paused" not in text

    out = run_vmtop("replay", path, "--at", "end")
    err = out.stderr.decode()
    assert out.returncode == 0, err
    assert err.startswith(f"vmtop: {path}: {note}\n")
    assert "sample 44/44, taken at" in err
    from vmtop.output.pmap import render_pmap

    assert out.stdout.decode() == render_pmap(w.snaps[-1])

    out = run_vmtop("replay", path, "--at", "+5s")
    assert out.returncode == 0 and "sample 6/44" in out.stderr.decode()


def test_a_sample_that_cannot_be_rebuilt_is_named_from_1(tmp_path):
    # A file whose damage the scan cannot see (another tool wrote a delta that removes
    # a region that is not there): rebuilding says which sample, counted from 1.
    w = written(plain=True)
    text = w.data.replace(b'"removed":[', b'"removed":[1,', 1)
    path = tmp_path / "r.jsonl"
    path.write_bytes(text)
    rec = Recording.open(str(path))
    # Without a checksum, every sample is rebuilt when the file is opened: the delta is
    # found there, and the stretch lost from it.
    (note,) = rec.notes
    assert "cannot be rebuilt (a change names a region that is not there)" in note
    first_lost = int(note.split()[1].split("–")[0])
    assert first_lost - 1 not in kept(rec) and first_lost - 2 in kept(rec)


# -- files that are damaged, cut short, or not recordings --------------------------------


def test_a_file_cut_inside_its_header_is_a_recording_cut_short(tmp_path):
    w = written()
    path = damaged(tmp_path, w.data, cut=100)
    with pytest.raises(RecordingError) as info:
        Recording.open(str(path))
    assert str(info.value) == (
        f"{path} is a vmtop recording cut short: it ends inside its header, after 100 bytes"
    )
    path = damaged(tmp_path, w.data, cut=12, name="tiny.jsonl.gz")
    with pytest.raises(RecordingError) as info:
        Recording.open(str(path))
    assert "ends after 12 bytes, before its first line can be read" in str(info.value)


@pytest.mark.parametrize("at", [20, 60, 300])
def test_a_damaged_header_is_damage_not_another_format(tmp_path, at):
    w = written()
    path = damaged(tmp_path, w.data, [(at, w.data[at] ^ 0xFF)])
    with pytest.raises(RecordingError) as info:
        Recording.open(str(path))
    message = str(info.value)
    assert message.startswith(f"{path} is damaged from its first bytes: its header"), message
    assert "not a vmtop recording" not in message


def test_random_gzip_bytes_are_still_not_a_recording(tmp_path):
    path = tmp_path / "random.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 8)
    with pytest.raises(RecordingError) as info:
        Recording.open(str(path))
    assert "is not a vmtop recording" in str(info.value)


# -- anywhere: Hypothesis --------------------------------------------------------------


def _intact(w: Written, flips, cut: int) -> tuple[bool, list[Stretch]]:
    touched = {at for at, value in flips if w.data[at] != value}

    def whole(start, end):
        return end <= cut and not any(start <= at < end for at in touched)

    return whole(0, w.header_end), [s for s in w.stretches if whole(s.start, s.end)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    plain=st.booleans(),
    count=st.integers(0, 4),
    cut_off=st.one_of(st.just(0), st.integers(0, 20_000)),
)
def test_damage_anywhere_keeps_every_intact_keyframe(tmp_path_factory, data, plain, count, cut_off):
    w = written(plain)
    size = len(w.data)
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255)), max_size=count)
    )
    cut = max(0, size - cut_off)
    path = damaged(tmp_path_factory.mktemp("damage"), w.data, flips, cut)
    header, stretches = _intact(w, flips, cut)
    try:
        rec = Recording.open(str(path))
    except RecordingError as e:
        message = str(e)
        assert "\n" not in message and str(path) in message
        assert not (header and stretches), message
        return
    if header:
        check_kept_samples(rec, w, stretches)
    else:
        for i in range(len(rec)):
            rec.snapshot(i)
    # Kept as the scan read them (`vmtop report`), they are those read back after it,
    # the samples lost to damage left out alike.
    held = Recording.open(str(path), keep_samples=True)
    assert list(held.samples) == list(rec.samples) and held.notes == rec.notes
    if len(rec) < len(w.snaps) and cut == size:
        assert rec.notes  # nothing lost without a word
    report_lines(rec)
    rec.events()


def test_diff_numbers_samples_as_the_file_does_and_says_what_was_lost_between(tmp_path):
    # diff renumbered the samples it kept ("sample 24/53" where replay said "37/66"),
    # and nothing on stdout said that events of lost samples were not counted.
    w = written()
    second = w.stretches[1]
    path = damaged(tmp_path, w.data, flips=[(second.start + 40, w.data[second.start + 40] ^ 0xFF)])
    rec = Recording.open(str(path))
    lost = len(w.snaps) - len(rec)
    assert lost > 0, rec.notes
    out = run_vmtop("diff", path, "start", "end")
    text = out.stdout.decode()
    total = len(w.snaps)
    assert f"(sample 1/{total})" in text and f"(sample {total}/{total})" in text, text
    assert f"Lost to damage between A and B: {lost} samples" in text, text
    out = run_vmtop("diff", path, "start", "end", "--json")
    doc = json.loads(out.stdout)
    assert (doc["a"]["sample"], doc["b"]["sample"], doc["lost_samples"]) == (1, total, lost)
    # Within one intact stretch nothing was lost.
    first = w.stretches[0]
    doc = json.loads(run_vmtop("diff", path, "start", f"+{first.last}s", "--json").stdout)
    assert doc["lost_samples"] == 0


def test_diff_refuses_a_to_before_its_from(tmp_path):
    # Reversed, it said "mapped 8 (+120M)" recorded between and "9 gone" at B: frees
    # that never happened.
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(written().data)
    out = run_vmtop("diff", path, "end", "start")
    assert out.returncode == 2, out
    said = out.stderr.decode()
    assert "is before FROM" in said and "give the earlier moment first" in said, said
    assert out.stdout == b""


def test_diff_of_two_recordings_says_how_to_compare_them(tmp_path):
    # It said "FROM: not a time: 'quick.jsonl.gz'".
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(written().data)
    other = tmp_path / "other.jsonl.gz"
    other.write_bytes(written().data)
    out = run_vmtop("diff", path, other)
    said = out.stderr.decode()
    assert out.returncode == 2 and "is a file, not a time" in said, said
    assert "--at TIME --format json > a.json" in said and "vmtop diff a.json b.json" in said
    snap = tmp_path / "a.json"
    snap.write_bytes(run_vmtop("replay", path, "--at", "start", "--format", "json").stdout)
    out = run_vmtop("diff", snap, other)
    said = out.stderr.decode()
    assert out.returncode == 2 and "a recording, not a snapshot" in said, said
