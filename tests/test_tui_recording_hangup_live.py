"""End to end in a real terminal: a recording started with R in ``vmtop PID`` ends whole,
with its end mark, when the terminal goes away or vmtop is asked to end.

tmux runs ``vmtop --interval 0.2 PID`` on a C program that maps and unmaps pages all the
time (tests/c/map_churn.c); R starts the recording; once the file holds samples, the
terminal goes: the tmux session is killed (tmux hangs the pane up: SIGHUP), or SIGHUP or
SIGTERM is sent to vmtop. Before, Textual left both signals to their default action:
vmtop died at once and the file replayed as "recording cut short: it has no end mark".

Ground truth is the recording reader (``Recording.open``: the end mark's reason, no
notes of damage or of a cut) and ``vmtop replay FILE --events``, which says "cut short"
on stderr for a file without its end mark; the exit status is the shell's ``$?`` (128 +
the signal's number). Under ``nohup`` (SIGHUP ignored from the start) a hangup does not
stop the recording. A private tmux socket is used and its server killed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, proc_state, run_vmtop

from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording

pytestmark = [
    pytest.mark.live,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

INTERVAL = "0.2"
SAMPLES_FIRST = 3  # in the file before the terminal goes
GONE_TIMEOUT = 30.0  # vmtop ends within its exit grace (5 s) after a signal; CI is slow


class Pane:
    """One tmux session on a private server, running one command."""

    def __init__(self, name: str) -> None:
        self.socket = f"vmtop-hup-{os.getpid()}-{name}"

    def tmux(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {result.stderr}")
        return result.stdout

    def start(self, command: str) -> None:
        self.tmux(
            "new-session", "-d", "-s", "hup", "-x", "160", "-y", "48", "-c", str(REPO), command
        )

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "hup", *keys)

    def capture(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "hup", check=False)

    def kill_session(self) -> None:
        self.tmux("kill-session", "-t", "hup")

    def kill_server(self) -> None:
        self.tmux("kill-server", check=False)


def wait_until(check, timeout: float, what: str, shown=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:g}s\n{shown()}")
        time.sleep(0.1)


def samples_in(path: Path) -> int:
    """Complete samples the reader finds in the file so far (0: not even one)."""
    try:
        return len(Recording.open(str(path)))
    except (RecordingError, OSError):
        return 0


def gone(pid: int) -> bool:
    return proc_state(pid) in (None, "Z")


class TuiRecording:
    """``vmtop --interval 0.2 PID`` in a tmux pane, recording with R: its pid, the
    recording's path, and the exit status the pane's shell writes when it ends."""

    def __init__(self, tmp_path: Path, target: int, name: str, *, nohup: bool = False):
        self.rec_dir = tmp_path / "recordings"
        self.rec_dir.mkdir()
        self.pid_file = tmp_path / "vmtop.pid"
        self.status_file = tmp_path / "status"
        home = tmp_path / "home"  # no user config file
        home.mkdir()
        argv = [
            "env", "-i", f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}", f"HOME={home}",
            "TERM=xterm-256color", f"VMTOP_RECORDINGS={self.rec_dir}",
            sys.executable, "-m", "vmtop", "--interval", INTERVAL, str(target),
        ]  # fmt: skip
        script = tmp_path / "run.sh"
        # (An ignored SIGHUP stays ignored across exec: what nohup does, without its
        # redirection of the terminal to nohup.out.)
        script.write_text(
            ("trap '' HUP\n" if nohup else "")
            + f"sh -c 'echo $$ > {shlex.quote(str(self.pid_file))}; exec \"$@\"' vmtop "
            + shlex.join(argv)
            + f"\necho $? > {shlex.quote(str(self.status_file))}\n"
        )
        self.pane = Pane(name)
        self.pane.start(f"sh {shlex.quote(str(script))}")
        self.pid = int(
            wait_until(
                lambda: self.pid_file.exists() and self.pid_file.read_text().strip(),
                20,
                "pid file",
            )
        )

    def record(self) -> Path:
        """Press R once the screen is up; the recording once it holds a few samples."""
        pane = self.pane
        wait_until(lambda: "live every" in pane.capture(), 60, "process screen", pane.capture)
        pane.send("R")
        wait_until(lambda: "REC vmtop-" in pane.capture(), 30, "REC in the header", pane.capture)
        files = wait_until(lambda: list(self.rec_dir.iterdir()), 20, "recording file")
        assert len(files) == 1, files
        path = files[0]
        wait_until(
            lambda: samples_in(path) >= SAMPLES_FIRST,
            60,
            f"{SAMPLES_FIRST} samples in {path}",
            pane.capture,
        )
        return path

    def status(self) -> int:
        text = wait_until(
            lambda: self.status_file.exists() and self.status_file.read_text().strip(),
            GONE_TIMEOUT,
            "exit status from the pane's shell",
            self.pane.capture,
        )
        return int(text)

    def close(self) -> None:
        if not gone(self.pid):
            os.kill(self.pid, signal.SIGKILL)
        self.pane.kill_server()


@pytest.fixture
def churn(spawn, compile_c):
    child = spawn([str(compile_c("map_churn.c"))])
    assert child.read_line() == "READY"
    return child


def assert_whole(path: Path, seen: int) -> None:
    recording = Recording.open(str(path))
    assert recording.notes == [], recording.notes
    assert recording.end_reason == "stopped"
    assert len(recording) >= seen
    out = run_vmtop("replay", path, "--events")
    said = out.stderr.decode(errors="replace")
    assert out.returncode == 0 and "cut short" not in said and "Traceback" not in said, said
    assert out.stdout, "no events replayed"  # map_churn maps and unmaps all the time


def test_killing_the_tmux_session_keeps_the_recordings_end_mark(tmp_path, churn):
    tui = TuiRecording(tmp_path, churn.pid, "kill")
    try:
        path = tui.record()
        seen = samples_in(path)
        tui.pane.kill_session()  # the terminal gone: tmux hangs the pane up
        wait_until(lambda: gone(tui.pid), GONE_TIMEOUT, "end of vmtop")
        assert_whole(path, seen)
    finally:
        tui.close()


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_signal_ends_the_tui_with_the_recordings_end_mark(tmp_path, churn, signum):
    tui = TuiRecording(tmp_path, churn.pid, signum.name)
    try:
        path = tui.record()
        seen = samples_in(path)
        os.kill(tui.pid, signum)
        assert tui.status() == 128 + signum
        assert_whole(path, seen)
    finally:
        tui.close()


def test_under_nohup_a_hangup_does_not_stop_the_recording(tmp_path, churn):
    tui = TuiRecording(tmp_path, churn.pid, "nohup", nohup=True)
    try:
        path = tui.record()
        os.kill(tui.pid, signal.SIGHUP)
        seen = samples_in(path)
        # Still recording: more samples come after the hangup.
        wait_until(lambda: samples_in(path) >= seen + 3, 60, "samples after the SIGHUP")
        assert not gone(tui.pid) and "REC vmtop-" in tui.pane.capture()
        seen = samples_in(path)
        os.kill(tui.pid, signal.SIGTERM)
        assert tui.status() == 128 + signal.SIGTERM
        assert_whole(path, seen)
    finally:
        tui.close()
