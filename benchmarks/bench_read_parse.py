"""Where read+parse of a huge smaps goes: the kernel's read, vmtop's read+parse in
pieces, the parsing thread's CPU and the parse alone, for this checkout and, with
``--against``, another one, in alternating processes. Not a test: it prints numbers.

    python benchmarks/bench_read_parse.py [--regions 1000000] [--rounds 3]
        [--against DIR]   # DIR holds another checkout's vmtop/ (git archive REV vmtop)

Why alternating processes: on a lent machine the kernel read of the same file varied
by half within a minute (1.43-2.19 s at a million regions), and so does any ratio to
it. Two versions are compared only when their runs are interleaved.

Each line, for one process:
- kernel read: read() into one reused buffer, as ``kernel_read``;
- read+parse: ``read_smaps_without_text`` (a reader thread and this one parsing);
- parsing thread CPU: this thread's CPU time during read+parse;
- parse alone: the same pieces, read first, then parsed (the parse's own cost);
- waited: read+parse less the slower of the two alone, what running them side by side
  costs.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(pid: int) -> str:
    """One process's line (this interpreter's vmtop: the PYTHONPATH decides which)."""
    from kernel_read import kernel_read

    from vmtop.procfs import pieces
    from vmtop.procfs.parse_maps import parse_smaps, parse_smaps_parts
    from vmtop.procfs.reader import ProcFS
    from vmtop.procfs.snapshot import read_smaps_without_text

    gc.collect()
    t0 = time.perf_counter()
    kernel_read(f"/proc/{pid}/smaps")
    kernel = time.perf_counter() - t0
    gc.collect()
    t0, c0 = time.perf_counter(), time.thread_time()
    read_smaps_without_text(ProcFS(), pid)
    both, cpu = time.perf_counter() - t0, time.thread_time() - c0
    texts = list(ProcFS().read_pieces(pid, "smaps", pieces.PARSE_PIECE, ends=pieces._regions_end))
    gc.collect()
    c0 = time.thread_time()
    pieces.parse_in_pieces_to_columns(texts, parse_smaps, parse_smaps_parts, whole=True)
    alone = time.thread_time() - c0
    ms = 1000
    return (
        f"kernel read {kernel * ms:5.0f} ms  read+parse {both * ms:5.0f} ms"
        f" ({both / kernel:.2f}x)  parsing thread CPU {cpu * ms:5.0f} ms"
        f"  parse alone {alone * ms:5.0f} ms  waited {(both - max(kernel, alone)) * ms:5.0f} ms"
    )


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", help="a folder holding another checkout's vmtop/")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # (one process)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(HERE))
        print(measure(args.measure))
        return 0
    from map_count import max_map_count_for

    versions = {"this checkout": str(HERE.parent)}
    if args.against:
        versions[f"--against {args.against}"] = os.path.abspath(args.against)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp, max_map_count_for(args.regions):
        exe = os.path.join(tmp, "many_regions")
        subprocess.run(["gcc", "-O2", "-o", exe, str(HERE / "many_regions.c")], check=True)
        child = subprocess.Popen([exe, str(args.regions)], stdout=subprocess.PIPE)
        try:
            if not child.stdout.readline().startswith(b"READY"):
                raise SystemExit("many_regions did not start")
            for _ in range(args.rounds):
                for name, root in versions.items():
                    env = {**os.environ, "PYTHONPATH": root}
                    argv = [sys.executable, __file__, "--measure", str(child.pid)]
                    line = subprocess.run(
                        argv, env=env, capture_output=True, text=True, check=True
                    ).stdout.strip()
                    print(f"{name:>24}: {line}")
        finally:
            child.kill()
            child.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
