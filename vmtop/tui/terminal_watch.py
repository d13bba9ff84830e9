"""Noticing that the terminal went away (the ssh connection dropped, tmux was killed,
the terminal window closed) when no SIGHUP says so.

Why: a TUI started with ``setsid`` (or left behind by ``su``) has no controlling terminal
to be hung up, and Textual's input thread takes the end of input for "nothing to read"
and asks again at once: 60-80 % of a core, forever, drawing to nobody.
"""

from __future__ import annotations

import os
import select
import threading

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
