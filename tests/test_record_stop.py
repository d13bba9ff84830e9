"""Stopping `vmtop record` while it writes: the file still ends with its end mark.

A long recording is stopped with Ctrl-C or SIGTERM (`timeout 1h vmtop record …`,
systemd), and the signal can come in the middle of a sample's write. Before, raised
there it left the compressor between two gzip members: closing then failed with a
zlib traceback (a keyframe of a 60 000-region map takes 150 ms to compress: 5 of 20
interruptions at random moments of its write), or, while the write waited on a slow
pipe (`-o - | ssh …`), the file lost its end mark and replayed as "cut short" though
vmtop said "stopped". Now a signal during a write stops the recording once the write
is out; a second one stops it at once, and says the end mark is missing.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import VMTOP, needs_root
from test_recording import fixture_sequence

from vmtop.record import writer as writer_module
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter

F_SETPIPE_SZ = 1031  # fcntl: the smallest pipe buffer (a page) fills with the first sample


def test_a_sample_interrupted_halfway_closes_without_a_traceback(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl.gz"
    snaps = fixture_sequence()
    writer = RecordingWriter(str(path), interval=1.0, keyframe_every=1)
    writer.write_sample(snaps[0])  # a keyframe
    writer.write_sample(snaps[1])  # a delta: the next sample is a keyframe

    def interrupted(length):  # Ctrl-C after the keyframe is compressed, before it is out
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module, "keyframe_member_header", interrupted)
    with pytest.raises(KeyboardInterrupt):
        writer.write_sample(snaps[2])
    writer.close("stopped")  # before: zlib.error, "inconsistent stream state"
    assert not writer.ended
    with pytest.raises(ValueError):
        writer.write_sample(snaps[3])
    rec = Recording.open(str(path))
    assert len(rec) == 2
    assert rec.end_reason is None and "cut short" in rec.notes[0]


def _blocked_recorder(pid: int, tmp_path):
    """`vmtop record PID -o -` into a pipe of one page that nobody reads yet, once its
    write waits on the pipe; and the pipe's read end."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, 4096)
    err = open(tmp_path / "stderr", "w+b")  # noqa: SIM115 - closed by the test
    rec = subprocess.Popen(
        [*VMTOP, "record", str(pid), "-o", "-", "--interval", "0.05"],
        stdout=write_end,
        stderr=err,
    )
    os.close(write_end)
    deadline = time.monotonic() + 20
    while True:
        try:
            with open(f"/proc/{rec.pid}/wchan") as f:
                wchan = f.read()
        except OSError:
            wchan = ""
        if "pipe_write" in wchan:
            break
        if time.monotonic() > deadline:
            rec.kill()
            pytest.skip(f"the recorder was not seen waiting on the pipe (wchan {wchan!r})")
        time.sleep(0.02)
    return rec, read_end, err


def _drain(read_end: int, out: bytearray) -> threading.Thread:
    def run():
        while chunk := os.read(read_end, 65536):
            out.extend(chunk)
        os.close(read_end)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def sleeper(spawn):
    return spawn([sys.executable, "-c", "import time; time.sleep(60)"])


def test_sigterm_while_a_write_waits_on_a_slow_pipe_keeps_the_end_mark(tmp_path, sleeper):
    rec, read_end, err = _blocked_recorder(sleeper.pid, tmp_path)
    rec.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # the signal is in before the pipe drains
    data = bytearray()
    thread = _drain(read_end, data)
    assert rec.wait(timeout=20) == 0
    thread.join(timeout=20)
    err.seek(0)
    said = err.read().decode()
    assert "Traceback" not in said and "without its end mark" not in said, said
    path = tmp_path / "piped.jsonl.gz"
    path.write_bytes(bytes(data))
    recording = Recording.open(str(path))
    assert recording.end_reason == "stopped" and recording.notes == []
    assert len(recording) >= 1


def test_a_second_signal_stops_at_once_and_says_the_end_mark_is_missing(tmp_path, sleeper):
    rec, read_end, err = _blocked_recorder(sleeper.pid, tmp_path)
    rec.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    rec.send_signal(signal.SIGINT)  # Ctrl-C again: the pipe may never drain
    data = bytearray()
    time.sleep(0.3)
    thread = _drain(read_end, data)
    assert rec.wait(timeout=20) == 0
    thread.join(timeout=20)
    err.seek(0)
    said = err.read().decode()
    assert "Traceback" not in said, said
    assert said.rstrip().endswith("without its end mark (it replays as cut short)"), said
    path = tmp_path / "piped.jsonl.gz"
    path.write_bytes(bytes(data))
    recording = Recording.open(str(path))
    assert recording.end_reason is None and "cut short" in recording.notes[0]


def test_a_full_device_is_one_line_saying_where_the_recording_stops(tmp_path, sleeper):
    out = subprocess.run(
        [*VMTOP, "record", str(sleeper.pid), "-o", "/dev/full", "--count", "3"],
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 1
    lines = out.stderr.decode().splitlines()
    # Before: the same error again from closing ("closing /dev/full: No space left …").
    assert lines[1:] == [
        "vmtop: writing /dev/full: No space left on device: the recording stops after 0 samples"
    ], lines


@needs_root("mounts a tmpfs of two pages")
def test_a_disk_that_fills_keeps_what_was_written(tmp_path, spawn, compile_c):
    child = spawn([compile_c("map_churn.c")])
    assert child.read_line() == "READY"
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        path = disk / "r.jsonl.gz"
        out = subprocess.run(
            [*VMTOP, "record", str(child.pid), "-o", str(path), "--interval", "0.05"],
            capture_output=True,
            timeout=60,
        )
        said = out.stderr.decode()
        assert out.returncode == 1 and "Traceback" not in said, said
        last = said.splitlines()[-1]
        assert last.startswith(f"vmtop: writing {path}: No space left on device: "), said
        kept = int(last.rsplit(" ", 2)[-2])  # "the recording stops after N samples"
        rec = Recording.open(str(path))
        assert len(rec) == kept > 1
        assert rec.end_reason is None and "cut short" in rec.notes[0]
    finally:
        subprocess.run(["umount", str(disk)])


def _recorder(pid: int, path, **popen) -> subprocess.Popen:
    """`vmtop record PID -o PATH`, once it has written its first sample."""
    rec = subprocess.Popen(
        [*VMTOP, "record", str(pid), "-o", str(path), "--interval", "0.1"],
        stderr=subprocess.PIPE,
        **popen,
    )
    deadline = time.monotonic() + 20
    while not (path.exists() and path.stat().st_size > 0):
        assert rec.poll() is None and time.monotonic() < deadline, "no recording began"
        time.sleep(0.05)
    time.sleep(0.3)
    return rec


def test_a_hangup_ends_the_recording_with_its_end_mark(tmp_path, sleeper):
    # Review: the ssh session or terminal gone, SIGHUP killed vmtop outright and the
    # file had no end mark.
    path = tmp_path / "hup.jsonl.gz"
    rec = _recorder(sleeper.pid, path)
    rec.send_signal(signal.SIGHUP)
    assert rec.wait(timeout=20) == 0
    said = rec.stderr.read().decode()
    assert "Traceback" not in said and "vmtop: stopped" in said, said
    recording = Recording.open(str(path))
    assert recording.end_reason == "stopped" and recording.notes == []


def test_under_nohup_a_hangup_does_not_stop_it(tmp_path, sleeper):
    path = tmp_path / "nohup.jsonl.gz"
    rec = _recorder(
        sleeper.pid, path, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)
    )
    try:
        rec.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert rec.poll() is None, "nohup's SIGHUP stopped the recording"
    finally:
        rec.send_signal(signal.SIGTERM)
        rec.wait(timeout=20)
    assert Recording.open(str(path)).end_reason == "stopped"
