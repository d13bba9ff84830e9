"""End to end in a real terminal: tmux runs ``vmtop demo malloc`` at 160×48.

Within ten seconds the pane must show the ``[heap]`` row, a heap-growth event and the
address bar's axis; ``g`` + the heap's start (read from /proc/PID/maps, not from vmtop)
+ Enter selects the heap row, Enter shows its smaps fields; ``q`` (as many as needed)
leaves a clean shell prompt, the terminal out of the alternate screen, no traceback,
and no demo process behind. A private tmux socket is used and its server killed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.live, pytest.mark.slow]

VMTOP = Path(sys.executable).parent / "vmtop"
PROMPT = "vmtop-e2e$ "
PROMPT_SHOWN = PROMPT.rstrip()  # capture-pane drops trailing spaces
WIDTH, HEIGHT = 160, 48


def demo_available() -> bool:
    try:
        import vmtop.commands.demo  # noqa: F401
        import vmtop.demo.runner  # noqa: F401
    except ImportError:
        return False
    return True


class Tmux:
    def __init__(self) -> None:
        self.socket = f"vmtop-test-{os.getpid()}"

    def run(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {result.stderr}")
        return result.stdout

    def start(self) -> None:
        env = f"PS1='{PROMPT}' TERM=xterm-256color"
        self.run(
            "new-session", "-d", "-s", "e2e", "-x", str(WIDTH), "-y", str(HEIGHT),
            f"env -i PATH=/usr/bin:/bin HOME=/tmp {env} bash --norc --noprofile",
        )  # fmt: skip
        self.wait_for(lambda text: PROMPT_SHOWN in text, 5, "the shell prompt")

    def send(self, *keys: str) -> None:
        self.run("send-keys", "-t", "e2e", *keys)

    def capture(self) -> str:
        return self.run("capture-pane", "-p", "-t", "e2e")

    def pane_pid(self) -> int:
        return int(self.run("display-message", "-p", "-t", "e2e", "#{pane_pid}").strip())

    def flag(self, name: str) -> str:
        return self.run("display-message", "-p", "-t", "e2e", f"#{{{name}}}").strip()

    def wait_for(self, check, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.capture()
            if check(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"no {what} within {timeout}s; the pane shows:\n{text}")

    def kill(self) -> None:
        self.run("kill-server", check=False)


def has_axis(text: str) -> bool:
    """A line of the bar's axis: only addresses (two or more) and spaces."""
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) >= 2 and all(re.fullmatch(r"(0x)?[0-9a-f_]{6,}", t) for t in tokens):
            return True
    return False


def descendants(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def heap_start(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
            if line.endswith("[heap]"):
                return int(line.split("-", 1)[0], 16)
    except OSError:
        return None
    return None


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not VMTOP.exists(), reason=f"no vmtop console script at {VMTOP}")
@pytest.mark.skipif(not demo_available(), reason="the demo command is not there yet")
def test_vmtop_demo_malloc_in_tmux():
    import psutil

    tmux = Tmux()
    demo_pids: list[int] = []
    try:
        tmux.start()
        shell = tmux.pane_pid()
        tmux.send(f"{VMTOP} demo malloc", "Enter")
        screen = tmux.wait_for(
            lambda t: "[heap]" in t and "heap_grew" in t and has_axis(t),
            10,
            "[heap] row, heap_grew event and bar axis",
        )
        assert "Traceback" not in screen

        vmtop_procs = [c.pid for c in psutil.Process(shell).children()]
        assert len(vmtop_procs) == 1, f"expected vmtop alone under the shell: {vmtop_procs}"
        assert "demo" in _cmdline(vmtop_procs[0])
        demo_pids = descendants(vmtop_procs[0])
        assert demo_pids, "the demo process was not found under vmtop"
        heap_owner = next((p for p in demo_pids if heap_start(p) is not None), None)
        assert heap_owner is not None
        start = heap_start(heap_owner)

        tmux.send("g")
        time.sleep(0.3)
        tmux.send(f"{start:#x}", "Enter")
        time.sleep(0.8)
        tmux.send("Enter")
        detail = tmux.wait_for(
            lambda t: "smaps fields" in t and "Private_Dirty" in t and "Rss" in t,
            5,
            "smaps fields of the heap",
        )
        assert "[heap]" in detail.splitlines()[0]  # the detail is about the heap

        for _ in range(4):
            tmux.send("q")
            time.sleep(0.7)
            text = tmux.capture()
            if text.rstrip().endswith(PROMPT_SHOWN):
                break
        text = tmux.wait_for(
            lambda t: t.rstrip().endswith(PROMPT_SHOWN), 5, "the shell prompt after q"
        )
        assert "Traceback" not in text
        assert tmux.flag("alternate_on") == "0", "the terminal is still in the alternate screen"
        assert tmux.flag("cursor_flag") == "1", "the cursor was left hidden"

        deadline = time.monotonic() + 5
        alive = demo_pids
        while time.monotonic() < deadline:
            alive = [p for p in demo_pids if _alive(p)]
            if not alive:
                break
            time.sleep(0.1)
        assert not alive, f"demo processes left behind: {alive}"
        assert not descendants(shell), "vmtop left processes under the shell"
    finally:
        tmux.kill()
        for pid in demo_pids:
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass


def _cmdline(pid: int) -> list[str]:
    import psutil

    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(shutil.which("setsid") is None, reason="setsid is not installed")
@pytest.mark.skipif(not VMTOP.exists(), reason=f"no vmtop console script at {VMTOP}")
def test_vmtop_ends_when_its_terminal_goes_away(spawn):
    """A TUI with no controlling terminal (setsid, or left behind by su) gets no SIGHUP
    when the terminal closes: it must notice, not spin on the end of input forever."""
    target = spawn(["sleep", "120"])
    tmux = Tmux()
    vmtop_pid = None
    try:
        tmux.start()
        shell = tmux.pane_pid()
        tmux.send(f"setsid -w {VMTOP} {target.pid}", "Enter")
        tmux.wait_for(lambda t: "Regions" in t and "sleep" in t, 10, "the process screen")
        found = [p for p in descendants(shell) if str(VMTOP) in " ".join(_cmdline(p))]
        assert found, "vmtop was not found under the shell"
        vmtop_pid = found[-1]
        tmux.kill()  # the terminal goes away
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and _alive(vmtop_pid):
            time.sleep(0.2)
        assert not _alive(vmtop_pid), "vmtop kept running after its terminal went away"
    finally:
        tmux.kill()
        if vmtop_pid is not None and _alive(vmtop_pid):
            os.kill(vmtop_pid, 9)
