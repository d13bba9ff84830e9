"""The app's ending (the terminal seen gone, a SIGHUP or SIGTERM) closes a recording
started with R before anything else: the grace timer that ends the process a few
seconds later even so (the last writes to a terminal that is gone may block) starts
with the end mark already on disk. Before, the timer started first and the recording
was left to the screens' unmount, which a stuck exit never reached.

Driven with the pilot on a real process (tests/c/map_churn.c); the terminal's poll and
the timer are replaced (the pilot has no terminal, and the timer would end pytest).
Ground truth is the recording reader at the moment the timer is started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from vmtop.config import Settings
from vmtop.procfs.reader import ProcFS
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.tui import app as app_module
from vmtop.tui.app import TERMINAL_GONE, VmtopApp

pytestmark = pytest.mark.live


def whole_or_why(path) -> str:
    """ "whole", or what the reader says is wrong with the file now."""
    try:
        rec = Recording.open(str(path))
    except RecordingError as e:
        return str(e)
    if rec.end_reason is None or rec.notes:
        return "; ".join(rec.notes) or "no end mark"
    return "whole"


async def recording_with_samples(pilot, folder, count: int, timeout: float = 60.0):
    """Press R once the process screen shows a sample; the file once it holds ``count``."""
    deadline = time.monotonic() + timeout
    while getattr(pilot.app.screen, "snapshot", None) is None:
        assert time.monotonic() < deadline, f"no sample on the screen in {timeout}s"
        await asyncio.sleep(0.1)
    await pilot.press("R")
    await pilot.pause()
    assert pilot.app.screen.is_recording
    while True:
        files = list(folder.glob("vmtop-*.jsonl.gz"))
        if files:
            try:
                if len(Recording.open(str(files[0]))) >= count:
                    return files[0]
            except RecordingError:
                pass
        assert time.monotonic() < deadline, f"no {count} samples recorded in {timeout}s"
        await asyncio.sleep(0.1)


async def test_the_end_mark_is_out_before_the_exit_grace_starts(
    tmp_path, monkeypatch, spawn, compile_c
):
    child = spawn([str(compile_c("map_churn.c"))])
    assert child.read_line() == "READY"
    monkeypatch.setenv("VMTOP_RECORDINGS", str(tmp_path))
    at_grace: list[tuple[int, str]] = []
    monkeypatch.setattr(
        app_module,
        "exit_soon_even_so",
        lambda code, *a: at_grace.append((code, whole_or_why(path))),
    )
    monkeypatch.setattr(app_module, "terminal_gone", lambda fd: True)
    app = VmtopApp(ProcFS(), child.pid, settings=Settings(interval=0.1))
    async with app.run_test(size=(160, 48)) as pilot:
        path = await recording_with_samples(pilot, tmp_path, 3)
        app._terminal_fd = -1  # what on_mount keeps in a real terminal
        app._check_terminal()
        await pilot.pause()
    assert at_grace == [(TERMINAL_GONE, "whole")]
    assert app.return_code == TERMINAL_GONE
    assert whole_or_why(path) == "whole"


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
async def test_a_signal_ends_the_app_with_the_end_mark_out_first(
    signum, tmp_path, monkeypatch, spawn, compile_c
):
    child = spawn([str(compile_c("map_churn.c"))])
    assert child.read_line() == "READY"
    monkeypatch.setenv("VMTOP_RECORDINGS", str(tmp_path))
    at_grace: list[tuple[int, str]] = []
    monkeypatch.setattr(
        app_module,
        "exit_soon_even_so",
        lambda code, *a: at_grace.append((code, whole_or_why(path))),
    )
    app = VmtopApp(ProcFS(), child.pid, settings=Settings(interval=0.1))
    loop = asyncio.get_running_loop()
    before = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM)}
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            path = await recording_with_samples(pilot, tmp_path, 3)
            # What on_mount does in a real terminal (not in the pilot's headless run).
            app._end_on_signals()
            # Sent only once it is caught: without a handler the signal ended pytest.
            assert signal.getsignal(signum) not in (signal.SIG_DFL, signal.SIG_IGN)
            os.kill(os.getpid(), signum)
            deadline = time.monotonic() + 30
            while app.return_code is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
    finally:
        for s, handler in before.items():
            loop.remove_signal_handler(s)
            signal.signal(s, handler)
    assert at_grace == [(128 + signum, "whole")]
    assert app.return_code == 128 + signum
    assert whole_or_why(path) == "whole"


def test_a_hangup_ignored_from_the_start_stays_ignored():
    # nohup: the TUI goes on (and its recording with it) when the terminal hangs up.
    from vmtop.tui.terminal_watch import on_ending_signals

    loop = asyncio.new_event_loop()
    before = {s: signal.signal(s, signal.SIG_DFL) for s in (signal.SIGHUP, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        on_ending_signals(loop, lambda signum: None)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        loop.close()
        for s, handler in before.items():
            signal.signal(s, handler)
