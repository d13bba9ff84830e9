"""What a recording costs for a 60 000-region process: bytes per sample, and how long
seeking to an arbitrary moment takes.

Starts the 60 000-region child of bench_diff.py (the layout of many_regions.c, no
compiler needed), takes one real snapshot (smaps), then writes a recording of
``--samples`` samples (default 600: ten minutes at 1 s) in which ``--change`` of the
regions (default 1 %) change their resident figures each sample, and every 30th sample
one region is unmapped and one mapped (so deltas carry every kind of change). The
process itself is not changed for each sample: the samples are the real snapshot with
those changes, written by the real writer, so the timing is the recording's, not the
kernel's. Then:

- file size, bytes per sample (all, and per delta sample), writer time per sample;
- an idle recording (the same map every sample): bytes per sample beyond keyframes;
- open (scan) time; seek time to random samples from a cold cursor (a fresh open, no
  cache), and one step forward / back from there.

    /work/venv/bin/python benchmarks/bench_recording.py [--regions 60000] [--samples 600]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

from bench_diff import CHILD

from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter


def base_snapshot(regions: int):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(regions)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        return take_snapshot(ProcFS(), child.pid).compact()
    finally:
        child.kill()
        child.wait()


def changing(base, samples: int, share: float, seed: int = 1):
    rng = random.Random(seed)
    regions = list(base.regions)
    n = len(regions)
    per = max(1, int(n * share))
    t = base.taken_at
    for i in range(samples):
        if i:
            for k in rng.sample(range(n), per):
                r = regions[k]
                rss = max(0, (r.rss or 0) + rng.choice((-4096, 4096)))
                regions[k] = r._replace(rss=rss, pss=rss, private_dirty=rss, anonymous=rss)
            if i % 30 == 0:
                k = rng.randrange(1, n - 1)
                gone = regions.pop(k)
                regions.insert(k, gone._replace(perms="rw-p" if gone.perms != "rw-p" else "r--p"))
        yield base._replace(taken_at=t + i, regions=tuple(regions))


def write(path: str, snaps) -> tuple[RecordingWriter, float]:
    writer = RecordingWriter(path, interval=1.0)
    spent = 0.0
    for snap in snaps:  # the time of write_sample alone, not of making the samples
        t0 = time.process_time()
        writer.write_sample(snap)
        spent += time.process_time() - t0
    writer.close()
    return writer, spent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--regions", type=int, default=60000)
    ap.add_argument("--samples", type=int, default=600)
    ap.add_argument("--change", type=float, default=0.01)
    ap.add_argument("--seeks", type=int, default=10)
    args = ap.parse_args()
    base = base_snapshot(args.regions)
    print(f"snapshot: {len(base.regions)} regions")
    folder = tempfile.mkdtemp(prefix="vmtop-bench-rec-")
    path = os.path.join(folder, "busy.jsonl.gz")
    writer, spent = write(path, changing(base, args.samples, args.change))
    size = os.path.getsize(path)
    print(
        f"busy: {args.samples} samples, {args.change:.0%} of regions changing each: "
        f"{size / 1e6:.1f} MB, {size / args.samples / 1e3:.1f} kB per sample, "
        f"{writer.keyframes} keyframes; writing {spent / args.samples * 1e3:.0f} ms CPU per sample"
    )
    idle_path = os.path.join(folder, "idle.jsonl.gz")
    idle = [base._replace(taken_at=base.taken_at + i) for i in range(args.samples)]
    idle_writer, _ = write(idle_path, idle)
    one = os.path.join(folder, "one.jsonl.gz")
    write(one, idle[:1])
    keyframe = os.path.getsize(one)
    idle_size = os.path.getsize(idle_path)
    beyond = idle_size - idle_writer.keyframes * keyframe
    print(
        f"idle: {idle_size / 1e6:.1f} MB for {args.samples} samples, "
        f"{idle_writer.keyframes} keyframes of {keyframe / 1e6:.2f} MB; beyond them "
        f"{beyond / args.samples:.0f} bytes per sample"
    )
    t0 = time.perf_counter()
    rec = Recording.open(path)
    print(f"open (scan): {(time.perf_counter() - t0) * 1e3:.0f} ms")
    rng = random.Random(2)
    seeks, steps, backs = [], [], []
    for _ in range(args.seeks):
        rec = Recording.open(path)  # cold: no cursor, no cache
        i = rng.randrange(1, len(rec) - 1)
        t0 = time.perf_counter()
        rec.snapshot(i)
        seeks.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        rec.snapshot(i + 1)
        steps.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        rec.snapshot(i - 1)
        backs.append(time.perf_counter() - t0)
    seeks.sort()
    print(
        f"seek to a random sample (cold): median {seeks[len(seeks) // 2] * 1e3:.0f} ms, "
        f"max {seeks[-1] * 1e3:.0f} ms; then one step forward "
        f"{sorted(steps)[len(steps) // 2] * 1e3:.0f} ms, one back "
        f"{sorted(backs)[len(backs) // 2] * 1e3:.0f} ms (medians)"
    )
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    os.rmdir(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
