"""What watching costs the watched process: its mmap+munmap rate alone, then while
`vmtop watch` runs on it at its defaults (1 s interval, smaps on a budget), then while
`pmap -x` runs on it in a loop, for comparison.

The target is benchmarks/churn_rate.c: N separate regions, then mmap + munmap of one
page in a loop, printing its rate every second. Target: rate with watch >= 0.9x alone.

    python benchmarks/bench_watch_cost.py [--regions 60000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from map_count import max_map_count_for

HERE = Path(__file__).resolve().parent


def rates(target: subprocess.Popen, seconds: float) -> tuple[float, float]:
    """Median pairs/s over ``seconds`` and the worst single pair (µs)."""
    values, worst = [], 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = target.stdout.readline().split()
        if line and line[0] == b"RATE":
            values.append(int(line[1]))
            worst = max(worst, float(line[2]))
    return statistics.median(values), worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=60_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if shutil.which("gcc") is None:
        raise SystemExit("needs gcc")
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp, max_map_count_for(args.regions):
        exe = Path(tmp) / "churn_rate"
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "churn_rate.c")], check=True)
        target = subprocess.Popen([str(exe), str(args.regions)], stdout=subprocess.PIPE)
        try:
            assert target.stdout.readline().startswith(b"READY")
            rates(target, 2)  # settle
            alone, alone_worst = rates(target, args.seconds)
            watch = subprocess.Popen(
                [sys.executable, "-m", "vmtop", "watch", str(target.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            note = watch.stderr.readline().strip()
            rates(target, 2)
            watched, watched_worst = rates(target, args.seconds)
            watch.terminate()
            watch.wait()
            loop = subprocess.Popen(
                ["sh", "-c", f"while :; do pmap -x {target.pid} >/dev/null; done"],
            )
            pmapped, pmap_worst = rates(target, args.seconds)
            loop.terminate()
            loop.wait()
        finally:
            target.kill()
            target.wait()
    print(f"{args.regions} regions; {note}")
    print(f"  alone              {alone:10.0f} pairs/s   worst {alone_worst / 1000:6.1f} ms")
    print(
        f"  with vmtop watch   {watched:10.0f} pairs/s   worst {watched_worst / 1000:6.1f} ms"
        f"   {watched / alone:.2f}x alone"
    )
    print(
        f"  with pmap -x loop  {pmapped:10.0f} pairs/s   worst {pmap_worst / 1000:6.1f} ms"
        f"   {pmapped / alone:.2f}x alone"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
