"""A demo's narration is timed no later than the sample it came with: the log and
``replay --events`` print it before the sample's events, so a later time stepped back."""

from __future__ import annotations

from conftest import PROC_FIXTURES

from vmtop.model import events as ev
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.tui.sampler import SampleResult
from vmtop.tui.sources import with_narration


class _Demo:
    def read_narration(self):
        return ["mallocing 200 KiB: above the mmap threshold\n"]


def test_narration_is_timed_no_later_than_the_samples_events():
    snap = take_snapshot(ProcFS(str(PROC_FIXTURES)), 7925)
    mapped = ev.Event(snap.taken_at, ev.MAPPED, 0x1000, 0x2000, "anon", 0x1000, 0x1000)
    result = SampleResult(snap, None, (mapped,), {}, ())
    # The narration is read a moment after the sample was: the clock has moved on.
    got = with_narration(result, _Demo(), clock=lambda: snap.taken_at + 0.003).events
    assert [e.event for e in got] == [ev.NOTE, ev.MAPPED]
    assert got[0].detail == "mallocing 200 KiB: above the mmap threshold"
    times = [e.time for e in got]
    assert times == sorted(times)


def test_narration_without_a_snapshot_keeps_the_clocks_time():
    result = SampleResult(None, None, (), {}, ())
    got = with_narration(result, _Demo(), clock=lambda: 1234.5).events
    assert [(e.event, e.time) for e in got] == [(ev.NOTE, 1234.5)]
