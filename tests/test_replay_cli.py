"""`vmtop replay FILE` and its options: an option that only shapes another one's output
is a usage error alone, the two outputs (--at, --events) are not taken together, and
without a terminal the TUI's refusal names the headless replays.

Before, `--format json` or `--json` alone opened the TUI (or, without a terminal, said
to use snapshot, watch or record: no help for a recording), and `--at end --events`
printed every event, --at dropped without a word.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from conftest import PROC_FIXTURES, run_vmtop

from vmtop.commands.watch import event_record
from vmtop.model.events import Event
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record.writer import RecordingWriter


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    snap = take_snapshot(ProcFS(str(PROC_FIXTURES)), 7925)
    path = tmp_path_factory.mktemp("replay") / "r.jsonl.gz"
    with RecordingWriter(str(path), interval=1.0) as writer:
        for i in range(3):
            writer.write_sample(snap._replace(taken_at=1_700_000_000.0 + i))
    return path


def _replay(*args) -> subprocess.CompletedProcess:
    """No terminal on either end, as in a script: what was wrong went to the TUI then."""
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_DRIVER"}
    return run_vmtop("replay", *args, stdin=subprocess.DEVNULL, env=env)


def _usage_error(out: subprocess.CompletedProcess) -> str:
    """The error line of an argparse usage error, after checking it is one."""
    err = out.stderr.decode()
    assert out.returncode == 2, err
    assert out.stdout == b""
    assert err.startswith("usage: vmtop replay"), err
    assert "terminal" not in err  # not the TUI's refusal
    return err.splitlines()[-1]


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (["--format", "json"], "--format needs --at"),
        (["--format=csv"], "--format needs --at"),
        (["--events", "--format", "json"], "--format needs --at"),
        (["--json"], "--json needs --events"),
        (["--at", "end", "--json"], "--json needs --events"),
    ],
)
def test_an_option_without_the_one_it_shapes_is_a_usage_error(recording, words, says):
    line = _usage_error(_replay(recording, *words))
    assert line.startswith(f"vmtop replay: error: {says}"), line


def test_the_hint_points_to_the_option_for_the_output_asked_for(recording):
    line = _usage_error(_replay(recording, "--events", "--format", "json"))
    assert "with --events use --json" in line
    line = _usage_error(_replay(recording, "--at", "end", "--json"))
    assert "with --at use --format json" in line


@pytest.mark.parametrize("words", [["--at", "end", "--events"], ["--events", "--at=-1s"]])
def test_at_and_events_together_are_refused(recording, words):
    # --at prints the map at one moment, --events the event stream: two outputs, and
    # --at is no filter on the events (its help says so), so neither is dropped.
    line = _usage_error(_replay(recording, *words))
    assert "--events" in line and "--at" in line and "not allowed" in line


def test_the_options_together_as_their_help_says(recording):
    out = _replay(recording, "--at", "end", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b'{"format": "vmtop-snapshot"')
    out = _replay(recording, "--at", "start")  # pmap, the default
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b"7925:")
    out = _replay(recording, "--events", "--json")
    assert out.returncode == 0 and out.stderr == b"", out.stderr


@pytest.mark.parametrize("file", ["recording", "missing"])
def test_no_terminal_names_the_headless_replays(recording, tmp_path, file):
    # At once, before the file is opened: the same line whether or not it is readable.
    path = recording if file == "recording" else tmp_path / "nope.jsonl.gz"
    out = _replay(path)
    err = out.stderr.decode()
    assert out.returncode == 2 and out.stdout == b"", err
    assert len(err.splitlines()) == 1, err
    assert "the TUI needs a terminal" in err
    assert "'vmtop replay FILE --at TIME'" in err and "'vmtop replay FILE --events'" in err
    for live in ("snapshot", "watch", "vmtop record"):  # commands for a live process
        assert live not in err


# -- --events --json: a header line first, as every JSON Lines stream of vmtop has -------


@pytest.fixture(scope="module")
def recording_with_events(tmp_path_factory):
    """Three samples of a fixture process, with events (narration and an odd name too)
    on the second and third, and the process's exit after the last."""
    snap = take_snapshot(ProcFS(str(PROC_FIXTURES)), 7925)
    t = 1_700_000_000.0
    events = [
        [],
        [
            Event(t + 1, "note", 0, 0, "", 0, 0, detail="malloc(1048576) = 0x7f0000000000"),
            Event(t + 1, "mapped", 0x1000, 0x3000, "anon", 8192, 8192, detail="a direct mmap"),
        ],
        [Event(t + 2, "rss_changed", 0x1000, 0x3000, "file", 8192, -4096, path="/tmp/\udcff")],
    ]
    gone = Event(t + 3, "exited", 0, 0, "", 0, 0, detail="the process exited")
    path = tmp_path_factory.mktemp("events") / "e.jsonl.gz"
    writer = RecordingWriter(str(path), interval=1.0)
    for i, sample_events in enumerate(events):
        writer.write_sample(snap._replace(taken_at=t + i), sample_events)
    writer.close("exited", [gone])
    return path, snap, [e for sample_events in events for e in sample_events] + [gone]


def test_events_json_starts_with_a_header_line(recording_with_events):
    path, snap, events = recording_with_events
    out = _replay(path, "--events", "--json")
    assert out.returncode == 0 and out.stderr == b"", out.stderr
    first, *rest = out.stdout.decode().splitlines()
    header = json.loads(first)
    # The event lines are those of `vmtop watch --json`: the same stream, the same name.
    assert header["format"] == "vmtop-watch" and header["format_version"] == 1
    assert "event" not in header
    assert header["pid"] == snap.info.pid == 7925
    assert header["start_time"] == snap.info.start_time
    assert header["command"] == snap.info.command
    assert header["interval"] == 1.0
    assert header["recording"] == str(path)
    # The events after it, unchanged.
    assert [json.loads(line) for line in rest] == [event_record(e) for e in events]


def test_events_as_text_have_no_header(recording_with_events):
    path, _snap, events = recording_with_events
    out = _replay(path, "--events")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.decode().splitlines()) == len(events)


# -- --at: the sample nearest the time, and which one it was -------------------------------


@pytest.fixture(scope="module")
def late_recording(tmp_path_factory):
    """Samples every 0.5 s, each 4 ms late but the first (as the recorder takes them:
    the review's sample 60 was at +30.0041 s), from a start 0.77 s past the second."""
    snap = take_snapshot(ProcFS(str(PROC_FIXTURES)), 7925)
    start = 1_700_000_000.77
    times = [start + 0.5 * k + 0.004 * (k > 0) for k in range(40)]
    path = tmp_path_factory.mktemp("late") / "late.jsonl.gz"
    with RecordingWriter(str(path), interval=0.5) as writer:
        for when in times:
            writer.write_sample(snap._replace(taken_at=when))
    return path, times


@pytest.mark.parametrize(("at", "index"), [("10s", 20), ("+15s", 30), ("-9.5s", 20), ("0.5", 1)])
def test_at_shows_the_sample_taken_then_though_a_little_late(late_recording, at, index):
    # The last sample at or before 10 s after the start was the one at 9.504 s.
    path, times = late_recording
    out = _replay(path, "--at", at, "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["taken_at"] == times[index]
    # Which sample it was, on stderr (pmap's format has no place for it).
    assert f"sample {index + 1}/{len(times)}" in out.stderr.decode()


def test_at_says_when_the_sample_shown_was_taken_as_it_can_be_typed_back(late_recording):
    path, times = late_recording
    out = _replay(path, "--at", "10s")  # pmap
    said = out.stderr.decode()
    found = re.search(r"taken at (\S+) \(\+(\S+)\)", said)
    assert found is not None, said
    for again in found.groups():  # a clock time with tenths, and the time from the start
        out = _replay(path, "--at", again, "--format", "json")
        assert json.loads(out.stdout)["taken_at"] == times[20], again
