"""A terminal of 16 colours (TERM=xterm, TERM=linux), for real: tmux runs vmtop on the
fixture tree with TERM=xterm and the legend is read back with its colours.

The theme's colours, brought down to the nearest of 16 by Rich, made rodata and relro
the plain grey of the legend's text (no colour at all) and anon and thread stacks the
same magenta: the bar could not be read. Each kind gets one of the 16 itself now, and
the groups of kinds their fills (as with NO_COLOR).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

VMTOP = Path(sys.executable).parent / "vmtop"
TREE = Path(__file__).resolve().parents[1] / "fixtures" / "tui_proc"
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _legend_marks(line: str) -> dict[str, tuple[str, str]]:
    """kind label -> (its mark's foreground colour code, the mark) in a legend line
    captured with its escape codes."""
    plain, colours = [], []
    colour = ""
    for piece in re.split(r"(\x1b\[[0-9;]*m)", line):
        match = SGR.fullmatch(piece)
        if match is not None:
            for code in filter(None, match[1].split(";")):
                if code in ("0", "39"):
                    colour = ""
                elif 30 <= int(code) <= 37 or 90 <= int(code) <= 97:
                    colour = code
            continue
        plain.append(piece)
        colours.extend([colour] * len(piece))
    text = "".join(plain)
    return {
        m[2]: (colours[m.start()], m[1]) for m in re.finditer(r"([■▓█▒▚░▞▙╳▘])([a-z:_]+)", text)
    }


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_kinds_stay_apart_in_a_16_colour_terminal(tmp_path):
    import subprocess

    socket = f"vmtop-fc-{id(tmp_path)}"

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10
        ).stdout

    command = f"env -i PATH=/usr/bin:/bin HOME=/tmp TERM=xterm {VMTOP} --proc-root {TREE} 4242"
    tmux("new-session", "-d", "-s", "fc", "-x", "120", "-y", "40", command)
    try:
        deadline = time.monotonic() + 30
        while True:
            screen = tmux("capture-pane", "-e", "-p", "-t", "fc")
            legend = next((line for line in screen.splitlines() if "rodata" in line), None)
            if legend is not None and "stack" in legend:
                break
            assert time.monotonic() < deadline, f"no legend:\n{screen}"
            time.sleep(0.3)
    finally:
        tmux("kill-server")
    marks = _legend_marks(legend)
    assert {"text", "rodata", "relro", "data", "bss", "heap", "anon", "stack"} <= set(marks)
    text_colour = "37"  # the legend's labels
    for kind in ("text", "rodata", "relro", "data", "bss", "heap", "anon", "stack"):
        assert marks[kind][0] not in ("", text_colour), (kind, marks)
    shown = [marks[k] for k in marks if k not in ("vdso", "vvar", "vsyscall", "kernel")]
    assert len(set(shown)) == len(shown), marks  # no two kinds drawn alike
    assert marks["anon"][1] != marks["stack"][1]  # heaps and stacks: other fills
