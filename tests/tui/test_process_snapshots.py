"""SVG snapshots of the process screen on the recorded fixture (tests/fixtures/process_screen).

Deterministic: the proc tree is frozen (or rewritten by the test between two samples),
the app's clock is fixed, the time zone is UTC, sampling is paused after the first
sample (later samples only by `r`), and the smaps read cost shown in the header is
pinned. Update after a deliberate change with
``pytest tests/tui/test_process_snapshots.py --snapshot-update``, and look at the SVGs.
"""

from __future__ import annotations

import pytest

import vmtop.tui.sampler as sampler_module

from .test_process_screen import (
    HEAP,
    ScreenApp,
    add_anon_region,
    copy_fixture,
    grow_heap,
    remove_region,
)

SIZE = (160, 48)


@pytest.fixture(autouse=True)
def pinned_read_cost(monkeypatch):
    """The header shows what the last smaps read cost: make it the same on every run."""
    real = sampler_module.take_snapshot

    def take_snapshot(*args, **kwargs):
        return real(*args, **kwargs)._replace(
            read_seconds=0.0008, parse_seconds=0.0004, cpu_seconds=0.0012
        )

    monkeypatch.setattr(sampler_module, "take_snapshot", take_snapshot)


async def settled(pilot) -> None:
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def test_process_screen_compact(snap_compare):
    assert snap_compare(ScreenApp(), terminal_size=SIZE, run_before=settled)


def test_process_screen_true_scale_zoomed_on_heap(snap_compare):
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("m", *"jjjjj", *"zz")  # the program and heap, then the heap
        await pilot.pause()

    assert snap_compare(ScreenApp(), terminal_size=SIZE, run_before=run_before)


def test_process_screen_grouped_by_object(snap_compare):
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("o", "s", "s")  # grouped, by RSS
        await pilot.press("enter")  # open the biggest group
        await pilot.pause()

    assert snap_compare(ScreenApp(), terminal_size=SIZE, run_before=run_before)


def test_process_screen_after_changes(snap_compare, tmp_path):
    """The heap grew, a 1 MiB anonymous mapping appeared and a small one was unmapped:
    highlighted rows, markers and a trace in the bar, events in the log."""
    root = copy_fixture(tmp_path)

    async def run_before(pilot):
        await settled(pilot)
        grow_heap(root, HEAP, HEAP[1] + 0x21000, rss_kb=172)
        add_anon_region(root, 0x7FA857000000, 0x7FA857100000, rss_kb=1024)
        remove_region(root, 0x7FA858F6C000)
        pilot.app.clock.now += 2
        await pilot.press("r")
        await settled(pilot)

    assert snap_compare(ScreenApp(root), terminal_size=SIZE, run_before=run_before)
