"""An hour in the real TUI on a churning process: does vmtop's memory stay flat?

Issue 10's target: "one hour watching a churning process (regions split, merged, mapped
and unmapped every second): RSS at the end within 10 % of RSS at 5 minutes". This runs
exactly that, end to end, not headless:

- compiles benchmarks/soak_churn.c (gcc, into a temporary directory) and starts it with
  ``--regions`` slots (about two regions each: a mapping and its guard page). Once a
  second, in a short burst and then asleep, it merges back the slots it split the second
  before, splits others (mprotect of a middle page), unmaps some slots and maps new ones,
  and touches or gives back whole slots so resident sizes move (RSS events);
- runs ``python -m vmtop PID`` (the process screen, at the default interval) in a
  160x48 tmux session on a socket of its own;
- every ``--interval-samples`` seconds records the vmtop Python process's VmRSS and
  VmHWM (/proc/PID/status), its CPU time (utime+stime), its threads, the target's region
  count, and from the screen the clock in the header, the time of the newest event shown,
  how many event lines are on screen (is the screen still live?) and the header's smaps
  read time. One line per sample
  on stdout, and a CSV with ``--csv``;
- at the end prints RSS at the start, at 5 minutes and at the end, end / 5 min against
  the 10 % target, the peak (VmHWM), vmtop's mean CPU in % of one core, and the tmux pane
  as it is then. It kills what it started (churner, tmux server) on any exit, Ctrl-C and
  SIGTERM included.

    python benchmarks/bench_soak.py [--minutes 60] [--interval-samples 30] [--regions 400]
                                    [--csv soak.csv] [--repo PATH] [--vmtop-python PY]

``--repo PATH`` runs vmtop from that checkout (``PYTHONPATH=PATH python -m vmtop``), to
rerun the same hour on newer code; ``--vmtop-python`` picks the interpreter (default: the
one running this script). For an hour, start it in the background:
``nohup python benchmarks/bench_soak.py --csv soak.csv > soak.log 2>&1 &``.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import astuple, dataclass, fields
from pathlib import Path

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")
CLOCK = re.compile(r"\b(\d\d:\d\d:\d\d)\s*$")
EVENT_LINE = re.compile(r"^(\d\d:\d\d:\d\d) [a-z_]+ ")
REGIONS = re.compile(r"\bregions (\d+)\b")
READ_IN = re.compile(r"read in ([\d.]+)ms")


@dataclass
class Sample:
    elapsed_s: float
    rss_kib: int
    hwm_kib: int
    cpu_s: float
    cpu_pct: float  # of one core, since the previous sample
    threads: int
    target_regions: int
    screen_regions: int  # the header's region count (-1: not found)
    screen_clock: str  # the header's clock
    newest_event: str  # time of the first event line (newest first)
    events_on_screen: int
    smaps_read_ms: float  # the header's "read in N ms" (-1: not shown)
    load1: float  # the machine's 1-minute load average


def status_fields(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":", 1) for line in f if ":" in line)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        after_comm = f.read().rsplit(")", 1)[1].split()
    return (int(after_comm[11]) + int(after_comm[12])) / TICK  # utime, stime


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]


def find_vmtop(root: int) -> int | None:
    """The Python process running vmtop: the pane's process or one below it."""
    todo = [root]
    while todo:
        pid = todo.pop(0)
        try:
            args = cmdline(pid)
        except OSError:
            continue
        if "-m" in args and "vmtop" in args and "python" in Path(args[0]).name:
            return pid
        todo.extend(children(pid))
    return None


class Tmux:
    def __init__(self, name: str) -> None:
        self.base = ["tmux", "-L", name, "-f", "/dev/null"]

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, check=check, timeout=30
        )
        return done.stdout

    def capture(self) -> str:
        return self.run("capture-pane", "-p", "-t", "soak")

    def kill(self) -> None:
        self.run("kill-server", check=False)


def read_screen(pane: str) -> tuple[int, str, str, int, float]:
    lines = pane.splitlines()
    clock = CLOCK.search(lines[0]) if lines else None
    regions = REGIONS.search(lines[1]) if len(lines) > 1 else None
    events = [m.group(1) for line in lines if (m := EVENT_LINE.match(line))]
    read_in = READ_IN.search(lines[0]) if lines else None
    return (
        int(regions.group(1)) if regions else -1,
        clock.group(1) if clock else "",
        events[0] if events else "",
        len(events),
        float(read_in.group(1)) if read_in else -1.0,
    )


def region_count(pid: int) -> int:
    with open(f"/proc/{pid}/maps", "rb") as f:
        return f.read().count(b"\n")


def at(samples: list[Sample], seconds: float) -> Sample:
    return min(samples, key=lambda s: abs(s.elapsed_s - seconds))


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--interval-samples", type=float, default=30, metavar="S")
    parser.add_argument("--regions", type=int, default=400, help="churner slots")
    parser.add_argument("--csv", type=Path, help="write the samples here")
    parser.add_argument("--repo", type=Path, help="run vmtop from this checkout")
    parser.add_argument("--vmtop-python", default=sys.executable, metavar="PY")
    parser.add_argument("--reference-minutes", type=float, default=5, metavar="M")
    args = parser.parse_args()
    for tool in ("gcc", "tmux"):
        if shutil.which(tool) is None:
            sys.exit(f"bench_soak: needs {tool}")

    # SIGTERM (kill, a CI timeout) unwinds through the finally below, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="vmtop-soak-"))
    tmux = Tmux(f"soak-{os.getpid()}")
    churner: subprocess.Popen | None = None
    samples: list[Sample] = []
    try:
        exe = tmp / "soak_churn"
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "soak_churn.c")], check=True)
        out = open(tmp / "churn.out", "w+")  # noqa: SIM115 (closed with tmp's removal)
        churner = subprocess.Popen([str(exe), str(args.regions)], stdout=out)
        deadline = time.monotonic() + 10
        while not (tmp / "churn.out").read_text().startswith("READY"):
            if churner.poll() is not None or time.monotonic() > deadline:
                sys.exit("bench_soak: the churner did not start")
            time.sleep(0.05)

        env = ""
        if args.repo:
            env = f"PYTHONPATH={shlex.quote(str(args.repo.resolve()))} "
        command = f"{env}exec {shlex.quote(args.vmtop_python)} -m vmtop {churner.pid}"
        tmux.run(
            *("start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";"),
            *("new-session", "-d", "-s", "soak", "-x", "160", "-y", "48", command),
        )
        pane_pid = int(tmux.run("display", "-p", "-t", "soak", "#{pane_pid}"))
        vmtop = None
        deadline = time.monotonic() + 60
        while vmtop is None or read_screen(tmux.capture())[0] < 0:
            if time.monotonic() > deadline:
                print(tmux.capture())
                sys.exit("bench_soak: no process screen within 60 s")
            vmtop = vmtop or find_vmtop(pane_pid)
            time.sleep(0.2)
        checkout = args.repo or HERE.parent
        commit = subprocess.run(
            ["git", "-C", str(checkout), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"vmtop from {checkout} at {commit or '?'}, {os.cpu_count()} CPUs")
        print(
            f"churner pid {churner.pid} ({region_count(churner.pid)} regions), "
            f"vmtop pid {vmtop}: {' '.join(cmdline(vmtop))}",
            flush=True,
        )

        t0 = time.monotonic()
        total = args.minutes * 60
        previous = (t0, cpu_seconds(vmtop))
        print(
            "   min    RSS MiB  HWM MiB  CPU s  CPU %  thr  regions  screen  "
            "clock     newest ev  ev  smaps ms  load",
            flush=True,
        )
        k = 0
        while True:
            now = time.monotonic()
            if churner.poll() is not None:
                sys.exit("bench_soak: the churner died")
            try:
                status = status_fields(vmtop)
                cpu = cpu_seconds(vmtop)
            except OSError:
                print(tmux.capture())  # the pane stays (remain-on-exit): a traceback?
                sys.exit("bench_soak: vmtop exited")
            screen = read_screen(tmux.capture())
            wall = now - previous[0]
            sample = Sample(
                round(now - t0, 1),
                int(status["VmRSS"].split()[0]),
                int(status["VmHWM"].split()[0]),
                round(cpu, 2),
                round(100 * (cpu - previous[1]) / wall, 1) if wall > 0 else 0.0,
                int(status["Threads"]),
                region_count(churner.pid),
                *screen,
                float(Path("/proc/loadavg").read_text().split()[0]),
            )
            previous = (now, cpu)
            samples.append(sample)
            s = sample
            print(
                f"{s.elapsed_s / 60:6.1f}  {s.rss_kib / 1024:9.1f}  "
                f"{s.hwm_kib / 1024:7.1f}  {s.cpu_s:5.1f}  {s.cpu_pct:5.1f}  "
                f"{s.threads:3d}  {s.target_regions:7d}  {s.screen_regions:6d}  "
                f"{s.screen_clock:8s}  {s.newest_event:9s}  {s.events_on_screen:2d}  "
                f"{s.smaps_read_ms:8.1f}  {s.load1:4.2f}",
                flush=True,
            )
            if now - t0 >= total - 0.5:
                break
            k += 1
            time.sleep(max(0.0, t0 + min(k * args.interval_samples, total) - time.monotonic()))

        if args.csv:
            with open(args.csv, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(field.name for field in fields(Sample))
                writer.writerows(astuple(s) for s in samples)
        first, last = samples[0], samples[-1]
        reference_s = min(args.reference_minutes * 60, last.elapsed_s / 2)
        ref = at(samples, reference_s)
        ratio = last.rss_kib / ref.rss_kib
        minutes = (last.elapsed_s - ref.elapsed_s) / 60
        per_minute = (last.rss_kib - ref.rss_kib) / 1024 / minutes if minutes else 0.0
        mean_cpu = 100 * (last.cpu_s - first.cpu_s) / (last.elapsed_s - first.elapsed_s)
        print()
        print(f"vmtop RSS at start        {mib(first.rss_kib)}")
        print(f"vmtop RSS at {ref.elapsed_s / 60:4.1f} min     {mib(ref.rss_kib)}")
        print(f"vmtop RSS at end ({last.elapsed_s / 60:.1f} min) {mib(last.rss_kib)}")
        verdict = "within" if abs(ratio - 1) <= 0.10 else "NOT within"
        print(
            f"end / {ref.elapsed_s / 60:.1f} min = {ratio:.3f} "
            f"({verdict} the 10 % target; {per_minute:+.2f} MiB a minute)"
        )
        print(f"peak RSS (VmHWM)          {mib(max(s.hwm_kib for s in samples))}")
        print(f"mean CPU                  {mean_cpu:.1f} % of one core")
        load = [s.load1 for s in samples]
        print(f"machine load (1 min)      mean {sum(load) / len(load):.2f}, max {max(load):.2f}")
        print(f"churner                   {(tmp / 'churn.out').read_text().split()[-4:]}")
        print()
        print("tmux pane at the end:")
        print(tmux.capture())
        return 0
    finally:
        tmux.kill()
        if churner is not None:
            churner.kill()
            churner.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
