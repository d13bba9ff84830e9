"""What a long recording costs to open and move about in: open time, memory held, a
seek to the end, a step (issue 10: hours of watching should cost what minutes do).

No compiler needed. One real snapshot of this process (smaps read), then the real
``RecordingWriter`` writes, from it:

- ``churn``: every sample maps a region and unmaps an older one, moves resident
  figures of one, and says one event (what a program that churns its map,
  recorded at 0.1 s, writes: a keyframe after 30 samples that changed the map);
- ``idle``: the same map every sample, 0 events (an idle process: one keyframe).

Each is opened as written (``clean``: it ends with its index), without its index
(``no index``: the bytes before it, what the writer wrote before it had one) and cut
short (``cut``: the first 90 % of it, as ``kill -9`` or a full disk leaves it), each
in a child process of its own (``--tree`` picks the vmtop whose reader is measured,
e.g. a copy of an older commit), which prints: open time, and whether the index was
used; RSS and traced Python memory held by the open recording; a cold seek to the last
sample; one step forward and one back from the middle; walking every sample's timeline
fields (what the replay's timeline and ``report`` read).

    python benchmarks/bench_recording_open.py [--samples 59000 300000] [--tree DIR]
        [--keep DIR] [--rounds N] [--variants clean "no index" cut]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import gc, json, sys, time, tracemalloc
from vmtop.record.reader import Recording

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

path, traced, walk = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
gc.collect()
if traced:
    tracemalloc.start()
before = rss()
t0 = time.perf_counter()
rec = Recording.open(path)
opened = time.perf_counter() - t0
gc.collect()
out = {"samples": len(rec), "open_s": opened, "rss": rss() - before,
       "by_index": getattr(rec, "checks", None) is not None}
if traced:
    out["traced"] = tracemalloc.get_traced_memory()[0]
    print(json.dumps(out))
    sys.exit()
n = len(rec)
t0 = time.perf_counter(); rec.snapshot(n - 1); out["seek_end_s"] = time.perf_counter() - t0
mid = n // 2
rec.snapshot(mid)
t0 = time.perf_counter(); rec.snapshot(mid + 1); out["step_s"] = time.perf_counter() - t0
t0 = time.perf_counter(); rec.snapshot(mid - 1); out["back_s"] = time.perf_counter() - t0
if walk:
    t0 = time.perf_counter()
    for i, s in enumerate(rec.samples):
        s.kinds, s.totals, rec.events_of(i)
    out["walk_s"] = time.perf_counter() - t0
    out["rss_after"] = rss() - before
print(json.dumps(out))
"""


WALK = False


def churn(base, samples: int, interval: float = 0.1):
    """Each sample maps a region or unmaps one (64 slots below the map, in turn), moves
    one region's resident figures, and says one event."""
    from vmtop.model.events import Event

    fixed = list(base.regions)
    anon = fixed[0]._replace(path="", inode=0, dev="00:00", offset=0, kind="anon")
    slots: dict = {}
    for i in range(samples):
        when = base.taken_at + i * interval
        start = 0x10000000 + (i % 64) * 0x40000  # below the map
        if slots.pop(start, None) is None:
            slots[start] = anon._replace(start=start, end=start + 0x21000, rss=4096 * (i % 7))
        k = i % len(fixed)
        fixed[k] = fixed[k]._replace(rss=(fixed[k].rss or 0) + 4096)
        regions = tuple(slots[s] for s in sorted(slots)) + tuple(fixed)
        event = Event(when, "mapped", start, start + 0x21000, "anon", 0x21000, 0x21000, "",
                      None, "anonymous memory of 128 KiB or more", 4096, None)  # fmt: skip
        yield base._replace(taken_at=when, regions=regions), [event]


def idle(base, samples: int):
    for i in range(samples):
        yield base._replace(taken_at=base.taken_at + i), ()


def write(path: str, samples) -> float:
    from vmtop.record.writer import RecordingWriter

    t0 = time.perf_counter()
    with RecordingWriter(path, interval=0.1) as writer:
        for snap, events in samples:
            writer.write_sample(snap, events)
    return time.perf_counter() - t0


def variant(path: str, name: str) -> str:
    """The recording at ``path`` as ``name`` says (see the module's words), made once
    next to it."""
    if name == "clean":
        return path
    out = path.replace(".jsonl.gz", "." + name.replace(" ", "-") + ".jsonl.gz")
    if os.path.exists(out):
        return out
    with open(path, "rb") as f:
        data = f.read()
    if name == "no index":
        # The trailer's bytes 16-23: where the index member starts.
        (member,) = struct.unpack("<Q", data[-42 + 16 : -42 + 24])
        data = data[:member]
    else:
        data = data[: len(data) * 9 // 10]
    with open(out, "wb") as f:
        f.write(data)
    return out


def best(path: str, tree: str, traced: bool, rounds: int) -> dict:
    """The least of each figure over ``rounds`` child processes."""
    runs = [measure(path, tree, traced) for _ in range(rounds)]
    return {k: min(r[k] for r in runs) if k != "by_index" else runs[0][k] for k in runs[0]}


def measure(path: str, tree: str, traced: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, path, "1" if traced else "0", "1" if WALK else "0"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tree,
    )
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, nargs="+", default=[59_000, 300_000])
    ap.add_argument("--tree", default=os.getcwd(), help="the vmtop whose reader is measured")
    ap.add_argument("--keep", default=None, help="a folder to write (and reuse) recordings in")
    ap.add_argument("--rounds", type=int, default=1, help="child processes per figure (best)")
    ap.add_argument("--variants", nargs="+", default=["clean", "no index", "cut"])
    ap.add_argument("--walk", action="store_true", help="also walk every sample (slow)")
    args = ap.parse_args()
    global WALK
    WALK = args.walk
    from vmtop.procfs.reader import ProcFS
    from vmtop.procfs.snapshot import take_snapshot

    base = take_snapshot(ProcFS(), os.getpid()).compact()
    folder = args.keep or tempfile.mkdtemp(prefix="vmtop-bench-open-")
    os.makedirs(folder, exist_ok=True)
    print(f"base: {len(base.regions)} regions; reader from {args.tree}")
    for n in args.samples:
        for name, make in (("churn", churn), ("idle", idle)):
            path = os.path.join(folder, f"{name}-{n}.jsonl.gz")
            if not os.path.exists(path):
                spent = write(path, make(base, n))
                print(f"wrote {path}: {os.path.getsize(path) / 1e6:.1f} MB in {spent:.0f} s")
            for kind in args.variants:
                report(name, kind, variant(path, kind), args)
    if not args.keep:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
    return 0


def report(name: str, kind: str, path: str, args) -> None:
    timed = best(path, args.tree, False, args.rounds)
    traced = measure(path, args.tree, traced=True)
    how = "by its index" if timed["by_index"] else "read through"
    walk = (
        f", walk of every sample {timed['walk_s'] * 1e3:.0f} ms "
        f"(RSS after it +{timed['rss_after'] / 2**20:.1f} MiB)"
        if args.walk
        else ""
    )
    print(
        f"{name} {kind} ({os.path.getsize(path) / 1e6:.1f} MB) {timed['samples']}: "
        f"open {timed['open_s'] * 1e3:.1f} ms {how}, "
        f"RSS +{timed['rss'] / 2**20:.1f} MiB "
        f"(traced {traced['traced'] / 2**20:.1f} MiB, "
        f"{traced['traced'] / timed['samples']:.0f} B a sample), "
        f"seek to end {timed['seek_end_s'] * 1e3:.1f} ms, "
        f"step {timed['step_s'] * 1e3:.1f} ms, back {timed['back_s'] * 1e3:.1f} ms"
        f"{walk}"
    )


if __name__ == "__main__":
    sys.exit(main())
