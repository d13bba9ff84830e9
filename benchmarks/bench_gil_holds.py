"""Where the sampling worker keeps the UI thread waiting for the GIL. Not a test: it
prints numbers.

    python benchmarks/bench_gil_holds.py [--regions 1000000] [--samples 3] [--over-ms 10]

A key press is answered on the UI thread, which needs the GIL; the sampling worker
(read and parse smaps, classify, diff, lay out the bar and the summary) holds it for the
length of each C call it makes, so a single pass over a million values in C is a pause
of the whole UI. This runs the TUI's own sampler and ``prepare_view`` headless on
benchmarks/many_regions.c in a worker thread, as the process screen does, while a probe
thread sleeps 0.5 ms at a time. Each time the probe wakes more than ``--over-ms`` late it
notes where the worker is (the line it reached: the one after the long step, or the
step itself) and prints the places by their longest wait.

A wait is the GIL's switch interval (5 ms) plus the rest of the C call under way, plus
any time the machine had no core for the probe (on a 2-core machine the kernel's smaps
walk takes one of them): read it as an upper bound.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from bench_tui import start_many_regions
from map_count import max_map_count_for

from vmtop.procfs.reader import ProcFS
from vmtop.tui.prepared_view import prepare_view
from vmtop.tui.sampler import Sampler
from vmtop.tui.widgets import bar_layout as bl


def where(frame, depth: int = 3) -> str:
    parts = []
    while frame is not None and len(parts) < depth:
        name = frame.f_code.co_filename.rsplit("/", 1)[-1]
        parts.append(f"{name}:{frame.f_code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(parts)


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--over-ms", type=float, default=10.0)
    args = parser.parse_args()
    over = args.over_ms / 1000
    with tempfile.TemporaryDirectory() as tmp, max_map_count_for(args.regions):
        target = start_many_regions(args.regions, Path(tmp))
        try:
            gc.collect()
            gc.freeze()  # as the TUI does at start-up
            sampler = Sampler(ProcFS(), target.pid)
            worker: dict[str, int] = {}
            waits: list[tuple[float, str]] = []
            done = threading.Event()

            def probe() -> None:
                while not done.is_set():
                    t0 = time.perf_counter()
                    time.sleep(0.0005)
                    late = time.perf_counter() - t0
                    frame = sys._current_frames().get(worker.get("ident", -1))
                    if late > over and frame is not None:
                        waits.append((late, where(frame)))

            def work() -> None:
                worker["ident"] = threading.get_ident()
                view = bl.BarView(158, bl.COMPACT, 0, None, None)
                for k in range(args.samples):
                    t0 = time.perf_counter()
                    result = sampler.sample(1.0)
                    t1 = time.perf_counter()
                    prepare_view(result.snapshot, view, None, None, result.changes)
                    what = "maps only" if result.smaps_pending else "smaps"
                    print(
                        f"sample {k} ({what}): {t1 - t0:.2f} s, prepare_view {time.perf_counter() - t1:.2f} s"
                    )

            threading.Thread(target=probe, daemon=True).start()
            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
            done.set()
        finally:
            target.kill()
            target.wait()
    by_place: dict[str, list[float]] = defaultdict(list)
    for late, place in waits:
        by_place[place].append(late)
    total = sum(late for late, _ in waits)
    longest = max((late for late, _ in waits), default=0.0)
    print(
        f"probe woke over {args.over_ms:.0f} ms late {len(waits)} times ({total:.2f} s in all), at most {longest * 1000:.0f} ms"
    )
    for place, lates in sorted(by_place.items(), key=lambda kv: -max(kv[1]))[:25]:
        print(f"  {max(lates) * 1000:5.0f} ms  x{len(lates):<3d} {place}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
