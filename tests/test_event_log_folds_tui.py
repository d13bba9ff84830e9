"""The TUI's event log and its event detail say the folds of vmtop.model.event_runs as
they are: a line of regions alike sample after sample shows its samples ("×6") beside
its regions ("in 4 regions"); a dlopen's libraries together are not "one object's";
pages given other permissions alike say so; and the live sampler hands the log which
library a dlopen opened (their DT_NEEDED, read in its worker), as `vmtop watch` does.
"""

from __future__ import annotations

import subprocess

import pytest
from test_library_loads import NEEDS, three
from test_library_loads_live import built_libraries_that_need, command
from test_sample_fold import grown, protected

from vmtop.model import event_runs
from vmtop.procfs.reader import ProcFS
from vmtop.tui.sampler import Sampler
from vmtop.tui.screens.event_detail import event_text
from vmtop.tui.widgets.event_log import _count_and_regions, event_segments


def folded(samples) -> list[event_runs.EventRun]:
    runs: list[event_runs.EventRun] = []
    for sample in samples:
        event_runs.add_events(runs, sample, 100)
    return runs


def line_text(run: event_runs.EventRun) -> str:
    return "".join(s.text for s in event_segments(run.event, 12, None, *_count_and_regions(run)))


def test_regions_alike_sample_after_sample_show_their_samples_and_regions():
    (run,) = folded([grown(step) for step in range(6)])
    text = line_text(run)
    assert "×6 in 4 regions" in text, text
    detail = event_text(run.event, run).plain
    assert "6 samples, since" in detail
    assert "alike in this sample" not in detail  # (six of them)
    # One sample alone: its regions, no count.
    (one,) = folded([grown(0)])
    assert "×" not in line_text(one) and "in 4 regions" in line_text(one)
    assert "alike in this sample" in event_text(one.event, one).plain


def test_libraries_loaded_together_are_not_said_as_one_objects():
    (run,) = folded([three()])
    assert run.objects == 3
    detail = event_text(run.event, run).plain
    assert "one object's" not in detail
    assert "3 objects' regions of every kind" in " ".join(detail.split())


def test_pages_given_other_permissions_alike_say_so():
    runs = folded([protected()])
    (alike,) = [r for r in runs if r.regions > 1 and r.event.event == "protection_changed"]
    detail = " ".join(event_text(alike.event, alike).plain.split())
    assert "500 regions given other permissions alike in this sample" in detail


@pytest.mark.live
def test_the_sampler_hands_the_log_the_library_a_dlopen_opened(compile_c, tmp_path):
    """Ground truth: the loader was asked for libvmtopneedstop.so, which needs the two
    others (built so; test_library_loads_live checks them against readelf)."""
    top, needed = built_libraries_that_need(tmp_path)
    loader = compile_c("dlopen_dlclose.c", "-ldl")
    child = subprocess.Popen(
        [str(loader), top], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        sampler = Sampler(ProcFS(), child.pid)
        sampler.sample()
        command(child, "load", "loaded")
        result = sampler.sample()
        assert result.needs is not None and set(result.needs) >= {top, *needed}
        assert result.needs[top].needed and not result.needs[needed[0]].needed
        runs: list[event_runs.EventRun] = []
        event_runs.add_events(runs, result.events, 100, result.needs)
        (load,) = [r for r in runs if r.object_load]
        assert load.objects == 3 and load.event.path == top
        assert load.event.detail.startswith("dlopen of libvmtopneedstop.so ")
        # Nothing loaded: nothing asked.
        assert sampler.sample().needs is None
    finally:
        child.stdin.close()
        child.wait(20)


def test_needs_stay_known_in_the_log_widget():
    """EventLog.add_events hands ``needs`` on: the line names the one opened."""
    from vmtop.tui.widgets.event_log import EventLog

    log = EventLog()
    log.add_events(three(), NEEDS)
    (run,) = log.runs
    assert run.event.detail.startswith("dlopen of libtop.so")
