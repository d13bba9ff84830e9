"""What a snapshot's regions cost, as Region tuples and as columns (RegionColumns):
memory, one pass over them, and a full collection of the cycle collector while they
are held. Not a test: it prints numbers (benchmarks/README.md).

Takes one snapshot of benchmarks/many_regions.c with N regions with smaps read in pieces
(as the TUI does past 10 000 regions: columns), and makes a tuple of Regions of the same
regions, then measures each with tracemalloc.

    python benchmarks/bench_region_memory.py [--regions 250000]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from map_count import max_map_count_for

from vmtop.model.columns import RegionColumns
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

HERE = Path(__file__).resolve().parent


def start_child(n: int, workdir: Path) -> subprocess.Popen:
    if shutil.which("gcc") is None:
        sys.exit("gcc is needed to build benchmarks/many_regions.c")
    exe = workdir / "many_regions"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "many_regions.c")], check=True)
    child = subprocess.Popen([str(exe), str(n)], stdout=subprocess.PIPE, text=True)
    if not child.stdout.readline().startswith("READY"):
        child.kill()
        sys.exit("many_regions did not start")
    return child


def measured(make):
    """(what make() returned, bytes it allocated and still holds)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    value = make()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return value, after - before


def best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def full_collection() -> float:
    t0 = time.perf_counter()
    gc.collect()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=250_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, max_map_count_for(args.regions):
        child = start_child(args.regions, Path(tmp))
        try:
            run(ProcFS(), child.pid)
        finally:
            child.kill()
            child.wait()


def run(procfs: ProcFS, pid: int) -> None:
    snap = take_snapshot(procfs, pid, smaps=True, keep_text=False)
    columns = snap.regions
    assert isinstance(columns, RegionColumns)
    n = len(columns)
    print(f"process {pid}: {n} regions (smaps read in pieces)")
    held = {}
    held["tuples"], tuple_bytes = measured(lambda: tuple(columns))
    again, column_bytes = measured(lambda: RegionColumns.from_regions(held["tuples"]))
    assert again == columns
    print(f"  {'Region tuples':<44} {tuple_bytes / 2**20:8.1f} MiB {tuple_bytes / n:6.0f} B/region")
    print(
        f"  {'RegionColumns':<44} {column_bytes / 2**20:8.1f} MiB {column_bytes / n:6.0f} B/region"
    )

    def pass_tuples():
        for r in held["tuples"]:
            r.end - r.start  # noqa: B018

    def pass_columns_regions():
        for r in columns:
            r.end - r.start  # noqa: B018

    def pass_columns_plain():
        for r in columns.plain_rows():
            r[1] - r[0]  # noqa: B018

    def pass_columns_column():
        sum(columns.column("end")) - sum(columns.column("start"))

    for name, fn in [
        ("one pass: Region tuples", pass_tuples),
        ("one pass: columns, a Region made per row", pass_columns_regions),
        ("one pass: columns, a plain tuple per row", pass_columns_plain),
        ("one pass: columns, two columns summed", pass_columns_column),
    ]:
        print(f"  {name:<44} {best(fn) * 1000:8.1f} ms")
    gc.collect()
    with_tuples = min(full_collection() for _ in range(3))
    del held["tuples"]
    gc.collect()
    with_columns = min(full_collection() for _ in range(3))
    print(f"  {'full collection, the tuples held':<44} {with_tuples * 1000:8.1f} ms")
    print(f"  {'full collection, the columns only':<44} {with_columns * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
