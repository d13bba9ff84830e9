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


# xterm's own 16 colours, as terminals draw them (not Rich's palette: its yellow is
# brown, its white grey), for the contrast a reader gets.
XTERM_16 = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205),
    (0, 205, 205), (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0),
    (255, 255, 92), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
]  # fmt: skip


def _luminance(rgb) -> float:
    def channel(v: int) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a, b) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def low_contrast_text(screen: str) -> list[tuple[int, str, float]]:
    """(line, text, contrast) of each run of text drawn with a background of its own
    whose foreground is less than 3:1 against it (WCAG's formula, xterm's colours): blue
    on black (2.2) and green on white (2.2) are hard to read.
    Runs on the terminal's own background are left out: its colour is not known."""
    found = []
    for number, line in enumerate(screen.splitlines(), 1):
        fg = bg = None
        reverse = False
        for match in re.finditer(r"\x1b\[([0-9;]*)m|([^\x1b]+)", line):
            if match[1] is not None:
                codes = [int(c) if c else 0 for c in match[1].split(";")]
                k = 0
                while k < len(codes):
                    c = codes[k]
                    if c == 0:
                        fg = bg = None
                        reverse = False
                    elif c in (7, 27):
                        reverse = c == 7
                    elif c == 39:
                        fg = None
                    elif c == 49:
                        bg = None
                    elif 30 <= c <= 37 or 90 <= c <= 97:
                        fg = c - 30 if c < 90 else c - 82
                    elif 40 <= c <= 47 or 100 <= c <= 107:
                        bg = c - 40 if c < 100 else c - 92
                    elif c in (38, 48):  # (256 or true colour: not this terminal's)
                        k += 2 if codes[k + 1] == 5 else 4
                    k += 1
                continue
            text = match[2].strip().strip("▏▕ ")
            if not text or set(text) <= set("█▀▄▌▐▇▆▅▃▂▁") or bg is None:
                continue
            front, back = XTERM_16[7 if fg is None else fg], XTERM_16[bg]
            if reverse:
                front, back = back, front
            ratio = _contrast(front, back)
            if ratio < 3.0:
                found.append((number, text[:30], round(ratio, 2)))
    return found


SCREENS = [
    ("", "", "Events"),
    ("VMTOP_THEME=vmtop-light", "", "Events"),
    ("NO_COLOR=1", "", "Events"),
    ("NO_COLOR=1 VMTOP_THEME=vmtop-light", "", "Events"),
    # The other screens: the detail's title named its region bright blue on bright blue,
    # its headings and the columns dialog's border were yellow on white, help's divider
    # white on white.
    ("VMTOP_THEME=vmtop-light", "Enter", "region detail"),
    ("VMTOP_THEME=vmtop-light", "?", "vmtop help"),
    ("VMTOP_THEME=vmtop-light", "c", "space ticks"),
    ("", "Enter", "region detail"),
]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
@pytest.mark.parametrize(
    "settings, key, shown",
    SCREENS,
    ids=[f"{s or 'dark'}-{seen}".replace(" ", "_") for s, _, seen in SCREENS],
)
def test_every_text_stays_readable_in_16_colours(tmp_path, settings, key, shown):
    # The light theme's kinds were xterm's bright yellow, cyan and green on bright white
    # (1.07 to 1: data rows unreadable), its footer keys yellow; with NO_COLOR rodata
    # was black on black.
    import subprocess

    socket = f"vmtop-rd-{id(tmp_path)}"

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10
        ).stdout

    command = (
        f"env -i PATH=/usr/bin:/bin HOME=/tmp TERM=xterm {settings} {VMTOP} --proc-root {TREE} 4242"
    )
    tmux("new-session", "-d", "-s", "rd", "-x", "120", "-y", "40", command)
    try:
        deadline = time.monotonic() + 30
        while True:
            screen = tmux("capture-pane", "-e", "-p", "-t", "rd")
            if "rodata" in screen and "Events" in screen:
                break
            assert time.monotonic() < deadline, f"no process screen:\n{screen}"
            time.sleep(0.3)
        if key:
            tmux("send-keys", "-t", "rd", key)
        while shown not in tmux("capture-pane", "-p", "-t", "rd"):
            assert time.monotonic() < deadline, f"no {shown}:\n{screen}"
            time.sleep(0.3)
        time.sleep(1.0)  # (the first frame drawn whole)
        screen = tmux("capture-pane", "-e", "-p", "-t", "rd")
    finally:
        tmux("kill-server")
    assert low_contrast_text(screen) == []
    if "vmtop help" in shown:  # (the line between its panes)
        assert "\x1b[97m▕" not in screen
