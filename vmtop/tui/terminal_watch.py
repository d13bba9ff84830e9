"""Noticing that the terminal went away (the ssh connection dropped, tmux was killed,
the terminal window closed), whether a SIGHUP says so or not, and SIGTERM.

Why: a TUI started with ``setsid`` (or left behind by ``su``) has no controlling terminal
to be hung up, and Textual's input thread takes the end of input for "nothing to read"
and asks again at once: 60-80 % of a core, forever, drawing to nobody. Where a SIGHUP
does come (or a SIGTERM: systemd, ``timeout``, ``kill``), Textual leaves it to the
default action, which killed vmtop outright: a recording started with R had no end mark
and replayed as cut short.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import threading
from collections.abc import Callable

HUNG_UP = select.POLLHUP | select.POLLERR | select.POLLNVAL
CHECK_SECONDS = 1.0
# After asking the app to exit: its last writes go to a terminal that is gone and may
# block or fail; the process ends this long after even so.
EXIT_GRACE_SECONDS = 5.0


def terminal_gone(fd: int) -> bool:
    """Whether the terminal on ``fd`` hung up: its other end closed, or fd is no longer
    open. (poll says POLLHUP on a pseudo-terminal whose master was closed, where read
    says only end of input.)"""
    poller = select.poll()
    try:
        poller.register(fd, select.POLLIN)
        events = poller.poll(0)
    except (OSError, ValueError):
        return True
    return any(mask & HUNG_UP for _fd, mask in events)


def exit_soon_even_so(code: int, seconds: float = EXIT_GRACE_SECONDS) -> None:
    """End the process ``seconds`` from now unless it has ended by then."""
    timer = threading.Timer(seconds, os._exit, (code,))
    timer.daemon = True
    timer.start()


# Signals that end the TUI as a quit would (the recording closed with its end mark):
# the terminal hung up, or vmtop asked to end.
ENDING_SIGNALS = (signal.SIGHUP, signal.SIGTERM)


def on_ending_signals(loop: asyncio.AbstractEventLoop, ending: Callable[[int], None]) -> None:
    """Call ``ending(signum)`` on ``loop`` when SIGHUP or SIGTERM comes, rather than die
    at once. On the loop, not in a signal handler: a sample being written (in a worker
    thread, under the recording's lock) is finished first, so the end mark follows a
    whole sample. A SIGHUP ignored when vmtop started (``nohup``) stays ignored, as
    ``vmtop record`` leaves it. Nothing is installed where the loop cannot take signals
    (not the main thread)."""
    for signum in ENDING_SIGNALS:
        if signum == signal.SIGHUP and signal.getsignal(signum) is signal.SIG_IGN:
            continue
        try:
            loop.add_signal_handler(signum, ending, signum)
        except (RuntimeError, ValueError, NotImplementedError):
            return
