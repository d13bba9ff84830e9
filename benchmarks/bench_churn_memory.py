"""Memory over time while sampling a churning process, headless: does anything kept
per sample grow? Not a test: it prints RSS as it goes.

Starts benchmarks/churn_rate.c with N regions (it maps and unmaps a page in a loop, so
every sample sees the map change), then samples it as fast as it can with the TUI's
Sampler, RssHistory and event ring, making some cyclic garbage after each sample as a
UI does. ``--freeze`` puts back the parser's old handling of the cycle collector
(gc.freeze then gc.unfreeze after each parse), which parked that garbage in the oldest
generation.

    python benchmarks/bench_churn_memory.py [--regions 400] [--seconds 150] [--freeze]
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from vmtop.procfs import parse_maps, pieces, smaps_stream
from vmtop.procfs.reader import ProcFS
from vmtop.tui.sampler import RssHistory, Sampler, keep_recent_events

HERE = Path(__file__).resolve().parent


@contextmanager
def frozen_after():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


class Garbage:
    def __init__(self) -> None:
        self.me = self
        self.pad = [0] * 50


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=150)
    parser.add_argument("--freeze", action="store_true")
    args = parser.parse_args()
    if args.freeze:
        for module in (parse_maps, smaps_stream, pieces):
            module.cycle_collector_paused = frozen_after
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "churn_rate"
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "churn_rate.c")], check=True)
        target = subprocess.Popen([str(exe), str(args.regions)], stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            sampler = Sampler(ProcFS(), target.pid)
            history = RssHistory()
            events: list = []
            t0 = time.monotonic()
            next_print = 0.0
            samples = 0
            while (elapsed := time.monotonic() - t0) < args.seconds:
                result = sampler.sample(0.05)
                history.record(result.snapshot, result.smaps_read)
                keep_recent_events(events, result.events)
                for _ in range(200):
                    Garbage()
                samples += 1
                if elapsed >= next_print:
                    print(f"{elapsed:6.0f} s  {samples:7d} samples  RSS {rss_mib():7.1f} MiB")
                    next_print += args.seconds / 10
        finally:
            target.kill()
            target.wait()
    print(f"end: {samples} samples, RSS {rss_mib():.1f} MiB, {len(events)} events kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
