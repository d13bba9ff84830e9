"""What watching costs the watched process: its mmap+munmap rate alone, then while
`vmtop watch` runs on it at its defaults (1 s interval, smaps on a budget), then while
`pmap -x` runs on it in a loop, for comparison; with ``--tui``, also while the TUI
(``python -m vmtop PID`` in a 160x48 tmux session of its own) watches it.

The target is benchmarks/churn_rate.c: N separate regions, then mmap + munmap of one
page in a loop, printing its rate every second. Target: rate with watch >= 0.9x alone.

    python benchmarks/bench_watch_cost.py [--regions 60000] [--seconds 20] [--before DIR]
                                          [--tui] [--rounds N] [--cpu K]

``--before DIR``: also measure the `vmtop watch` of another source tree (e.g. an older
commit unpacked with ``git archive REV | tar -x -C DIR``), on the same target in the
same run, so that the two are compared under the same load. Each watch's own CPU time
per second is printed too (from /proc/PID/stat).
"""

from __future__ import annotations

import argparse
import os
import shlex
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


def pinned(cpu: int | None):
    """A preexec_fn that keeps the child (and its threads) on one CPU, or None."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def watched_rate(
    target: subprocess.Popen, seconds: float, source: Path | None, cpu: int | None = None
) -> tuple[float, float, str, float]:
    """The target's rate while `vmtop watch` (of ``source``, else this tree) runs on
    it: median pairs/s, worst pair, watch's first stderr line, its CPU share."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    watch = subprocess.Popen(
        [sys.executable, "-m", "vmtop", "watch", str(target.pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=source or HERE.parent,
        preexec_fn=pinned(cpu),
    )
    note = watch.stderr.readline().strip()
    rates(target, 2)
    cpu0, t0 = cpu_seconds(watch.pid), time.monotonic()
    rate, worst = rates(target, seconds)
    share = (cpu_seconds(watch.pid) - cpu0) / (time.monotonic() - t0)
    watch.terminate()
    watch.wait()
    return rate, worst, note, share


def tui_rate(
    target: subprocess.Popen, seconds: float, source: Path | None, cpu: int | None = None
) -> tuple[float, float, str, float]:
    """The target's rate while the TUI (of ``source``, else this tree) shows it in a
    160x48 tmux session on a socket of its own: median pairs/s, worst pair, the TUI's
    header line, its CPU share. (``cpu`` is not applied: tmux starts the TUI.)"""
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "tmux.sock")
        path = f"PYTHONPATH={shlex.quote(str(source))} " if source is not None else ""
        command = (
            f"cd {shlex.quote(str(source or HERE.parent))} && exec env {path}"
            f"{shlex.quote(sys.executable)} -m vmtop {target.pid}"
        )
        tmux = ["tmux", "-S", sock]
        subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "48", command], check=True)
        try:
            shown = subprocess.run(
                [*tmux, "display", "-p", "#{pane_pid}"], capture_output=True, text=True
            )
            pid = int(shown.stdout)  # (exec: the pane's process is the TUI)
            rates(target, 4)  # its first screen
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            rate, worst = rates(target, seconds)
            share = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
            pane = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True)
            header = " ".join(pane.stdout.splitlines()[:1]).strip()
        finally:
            subprocess.run([*tmux, "kill-server"], capture_output=True)
    return rate, worst, header, share


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=60_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--before", type=Path, help="another source tree's watch, too")
    parser.add_argument("--tui", action="store_true", help="the TUI too (needs tmux)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="alone / watch (/ before) this many times over"
    )
    parser.add_argument(
        "--cpu",
        type=int,
        help="pin the target and each watch to this one CPU: what watching costs when "
        "they compete for a core (the worst case; not pmap)",
    )
    args = parser.parse_args()
    if shutil.which("gcc") is None:
        raise SystemExit("needs gcc")
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()}")
    # Per round: the rate alone, then with each watch; ratios against that round's alone
    # (the machine's other load drifts between rounds more than within one).
    variants: list[tuple[str, Path | None, object]] = [("with vmtop watch", None, watched_rate)]
    if args.before is not None:
        variants.append(("with watch before", args.before.resolve(), watched_rate))
    if args.tui:
        if shutil.which("tmux") is None:
            raise SystemExit("--tui needs tmux")
        variants.append(("with the TUI", None, tui_rate))
        if args.before is not None:
            variants.append(("with TUI before", args.before.resolve(), tui_rate))
    ratios: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    shares: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp, max_map_count_for(args.regions):
        exe = Path(tmp) / "churn_rate"
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "churn_rate.c")], check=True)
        target = subprocess.Popen(
            [str(exe), str(args.regions)], stdout=subprocess.PIPE, preexec_fn=pinned(args.cpu)
        )
        try:
            assert target.stdout.readline().startswith(b"READY")
            rates(target, 2)  # settle
            for round_ in range(1, args.rounds + 1):
                alone, alone_worst = rates(target, args.seconds)
                print(
                    f"round {round_}: alone {alone:10.0f} pairs/s   worst "
                    f"{alone_worst / 1000:6.1f} ms   (load {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
                for label, source, measure in variants:
                    rate, worst, note, share = measure(target, args.seconds, source, args.cpu)
                    ratios[label].append(rate / alone)
                    shares[label].append(share)
                    notes.setdefault(label, note)
                    print(
                        f"  {label:<18} {rate:10.0f} pairs/s   worst {worst / 1000:6.1f} ms"
                        f"   {rate / alone:.2f}x alone   (vmtop: {share:.1%} of a core)",
                        flush=True,
                    )
            loop = subprocess.Popen(
                ["sh", "-c", f"while :; do pmap -x {target.pid} >/dev/null; done"],
            )
            pmapped, pmap_worst = rates(target, args.seconds)
            loop.terminate()
            loop.wait()
        finally:
            target.kill()
            target.wait()
    pin = f", target and watch on CPU {args.cpu}" if args.cpu is not None else ""
    print(f"{args.regions} regions, {args.rounds} round(s) of {args.seconds:g} s{pin}:")
    for label, source, _ in variants:
        print(
            f"  {label:<18} median {statistics.median(ratios[label]):.2f}x alone "
            f"(rounds: {', '.join(f'{r:.2f}' for r in ratios[label])}); vmtop "
            f"{statistics.median(shares[label]):.1%} of a core"
        )
        print(f"    {source or 'this tree'}: {notes[label]}")
    print(
        f"  with pmap -x loop  {pmapped:10.0f} pairs/s   worst {pmap_worst / 1000:6.1f} ms"
        f"   {pmapped / alone:.2f}x the last alone"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
