"""No terminal, no TUI: every TUI command without a terminal exits at once, status 2,
with one line on stderr pointing to the headless commands.

Before, `vmtop PID` with stdin /dev/null and stdout a file wrote escape codes into the
file and spun one thread at 100 % of a core for ever (`vmtop 99999999` too).
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

import pytest

from vmtop.terminal import no_terminal_reason

VMTOP = [sys.executable, "-m", "vmtop"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TUI_COMMANDS = [
    [],
    [str(os.getpid())],
    ["99999999"],
    ["--proc-root", "/proc", str(os.getpid())],
    ["demo"],
    ["demo", "malloc"],
    ["demo", "mmap"],
    ["demo", "stack"],
    ["demo", "threads"],
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TEXTUAL_DRIVER", None)
    env["TERM"] = "xterm-256color"  # (the pty is one; a CI runner's TERM may be dumb)
    return env


@pytest.fixture(scope="module")
def startup_seconds() -> float:
    """How long `vmtop --version` takes here: the interpreter and the CLI's imports,
    which the one second allowed to refuse comes on top of (the machine is shared)."""
    t0 = time.monotonic()
    subprocess.run([*VMTOP, "--version"], capture_output=True, cwd=REPO, check=True)
    return time.monotonic() - t0


def _run(args, stdin, stdout_path, startup: float) -> tuple[int, str, str, float]:
    with open(stdout_path, "wb") as out:
        t0 = time.monotonic()
        result = subprocess.run(
            [*VMTOP, *args],
            stdin=stdin,
            stdout=out,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env=_env(),
            timeout=startup + 10,
        )
        elapsed = time.monotonic() - t0
    with open(stdout_path, "rb") as f:
        written = f.read().decode()
    return result.returncode, result.stderr.decode(), written, elapsed


@pytest.mark.parametrize("args", TUI_COMMANDS, ids=lambda a: " ".join(a) or "picker")
def test_tui_command_without_terminal_exits_at_once(args, tmp_path, startup_seconds):
    with open(os.devnull, "rb") as devnull:
        code, err, written, elapsed = _run(args, devnull, tmp_path / "out", startup_seconds)
    assert code == 2, err
    assert written == "", "nothing may be written to the file"
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "terminal" in lines[0]
    if args[:1] == ["demo"]:
        # A demo's own headless way, not "snapshot PID" (there is no PID to give yet).
        name = args[1] if len(args) > 1 else "malloc"
        assert lines[0].endswith(f"without a terminal use 'vmtop demo {name} --no-tui'")
    else:
        for headless in ("snapshot", "watch", "record"):
            assert headless in lines[0]
    assert elapsed < startup_seconds + 1.0, f"took {elapsed:.2f}s (startup {startup_seconds:.2f}s)"


def test_stdout_a_file_with_stdin_a_terminal(tmp_path, startup_seconds):
    leader, follower = pty.openpty()
    try:
        code, err, written, _ = _run(
            [str(os.getpid())], follower, tmp_path / "out", startup_seconds
        )
    finally:
        os.close(leader)
        os.close(follower)
    assert code == 2 and written == ""
    assert "stdout is not one" in err and len(err.splitlines()) == 1


def test_demo_without_terminal_starts_no_workload(tmp_path, startup_seconds):
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with open(os.devnull, "rb") as devnull:
        code, _err, _written, _ = _run(["demo", "malloc"], devnull, tmp_path / "o", startup_seconds)
    assert code == 2
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before


def test_headless_commands_still_run_without_terminal(tmp_path, startup_seconds):
    with open(os.devnull, "rb") as devnull:
        code, err, written, _ = _run(
            ["snapshot", str(os.getpid())], devnull, tmp_path / "out", startup_seconds
        )
    assert code == 0, err
    assert written.splitlines()[0].startswith(f"{os.getpid()}:")


def test_the_check_itself(tmp_path, monkeypatch):
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    leader, follower = pty.openpty()
    try:
        with open(follower, closefd=False) as tty, open(tmp_path / "f", "w") as file:
            assert no_terminal_reason(tty, tty) is None
            assert "stdin is not one" in no_terminal_reason(file, tty)
            assert "stdout is not one" in no_terminal_reason(tty, file)
            assert "stdin and stdout are not one" in no_terminal_reason(file, file)
            # A terminal that says it cannot move its cursor (Emacs' M-x shell).
            monkeypatch.setenv("TERM", "dumb")
            assert "TERM=dumb says this one cannot" in no_terminal_reason(tty, tty)
            monkeypatch.setenv("TERM", "xterm")
            assert no_terminal_reason(tty, tty) is None
            # textual-serve runs the app with a web driver and no tty: no check then.
            monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
            assert no_terminal_reason(file, file) is None
    finally:
        os.close(leader)
        os.close(follower)


@pytest.mark.parametrize(
    ("pid", "says"), [("99999999", "no such process: 99999999"), ("2", "kernel thread")]
)
def test_a_pid_that_cannot_be_watched_is_one_line_in_a_terminal_too(pid, says):
    """In a terminal, `vmtop 99999999` took the whole screen to say "no such process"
    and waited for q; every other command says it in one line."""
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [*VMTOP, pid],
            stdin=follower,
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env=_env(),
            timeout=30,
        )
    finally:
        os.close(follower)
        os.set_blocking(leader, False)
        try:
            drawn = os.read(leader, 65536)
        except OSError:
            drawn = b""
        os.close(leader)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert len(err.splitlines()) == 1 and says in err, err
    assert b"\x1b[?1049h" not in drawn, "no full-screen TUI for it"
