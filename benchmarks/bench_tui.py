"""TUI benchmarks in a real terminal (tmux, 160×48). Not a test: it prints numbers.

    python benchmarks/bench_tui.py [--regions 60000] [--seconds 180] [--repeats 5]

With more regions than vm.max_map_count allows, it raises it for the run (as root)
and puts it back.

Measures, against the targets of issue 5:

1. launch → first drawn process screen (``vmtop PID``: the pane shows the header's
   region count and the bar's axis), for a small process and for the N-region one;
   target < 1.5 s.
2. key press → repaint: with sampling paused (space), ``j`` is sent and the pane polled
   until it changes; target < 100 ms. Polling ``tmux capture-pane`` costs a few ms,
   so the figure is an upper bound.
3. vmtop's own CPU (share of one core) and peak RSS while it watches the N-region
   process at the default 1 s interval for ``--seconds`` (3 minutes by default: memory
   settles only after the first minute or two); targets < 25 %, < 300 MB.

The N-region process is benchmarks/many_regions.c (compiled here with gcc).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from map_count import max_map_count_for

HERE = Path(__file__).resolve().parent
VMTOP = Path(sys.executable).parent / "vmtop"
WIDTH, HEIGHT = 160, 48


class Pane:
    """One tmux session on its own private socket running one command."""

    count = 0

    def __init__(self, command: str) -> None:
        Pane.count += 1
        self.socket = f"vmtop-bench-{os.getpid()}-{Pane.count}"
        self.t0 = time.perf_counter()
        self.tmux(
            "new-session", "-d", "-s", "b", "-x", str(WIDTH), "-y", str(HEIGHT),
            f"TERM=xterm-256color {command}",
        )  # fmt: skip
        self.pid = int(self.tmux("display-message", "-p", "-t", "b", "#{pane_pid}").strip())

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        ).stdout

    def capture(self, styles: bool = False) -> str:
        """The pane's text; with ``styles`` also its colours (a moved cursor row may
        change only those)."""
        return self.tmux("capture-pane", "-p", *(["-e"] if styles else []), "-t", "b")

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "b", *keys)

    def wait_for(self, check, timeout: float = 30.0) -> float:
        """Seconds from session start until ``check(pane text)`` holds."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if check(self.capture()):
                return time.perf_counter() - self.t0
            time.sleep(0.005)
        raise TimeoutError(f"pane never matched; it shows:\n{self.capture()}")

    def close(self) -> None:
        self.tmux("kill-server")


def has_axis(text: str) -> bool:
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) >= 2 and all(re.fullmatch(r"(0x)?[0-9a-f_]{6,}", t) for t in tokens):
            return True
    return False


def process_screen_drawn(text: str) -> bool:
    return re.search(r"regions \d+", text) is not None and has_axis(text)


def start_many_regions(count: int, workdir: Path) -> subprocess.Popen:
    exe = workdir / "many_regions"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "many_regions.c")], check=True)
    proc = subprocess.Popen([str(exe), str(count)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"many_regions did not start: {line!r}")
    return proc


def picker_drawn(text: str) -> bool:
    row = re.search(r"^.\s+\d+ \S+ +[RSDZTtIX] ", text, re.M)  # a process row
    return "pick a process" in text and row is not None


def launch_times(pid: int | None, repeats: int) -> list[float]:
    """``vmtop PID`` until the process screen is drawn; ``vmtop`` until the picker is."""
    times = []
    for _ in range(repeats):
        pane = Pane(f"{VMTOP} {pid}" if pid is not None else str(VMTOP))
        try:
            check = process_screen_drawn if pid else picker_drawn
            times.append(pane.wait_for(check, timeout=120))
        finally:
            pane.close()
        time.sleep(0.3)
    return times


def key_latencies(pid: int, presses: int, paused: bool = True) -> list[float]:
    """Key press to a changed pane. ``paused``: sampling paused first (only keys change
    the screen); else while samples are being taken (a repaint by a sample can end a
    wait early: an upper bound on quickness, a lower bound on the wait)."""
    pane = Pane(f"{VMTOP} {pid}")
    try:
        pane.wait_for(process_screen_drawn, timeout=120)
        time.sleep(1.5)
        if paused:
            pane.send("space")  # pause sampling: from now on only keys change the screen
        time.sleep(1.5)
        latencies = []
        for _ in range(presses):
            before = pane.capture(styles=True)
            t0 = time.perf_counter()
            pane.send("j")
            while True:
                if pane.capture(styles=True) != before:
                    latencies.append(time.perf_counter() - t0)
                    break
                if time.perf_counter() - t0 > 10:
                    latencies.append(float("inf"))
                    break
            time.sleep(0.15)
        return latencies
    finally:
        pane.close()


def watch_cost(pid: int, seconds: float) -> tuple[float, int, float]:
    """(CPU share of one core, peak RSS bytes, smaps cost line) while vmtop watches pid."""
    pane = Pane(f"{VMTOP} {pid}")
    try:
        pane.wait_for(process_screen_drawn, timeout=120)
        vmtop = psutil.Process(pane.pid)
        time.sleep(3)  # past start-up
        cpu0 = vmtop.cpu_times()
        t0 = time.perf_counter()
        peak = 0
        while time.perf_counter() - t0 < seconds:
            peak = max(peak, vmtop.memory_info().rss)
            time.sleep(0.5)
        cpu1 = vmtop.cpu_times()
        wall = time.perf_counter() - t0
        used = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        header = next((ln for ln in pane.capture().splitlines() if "smaps" in ln), "")
        return used / wall, peak, header.strip()
    finally:
        pane.close()


def describe(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):.0f} ms, min {ms[0]:.0f}, p95 {p95:.0f} (n={len(ms)})"


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=60000)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for tool in ("tmux", "gcc"):
        if shutil.which(tool) is None:
            print(f"{tool} is needed", file=sys.stderr)
            return 1
    small = subprocess.Popen(["sleep", "3600"])
    with tempfile.TemporaryDirectory() as tmp, max_map_count_for(args.regions):
        many = start_many_regions(args.regions, Path(tmp))
        try:
            regions = sum(1 for _ in open(f"/proc/{many.pid}/maps", "rb"))
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(
                f"vmtop TUI benchmarks, {WIDTH}x{HEIGHT} tmux, {os.cpu_count()} CPUs, load {load}"
            )
            print(f"targets: sleep (small, pid {small.pid}); many_regions ({regions} regions)")
            print()
            print(f"launch -> picker drawn  : {describe(launch_times(None, args.repeats))}")
            print("launch -> first drawn process screen (target < 1500 ms)")
            print(f"  small process : {describe(launch_times(small.pid, args.repeats))}")
            print(f"  {regions} regions: {describe(launch_times(many.pid, args.repeats))}")
            print("key press -> repaint, sampling paused (target < 100 ms)")
            print(f"  small process : {describe(key_latencies(small.pid, 20))}")
            print(f"  {regions} regions: {describe(key_latencies(many.pid, 20))}")
            print("key press -> repaint while sampling (target p95 < 100 ms)")
            lat = key_latencies(many.pid, 20, paused=False)
            print(f"  {regions} regions: {describe(lat)}")
            print(f"watching {regions} regions at 1 s for {args.seconds:.0f} s")
            cpu, peak, header = watch_cost(many.pid, args.seconds)
            print(f"  vmtop CPU : {cpu * 100:.1f} % of one core (target < 25 %)")
            print(f"  vmtop RSS : {peak / 2**20:.0f} MiB peak (target < 300 MiB)")
            if header:
                print(f"  header    : {header}")
        finally:
            many.kill()
            many.wait()
            small.kill()
            small.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
