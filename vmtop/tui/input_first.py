"""Keys first: while someone is typing or clicking, a long read in the sampling worker
steps aside between the pieces it parses.

Python runs one thread at a time (the GIL): parsing the smaps of a million regions
takes seconds, and a key handled meanwhile gets every other slice of 5 ms, so its
repaint takes twice as long or more. The parser is told (``vmtop.procfs.pieces``) to
call ``step_aside`` after each piece; it sleeps while input came in the last
``QUIET`` seconds, at most ``LONGEST`` at a time, so a read is delayed, never stopped.
"""

from __future__ import annotations

import threading
import time

QUIET = 0.05
LONGEST = 0.25
_STEP = 0.01

_last_input = float("-inf")


def note_input() -> None:
    """Called by the app on each key press or click (on the UI thread)."""
    global _last_input
    _last_input = time.monotonic()


def step_aside() -> float:
    """Sleep (the GIL let go) while input is recent; returns the seconds slept. Never on
    the UI thread itself (a parse there would only delay the key further)."""
    if threading.current_thread() is threading.main_thread():
        return 0.0
    slept = 0.0
    while time.monotonic() - _last_input < QUIET and slept < LONGEST:
        time.sleep(_STEP)
        slept += _STEP
    return slept
