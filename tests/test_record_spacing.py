"""`vmtop record` does not catch up on a late sample with one at once.

A sample taken late (the machine busy, vmtop stopped a moment, a slow read) was
followed by the next one at once, to keep to the schedule: the two were a millisecond
or two apart (three such pairs in ten minutes at 0.1 s here). Such a pair carries no news,
and the times of a recording are printed with the decimals that tell every two samples
apart: after one such pair, every time that `report`, `diff` and the replay printed of
the recording had milliseconds. Now the next sample comes half an interval on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import VMTOP, wait_for_state

from vmtop.record.reader import Recording


@pytest.fixture
def sleeper(spawn):
    return spawn([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_late_sample_is_not_followed_by_one_at_once(tmp_path, sleeper):
    path = tmp_path / "r.jsonl.gz"
    rec = subprocess.Popen(
        [*VMTOP, "record", str(sleeper.pid), "-o", str(path), "--interval", "0.1"],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not (path.exists() and path.stat().st_size > 0):  # recording
            assert time.monotonic() < deadline and rec.poll() is None
            time.sleep(0.05)
        for _ in range(4):  # vmtop stopped for two intervals and a half, four times
            time.sleep(0.37)
            os.kill(rec.pid, signal.SIGSTOP)
            wait_for_state(rec.pid, "T")
            time.sleep(0.25)
            os.kill(rec.pid, signal.SIGCONT)
        time.sleep(0.5)
    finally:
        rec.send_signal(signal.SIGINT)
        rec.communicate(timeout=30)
    recording = Recording.open(str(path))
    times = [s.time for s in recording.samples]
    steps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(steps) > 20
    assert max(steps) > 0.2  # the stops are in the recording (as gaps)
    assert min(steps) >= 0.045, sorted(steps)[:3]
    assert recording.digits == 2  # hundredths, as a recording at 0.1 s has
