"""Shared helpers for the TUI tests: the fixture proc tree and ways to drive the app.

- ``TUI_PROC``: tests/fixtures/tui_proc, recorded from live processes (see record.py
  there): 4242 a C program (heap, 1 MiB mmap, 2 threads), 4343 a Python interpreter
  with many libraries, 4444 ``secretd`` owned by uid 65534, 2 a kernel thread.
- ``fixture_procfs``: a ProcFS on that tree.
- ``deny_pids(*pids)``: makes opening those processes' maps fail with EACCES, as the
  kernel answers for another user's process (as root, file modes cannot simulate it).
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from vmtop.procfs.reader import ProcFS

if TYPE_CHECKING:
    from vmtop.record.reader import Recording

TUI_PROC = Path(__file__).resolve().parent.parent / "fixtures" / "tui_proc"
FIXTURE_PIDS = (4242, 4343, 4444)
DENIED_PID = 4444


@pytest.fixture
def fixture_procfs() -> ProcFS:
    return ProcFS(str(TUI_PROC))


@pytest.fixture
def deny_pids(monkeypatch):
    """``deny_pids(*pids)``: the kernel refuses to open those processes' maps."""
    import vmtop.procfs.processes as processes

    real_open = processes.open_maps

    def install(*pids: int) -> None:
        denied = {str(p) for p in pids}

        def open_maps(path: str) -> None:
            if os.path.basename(os.path.dirname(path)) in denied:
                raise PermissionError(errno.EACCES, "Permission denied", path)
            real_open(path)

        monkeypatch.setattr(processes, "open_maps", open_maps)

    return install


def rendered_text(widget, width: int = 200) -> str:
    """What a Static shows (Rich tables and Text included), as plain text."""
    from rich.console import Console

    console = Console(width=width, record=True, file=open(os.devnull, "w"), color_system=None)
    console.print(widget.content)
    return console.export_text()


async def settle(pilot, rounds: int = 3) -> None:
    """Let workers finish and their results reach the screen."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@pytest.fixture(autouse=True)
def copy_taken_at_a_fixed_time(monkeypatch):
    """A copied tree's "taken HH:MM:SS" comes from its files' mtimes, which a checkout
    sets: pin it, so that screens and SVG snapshots are the same in every clone."""
    import vmtop.tui.sources as sources

    monkeypatch.setattr(sources, "copy_time", lambda procfs, pid: 1_700_000_000.0)


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Times on screen in UTC, so SVG snapshots and asserted clocks are the same anywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def written_recording(path, snapshots) -> Recording:
    """``snapshots`` written to ``path`` by the real writer, each with the events the
    diff gives against the one before (a keyframe every 8 samples), and opened."""
    from vmtop.model import diff
    from vmtop.record.reader import Recording
    from vmtop.record.writer import RecordingWriter

    writer = RecordingWriter(str(path), interval=1.0, keyframe_every=8)
    prev = None
    for snap in snapshots:
        writer.write_sample(snap, diff.diff_snapshots(prev, snap) if prev else [])
        prev = snap
    writer.close()
    return Recording.open(str(path))
