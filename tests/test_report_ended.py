"""`vmtop report` says in words why a recording ended: before, it printed the word the
file keeps ("ended: count", "ended: duration"), which means nothing to who reads it.

Each recording here is ended the way the test ends it (a count, a duration, the process
killed, Ctrl-C), which is the truth the line is checked against."""

from __future__ import annotations

import signal
import time

import pytest
from conftest import run_vmtop, start_recording

pytestmark = pytest.mark.live


def _ended(path) -> str:
    out = run_vmtop("report", path)
    assert out.returncode == 0, out.stderr
    (line,) = [s for s in out.stdout.decode().splitlines() if s.startswith("  ended: ")]
    return line.removeprefix("  ended: ")


@pytest.mark.parametrize(
    ("limit", "says"),
    [
        (("--count", "2"), "after the samples asked for (--count)"),
        (("--duration", "1"), "after the time asked for (--duration)"),
    ],
)
def test_a_limit_reached(tmp_path, spawn, limit, says):
    child = spawn(["sleep", "60"])
    path = tmp_path / "r.jsonl.gz"
    out = run_vmtop("record", child.pid, "-o", path, "--interval", "0.2", *limit)
    assert out.returncode == 0, out.stderr
    assert _ended(path) == says


def test_the_process_exited(tmp_path, spawn):
    child = spawn(["sleep", "60"])
    path = tmp_path / "r.jsonl.gz"
    recorder = start_recording(child.pid, path, 0.2)
    child.kill()
    assert recorder.wait(timeout=30) == 0
    assert _ended(path) == "the process exited"


def test_ctrl_c(tmp_path, spawn):
    child = spawn(["sleep", "60"])
    path = tmp_path / "r.jsonl.gz"
    recorder = start_recording(child.pid, path, 0.2)
    # Its first sample in the file (a Ctrl-C before it leaves none: see the report).
    deadline = time.monotonic() + 30
    while not (path.exists() and path.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    recorder.send_signal(signal.SIGINT)
    recorder.wait(timeout=30)
    assert _ended(path).startswith("stopped (Ctrl-C")
