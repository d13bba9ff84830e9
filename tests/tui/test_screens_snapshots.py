"""SVG snapshots of the picker, region detail and help on the fixture tree.

Deterministic: the fixture tree is frozen, the app's clock is fixed, the time zone is
UTC, the picker does not refresh, and the page strip says pagemap is not available
(a copied tree has none). Update after a deliberate change with
``pytest tests/tui/test_screens_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.tui.app import VmtopApp
from vmtop.tui.screens.detail import RegionDetailScreen
from vmtop.tui.screens.picker import PickerScreen

from .conftest import TUI_PROC

SIZE = (160, 48)
FIXED_TIME = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


class FrozenPickerApp(VmtopApp):
    def first_screen(self):
        return PickerScreen(self.procfs, live=False)


class DetailApp(VmtopApp):
    def first_screen(self):
        snapshot = take_snapshot(self.procfs, 4242)._replace(taken_at=FIXED_TIME)
        heap = next(r for r in snapshot.regions if r.path == "[heap]")
        history = [(FIXED_TIME - 30 + i * 2, 4096 * (3 + i)) for i in range(16)]
        return RegionDetailScreen(
            procfs=self.procfs, snapshot=snapshot, region=heap, rss_history=history, live=False
        )


async def settled(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def test_picker_snapshot(snap_compare, deny_pids):
    deny_pids(4444)
    app = FrozenPickerApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME)
    assert snap_compare(app, terminal_size=SIZE, run_before=settled)


def test_picker_permission_denied_snapshot(snap_compare, deny_pids, monkeypatch):
    # The dialog's advice depends on who runs vmtop: the snapshot is root's.
    import os

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    deny_pids(4444)
    app = FrozenPickerApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME)
    assert snap_compare(app, terminal_size=SIZE, press=["down", "enter"], run_before=settled)


def test_region_detail_snapshot(snap_compare):
    app = DetailApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME)
    assert snap_compare(app, terminal_size=SIZE, run_before=settled)


def test_help_snapshot(snap_compare):
    app = FrozenPickerApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME)
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"], run_before=settled)
