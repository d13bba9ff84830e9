"""What every demo workload does: tie its life to vmtop's, narrate, pace its steps.

A demo never outlives the vmtop that started it: the kernel sends it SIGTERM when its
parent dies (``PR_SET_PDEATHSIG``), it checks at start that its parent is still the one
that started it (the parent could have died before the prctl), and it checks again at
every pause. Run by hand (``python -m vmtop.demo.malloc``), it ends when the process that
started it does. SIGTERM ends it through ``SystemExit``, so ``finally`` blocks run (the mmap
demo removes its file).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PARENT_ENV = "VMTOP_DEMO_PARENT"  # the PID of the vmtop that started this demo
PACE_ENV = "VMTOP_DEMO_PACE"  # seconds per step
START_ENV = "VMTOP_DEMO_START_DELAY"  # seconds before the first step (SIGUSR1: now)
DEFAULT_PACE = 0.8
START_PACES = 2  # the default start delay, in paces

libc = ctypes.CDLL(None, use_errno=True)


class Demo:
    """The running demo: narration and pacing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parent = _expected_parent()
        try:
            self.pace = float(os.environ.get(PACE_ENV, DEFAULT_PACE))
        except ValueError:
            self.pace = DEFAULT_PACE
        self.pace = max(0.05, self.pace)
        try:
            self.start_delay = float(os.environ.get(START_ENV, START_PACES * self.pace))
        except ValueError:
            self.start_delay = START_PACES * self.pace

    def say(self, text: str) -> None:
        """One line of narration, flushed at once so it arrives next to its effect."""
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def pause(self, steps: float = 1.0) -> None:
        """Wait ``steps`` paces, leaving if the vmtop that started the demo is gone."""
        deadline = time.monotonic() + steps * self.pace
        while True:
            self.check_parent()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.25))

    def wait_to_start(self) -> None:
        """The pause before the first step: the start delay, or until SIGUSR1 (sent by
        whoever wants to watch from the very first step once it is ready)."""
        deadline = time.monotonic() + self.start_delay
        while not _go.is_set():
            self.check_parent()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    def check_parent(self) -> None:
        if os.getppid() != self.parent:
            raise SystemExit(0)


_go = threading.Event()


def _expected_parent() -> int:
    """The process whose death ends the demo: the vmtop that started it, or (run by
    hand) whatever started it."""
    value = os.environ.get(PARENT_ENV, "")
    return int(value) if value.isdigit() else os.getppid()


def start(name: str) -> Demo:
    """Set the demo process up: die with the parent, SIGTERM as SystemExit."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    demo = Demo(name)
    demo.check_parent()  # the parent may have died before the prctl above
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # the reader left: end quietly
    signal.signal(signal.SIGUSR1, lambda signum, frame: _go.set())
    return demo


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run(main, name: str) -> None:
    """Run ``main(demo)`` as the program: exit 0 when stopped."""
    demo = start(name)
    try:
        main(demo)
    except (SystemExit, KeyboardInterrupt):
        pass
    except BrokenPipeError:
        pass
    sys.exit(0)
