"""`vmtop serve TID`: the browser's user is told, as the TUI's is, that the ID given is a
thread's and the process is shown instead.

The server resolves the thread to its process (as pmap does) and said so on its own
stderr only; each visitor's vmtop, given the process's PID, had nothing to say. The
tree: test_thread_of_process's (the recorded threads_ready process and one of its
threads as /proc shows a thread). The command serve hands textual-serve carries the
notice; run as a visitor's vmtop is (its arguments, through cli.main), the app shows
it on its screen; and in a real headless Chromium (tests/web/test_serve_browser.py's
helpers) the page shows it.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import time

import pytest

from tests.test_thread_of_process import NOTICE, PID, TID, serve_started, thread_tree
from vmtop import cli

SHOWN = f"{NOTICE}: showing the process"  # the TUI's words for `vmtop TID`


def served_command(root, monkeypatch, pid: int = TID) -> str:
    """The shell command `vmtop --proc-root ROOT serve PID` hands textual-serve."""
    return serve_started(root, monkeypatch, pid)["command"]


def test_serve_hands_its_visitors_the_notice(tmp_path, monkeypatch, capsys):
    command = served_command(thread_tree(tmp_path), monkeypatch)
    argv = shlex.split(command.removeprefix("exec "))
    assert argv[:3] == [sys.executable, "-m", "vmtop"]
    assert argv[-1] == str(PID)  # the process, as before
    at = argv.index("--notice")
    assert argv[at + 1] == SHOWN
    assert capsys.readouterr().err.count(NOTICE) == 1  # the server's own line, once
    # A process's own PID: nothing to say.
    plain = served_command(tmp_path, monkeypatch, PID)
    assert "--notice" not in shlex.split(plain) and plain.endswith(f" {PID}")


async def test_the_visitors_vmtop_shows_the_notice(tmp_path, monkeypatch):
    from textual.widgets._toast import Toast

    from vmtop.tui.app import VmtopApp

    root = thread_tree(tmp_path)
    command = served_command(root, monkeypatch)
    argv = shlex.split(command.removeprefix("exec "))[3:]  # (after python -m vmtop)
    opened = []
    monkeypatch.setattr(VmtopApp, "run", lambda self, *a, **k: opened.append(self))
    monkeypatch.setattr("vmtop.tui.app.freeze_startup_objects", lambda: None)
    # textual-serve gives it no terminal, and names its web driver (TEXTUAL_DRIVER):
    # the check for a terminal passes then.
    monkeypatch.setattr(cli, "no_terminal_reason", lambda **kwargs: None)
    assert cli.main(argv) == 0
    (app,) = opened
    assert app.pid == PID
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        deadline = time.monotonic() + 30
        while not any(SHOWN in str(toast.render()) for toast in app.screen.query(Toast)):
            assert time.monotonic() < deadline, "no notice on the screen in 30 s"
            await pilot.pause(0.1)


@pytest.mark.slow
def test_the_browser_shows_the_notice(tmp_path):
    pytest.importorskip("textual_serve", reason="vmtop[web] (textual-serve) is not installed")
    aiohttp = pytest.importorskip("aiohttp")
    from tests.web.cdp import TERMINAL_HOOK, Browser, find_chromium
    from tests.web.test_serve_browser import server_process

    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    root = thread_tree(tmp_path / "proc")
    config = tmp_path / "config"
    config.mkdir()

    async def drive(url: str) -> str:
        async with aiohttp.ClientSession() as session:
            page = await browser.page(session)
            await page.send("Page.enable")
            await page.send("Page.addScriptToEvaluateOnNewDocument", source=TERMINAL_HOOK)
            await page.send("Page.navigate", url=url)
            # The process screen, with the toast over it (the toast wraps its words).
            text = await page.wait_for_text(str(PID), "threads_ready", timeout=60)
            deadline = time.monotonic() + 20
            while "thread of PID" not in text and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                text = await page.screen_text()
            return text

    with server_process(config, "127.0.0.1", str(TID), proc_root=root) as (url, _proc):
        browser = Browser(binary, 1400, 900)
        browser.start()
        try:
            text = asyncio.run(drive(url))
        finally:
            browser.stop()
    words = " ".join(text.split())
    assert "thread of PID" in text, text
    assert f"{TID} is a" in words and f"PID {PID}" in words, text
