"""``vmtop serve`` says what stops it before it says it is serving.

A PID it could not show is refused at once, with the message and exit status the CLI
gives for that PID (``vmtop snapshot PID``), not found out later in the browser. A port
already taken gets one error line, and no "Serving ... on" line before it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUI_PROC = ROOT / "tests" / "fixtures" / "tui_proc"

# Long enough for Python and the imports on a slow machine; a serve that did not refuse
# would run until it is killed, so the test fails on the timeout.
REFUSAL_SECONDS = 20


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def has_ipv6_loopback() -> bool:
    try:
        free_port("::1")
    except OSError:
        return False
    return True


def vmtop(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMTOP_", "TEXTUAL"))}
    return subprocess.run(
        [sys.executable, "-m", "vmtop", *args],
        capture_output=True,
        text=True,
        timeout=REFUSAL_SECONDS,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("pid", "says"),
    [
        ("999999", "no such process: 999999"),  # not in the tree
        ("2", "is a kernel thread"),  # kthreadd: no address space
        ("4444", "has neither smaps nor maps"),  # a copied process without its maps
    ],
)
def test_serve_refuses_a_pid_the_cli_refuses_with_its_words(pid: str, says: str) -> None:
    cli = vmtop("--proc-root", str(TUI_PROC), "snapshot", "--no-smaps", pid)
    assert cli.returncode == 1 and says in cli.stderr

    served = vmtop("--proc-root", str(TUI_PROC), "serve", "--port", str(free_port()), pid)

    assert served.returncode == cli.returncode
    assert served.stderr == cli.stderr
    assert "Serving" not in served.stdout


def test_serve_refuses_a_live_zombie() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Not waited for: it stays a zombie until child.wait() below.
        while not _is_zombie(child.pid):
            pass
        result = vmtop("serve", "--port", str(free_port()), str(child.pid))
    finally:
        child.wait()
    assert result.returncode == 1
    assert (
        result.stderr == f"vmtop: process {child.pid} is a zombie: it has exited and has no "
        "memory map left (its parent has not collected it yet)\n"
    )


def _is_zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_a_port_in_use_is_one_error_and_no_serving_line(host: str) -> None:
    pytest.importorskip("textual_serve", reason="vmtop[web] (textual-serve) is not installed")
    if host == "::1" and not has_ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback address")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as taken:
        taken.bind((host, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = vmtop("serve", "--host", host, "--port", str(port))

    assert result.returncode == 1
    assert "Serving" not in result.stdout
    shown = f"[{host}]" if ":" in host else host
    line = result.stderr
    assert line.startswith(f"vmtop: cannot serve on {shown}:{port}: ")
    assert line.count("\n") == 1 and "in use" in line
