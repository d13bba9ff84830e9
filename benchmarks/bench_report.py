"""What `vmtop report` costs on a long recording: peak RSS and wall time of the whole
command (``/usr/bin/time -v``), by recording length (issue 10: hours of watching should
cost what minutes do, and nothing kept per sample should grow without bound).

The recordings are those of ``bench_recording_open.py`` (``churn``: a program mapping
and unmapping a region every sample at 0.1 s, one event each; the real writer writes
them from one real snapshot of this process), written once into ``--keep DIR``. Each is
reported on by the vmtop of ``--tree`` (for "before", a copy of an older commit:
``git archive HEAD vmtop | tar -x -C /tmp/old``) in a child process; the output's
SHA-256 is printed so that two trees can be seen to print the same report.

    python benchmarks/bench_report.py [--samples 3000 18000 59000] [--tree DIR]
        [--keep DIR] [--variants clean "no index"] [--rounds N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_recording_open import churn, variant, write  # noqa: E402


def run_report(path: str, tree: str) -> dict:
    """Peak RSS (KiB), wall seconds and the output's digest of one `vmtop report`."""
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "vmtop", "report", path],
        env=env,
        capture_output=True,
        check=True,
        cwd=tree,
    )
    err = out.stderr.decode()
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)[1])
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", err)[1]
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    return {"peak_kib": peak, "wall_s": seconds, "sha": hashlib.sha256(out.stdout).hexdigest()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, nargs="+", default=[3_000, 18_000, 59_000])
    ap.add_argument("--tree", default=os.getcwd(), help="the vmtop whose report is measured")
    ap.add_argument("--keep", default=None, help="a folder to write (and reuse) recordings in")
    ap.add_argument("--variants", nargs="+", default=["clean", "no index"])
    ap.add_argument("--rounds", type=int, default=1, help="runs per figure (least of each)")
    args = ap.parse_args()
    from vmtop.procfs.reader import ProcFS
    from vmtop.procfs.snapshot import take_snapshot

    base = take_snapshot(ProcFS(), os.getpid()).compact()
    folder = args.keep or tempfile.mkdtemp(prefix="vmtop-bench-report-")
    os.makedirs(folder, exist_ok=True)
    print(f"base: {len(base.regions)} regions; report of {args.tree}")
    for n in args.samples:
        path = os.path.join(folder, f"churn-{n}.jsonl.gz")
        if not os.path.exists(path):
            spent = write(path, churn(base, n))
            print(f"wrote {path}: {os.path.getsize(path) / 1e6:.1f} MB in {spent:.0f} s")
        for kind in args.variants:
            runs = [run_report(variant(path, kind), args.tree) for _ in range(args.rounds)]
            peak = min(r["peak_kib"] for r in runs)
            wall = min(r["wall_s"] for r in runs)
            print(
                f"churn {n} {kind}: peak RSS {peak / 1024:.1f} MiB, {wall:.2f} s, "
                f"output {runs[0]['sha'][:12]}"
            )
    if not args.keep:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
