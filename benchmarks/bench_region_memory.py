"""What a snapshot's regions cost in memory, as Region tuples and as columns: the
measurement behind keeping Region tuples for now (benchmarks/README.md).

Takes one snapshot of benchmarks/many_regions.c with N regions (smaps read in pieces,
as the TUI does past 10 000 regions) and measures with tracemalloc:

- the regions as they are: a tuple of Region NamedTuples (18 fields; ints and
  interned strings shared between regions where equal);
- the same as columns: array('Q') of start, end, offset, inode and the eight resident
  figures (a sentinel for None), array('I') indexes into interned tables of perms,
  dev, path, kind and object, and a dict for the rare tid;
- what iterating costs: one pass over the tuples, against making a Region per row
  from the columns (what every consumer that loops over regions would pay, per loop).

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
from array import array
from pathlib import Path

from map_count import max_map_count_for

from vmtop.model.region import Region
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

HERE = Path(__file__).resolve().parent
NUMBERS = ("start", "end", "offset", "inode", "rss", "pss", "shared_clean", "shared_dirty",
           "private_clean", "private_dirty", "swap", "anonymous")  # fmt: skip
NAMES = ("perms", "dev", "path", "kind", "object")
NONE = (1 << 64) - 1


def columns(regions) -> dict:
    cols: dict = {}
    for name in NUMBERS:
        i = Region._fields.index(name)
        cols[name] = array("Q", (NONE if r[i] is None else r[i] for r in regions))
    for name in NAMES:
        i = Region._fields.index(name)
        table: dict = {}
        cols[name] = array("I", (table.setdefault(r[i], len(table)) for r in regions))
        cols[name + "_table"] = list(table)
    cols["tid"] = {n: r.tid for n, r in enumerate(regions) if r.tid is not None}
    return cols


def region_at(cols: dict, n: int) -> Region:
    values = {k: cols[k][n] for k in NUMBERS}
    values = {k: (None if v == NONE else v) for k, v in values.items()}
    for k in NAMES:
        values[k] = cols[k + "_table"][cols[k][n]]
    return Region(tid=cols["tid"].get(n), **values)


def all_regions(cols: dict) -> list[Region]:
    """Every row as a Region, column by column in C (as parse_maps builds them)."""
    from itertools import repeat

    n = len(cols["start"])
    fields = []
    for name in Region._fields:
        if name in NUMBERS:
            fields.append([None if v == NONE else v for v in cols[name]])
        elif name in NAMES:
            fields.append(list(map(cols[name + "_table"].__getitem__, cols[name])))
        else:  # tid
            tids = cols["tid"]
            fields.append([tids.get(i) for i in range(n)] if tids else repeat(None, n))
    return list(map(tuple.__new__, repeat(Region), zip(*fields, strict=False)))


def measured(build):
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    value = build()
    gc.collect()
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return value, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=250_000)
    args = parser.parse_args()
    if shutil.which("gcc") is None:
        raise SystemExit("needs gcc")
    with tempfile.TemporaryDirectory() as tmp, max_map_count_for(args.regions):
        exe = Path(tmp) / "many_regions"
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "many_regions.c")], check=True)
        child = subprocess.Popen([str(exe), str(args.regions)], stdout=subprocess.PIPE)
        try:
            child.stdout.readline()
            snap, as_tuples = measured(lambda: take_snapshot(ProcFS(), child.pid, keep_text=False))
        finally:
            child.kill()
            child.wait()
    regions = snap.regions
    n = len(regions)
    cols, as_columns = measured(lambda: columns(regions))
    assert all(region_at(cols, i) == regions[i] for i in range(0, n, 997))
    t0 = time.perf_counter()
    for r in regions:
        r.rss  # noqa: B018
    t_tuples = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n):
        region_at(cols, i).rss  # noqa: B018
    t_columns = time.perf_counter() - t0
    t0 = time.perf_counter()
    rebuilt = all_regions(cols)
    t_all = time.perf_counter() - t0
    assert rebuilt == list(regions)
    print(f"{n} regions")
    print(f"  Region tuples (whole snapshot): {as_tuples / 2**20:7.1f} MiB, "
          f"{as_tuples / n:5.0f} B/region")  # fmt: skip
    print(f"  columns                       : {as_columns / 2**20:7.1f} MiB, "
          f"{as_columns / n:5.0f} B/region")  # fmt: skip
    print(f"  one pass over the tuples      : {t_tuples * 1000:7.1f} ms")
    print(f"  one pass, a Region made per row: {t_columns * 1000:7.1f} ms")
    print(f"  every Region made at once, in C: {t_all * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
