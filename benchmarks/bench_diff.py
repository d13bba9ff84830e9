"""How much the diff costs next to the kernel's read of smaps, for a 60 000-region process
(or any size: vm.max_map_count is raised for the run when root, and restored).

Starts a child that maps 60 000 regions (one anonymous area with every other page
mprotect'ed read-only, so the kernel cannot merge them, every page touched: the layout
of benchmarks/many_regions.c, without needing a compiler), takes a
snapshot, asks the child to change a few things (unmap some regions, map new ones,
mprotect, touch pages), takes a second snapshot, then times:

- the kernel's read of /proc/PID/smaps (open + read, bytes only: no parsing);
- diff_snapshots(a, b), region_changes(a, b) and unmapped_ranges(a, b): cold (no
  cached keys), and steady (the older snapshot's keys cached, as in `watch` or a view
  that diffs every new snapshot with the one before); and the three together, steady,
  as the process screen calls them on each new snapshot.

Times are CPU time of this thread (the kernel's read of smaps is system time spent in
this thread), the least of several runs: other load on the machine only adds to it.

Prints each as milliseconds and as a ratio to the kernel read; the target is <= 0.2.

With ``--columns`` the two snapshots are read as the TUI and `watch` read a huge map,
in pieces into columns (RegionColumns), and the columns' diff is what is timed.

    /work/venv/bin/python benchmarks/bench_diff.py [--regions 60000] [--repeat 7] [--columns]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time

from kernel_read import kernel_read
from map_count import max_map_count_for

from vmtop.model.columns import RegionColumns
from vmtop.model.diff import diff_snapshots
from vmtop.model.region_changes import region_changes, unmapped_ranges
from vmtop.model.sweep import clear_cache
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

CHILD = textwrap.dedent(
    """
    import ctypes, mmap, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    PAGE = mmap.PAGESIZE
    n = int(sys.argv[1])
    RW = mmap.PROT_READ | mmap.PROT_WRITE
    base = libc.mmap(None, n * PAGE, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    assert base not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
    for k in range(n):  # every page resident, as in benchmarks/many_regions.c
        ctypes.memset(base + k * PAGE, 1, 1)
    for k in range(1, n, 2):
        if libc.mprotect(base + k * PAGE, PAGE, mmap.PROT_READ) != 0:
            raise SystemExit(f"mprotect failed at {k}: errno {ctypes.get_errno()}")
    print("ready", flush=True)
    sys.stdin.readline()
    # A few changes of every kind, spread over the area.
    for k in range(1000, n - 1000, n // 20):
        k -= k % 2
        libc.munmap(base + k * PAGE, 2 * PAGE)  # unmapped (two regions)
        libc.mprotect(base + (k + 4) * PAGE, PAGE, mmap.PROT_READ)  # merged with neighbours
        for j in range(k + 10, k + 10 + 64, 2):  # resident memory falls (a page each)
            libc.madvise(base + j * PAGE, PAGE, mmap.MADV_DONTNEED)
    for _ in range(20):
        libc.mmap(None, 64 * PAGE, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    print("changed", flush=True)
    sys.stdin.readline()
    """
)


def best_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    # The least of several runs: the machine's other load only ever adds time.
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--columns", action="store_true", help="snapshots as columns")
    args = parser.parse_args()
    with max_map_count_for(args.regions):
        return measure(args)


def measure(args) -> int:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(args.regions)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        if child.stdout.readline().strip() != "ready":
            print("the child could not map its regions", file=sys.stderr)
            return 1
        procfs = ProcFS()
        pieces = {"keep_text": False} if args.columns else {}
        a = take_snapshot(procfs, child.pid, classify=False, **pieces)
        child.stdin.write("go\n")
        child.stdin.flush()
        child.stdout.readline()
        b = take_snapshot(procfs, child.pid, classify=False, **pieces)
        if isinstance(a.regions, RegionColumns) != args.columns:
            raise SystemExit("the snapshots are not read as asked")
        path = f"/proc/{child.pid}/smaps"

        kernel = best_seconds(lambda: kernel_read(path), args.repeat)

        def cold(fn):
            def run() -> None:
                clear_cache()
                fn(a, b)

            return run

        def steady(fn):
            # A view's tick: the older snapshot was keyed on the tick before.
            times = []
            for _ in range(args.repeat):
                clear_cache()
                fn(a, a)
                t0 = time.thread_time()
                fn(a, b)
                times.append(time.thread_time() - t0)
            return min(times)

        def view_tick(x, y) -> None:
            # What the process screen does with each new snapshot.
            region_changes(x, y)
            unmapped_ranges(x, y)
            diff_snapshots(x, y)

        events = diff_snapshots(a, b)
        results = {
            "diff_snapshots, cold": best_seconds(cold(diff_snapshots), args.repeat),
            "region_changes, cold": best_seconds(cold(region_changes), args.repeat),
            "unmapped_ranges, cold": best_seconds(cold(unmapped_ranges), args.repeat),
            "diff_snapshots, steady": steady(diff_snapshots),
            "region_changes, steady": steady(region_changes),
            "unmapped_ranges, steady": steady(unmapped_ranges),
            "all three, steady": steady(view_tick),
        }
        kinds_seen: dict[str, int] = {}
        for e in events:
            kinds_seen[e.event] = kinds_seen.get(e.event, 0) + 1
        read_as = "columns" if args.columns else "Regions"
        print(f"regions ({read_as}): {len(a.regions)} -> {len(b.regions)}; events: {kinds_seen}")
        print(f"kernel read of smaps: {kernel * 1000:8.1f} ms ({kernel_read(path) >> 20} MiB)")
        for name, seconds in results.items():
            ratio = seconds / kernel
            print(f"{name:25}: {seconds * 1000:8.1f} ms  = {ratio:.3f} x the kernel read")
        diff_ratio = results["diff_snapshots, steady"] / kernel
        print(
            f"target: diff_snapshots <= 0.2 x the kernel read: "
            f"{'met' if diff_ratio <= 0.2 else 'NOT met'} ({diff_ratio:.3f} steady, "
            f"{results['diff_snapshots, cold'] / kernel:.3f} cold)"
        )
        return 0
    finally:
        child.kill()
        child.wait()


if __name__ == "__main__":
    sys.exit(main())
