"""The picker's refresh on a machine with many processes. Not a test: it prints numbers.

    python benchmarks/bench_picker.py [--processes 2000] [--repeats 7]

Starts benchmarks/sleepers.c (N sleeping children, forked by one small C program, all
killed at the end) and times one refresh of the picker, split by where it runs:

- worker thread: the process list (``ProcessLister.list``: psutil on /proc, with the
  access probe and the CPU percentages), and the machine's meters (``read_system``);
  the same list read from the raw files (``use_psutil=False``) for comparison;
- UI thread: ``PickerScreen._apply`` (filter, sort, the table's rows, title) and drawing
  one screenful, in a headless app at 160x48.

Budget: listing may cost 10 % of one core (``processes.CPU_SHARE``), averaged over the
refresh interval: every 2 s while a list costs at most 200 ms of CPU, and where it costs
more the picker skips ticks of its 2 s timer (``ProcessLister.due``), so the interval
it ends up with is part of the result. The UI thread's part (what can delay a key
press) may cost 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from vmtop.procfs.processes import CPU_SHARE, ProcessLister, read_system  # noqa: E402
from vmtop.procfs.reader import ProcFS  # noqa: E402

INTERVAL = 2.0  # the picker's refresh (vmtop.tui.screens.picker.REFRESH_SECONDS)
BUDGET_SHARE = CPU_SHARE  # of one core, averaged over the refresh interval
BUDGET_UI = 0.050


def start_sleepers(n: int, workdir: Path) -> subprocess.Popen:
    if shutil.which("gcc") is None:
        sys.exit("gcc is needed to build benchmarks/sleepers.c")
    exe = workdir / "sleepers"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(HERE / "sleepers.c")], check=True)
    child = subprocess.Popen(
        [str(exe), str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    line = child.stdout.readline()
    if not line.startswith("READY"):
        child.kill()
        sys.exit(f"sleepers did not start: {line!r}")
    return child


def stop_sleepers(child: subprocess.Popen) -> None:
    child.stdin.close()  # it kills and reaps its children, then exits
    try:
        child.wait(30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def timed(fn, repeats: int):
    """(median wall seconds, median CPU seconds of this thread, last result)."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.thread_time()
        result = fn()
        cpus.append(time.thread_time() - c0)
        walls.append(time.perf_counter() - w0)
    return statistics.median(walls), statistics.median(cpus), result


def line(name: str, wall: float, cpu: float | None = None) -> None:
    cpu_text = f"{cpu * 1000:8.1f} ms CPU" if cpu is not None else ""
    print(f"  {name:<46} {wall * 1000:8.1f} ms wall {cpu_text}")


async def ui_thread_part(rows, system, repeats: int) -> tuple[float, float]:
    """(median seconds of PickerScreen._apply, seconds to draw one screenful)."""
    from textual.app import App

    from vmtop.tui.screens.picker import PickerScreen

    class PickerApp(App):
        def on_mount(self) -> None:
            self.push_screen(PickerScreen(ProcFS(), live=False))

    app = PickerApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        applies = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            screen._apply(rows, system)
            applies.append(time.perf_counter() - t0)
        await pilot.pause()
        t0 = time.perf_counter()
        table = screen.table
        for y in range(table.size.height):
            table.render_line(y)
        draw = time.perf_counter() - t0
    return statistics.median(applies), draw


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vmtop-bench-picker-") as tmp:
        sleepers = start_sleepers(args.processes, Path(tmp))
        try:
            procfs = ProcFS()
            total = sum(1 for _ in procfs.pids())
            print(
                f"{total} processes ({args.processes} sleepers), {os.cpu_count()} CPUs, "
                f"load {os.getloadavg()[0]:.2f}"
            )
            psutil_lister = ProcessLister(procfs)
            files_lister = ProcessLister(procfs, use_psutil=False)
            first = time.perf_counter()
            psutil_lister.list()
            line("first list (psutil: new Process objects)", time.perf_counter() - first)
            print("worker thread, per refresh (median):")
            wall, cpu, rows = timed(psutil_lister.list, args.repeats)
            line("ProcessLister.list, psutil", wall, cpu)
            wall_s, cpu_s, system = timed(lambda: read_system(procfs), args.repeats)
            line("read_system (meters)", wall_s, cpu_s)
            wall_f, cpu_f, _ = timed(files_lister.list, args.repeats)
            line("ProcessLister.list, raw files (for comparison)", wall_f, cpu_f)
            print("UI thread, per refresh:")
            apply, draw = asyncio.run(ui_thread_part(rows, system, args.repeats))
            line("PickerScreen._apply (filter, sort, rows, title)", apply)
            line("draw one screenful (160x48)", draw)
        finally:
            stop_sleepers(sleepers)

    refresh_cpu = cpu + cpu_s + apply
    every = psutil_lister.interval(INTERVAL)
    every = -(-every // INTERVAL) * INTERVAL  # the picker's timer skips whole ticks
    share = refresh_cpu / every
    ui = apply + draw
    print(
        f"refresh: {refresh_cpu * 1000:.0f} ms of CPU; at every {INTERVAL:g} s that would be "
        f"{100 * refresh_cpu / INTERVAL:.1f} % of a core; the picker lists every {every:g} s: "
        f"{100 * share:.1f} % (budget {100 * BUDGET_SHARE:.0f} %): "
        f"{'within' if share <= BUDGET_SHARE + 0.005 else 'OVER'} budget"
    )
    print(
        f"UI thread: {ui * 1000:.1f} ms per refresh (budget {BUDGET_UI * 1000:.0f} ms): "
        f"{'within' if ui <= BUDGET_UI else 'OVER'} budget"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
