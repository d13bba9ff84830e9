"""A thread ID given where a PID is asked for, on a real process: snapshot, where,
record and watch read the thread's process, as `pmap TID` does.

Ground truth: what tests/c/thread_ends_on_input.c prints (its PID, its thread's TID
from gettid), the kernel's /proc/TID/status (Tgid) and stat (start times), and pmap.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import VMTOP, run_vmtop
from vmtop.record.reader import Recording

pytestmark = pytest.mark.live

SOURCE = "thread_ends_on_input.c"


def start_time(path: str) -> int:
    data = Path(path).read_bytes()
    return int(data[data.rfind(b")") + 2 :].split()[22 - 3])


@pytest.fixture
def threaded(compile_c, spawn):
    """The running program, its PID and its other thread's TID (as it printed them)."""
    child = spawn([compile_c(SOURCE, "-pthread")], stdin=subprocess.PIPE)
    lines = child.read_until("READY")
    pid = int(next(line.split()[1] for line in lines if line.startswith("PID ")))
    tid = int(next(line.split()[1] for line in lines if line.startswith("THREAD ")))
    assert pid == child.pid and tid != pid
    status = Path(f"/proc/{tid}/status").read_text()
    assert f"\nTgid:\t{pid}\n" in status  # the kernel: a thread of the process
    assert start_time(f"/proc/{tid}/stat") != start_time(f"/proc/{pid}/stat")
    return child, pid, tid


def test_snapshot_of_a_thread_shows_the_process(threaded):
    child, pid, tid = threaded
    result = run_vmtop("snapshot", tid, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["pid"], document["start_time"]) == (pid, start_time(f"/proc/{pid}/stat"))
    assert result.stderr.decode().count(f"{tid} is a thread of PID {pid}") == 1


@pytest.mark.skipif(shutil.which("pmap") is None, reason="pmap is not installed")
def test_snapshot_header_of_a_thread_is_pmaps(threaded):
    child, pid, tid = threaded
    pmap = subprocess.run(["pmap", str(tid)], capture_output=True, check=True)
    header = pmap.stdout.decode().splitlines()[0]
    assert header.startswith(f"{pid}:")  # pmap names the process, not the thread
    result = run_vmtop("snapshot", tid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[0] == header


def test_where_in_a_thread_is_in_the_process(threaded):
    child, pid, tid = threaded
    result = run_vmtop("where", tid, "0x1000", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pid"] == pid


def test_recording_of_a_thread_is_the_processs(threaded, tmp_path):
    child, pid, tid = threaded
    path = tmp_path / "thread.jsonl.gz"
    result = run_vmtop("record", tid, "-o", path, "--count", "2", "--interval", "0.2")
    assert result.returncode == 0, result.stderr
    recording = Recording.open(str(path))
    assert recording.pid == pid
    assert recording.header["process_start_time"] == start_time(f"/proc/{pid}/stat")


def test_watch_of_a_thread_goes_on_after_the_thread_ends(threaded, spawn):
    """The thread ends, the process goes on: watch keeps watching it, and reports the
    region the process maps after."""
    child, pid, tid = threaded
    watch = spawn(
        [*VMTOP, "watch", str(tid), "--json", "--interval", "0.2"], stderr=subprocess.STDOUT
    )
    said = watch.read_until("vmtop: watching PID", timeout=60)
    child.proc.stdin.write(b"\n")
    child.proc.stdin.flush()
    child.read_until("JOINED")
    address = int(child.read_until("MAPPED")[-1].split()[1], 16)
    deadline = time.monotonic() + 60
    while True:
        line = watch.read_line(timeout=max(0.1, deadline - time.monotonic()))
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        assert event.get("event") != "exited", f"watch ended with the thread: {line}"
        if event.get("event") == "mapped" and int(event["start"], 16) <= address:
            if address < int(event["end"], 16):
                break
    assert f"vmtop: watching PID {pid} " in said[-1]
    assert any(f"{tid} is a thread of PID {pid}" in line for line in said)
