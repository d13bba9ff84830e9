"""What a snapshot costs next to the kernel's own read of smaps, at 60 000, 250 000 and
1 000 000 regions (vm.max_map_count raised for the run when root, then restored).

Starts ``many_regions`` (benchmarks/many_regions.c, built with gcc into a temporary
directory) for each size, then measures, in the same run and in interleaved rounds
(best of --repeat, so a busy machine hurts every line alike):

- kernel read: open /proc/PID/smaps and read it to the end into one reused 1 MiB
  buffer (os.readv), keeping nothing: what a C loop of read() costs, the floor;
- python read to bytes: os.read() to the end and join the chunks (allocating a new
  bytes object per read() costs this loop about as much as the kernel's work);
- vmtop read+parse: snapshot.read_smaps, what a snapshot spends on smaps: the text is
  parsed while a second thread reads it (wall time; both threads' CPU time is printed
  on the line after);
- vmtop read+parse in pieces: snapshot.read_smaps_without_text, the same read a few
  MiB at a time with the text dropped as it goes (the TUI past 10 000 regions);
- vmtop read, then parse: ProcFS.read_bytes then parse_smaps, on one thread;
- vmtop parse alone: parse_smaps on bytes already read;
- take_snapshot: the whole snapshot (stat, status, cmdline, smaps, classify, totals);
- psutil memory_maps(grouped=False): psutil's smaps parser, in this process;
- pmap -x, pmap -X, and `vmtop snapshot PID --format json|pmap` as whole processes
  (wall time, output to /dev/null).

Each is printed in milliseconds and as a ratio to the kernel read. Targets (issue 2):
vmtop read+parse <= 1.6x the kernel read; `vmtop snapshot --format json` no slower than
`pmap -X` at 60 000 regions.

    /work/venv/bin/python benchmarks/bench_snapshot.py [--regions 10000,60000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kernel_read import kernel_read
from map_count import max_map_count_for

from vmtop.procfs.parse_maps import parse_smaps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import read_smaps, read_smaps_without_text, take_snapshot

HERE = Path(__file__).resolve().parent


def build(out_dir: str) -> str:
    exe = os.path.join(out_dir, "many_regions")
    subprocess.run(["gcc", "-O2", "-o", exe, str(HERE / "many_regions.c")], check=True)
    return exe


def start(exe: str, regions: int) -> subprocess.Popen:
    # The program itself, libc and the loader take ~25 regions of their own.
    child = subprocess.Popen([exe, str(regions)], stdout=subprocess.PIPE)
    line = child.stdout.readline()
    if not line.startswith(b"READY"):
        child.kill()
        raise SystemExit(f"many_regions {regions} failed: {line!r}")
    return child


def read_to_bytes(path: str) -> bytes:
    """Read to the end into new bytes objects and join them, as a Python reader does."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


PEAK_RSS: dict[str, int] = {}  # whole-process line -> its largest peak RSS, in KiB


def whole_process(argv: list[str], name: str) -> Callable[[], None]:
    """Run ``argv``, output to /dev/null. Its peak RSS comes from GNU time when it is
    there: a child forked from this (big) process would report this one's peak, as
    Linux carries the high-water mark across fork and exec."""
    time_tool = shutil.which("time") or (
        "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    )

    def run() -> None:
        with tempfile.NamedTemporaryFile("r") as report:
            wrapped = [time_tool, "-f", "%M", "-o", report.name, *argv] if time_tool else argv
            subprocess.run(
                wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
            )
            text = report.read().strip().splitlines()
        if text and text[-1].isdigit():
            PEAK_RSS[name] = max(PEAK_RSS.get(name, 0), int(text[-1]))

    return run


CPU = "  CPU time of both threads"


def measure(pid: int, repeat: int, slow_repeat: int, skip_whole: bool) -> dict[str, float]:
    procfs = ProcFS()
    path = f"/proc/{pid}/smaps"
    data = b"" if skip_whole else read_to_bytes(path)
    size = len(read_to_bytes(path)) if skip_whole else len(data)
    vmtop = [sys.executable, "-m", "vmtop", "snapshot", str(pid)]
    fast: dict[str, Callable[[], object]] = {
        "kernel read": lambda: kernel_read(path),
        "python read to bytes": lambda: read_to_bytes(path),
        "vmtop read+parse": lambda: read_smaps(procfs, pid),
        "vmtop read+parse in pieces": lambda: read_smaps_without_text(procfs, pid),
        "vmtop read, then parse": lambda: parse_smaps(procfs.read_bytes(pid, "smaps")),
        "vmtop parse alone": lambda: parse_smaps(data),
        "take_snapshot (classify)": lambda: take_snapshot(procfs, pid),
    }
    if skip_whole:  # a million regions: the whole-text paths hold ~1 GB each
        for name in ("python read to bytes", "vmtop read, then parse", "vmtop parse alone"):
            del fast[name]
    slow: dict[str, Callable[[], object]] = {}
    try:
        import psutil

        process = psutil.Process(pid)
        slow["psutil memory_maps()"] = lambda: process.memory_maps(grouped=False)
    except ImportError:
        pass
    if shutil.which("pmap"):
        for opt in ("-x", "-X"):
            name = f"pmap {opt} (process)"
            slow[name] = whole_process(["pmap", opt, str(pid)], name)
    for fmt in ("pmap", "json", "csv"):
        name = f"vmtop snapshot --format {fmt}"
        slow[name] = whole_process([*vmtop, "--format", fmt], name)
    best: dict[str, float] = {}
    for round_ in range(max(repeat, slow_repeat)):
        for name, fn in (*fast.items(), *(slow.items() if round_ < slow_repeat else ())):
            if round_ >= repeat and name in fast and name != "kernel read":
                continue
            gc.collect()
            c0 = time.process_time()
            t0 = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - c0
            # Freed outside the timing: the clock stops when the snapshot exists (freeing
            # 60 000 regions is not part of taking one, and the kernel read's result is
            # one bytes object that frees in no time, so timing it would skew the ratio).
            del result
            best[name] = min(best.get(name, elapsed), elapsed)
            if name == "vmtop read+parse":
                best[CPU] = min(best.get(CPU, cpu), cpu)
    best["smaps bytes"] = size
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", default="60000,250000,1000000")
    parser.add_argument("--repeat", type=int, default=5, help="rounds for in-process timings")
    parser.add_argument(
        "--slow-repeat", type=int, default=3, help="rounds for whole-process timings"
    )
    args = parser.parse_args()
    if shutil.which("gcc") is None:
        raise SystemExit("needs gcc to build many_regions.c")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(tmp)
        for count in (int(x) for x in args.regions.split(",")):
            PEAK_RSS.clear()
            with max_map_count_for(count):
                child = start(exe, count)
                try:
                    with open(f"/proc/{child.pid}/maps", "rb") as f:
                        regions = f.read().count(b"\n")
                    results = measure(
                        child.pid, args.repeat, args.slow_repeat, skip_whole=count > 300_000
                    )
                finally:
                    child.kill()
                    child.wait()
            size = results.pop("smaps bytes")
            kernel = results["kernel read"]
            print(f"\n{regions} regions, smaps {size / 1e6:.1f} MB")
            print(f"  {'':32} {'ms':>8} {'x kernel read':>14}")
            for name, seconds in results.items():
                print(f"  {name:32} {seconds * 1000:8.1f} {seconds / kernel:14.2f}")
            if "pmap -X (process)" in results:
                ratio = results["vmtop snapshot --format json"] / results["pmap -X (process)"]
                print(f"  vmtop snapshot --format json / pmap -X: {ratio:.2f}")
            if "pmap -x (process)" in results:
                ratio = results["vmtop snapshot --format pmap"] / results["pmap -x (process)"]
                print(f"  vmtop snapshot --format pmap / pmap -x: {ratio:.2f}")
            print(
                "  peak RSS (MiB): " + ", ".join(f"{k} {v / 1024:.0f}" for k, v in PEAK_RSS.items())
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
