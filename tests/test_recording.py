"""Recordings: what `record` writes, `replay` reads back sample for sample; files cut
short, damaged, empty, of another version or not recordings at all give one clear line
(or a replay up to the last complete sample, with a note); the headless commands."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import time
import zlib

import pytest
from conftest import PROC_FIXTURES, run_vmtop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmtop.model import diff
from vmtop.model.events import Event
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.record.timespec import (
    clock_label,
    label_digits,
    nearest_index,
    parse_duration,
    resolve_time,
    span_label,
)
from vmtop.record.writer import RecordingWriter

FIXTURE_PIDS = (7925, 7932, 7936, 90001, 90007)


def fixture_sequence() -> list:
    """Snapshots of the fixture processes, then that map changed the ways a process
    changes it: a region unmapped, one mapped, one grown, resident figures moved, an
    idle stretch, a map out of order (a keyframe, then)."""
    procfs = ProcFS(str(PROC_FIXTURES))
    base = take_snapshot(procfs, FIXTURE_PIDS[0])
    t = 1_700_000_000.0
    seq = [base._replace(taken_at=t)]
    regions = list(base.regions)
    for step in range(1, 40):
        regions = list(regions)
        if step % 7 == 1 and len(regions) > 5:
            del regions[3]  # unmapped
        if step % 5 == 2:  # a new anonymous region above the last one below vsyscall
            last = regions[-3]
            regions.append(
                last._replace(
                    start=last.end + 0x10000,
                    end=last.end + 0x30000,
                    path="",
                    inode=0,
                    dev="00:00",
                    kind="anon",
                    rss=8192,
                )
            )
            regions.sort(key=lambda r: r.start)
        if step % 3 == 0:  # resident figures moved
            r = regions[1]
            regions[1] = r._replace(rss=(r.rss or 0) + 4096 * step, private_dirty=4096 * step)
        if step % 11 == 4:  # grown
            r = regions[2]
            regions[2] = r._replace(end=r.end + 4096)
        snap = base._replace(taken_at=t + step, regions=tuple(regions))
        if step in (20, 21, 22):  # idle: the very same map
            snap = seq[-1]._replace(taken_at=t + step)
        if step == 25:  # the status moved, nothing else
            snap = snap._replace(status={**snap.status, "VmRSS": 123456, "Threads": "9"})
        seq.append(snap)
    for pid in FIXTURE_PIDS[1:]:  # another process entirely
        seq.append(take_snapshot(procfs, pid)._replace(taken_at=t + len(seq)))
    return seq


def write(path, snaps, *, keyframe_every=8, events_of=None, end=True) -> RecordingWriter:
    writer = RecordingWriter(str(path), interval=1.0, keyframe_every=keyframe_every)
    prev = None
    for i, snap in enumerate(snaps):
        events = (
            events_of(i)
            if events_of
            else (
                diff.diff_snapshots(prev, snap) if prev is not None and prev.pid == snap.pid else []
            )
        )
        writer.write_sample(snap, events)
        prev = snap
    if end:
        writer.close()
    return writer


def without_index(data: bytes) -> bytes:
    """The recording up to its index: the gzip members before the one whose line is
    the index (docs/recording-format.md), as a writer before the index wrote them; what
    the tests of damage to the lines damage, for the scan to read."""
    at = 0
    while at < len(data):
        z = zlib.decompressobj(31)
        text = z.decompress(data[at:])
        if text.startswith(b'{"type":"index"'):
            return data[:at]
        at = len(data) - len(z.unused_data)
    raise AssertionError("no index")


def assert_same_sample(got, want, i) -> None:
    assert got.regions == want.regions, f"sample {i}: regions"
    assert [r.kind for r in got.regions] == [r.kind for r in want.regions]
    assert got.totals == want.totals, f"sample {i}: totals"
    assert got.info == want.info, f"sample {i}: info"
    assert got.taken_at == want.taken_at and got.has_smaps == want.has_smaps
    assert got.status == want.status, f"sample {i}: status"


def test_round_trip_fixture_sources(tmp_path):
    snaps = fixture_sequence()
    prevs = [None, *snaps[:-1]]
    expected_events = [
        diff.diff_snapshots(p, s) if p is not None and p.pid == s.pid else []
        for p, s in zip(prevs, snaps, strict=True)
    ]
    path = tmp_path / "r.jsonl.gz"
    writer = write(path, snaps)
    assert writer.keyframes >= 4  # every 8 changed samples, and on each other process
    rec = Recording.open(str(path))
    assert rec.notes == [] and rec.end_reason == "stopped" and len(rec) == len(snaps)
    assert sum(len(e) for e in expected_events) > 10
    # In order, backwards, and jumping about: each way rebuilds the same samples.
    for order in (range(len(snaps)), reversed(range(len(snaps))), [30, 2, 17, 16, 41, 0]):
        for i in order:
            assert_same_sample(rec.snapshot(i), snaps[i], i)
    assert [list(rec.events_of(i)) for i in range(len(snaps))] == expected_events
    # The timeline's figures are the snapshots' own.
    assert [s.totals for s in rec.samples] == [s.totals for s in snaps]
    kinds = {}
    for r in snaps[5].regions:
        if r.rss:
            kinds[r.kind] = kinds.get(r.kind, 0) + r.rss
    assert rec.samples[5].kinds == kinds


def test_the_file_is_gzip_json_lines_anyone_can_read(tmp_path):
    snaps = fixture_sequence()[:12]
    path = tmp_path / "r.jsonl.gz"
    write(path, snaps)
    with gzip.open(path, "rt") as f:  # multi-member gzip: the standard library reads it
        lines = [json.loads(line) for line in f]
    header = lines[0]
    assert header["format"] == "vmtop-recording" and header["format_version"] == 1
    assert header["pid"] == snaps[0].pid and header["command"] == snaps[0].info.command
    assert header["page_size"] == os.sysconf("SC_PAGE_SIZE") and header["kernel"]
    assert header["interval"] == 1.0 and header["started_at"] == snaps[0].taken_at
    types = [line["type"] for line in lines]
    assert types.count("sample") == 12 and types[-2:] == ["end", "index"]
    assert types.count("keyframe") == 2  # the first, and after 8 samples that changed
    key = next(line for line in lines if line["type"] == "keyframe")
    first = dict(zip(header["region_fields"], key["regions"][0], strict=True))
    assert first["start"] == snaps[0].regions[0].start and first["kind"] == snaps[0].regions[0].kind


def test_idle_samples_cost_a_few_bytes(tmp_path):
    snap = fixture_sequence()[0]
    sizes = []
    for count in (100, 200):
        path = tmp_path / f"idle{count}.jsonl.gz"
        writer = RecordingWriter(str(path), interval=1.0, keyframe_every=10_000)
        for i in range(count):
            writer.write_sample(snap._replace(taken_at=1_700_000_000.0 + i))
        writer.close()
        sizes.append(os.path.getsize(path))
    per_sample = (sizes[1] - sizes[0]) / 100
    assert per_sample < 40, per_sample


def test_cut_short_replays_to_the_last_complete_sample(tmp_path):
    snaps = fixture_sequence()
    path = tmp_path / "full.jsonl.gz"
    writer = write(path, snaps, end=False)  # like kill -9: no end mark, never closed
    writer._file.flush()
    data = path.read_bytes()
    (tmp_path / "nomark.jsonl.gz").write_bytes(data)
    rec = Recording.open(str(tmp_path / "nomark.jsonl.gz"))
    assert len(rec) == len(snaps) and "cut short" in rec.notes[0]
    # Cut anywhere: every complete sample before the cut, nothing after it.
    for cut in (len(data) // 3, len(data) // 2, len(data) - 7):
        cut_path = tmp_path / f"cut{cut}.jsonl.gz"
        cut_path.write_bytes(data[:cut])
        rec = Recording.open(str(cut_path))
        assert 0 < len(rec) < len(snaps) + 1
        assert rec.notes and "cut short" in rec.notes[0] and f"sample {len(rec)}" in rec.notes[0]
        last = len(rec) - 1
        assert_same_sample(rec.snapshot(last), snaps[last], last)


def test_a_recording_with_no_end_mark_yet_may_still_be_going(tmp_path):
    """Recorded in one terminal and looked at in another: a file written a moment ago
    with no end mark is likely a recording going on. It was said to be one "stopped
    abruptly", as of one written an hour ago."""
    snaps = fixture_sequence()[:4]
    path = tmp_path / "going.jsonl.gz"
    writer = write(path, snaps, end=False)
    writer._file.flush()
    rec = Recording.open(str(path))
    assert "still being made" in rec.notes[0] and "written 0 s ago" in rec.notes[0]
    assert "sample 4" in rec.notes[0]
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    rec = Recording.open(str(path))
    assert "still being made" not in rec.notes[0]
    assert rec.notes[0].startswith("recording cut short: it has no end mark (vmtop was stopped")


def test_damaged_file_replays_to_the_damage_and_goes_on_at_the_next_keyframe(tmp_path):
    snaps = fixture_sequence()
    path = tmp_path / "r.jsonl.gz"
    write(path, snaps)
    data = bytearray(without_index(path.read_bytes()))
    at = len(data) * 2 // 3
    data[at : at + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    rec = Recording.open(str(path))
    assert 0 < len(rec) < len(snaps)
    (note,) = rec.notes
    assert " lost: " in note and "the replay goes on from sample" in note
    numbers = [rec.number(i) for i in range(len(rec))]
    assert numbers[-1] == len(snaps) and rec.recorded == len(snaps)  # the end was read
    for i in range(len(rec)):  # every sample kept rebuilds: the damage is in none
        assert_same_sample(rec.snapshot(i), snaps[numbers[i] - 1], i)


def _members(data: bytes) -> list[bytes]:
    """The gzip members of a recording, each as its bytes."""
    out = []
    while data:
        z = zlib.decompressobj(31)
        z.decompress(data)
        used = len(data) - len(z.unused_data)
        out.append(data[:used])
        data = data[used:]
    return out


def _with_line(data: bytes, number: int, text: bytes) -> bytes:
    """The recording with its line ``number`` (from 1, as ``zcat FILE | sed -n Np``
    counts) replaced by ``text``; the other gzip members are kept byte for byte, the
    keyframe members the reader steps over without reading them among them."""
    out, seen = [], 0
    for member in _members(data):
        lines = gzip.decompress(member).split(b"\n")[:-1]
        if seen < number <= seen + len(lines):
            lines[number - seen - 1] = text
            member = gzip.compress(b"\n".join(lines) + b"\n")
        seen += len(lines)
        out.append(member)
    return b"".join(out)


# Lines of _valid_recording() (14 samples, keyframe_every=4): 1 the header, 2 a keyframe,
# then a delta and its sample's commit line by turns; 12 the second keyframe (sample 6),
# 16 the delta of the 8th sample, 17 its commit line; the third keyframe is sample 11's.
# A damaged line loses the samples from its own to the next keyframe: reading goes on
# there.
@pytest.mark.parametrize(
    ("number", "text", "why", "lost"),
    [
        (6, b"{not json", "not JSON", (3, 5)),
        (6, b"\xff\xfe", "not JSON", (3, 5)),
        (16, b"garbage where a delta was", "not JSON", (8, 10)),
        (17, b"[1, 2, 3]", "a JSON array, not a record object", (8, 10)),
        (17, b'"sample"', "a JSON string, not a record object", (8, 10)),
        (17, b"42", "a number, not a record object", (8, 10)),
        (17, b'{"i":7,"time":1}', "a record object without a type", (8, 10)),
        (17, b'{"type":"sample","i":7}', "no time in sample 8", (8, 10)),
        (17, b'{"type":"sample","i":7,"time":"noon"}', "bad time in sample 8", (8, 10)),
        (17, b'{"type":"sample","i":7,"time":1,"totals":5}', "bad totals in sample 8", (8, 10)),
        (17, b'{"type":"sample","i":7,"time":1,"kinds":[1]}', "bad resident bytes", (8, 10)),
        (17, b'{"type":"sample","i":7,"time":1,"events":[[1]]}', "bad events in sample 8", (8, 10)),
        (17, b'{"type":"sample","i":8,"time":1}', "sample 8 is missing", (8, 10)),
        (28, b'{"type":"end","events":{"a":1}}', "bad events in the end mark", None),
    ],
)
@pytest.mark.parametrize("plain", [False, True], ids=["gzip", "plain"])
def test_a_damaged_line_is_named_by_its_number_and_what_is_wrong(
    tmp_path, number, text, why, lost, plain
):
    data = _with_line(_valid_recording(), number, text)
    if plain:  # JSON Lines not compressed: read the same way, line for line
        data = gzip.decompress(data)
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(data)
    rec = Recording.open(str(path))
    (note,) = rec.notes
    assert "Error" not in note and "byte 0" not in note  # no exception class names
    numbers = [rec.number(i) for i in range(len(rec))]
    if lost is None:  # the end mark: every sample is there, the end is not
        assert numbers == list(range(1, 15)) and rec.end_reason is None
        assert note == (
            f"line {number} is damaged ({why}): nothing after sample 14 "
            f"({time.strftime('%H:%M:%S', time.localtime(rec.end))}) can be read"
        )
        return
    first, last = lost
    assert numbers == [n for n in range(1, 15) if not first <= n <= last]
    assert rec.end_reason == "stopped"
    assert note.startswith(f"samples {first}–{last} lost: line {number} is damaged ({why}"), note
    assert note.endswith(f"; the replay goes on from sample {last + 1} ({_clock(rec, last + 1)})")


def _clock(rec, number: int) -> str:
    i = next(i for i in range(len(rec)) if rec.number(i) == number)
    return time.strftime("%H:%M:%S", time.localtime(rec.time_of(i)))


def test_damaged_compressed_data_is_named_by_its_byte_and_line(tmp_path):
    members = _members(without_index(_valid_recording()))
    # The fifth member holds lines 13 to 21 (sample 6's commit line to sample 10's).
    assert gzip.decompress(members[4]).startswith(b'{"type":"sample","i":5,')
    start = sum(map(len, members[:4]))
    data = bytearray(b"".join(members))
    data[start + 20 : start + 28] = b"\xff" * 8
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(bytes(data))
    rec = Recording.open(str(path))
    assert [rec.number(i) for i in range(len(rec))] == [1, 2, 3, 4, 5, 11, 12, 13, 14]
    (note,) = rec.notes
    resume = start + len(members[4])  # the third keyframe's member
    assert note.startswith(
        f"samples 6–10 lost: damaged from byte {start} to {resume} of the file, line 13 on ("
    ), note
    assert "compressed data that does not decompress" in note and "Error" not in note


def _one_line_error(path) -> str:
    with pytest.raises(RecordingError) as info:
        Recording.open(str(path))
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_files_that_are_not_recordings(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert "is empty" in _one_line_error(empty)
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert "not a vmtop recording" in _one_line_error(text)
    other = tmp_path / "other.json.gz"
    with gzip.open(other, "wt") as f:
        f.write('{"type": "header", "format": "something-else"}\n')
    assert "not a vmtop recording" in _one_line_error(other)
    binary = tmp_path / "random.gz"
    binary.write_bytes(b"\x1f\x8b" + os.urandom(2000))
    assert "not a vmtop recording" in _one_line_error(binary)
    assert "no such file" in _one_line_error(tmp_path / "missing")
    assert "directory" in _one_line_error(tmp_path)


def test_other_format_version_and_header_only(tmp_path):
    snaps = fixture_sequence()[:3]
    path = tmp_path / "r.jsonl.gz"
    write(path, snaps)
    with gzip.open(path, "rt") as f:
        lines = f.read().splitlines()
    header = json.loads(lines[0])
    newer = tmp_path / "v2.jsonl.gz"
    with gzip.open(newer, "wt") as f:
        f.write("\n".join([json.dumps({**header, "format_version": 2}), *lines[1:]]) + "\n")
    message = _one_line_error(newer)
    assert "format version 2" in message and "reads version 1" in message
    # No version at all: said so ("format version None" was Python's word for it).
    unversioned = tmp_path / "none.jsonl.gz"
    bare = {k: v for k, v in header.items() if k != "format_version"}
    with gzip.open(unversioned, "wt") as f:
        f.write("\n".join([json.dumps(bare), *lines[1:]]) + "\n")
    message = _one_line_error(unversioned)
    assert "no format_version" in message and "None" not in message, message
    only = tmp_path / "header.jsonl.gz"
    with gzip.open(only, "wt") as f:
        f.write(lines[0] + "\n")
    assert "no complete sample" in _one_line_error(only)
    # Uncompressed (someone ran gunzip): still a recording.
    plain = tmp_path / "plain.jsonl"
    plain.write_text("\n".join(lines) + "\n")
    rec = Recording.open(str(plain))
    assert len(rec) == 3 and rec.snapshot(2).regions == snaps[2].regions


def test_times_people_type():
    start, end = 1_700_000_000.0, 1_700_000_600.0  # 22:13:20 to 22:23:20 UTC
    assert parse_duration("90s") == 90 and parse_duration("5m") == 300
    assert parse_duration("1h30m") == 5400 and parse_duration("2m10s") == 130
    assert parse_duration("45") == 45 and parse_duration("soon") is None
    assert resolve_time("90s", start, end) == start + 90
    assert resolve_time("+5m", start, end) == start + 300
    assert resolve_time("+5m", start, end, now=start + 60) == start + 360
    assert resolve_time("-30s", start, end) == end - 30
    assert resolve_time("end", start, end) == end
    os.environ["TZ"] = "UTC"
    time.tzset()
    assert resolve_time("22:15:00", start, end) == start + 100
    with pytest.raises(ValueError):
        resolve_time("25:00", start, end)
    with pytest.raises(ValueError):
        resolve_time("yesterday", start, end)


def test_a_typed_time_names_the_nearest_sample():
    """Samples every 0.5 s, each a few ms late: 30 s after the start is the sample taken
    at 30.004 s, not the one at 29.504 s (the last at or before it)."""
    times = [100.0 + 0.5 * k + 0.004 * (k > 0) for k in range(80)]
    assert nearest_index(times, 100.0 + 30) == 60
    assert nearest_index(times, 100.0 + 29.8) == 60
    assert nearest_index(times, 100.0 + 29.7) == 59
    assert nearest_index(times, 50.0) == 0 and nearest_index(times, 500.0) == 79
    assert nearest_index([1.0, 2.0], 1.5) == 0  # halfway: the map as it already was


def test_sample_labels_have_the_decimals_the_samples_need():
    whole = [100.0 + k for k in range(5)]
    assert label_digits(whole) == 1  # a second apart: tenths, as a replay shows them
    assert label_digits([100.0 + 5 * k for k in range(5)]) == 0  # every 5 s, on the second
    assert label_digits([100.3 + 5 * k for k in range(5)]) == 1  # ... off the second
    assert label_digits([100.77 + 0.5 * k for k in range(5)]) == 1
    assert label_digits([100.0 + 0.1 * k for k in range(5)]) == 2  # 12:00:00.1 and .2
    assert label_digits([100.0 + 0.05 * k for k in range(5)]) == 2
    assert label_digits([100.5]) == 1 and label_digits([100.0]) == 0


def test_sample_labels_are_rounded_and_trimmed_on_request():
    os.environ["TZ"] = "UTC"
    time.tzset()
    noon = 1_700_049_600.0  # 12:00:00 UTC
    assert clock_label(noon + 31.96, 1) == "12:00:32.0"  # rounded, the carry into seconds
    assert clock_label(noon + 31.96, 1, trim=True) == "12:00:32"
    assert clock_label(noon + 32.774, 1) == "12:00:32.8"
    assert clock_label(noon + 32.774, 2) == "12:00:32.77"
    assert clock_label(noon + 32.4, 0) == "12:00:32"
    assert span_label(30.004, 1) == "30.0s" and span_label(30.004, 1, trim=True) == "30s"
    assert span_label(65.5, 1) == "1m05.5s" and span_label(3723.46, 1) == "1h02m03.5s"
    assert span_label(59.96, 1) == "1m00.0s"


def test_events_and_notes_round_trip(tmp_path):
    snaps = fixture_sequence()[:5]
    note = Event(snaps[1].taken_at, "note", 0, 0, "", 0, 0, detail="malloc(1048576) = 0x7f…")
    odd = Event(
        snaps[2].taken_at,
        "mapped",
        0x1000,
        0x3000,
        "file",
        8192,
        8192,
        path="/tmp/we\x1bird \udcff name",
        tid=42,
        detail="x",
    )
    path = tmp_path / "r.jsonl.gz"
    write(path, snaps, events_of=lambda i: {1: [note], 2: [odd]}.get(i, []))
    rec = Recording.open(str(path))
    assert rec.events() == [(1, note), (2, odd)]


# -- the commands, as a person runs them ----------------------------------------------------


def test_record_replay_report_on_a_live_demo(tmp_path):
    """`vmtop record` a running demo; every sample reads back as what the sampler saw."""
    from vmtop.demo.runner import start_demo
    from vmtop.tui.sampler import Sampler

    demo = start_demo("malloc", pace=0.2, start_delay=0.1)
    try:
        sampler = Sampler(ProcFS(), demo.pid)
        path = tmp_path / "demo.jsonl.gz"
        writer = RecordingWriter(str(path), interval=0.2, keyframe_every=6)
        seen, events = [], []
        for _ in range(25):
            result = sampler.sample(0.2)
            assert result.snapshot is not None
            writer.write_sample(result.snapshot, result.events)
            seen.append(result.snapshot.compact())
            events.append(list(result.events))
            time.sleep(0.2)
        writer.close()
    finally:
        demo.stop()
    rec = Recording.open(str(path))
    assert len(rec) == 25
    for i in range(25):
        assert_same_sample(rec.snapshot(i), seen[i], i)
        assert list(rec.events_of(i)) == events[i]
    assert any(e.event == "mapped" and e.size >= 1 << 20 for ev in events for e in ev)
    out = run_vmtop("replay", path, "--events", "--json")
    assert out.returncode == 0
    header, *lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert header["format"] == "vmtop-watch" and header["pid"] == demo.pid
    assert len(lines) == sum(map(len, events))
    report = run_vmtop("report", path)
    text = report.stdout.decode()
    assert report.returncode == 0 and "25 samples" in text and "peak" in text
    assert "Events by type:" in text and "mapped" in text


def test_record_command_ctrl_c_and_count(tmp_path, spawn):
    import signal
    import subprocess
    import sys

    child = spawn([sys.executable, "-c", "import time; time.sleep(60)"])
    path = tmp_path / "c.jsonl.gz"
    out = run_vmtop("record", child.pid, "-o", path, "--interval", "0.1", "--count", "5")
    assert out.returncode == 0, out.stderr
    rec = Recording.open(str(path))
    assert len(rec) == 5 and rec.end_reason == "count" and rec.pid == child.pid
    # Ctrl-C (SIGINT) stops it cleanly, with its end mark.
    path2 = tmp_path / "i.jsonl.gz"
    from conftest import VMTOP

    proc = subprocess.Popen(
        [*VMTOP, "record", str(child.pid), "-o", str(path2), "--interval", "0.1"],
        stderr=subprocess.PIPE,
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    rec = Recording.open(str(path2))
    assert rec.end_reason == "stopped" and len(rec) >= 3 and rec.notes == []
    # Stopped between samples, it says the span the samples cover, as `report` does.
    path3 = tmp_path / "s.jsonl.gz"
    proc = subprocess.Popen(
        [*VMTOP, "record", str(child.pid), "-o", str(path3), "--interval", "1"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "recording PID" in proc.stderr.readline()
    time.sleep(1.7)  # samples at 0 s and 1 s, the next due at 2 s
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    rec = Recording.open(str(path3))
    # Said as `report` says it, to the decimals that tell its samples apart: under
    # load 1.1 s apart, not "1 s" on stderr beside "(1.1s)" in the report.
    span = span_label(rec.end - rec.start, rec.digits, trim=True)
    assert f"{len(rec)} samples over {span}, " in err, err
    assert f"({span})" in run_vmtop("report", path3).stdout.decode()


def test_headless_replay_at_a_time(tmp_path):
    snaps = fixture_sequence()[:30]
    path = tmp_path / "r.jsonl.gz"
    write(path, snaps)
    from vmtop.output.pmap import render_pmap

    for at, i in (("+10s", 10), ("25", 25), ("start", 0), ("end", 29), ("-3s", 26)):
        for words in ([f"--at={at}"], ["--at", at]):  # "--at -3s" too, not read as an option
            out = run_vmtop("replay", path, *words)
            assert out.returncode == 0, out.stderr
            assert out.stdout.decode() == render_pmap(snaps[i]), words
    js = run_vmtop("replay", path, "--at", "+12s", "--format", "json")
    record = json.loads(js.stdout)
    assert [int(r["start"], 16) for r in record["regions"]] == [r.start for r in snaps[12].regions]
    csv = run_vmtop("replay", path, "--at", "+12s", "--format", "csv").stdout.decode()
    assert len(csv.splitlines()) == len(snaps[12].regions) + 1
    bad = run_vmtop("replay", path, "--at", "+2h")
    # A usage error, as `vmtop diff REC` says it (2): the time given names no sample.
    assert bad.returncode == 2 and b"outside the recording" in bad.stderr
    missing = run_vmtop("replay", tmp_path / "nope", "--events")
    assert missing.returncode == 1 and missing.stderr.count(b"\n") == 1
    assert b"Traceback" not in missing.stderr


def test_report_names_the_peak_and_the_growths(tmp_path):
    import re
    from collections import Counter

    snaps = []
    for s in fixture_sequence()[:30]:
        rss = sum(r.rss or 0 for r in s.regions)
        snaps.append(s._replace(totals=s.totals._replace(rss=rss)))
    path = tmp_path / "r.jsonl.gz"
    write(path, snaps)
    out = run_vmtop("report", path)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert "30 samples every 1 s" in text and "(29s)" in text
    rss = [s.totals.rss for s in snaps]
    peak = max(range(len(rss)), key=lambda i: (rss[i], -i))
    stamp = time.strftime("%H:%M:%S", time.localtime(snaps[peak].taken_at))
    assert re.search(rf"peak \S+ at \S+ {stamp} \(\+{peak}s\)", text), text

    # The kind that grew most, from the snapshots themselves.
    def by_kind(s):
        out: dict = {}
        for r in s.regions:
            out[r.kind] = out.get(r.kind, 0) + (r.rss or 0)
        return out

    first, last = by_kind(snaps[0]), by_kind(snaps[-1])
    top_kind = max(last, key=lambda k: last[k] - first.get(k, 0))
    section = text.split("Largest growths by kind")[1].splitlines()[1]
    assert section.split()[0] == top_kind
    # The region that grew most: regions[1], whose resident size rose every 3 samples.
    grown = snaps[-1].regions[1]
    region_line = text.split("Largest growths by region")[1].splitlines()[1]
    assert region_line.split()[0].startswith(f"{grown.start:012x}-")
    counts = Counter(
        e.event for p, s in zip(snaps, snaps[1:], strict=False) for e in diff.diff_snapshots(p, s)
    )
    for name, n in counts.items():
        assert re.search(rf"^  {name}\s+{n}$", text, re.M), name


# -- whatever the bytes, a clear error or a replay: never a traceback ---------------------

_VALID: dict = {}


def _valid_recording() -> bytes:
    if "data" not in _VALID:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "r.jsonl.gz")
            write(path, fixture_sequence()[:14], keyframe_every=4)
            with open(path, "rb") as f:
                _VALID["data"] = f.read()
    return _VALID["data"]


def _read_all(path) -> None:
    try:
        rec = Recording.open(str(path))
    except RecordingError as e:
        assert "\n" not in str(e)
        return
    try:  # (opened by its index, damage is found when a sample is read back)
        rec.events()
    except RecordingError as e:
        assert "\n" not in str(e)
    for i in range(len(rec)):
        try:
            rec.snapshot(i)
        except RecordingError as e:
            assert "\n" not in str(e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=0, max_value=1 << 20),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
    plain=st.booleans(),
)
def test_damaged_bytes_never_raise_anything_else(tmp_path_factory, cut, flips, plain):
    data = bytearray(_valid_recording())
    if plain:
        data = bytearray(gzip.decompress(bytes(data)))
    for where, value in flips:
        if data:
            data[where % len(data)] = value
    data = data[: cut % (len(data) + 1)]
    path = tmp_path_factory.mktemp("fuzz") / "r.jsonl.gz"
    path.write_bytes(bytes(data))
    _read_all(path)


def test_the_second_the_recording_started_in_is_in_it(tmp_path):
    """A recording whose first sample came at 10:29:44.8: `--at 10:29:44` and `diff REC
    10:29:44 ...` were "outside the recording" while the TUI's `t` took it (review)."""
    start = 1_700_000_000.8
    snaps = [s._replace(taken_at=start + i) for i, s in enumerate(fixture_sequence()[:5])]
    path = tmp_path / "late.jsonl.gz"
    write(path, snaps)
    second = time.strftime("%H:%M:%S", time.localtime(start))
    earlier = time.strftime("%H:%M:%S", time.localtime(start - 2))
    from vmtop.output.pmap import render_pmap

    at = run_vmtop("replay", path, "--at", second)
    assert at.returncode == 0, at.stderr
    assert at.stdout.decode() == render_pmap(snaps[0])
    assert run_vmtop("diff", path, second, "end").returncode in (0, 1)  # (same or changed)
    before = run_vmtop("replay", path, "--at", earlier)
    assert before.returncode == 2 and b"outside the recording" in before.stderr


def test_a_recording_through_a_pipe_is_said_to_need_a_file(tmp_path):
    """`cat REC | vmtop report /dev/stdin` said "not a vmtop recording" of a good one
    (review): it is read by seeking."""
    path = tmp_path / "r.jsonl.gz"
    write(path, fixture_sequence()[:3])
    out = run_vmtop("report", "/dev/stdin", input=path.read_bytes())  # (a pipe)
    assert out.returncode != 0
    assert b"/dev/stdin is not a file" in out.stderr and b"not a vmtop recording" not in out.stderr
    assert run_vmtop("report", path).returncode == 0  # (the same bytes, from a file)
