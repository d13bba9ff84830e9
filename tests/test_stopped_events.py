"""A process stopped by a signal (SIGSTOP, Ctrl-Z) and continued: a ``stopped`` and a
``continued`` event, from the state letter of two snapshots (the model), through the
TUI's sampler when the map did not change at all, and from `vmtop watch` on a real
process stopped and continued while it is watched.

Before, nothing was said: a stopped process looks exactly like an idle one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from conftest import VMTOP, wait_for_state
from helpers_diff import base_regions, snapshot

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.model.process_events import state_event


def in_state(snap, state: str, at: float):
    return snap._replace(info=snap.info._replace(state=state), taken_at=at)


def test_stopped_then_continued_are_events_of_the_whole_process():
    running = snapshot(base_regions())
    stopped = in_state(running, "T", running.taken_at + 1)
    again = in_state(running, "R", running.taken_at + 2)
    (event,) = diff_snapshots(running, stopped)
    assert event.event == ev.STOPPED and event.event in ev.WHOLE_PROCESS
    assert (event.start, event.end, event.size, event.delta) == (0, 0, 0, 0)
    assert event.time == stopped.taken_at
    assert event.detail.startswith("process 4321 (demo) was stopped")
    (event,) = diff_snapshots(stopped, again)
    assert event.event == ev.CONTINUED and event.detail == "process 4321 (demo) was continued"
    assert diff_snapshots(stopped, in_state(stopped, "T", stopped.taken_at + 5)) == []


def test_a_tracing_stop_is_no_event():
    """strace stops its tracee at every system call: samples would catch it stopped and
    running by turns."""
    running = snapshot(base_regions())
    assert state_event(running, in_state(running, "t", running.taken_at + 1)) is None
    assert state_event(in_state(running, "t", 0), running) is None


def test_the_sampler_says_it_when_the_map_did_not_change(tmp_path, monkeypatch):
    """The sampler does not diff a map that came back as the same region objects; the
    state changed all the same."""
    import vmtop.tui.sampler as smp

    first = snapshot(base_regions())
    states = iter(["S", "S", "T", "T", "S"])  # the first sample reads maps, then smaps

    def take(procfs, pid, **kwargs):
        return in_state(first, next(states), 0)

    class NoThreads:
        def task_ids(self, pid):
            return [pid]

    monkeypatch.setattr(smp, "take_snapshot", take)
    sampler = smp.Sampler(NoThreads(), 4321, clock=lambda: 1_700_000_000.0)
    said = [[e.event for e in sampler.sample().events] for _ in range(4)]
    assert said == [[], [ev.STOPPED], [], [ev.CONTINUED]]


def test_watch_prints_stopped_and_continued_for_a_real_process():
    sleeper = subprocess.Popen(["sleep", "60"])
    watch = subprocess.Popen(
        [*VMTOP, "watch", str(sleeper.pid), "--json", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # vmtop starts and takes its first snapshot
        os.kill(sleeper.pid, signal.SIGSTOP)
        wait_for_state(sleeper.pid, "T")
        time.sleep(1.0)
        os.kill(sleeper.pid, signal.SIGCONT)
        wait_for_state(sleeper.pid, "SR")
        time.sleep(1.0)
        sleeper.kill()
        out, err = watch.communicate(timeout=30)
    finally:
        sleeper.kill()
        watch.kill()
        sleeper.wait()
    lines = [json.loads(line) for line in out.splitlines()[1:]]
    names = [line["event"] for line in lines]
    assert names[:2] == ["stopped", "continued"] and names[-1] == "exited", (names, err)
    stopped = lines[0]
    assert f"process {sleeper.pid} (sleep) was stopped" in stopped["detail"]
    assert "start" not in stopped and "end" not in stopped  # about the whole process
