"""Where vmtop's text meets the terminal: is there one, and can every text be written.

The TUI needs a terminal on both ends, and one that can draw (not ``TERM=dumb``). Without one (a cron job, a CI step, a pipe)
Textual writes escape codes into the file and its input thread spins on a closed
stdin: so the TUI commands refuse at once instead, and point to the headless ones.
textual-serve runs the app with a web driver and no tty; it says so by setting
TEXTUAL_DRIVER, and then the check is skipped.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

NO_TERMINAL_STATUS = 2


def served_to_browser() -> bool:
    """Whether this vmtop draws in a browser, through ``vmtop serve``'s textual-serve
    (Textual's web driver; not the headless one tests name)."""
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")


def served() -> bool:
    """Whether this vmtop is a visitor's of ``vmtop serve``: textual-serve runs it with
    Textual's web driver, named in TEXTUAL_DRIVER."""
    return bool(os.environ.get("TEXTUAL_DRIVER"))


HEADLESS = "'vmtop snapshot PID', 'vmtop watch PID' or 'vmtop record PID -o FILE'"


def no_terminal_reason(
    stdin: TextIO | None = None, stdout: TextIO | None = None, *, instead: str = HEADLESS
) -> str | None:
    """Why the TUI cannot start here (one line), or None when it can; ``instead``: what
    to run without a terminal."""
    if served():
        return None
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    missing = [
        name for name, stream in (("stdin", stdin), ("stdout", stdout)) if not _is_tty(stream)
    ]
    if not missing:
        if os.environ.get("TERM") == "dumb":
            # (Emacs' shell, a script log): full-screen drawing is garbage there.
            return (
                "the TUI needs a terminal that can move its cursor, and TERM=dumb says "
                f"this one cannot; set TERM (e.g. TERM=xterm-256color), or use {instead}"
            )
        return None
    which = " and ".join(missing)
    verb = "are" if len(missing) > 1 else "is"
    return f"the TUI needs a terminal, and {which} {verb} not one; without a terminal use {instead}"


def _is_tty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # closed
        return False


def make_output_safe(*streams: TextIO) -> None:
    """Writing never raises UnicodeEncodeError, whatever the locale's encoding.

    Every name is escaped before it is written, so what is left is printable text; but
    a printable "é" or "漢" cannot be encoded in an ASCII or Latin-1 locale: it is then
    written as a backslash escape rather than crashing the command.
    """
    for stream in streams or (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or getattr(stream, "errors", None) == "backslashreplace":
            continue
        try:
            reconfigure(errors="backslashreplace")
        except (ValueError, OSError):  # closed, or not a text wrapper after all
            continue
