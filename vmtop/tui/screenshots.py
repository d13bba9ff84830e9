"""Regenerate screenshots/*.svg from the real app: ``python -m vmtop.tui.screenshots``.

Runs the app headless at 160×48 (Textual's ``run_test``) on this machine's /proc:

- ``picker.svg``: the process picker, with the malloc demo selected;
- ``process-malloc-demo.svg``: the process screen on the malloc demo, a few seconds in,
  once the heap has grown and a big mmap'd block exists;
- ``region-detail.svg``: the region detail of the demo's ``[heap]`` (reached with ``g``,
  the heap's start address from ``/proc/PID/maps``, Enter: the keys a person would use);
- ``help.svg``: the help screen.

The demo is started with ``vmtop.demo.runner.start_demo("malloc")`` (or, without the
runner, as ``python -m vmtop.demo.malloc``) and stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from vmtop.procfs.reader import ProcFS

SIZE = (160, 48)
HISTORY_SECONDS = 5.0  # some RSS history and events before the shot
DEMO_PACE = 2.0  # seconds per demo step: each state lasts long enough for a 1 s sampler
BIG_BLOCK = 4 << 20  # the demo's big malloc, in its own mapping
NAMES = ("picker", "process-malloc-demo", "region-detail", "help")


def big_block_mapped(pid: int) -> bool:
    """Whether an anonymous mapping of at least BIG_BLOCK exists, read directly."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 5:  # no name: anonymous
                    start, end = (int(x, 16) for x in parts[0].split(b"-"))
                    if end - start >= BIG_BLOCK and parts[1] == b"rw-p":
                        return True
    except OSError:
        return False
    return False


def heap_start(pid: int) -> int | None:
    """The [heap] start from /proc/PID/maps, read directly (not through vmtop)."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as f:
            for line in f:
                if line.rstrip().endswith(b"[heap]"):
                    return int(line.split(b"-", 1)[0], 16)
    except OSError:
        return None
    return None


async def wait_until(pilot, condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await pilot.pause(0.1)
    return condition()


async def shoot_picker(out: Path, demo_pid: int | None) -> Path:
    from vmtop.tui.app import VmtopApp
    from vmtop.tui.screens.picker import REFRESH_SECONDS, PickerScreen, ProcessTable

    app = VmtopApp(ProcFS())
    path = out / "picker.svg"
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        screen = app.screen
        # A second read gives the CPU column figures.
        await pilot.pause(REFRESH_SECONDS + 0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        if demo_pid is not None:
            table = screen.query_one(ProcessTable)
            for i, row in enumerate(table.rows):
                if row.pid == demo_pid:
                    table.cursor = i
                    break
            await pilot.pause()
        app.save_screenshot(str(path))
    return path


async def shoot_process(out: Path, demo, only: set[str]) -> list[Path]:
    from vmtop.tui.app import VmtopApp
    from vmtop.tui.screens.detail import RegionDetailScreen
    from vmtop.tui.screens.help import HelpScreen

    paths = []
    # With the demo, so its narration is in the event log; the app stops it on exit.
    app = VmtopApp(ProcFS(), pid=demo.pid, demo=demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(HISTORY_SECONDS)
        # The moment the big block is mapped, plus one sampling interval.
        if not await wait_until(pilot, lambda: big_block_mapped(demo.pid), timeout=60):
            print("vmtop screenshots: the demo never mapped its big block", file=sys.stderr)
        await pilot.pause(1.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        if "process-malloc-demo" in only:
            path = out / "process-malloc-demo.svg"
            app.save_screenshot(str(path))
            paths.append(path)
        if "region-detail" in only:
            start = heap_start(demo.pid)
            if start is None:
                print("vmtop screenshots: the demo has no [heap] region", file=sys.stderr)
            else:
                await pilot.press("g", *f"{start:#x}", "enter")
                await app.workers.wait_for_complete()
                await pilot.pause(0.3)
                await pilot.press("enter")
                await wait_until(pilot, lambda: isinstance(app.screen, RegionDetailScreen))
                await pilot.pause(1.0)
                await app.workers.wait_for_complete()
                await pilot.pause()
                path = out / "region-detail.svg"
                app.save_screenshot(str(path))
                paths.append(path)
                await pilot.press("escape")
                await pilot.pause()
        if "help" in only:
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
            await pilot.pause()
            path = out / "help.svg"
            app.save_screenshot(str(path))
            paths.append(path)
    return paths


class DirectDemo:
    """The malloc workload run as a plain child, for when vmtop.demo.runner is missing:
    the same ``pid`` / ``read_narration()`` / ``stop()`` the runner's demo offers."""

    def __init__(self, module: str) -> None:
        import fcntl
        import subprocess

        env = dict(os.environ, VMTOP_DEMO_PARENT=str(os.getpid()))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module], stdout=subprocess.PIPE, env=env
        )
        flags = fcntl.fcntl(self.proc.stdout, fcntl.F_GETFL)
        fcntl.fcntl(self.proc.stdout, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.pid = self.proc.pid
        self._partial = b""

    def read_narration(self) -> list[str]:
        try:
            data = self.proc.stdout.read() or b""
        except OSError:
            data = b""
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        return [line.decode("utf-8", "replace") for line in lines if line]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except Exception:  # noqa: BLE001 - it would not stop: make it
                self.proc.kill()
                self.proc.wait()


def start_demo():
    try:
        from vmtop.demo.common import PACE_ENV
    except ImportError as e:
        print(f"vmtop screenshots: the malloc demo is not available: {e}", file=sys.stderr)
        return None
    try:
        from vmtop.demo.runner import start_demo
    except ImportError:
        os.environ[PACE_ENV] = str(DEMO_PACE)
        return DirectDemo("vmtop.demo.malloc")
    return start_demo("malloc", pace=DEMO_PACE)


async def main_async(out: Path, only: set[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    demo = start_demo()
    try:
        if "picker" in only:
            paths.append(await shoot_picker(out, demo.pid if demo is not None else None))
        if demo is not None:
            paths += await shoot_process(out, demo, only)
    finally:
        if demo is not None:
            demo.stop()
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vmtop.tui.screenshots",
        description="Regenerate the README screenshots from the real app (needs Linux /proc).",
    )
    parser.add_argument("--out", default="screenshots", help="directory (default: screenshots)")
    parser.add_argument(
        "--only", default=",".join(NAMES), help=f"comma-separated subset of: {', '.join(NAMES)}"
    )
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(NAMES)
    if unknown:
        parser.error(f"unknown screenshot(s): {', '.join(sorted(unknown))}")
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    paths = asyncio.run(main_async(Path(args.out), only))
    for path in paths:
        print(path)
    return 0 if paths else 1


if __name__ == "__main__":
    sys.exit(main())
