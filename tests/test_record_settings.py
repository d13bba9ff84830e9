"""`vmtop record` takes the settings every other command takes: vmtop --interval and
--threshold, VMTOP_INTERVAL / VMTOP_THRESHOLD and the config file. It took none of them
(every 1 s, 64 KiB whatever was set), while `watch` did."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import VMTOP

from vmtop.model import events as ev
from vmtop.record.reader import Recording

# Touches 32 KiB (below the default 64 KiB threshold) of a fresh mapping when a line
# arrives, and says where.
TOUCH = r"""
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
int main(void) {
    char *p = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("READY %p\n", (void *)p); fflush(stdout);
    char line[8];
    if (!fgets(line, sizeof line, stdin)) return 0;
    memset(p, 1, 32 << 10);
    printf("TOUCHED\n"); fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {}
    return 0;
}
"""


def record(*args, cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*VMTOP, *map(str, args)],
        capture_output=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def sleeper(spawn):
    return spawn([sys.executable, "-c", "import time; time.sleep(60)"])


@pytest.mark.parametrize("how", ["option", "environment", "config"])
def test_the_interval_setting_is_the_recordings(tmp_path, sleeper, how):
    path = tmp_path / "r.jsonl.gz"
    config = tmp_path / "config.toml"
    config.write_text("interval = 0.25\n")
    before = {
        "option": (["--interval", "0.25"], None),
        "environment": ([], {"VMTOP_INTERVAL": "0.25"}),
        "config": (["--config", config], None),
    }[how]
    args, env = before
    out = record(*args, "record", sleeper.pid, "-o", path, "--count", "3", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "every 0.25 s" in out.stderr.decode()
    rec = Recording.open(str(path))
    assert rec.interval == 0.25 and len(rec) == 3
    assert rec.time_of(2) - rec.time_of(0) < 1.5  # not 2 s apart: 1 s each


def test_records_own_interval_wins_over_the_settings(tmp_path, sleeper):
    path = tmp_path / "r.jsonl.gz"
    out = record("--interval", "5", "record", sleeper.pid, "-o", path, "--interval", "0.2",
                 "--count", "2", cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert Recording.open(str(path)).interval == 0.2


def test_the_threshold_decides_the_recorded_events_and_is_in_the_header(tmp_path, compile_c, spawn):
    child = spawn([compile_c(TOUCH)], stdin=subprocess.PIPE)
    start = int(child.read_line().split()[1], 16)
    path = tmp_path / "r.jsonl.gz"
    argv = [*VMTOP, "--threshold", "4096", "record", child.pid, "-o", path, "--interval", "0.2"]
    recorder = subprocess.Popen([*map(str, argv), "--count", "12"], stderr=subprocess.PIPE)
    try:
        recorder.stderr.readline()  # "recording ... every 0.2 s": the first sample is in
        child.proc.stdin.write(b"go\n")
        child.proc.stdin.flush()
        assert child.read_line() == "TOUCHED"
        assert recorder.wait(30) == 0
    finally:
        recorder.kill()
    rec = Recording.open(str(path))
    assert rec.rss_threshold == 4096
    grew = [e for _, e in rec.events() if e.event == ev.RSS_CHANGED and e.start == start]
    assert [e.delta for e in grew] == [32 << 10], grew


def test_an_interval_longer_than_the_duration_still_records_the_duration(tmp_path, sleeper):
    # It stopped after the first sample (0.1 s) and said the duration had run out.
    path = tmp_path / "r.jsonl.gz"
    out = record("record", sleeper.pid, "-o", path, "--interval", "3600", "--duration", "1s",
                 cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    rec = Recording.open(str(path))
    assert len(rec) == 2 and rec.end_reason == "duration"
    assert 0.9 <= rec.time_of(1) - rec.time_of(0) <= 2.0
