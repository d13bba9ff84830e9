"""`vmtop demo NAME [--no-tui]`: run a demo workload and watch it.

The demo is a small C program where a C compiler is present (built once into the user's
cache directory), else the Python version (``--python`` asks for it); the first line of
output, and the narration's first line, say which runs.

With --no-tui the demo runs in the foreground: vmtop prints its PID (to watch it from
another terminal: ``vmtop PID`` or ``vmtop watch PID``) and its narration, until Ctrl-C
(exit 0; the demo is stopped). Without it, the TUI opens on the demo's process with the
narration in its event log. Either way the demo is stopped when vmtop ends.
"""

from __future__ import annotations

import signal
import sys

from vmtop.demo.runner import PYTHON, DemoProcess, start_demo
from vmtop.procfs.reader import ProcFS


def cmd_demo(procfs: ProcFS, args) -> int:
    if not procfs.is_live:  # (vmtop --proc-root X demo)
        print(
            "vmtop: demo runs a process here and watches it in this machine's /proc: "
            "--proc-root does not apply",
            file=sys.stderr,
        )
        return 2
    name = getattr(args, "name", None) or "malloc"
    size_mib = getattr(args, "size_mib", None)
    if size_mib is not None and name != "mmap":
        print(f"vmtop: --size-mib is the mmap demo's; the {name} demo has no file", file=sys.stderr)
        return 2
    language = PYTHON if getattr(args, "python", False) else None
    if getattr(args, "no_tui", False):
        return run_foreground(name, size_mib, language)
    try:
        from vmtop.tui.app import VmtopApp, freeze_startup_objects
    except ImportError as e:
        print(
            f"vmtop: the TUI is not available ({e}); running the demo without it", file=sys.stderr
        )
        return run_foreground(name, size_mib, language)
    demo = start_demo(name, size_mib=size_mib, language=language)
    try:
        app = VmtopApp(
            procfs=procfs, pid=demo.pid, demo=demo, settings=getattr(args, "settings", None)
        )
        freeze_startup_objects()
        app.run()
        return app.return_code or 0
    finally:
        demo.stop()


def which_runs(demo: DemoProcess) -> str:
    """Which version of the demo runs, in words."""
    if demo.program:
        return f"the C program {demo.program}"
    return "the Python version"


def run_foreground(name: str, size_mib: int | None, language: str | None = None) -> int:
    """Print the demo's PID and narration until Ctrl-C or the demo ends."""
    out = sys.stdout
    previous = signal.getsignal(signal.SIGTERM)
    # SIGTERM to vmtop ends the demo the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    demo = start_demo(name, size_mib=size_mib, language=language)
    try:
        out.write(
            f"vmtop demo {name}: PID {demo.pid}, {which_runs(demo)}. Watch it from another "
            f"terminal with 'vmtop {demo.pid}' or 'vmtop watch {demo.pid}'. Ctrl-C stops it.\n"
        )
        out.flush()
        while True:
            line = demo.wait_narration(0.5)
            if line is not None:
                out.write(line + "\n")
                for more in demo.read_narration():
                    out.write(more + "\n")
                out.flush()
                continue
            code = demo.poll()
            if code is not None:
                for more in demo.read_narration():
                    out.write(more + "\n")
                out.flush()
                if code == 0:
                    return 0
                print(f"vmtop: the {name} demo ended with status {code}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0
    finally:
        # Ctrl-C reaches the demo too (same process group) and can be handled here
        # only after the loop has seen the demo end: let nothing interrupt the stop.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            demo.stop()
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
