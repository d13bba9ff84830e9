"""An hour on a churning process costs what five minutes do: the sampler fed a /proc
tree that splits, merges, maps and unmaps regions and moves their resident sizes on
every sample keeps its history, per-region histories and events under their bounds,
whether it reads the map as Regions or, as a huge one, into columns."""

from __future__ import annotations

import gc
import os
import random
import sys
from pathlib import Path

import pytest

from vmtop.model.columns import RegionColumns
from vmtop.procfs.reader import ProcFS
from vmtop.tui import sampler as sampler_module
from vmtop.tui.sampler import RssHistory, Sampler, keep_recent_events, region_history_key

PID = 4321
PAGE = 4096
BASE = 0x7F00_0000_0000
FIELDS = (
    "Size",
    "KernelPageSize",
    "MMUPageSize",
    "Rss",
    "Pss",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Referenced",
    "Anonymous",
    "Swap",
)


def smaps_block(start: int, end: int, perms: str, rss_kb: int) -> str:
    values = {
        "Size": (end - start) // 1024,
        "KernelPageSize": 4,
        "MMUPageSize": 4,
        "Rss": rss_kb,
        "Pss": rss_kb,
        "Private_Dirty": rss_kb,
        "Referenced": rss_kb,
        "Anonymous": rss_kb,
    }
    lines = [f"{start:x}-{end:x} {perms} 00000000 00:00 0 "]
    lines += [f"{key + ':':<16}{values.get(key, 0):>8} kB" for key in FIELDS]
    lines.append("VmFlags: rd wr mr mw me ac ")
    return "\n".join(lines) + "\n"


def churn(sample: int, rng: random.Random) -> list[tuple[int, int, str, int]]:
    """~400 regions; every sample some split or merge, one is mapped at a new address
    and an old one unmapped, and resident sizes move."""
    regions = []
    for i in range(200):
        start = BASE + i * 64 * PAGE
        pages = 16 + (sample + i) % 8
        if (i + sample) % 5 == 0:  # split in two with different permissions
            half = pages // 2
            regions.append((start, start + half * PAGE, "rw-p", rng.randrange(half + 1) * 4))
            regions.append((start + half * PAGE, start + pages * PAGE, "r--p", 0))
        else:
            regions.append((start, start + pages * PAGE, "rw-p", rng.randrange(pages + 1) * 4))
    for j in range(sample, sample + 5):  # a sliding window of mappings: new addresses
        start = BASE + (1 << 32) + j * 16 * PAGE
        regions.append((start, start + 4 * PAGE, "rw-p", 4 * (j % 5)))
    return regions


def write_tree(pid_dir: Path, regions, start_time: int = 1000) -> None:
    fields = f"1 {PID} {PID} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 {start_time}"
    files = {
        "stat": f"{PID} (churn) S {fields}" + " 0" * 20 + "\n",
        "status": f"Name:\tchurn\nPid:\t{PID}\nThreads:\t1\n",
        "cmdline": "./churn\0",
        "maps": "".join(f"{a:x}-{b:x} {p} 00000000 00:00 0 \n" for a, b, p, _ in regions),
        "smaps": "".join(smaps_block(a, b, p, rss) for a, b, p, rss in regions),
    }
    for name, text in files.items():
        tmp = pid_dir / (name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, pid_dir / name)


def _blocks() -> int:
    """Python's small blocks in use (every tuple, Region, list, dict ...: what a hidden
    list of samples or events would keep), after a collection."""
    gc.collect()
    return sys.getallocatedblocks()


@pytest.mark.parametrize("read_as", ["regions", "columns"])
def test_history_and_events_stay_bounded_on_a_churning_process(
    tmp_path, monkeypatch, read_as
) -> None:
    if read_as == "columns":  # as a huge map is read: smaps in pieces, into columns
        monkeypatch.setattr(sampler_module, "KEEP_SMAPS_TEXT_REGIONS", 0)
    pid_dir = tmp_path / str(PID)
    pid_dir.mkdir()
    rng = random.Random(7)
    sampler = Sampler(ProcFS(str(tmp_path)), PID, budget=1e9)  # smaps on every sample
    history = RssHistory(max_points=40, max_regions=60)
    events: list = []
    dropped = 0
    samples = 300
    clock = 1_700_000_000.0
    sampler.clock = lambda: clock
    sizes = []
    blocks = {}
    for sample in range(samples):
        write_tree(pid_dir, churn(sample, rng))
        clock += 1.0
        result = sampler.sample(1.0)
        assert result.snapshot is not None, result.error
        history.record(result.snapshot, result.smaps_read, result.rss_moves)
        dropped += keep_recent_events(events, result.events, limit=500)
        sizes.append((len(history.sample_times), len(history.changed), len(history.first_seen)))
        if sample + 1 in (samples // 2, samples):
            blocks[sample + 1] = _blocks()
    assert isinstance(sampler.last.regions, RegionColumns) == (read_as == "columns")
    # The bounds were reached, and held.
    assert len(history.sample_times) == 40
    assert 0 < len(history.changed) <= 60
    assert all(len(points) <= 40 for points in history.changed.values())
    assert len(history.first_seen) <= 60
    assert history.dropped > 0  # more regions changed than are kept
    assert history.kept() <= 60 * 40 + 60
    assert len(events) == 500 and dropped > 0
    assert sizes[-1] == sizes[samples // 2]  # the second half kept no more than the first
    # Nothing else kept per sample: the second 150 samples left no more blocks behind
    # than the first (150 snapshots kept would be thousands of blocks, in columns too).
    assert blocks[samples] <= blocks[samples // 2] + 1000, blocks
    # The sampler itself holds two snapshots' worth, whatever the number of samples.
    regions = len(result.snapshot.regions)
    assert len(sampler.last.regions) == regions
    assert len(sampler.last_smaps.regions) == regions
    # Histories are kept only for regions still there: unmapped ones are forgotten.
    last = result.snapshot.regions
    there = {region_history_key(r) for r in last}
    assert set(history.changed) <= there and set(history.first_seen) <= there
    # A region that changed has its history; one never seen changing is flat.
    region = last[0]
    points = history.points(region)
    assert 0 < len(points) <= 40
    assert points[-1] == (clock, region.rss)


def test_a_region_history_follows_its_changes() -> None:
    from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals

    info = ProcessInfo(1, 1, "x", "x", "S", 0, 0, 1, None)

    def snap(t: float, rss: int, extra: bool = False) -> Snapshot:
        regions = [Region(0x1000, 0x9000, "rw-p", 0, "00:00", 0, "", rss=rss)]
        if extra:
            regions.append(Region(0xA000, 0xB000, "rw-p", 0, "00:00", 0, "", rss=4096))
        return Snapshot(info, t, tuple(regions), Totals(0, 0, 0, 0, 0, 0), True, {})

    history = RssHistory(max_points=10, max_regions=10)
    history.record(snap(1.0, 4096), True)
    history.record(snap(2.0, 4096), True)
    history.record(snap(3.0, 8192, extra=True), True)
    history.record(snap(4.0, 8192, extra=True), False)  # a maps-only tick: carried
    first = snap(4.0, 8192, extra=True).regions[0]
    assert history.points(first) == [(1.0, 4096), (2.0, 4096), (3.0, 8192), (4.0, 8192)]
    new = snap(4.0, 8192, extra=True).regions[1]
    assert history.points(new) == [(3.0, 4096), (4.0, 4096)]  # since it was first seen


def test_a_forgotten_history_is_not_drawn_as_flat_before_it_was_forgotten() -> None:
    from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals

    info = ProcessInfo(1, 1, "x", "x", "S", 0, 0, 1, None)

    def snap(t: float, a: int, b: int) -> Snapshot:
        regions = (
            Region(0x1000, 0x9000, "rw-p", 0, "00:00", 0, "", rss=a),
            Region(0xA000, 0xC000, "r--p", 0, "00:00", 0, "", rss=b),
        )
        return Snapshot(info, t, regions, Totals(0, 0, 0, 0, 0, 0), True, {})

    history = RssHistory(max_points=10, max_regions=1)  # one history kept
    history.record(snap(1.0, 4096, 4096), True)
    history.record(snap(2.0, 8192, 4096), True)  # A changes
    history.record(snap(3.0, 8192, 8192), True)  # B changes: A's history goes
    history.record(snap(4.0, 8192, 8192), True)
    a, b = snap(4.0, 8192, 8192).regions
    assert history.dropped == 1
    # A was 4 KiB at 1.0: only from its last change on is it known to be flat.
    assert history.points(a) == [(2.0, 8192), (3.0, 8192), (4.0, 8192)]
    assert history.points(b) == [(1.0, 4096), (2.0, 4096), (3.0, 8192), (4.0, 8192)]


def test_the_stack_keeps_its_history_as_it_grows_down() -> None:
    from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals

    info = ProcessInfo(1, 1, "x", "x", "S", 0, 0, 1, None)
    top = 0x7FFF0000

    def snap(t: float, pages: int, rss: int) -> Snapshot:
        stack = Region(top - pages * 4096, top, "rw-p", 0, "00:00", 0, "[stack]", rss=rss)
        stack = stack._replace(kind="stack")
        lib = Region(0x1000, 0x2000, "r-xp", 0, "fe:00", 5, "/lib/x.so", rss=4096, kind="text")
        return Snapshot(info, t, (lib, stack), Totals(0, 0, 0, 0, 0, 0), True, {})

    history = RssHistory(max_points=10, max_regions=10)
    history.record(snap(1.0, 2, 8192), True)
    history.record(snap(2.0, 3, 12288), True)  # grew down a page: its start moved
    history.record(snap(3.0, 5, 20480), True)
    stack = snap(3.0, 5, 20480).regions[1]
    assert history.points(stack) == [(1.0, 8192), (2.0, 12288), (3.0, 20480)]
    lib = snap(3.0, 5, 20480).regions[0]
    assert history.points(lib) == [(1.0, 4096), (2.0, 4096), (3.0, 4096)]  # flat
    assert list(history.changed) == [(top, "00:00", 0, "[stack]")]
