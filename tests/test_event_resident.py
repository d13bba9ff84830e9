"""A new region's resident memory arrives with its mapped event, so the events add up.

A program that maps 4 MiB of shared memory and fills it within one interval: the only
event was ``mapped`` (no figure: there is nothing to compare a new region with, so no
``rss_changed``), while giving the memory back later was ``rss_changed -4 MiB``. Now a
whole region that appears carries its resident size (``rss``, and "4.0 MiB resident" in
its detail), as one that goes does; a region mapped on a tick that read maps only gets
its resident size reported at the next smaps read. Unit tests on hand-made snapshots,
then live: a C program watched by ``vmtop watch``, the TUI's sampler and ``vmtop record``.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from conftest import VMTOP, run_vmtop
from helpers_diff import KiB, MiB, WatchProcess, base_regions, covers, region, snapshot

from vmtop.commands.watch import SmapsReads, _events, event_record, human_line
from vmtop.model import diff, kinds
from vmtop.model import events as ev
from vmtop.model.events import Event
from vmtop.model.rss_drift import RssDrift
from vmtop.record import format as fmt
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter

T0 = 1_700_000_000.0
SHM = 0x7F20_0000_0000
MEMFD = "/memfd:vmtop-test (deleted)"


def shm(rss):
    return region(SHM, SHM + 4 * MiB, "rw-s", MEMFD, inode=9, dev="00:01", rss=rss)


def take(t, extra=(), **kw):
    return snapshot(base_regions() + list(extra), taken_at=T0 + t, **kw)


def test_a_new_region_says_what_was_resident_in_it_and_so_does_one_that_goes():
    before, after = take(0), take(1, [shm(4 * MiB)])
    (mapped,) = diff.diff_snapshots(before, after)
    assert mapped.event == ev.MAPPED and mapped.kind == kinds.SHM
    assert mapped.rss == 4 * MiB and mapped.detail.endswith("; 4.0 MiB resident")
    record = event_record(mapped)
    assert record["rss"] == 4 * MiB and record["delta"] == 4 * MiB
    assert "4.0 MiB resident" in human_line(mapped)
    (unmapped,) = diff.diff_snapshots(after, take(2))
    assert unmapped.event == ev.UNMAPPED and unmapped.rss == 4 * MiB
    assert unmapped.detail.endswith("; 4.0 MiB was resident")
    assert event_record(unmapped)["rss"] == 4 * MiB


def test_only_whole_regions_with_known_figures_carry_one():
    # Read without smaps: not known, not said.
    (mapped,) = diff.diff_snapshots(take(0, smaps=False), take(1, [shm(4 * MiB)], smaps=False))
    assert mapped.rss is None and "resident" not in mapped.detail
    assert "rss" not in event_record(mapped)
    # Merged into a neighbour: that mapping's rss_changed counts the memory.
    low = region(SHM - MiB, SHM, rss=0)
    grown = region(SHM - MiB, SHM + MiB, rss=2 * MiB)
    events = diff.diff_snapshots(take(0, [low]), take(1, [grown]))
    assert [(e.event, e.rss) for e in events] == [(ev.MAPPED, None), (ev.RSS_CHANGED, None)]
    assert events[1].delta == 2 * MiB


def test_events_add_up_to_the_resident_change():
    """Resident memory that came with new regions, left with gone ones, and moved in
    kept ones: together, what the regions' resident sizes changed by."""
    a = region(SHM + 8 * MiB, SHM + 9 * MiB, rss=512 * KiB)
    steps = [
        take(0, [a]),
        take(1, [a._replace(rss=MiB), shm(4 * MiB)]),  # a grew, shm came with 4 MiB
        take(2, [shm(3 * MiB)]),  # a went with 1 MiB, shm fell by 1 MiB
        take(3, []),
    ]
    for prev, cur in zip(steps, steps[1:], strict=False):
        events = diff.diff_snapshots(prev, cur, rss_threshold=1)
        moved = 0
        for e in events:
            if e.event == ev.RSS_CHANGED:
                moved += e.delta
            elif e.rss is not None:
                moved += e.rss if e.delta > 0 else -e.rss
        assert moved == cur.totals.rss - prev.totals.rss, events


def carried(snap):
    """The snapshot as a tick that read maps only gives it: the figures of the last
    smaps read carried, none for a region mapped since."""
    regions = tuple(r._replace(rss=None) if r.start == SHM else r for r in snap.regions)
    return snap._replace(regions=regions)


def test_watch_reports_at_the_next_smaps_read_what_a_maps_only_tick_could_not():
    read, ticked, read_again = take(0), carried(take(1, [shm(0)])), take(2, [shm(4 * MiB)])
    budget = SmapsReads(1.0)
    mapped = _events(read, ticked, budget, 64 * KiB)
    assert [(e.event, e.rss) for e in mapped] == [(ev.MAPPED, None)]
    budget.fresh, budget.fresh_after = True, read  # smaps read again, the one before: read
    (came,) = _events(ticked, read_again, budget, 64 * KiB)
    assert (came.event, came.start, came.delta) == (ev.RSS_CHANGED, SHM, 4 * MiB)
    assert "since it was mapped" in came.detail and came.rss is None  # (counted once)
    # Mapped on the tick that read smaps: its mapped event says it, nothing more.
    events = _events(read, read_again, budget, 64 * KiB)
    assert [(e.event, e.rss) for e in events] == [(ev.MAPPED, 4 * MiB)]


def test_the_sampler_drift_reports_what_no_mapped_event_said():
    read, ticked, read_again = take(0), carried(take(1, [shm(0)])), take(2, [shm(4 * MiB)])
    drift = RssDrift(64 * KiB)
    assert drift.update(read, set()) == []
    told = diff.told_resident(diff.diff_snapshots(ticked, read_again))
    (came,) = drift.update(read_again, told)
    assert (came.event, came.start, came.delta) == (ev.RSS_CHANGED, SHM, 4 * MiB)
    # Said by the mapped event already: not twice.
    drift = RssDrift(64 * KiB)
    drift.update(read, set())
    told = diff.told_resident(diff.diff_snapshots(read, read_again))
    assert told == {SHM}
    assert drift.update(read_again, told) == []


def test_recordings_keep_the_figure_and_read_older_events(tmp_path):
    (mapped,) = diff.diff_snapshots(take(0), take(1, [shm(4 * MiB)]))
    path = str(tmp_path / "rss.jsonl.gz")
    with RecordingWriter(path, interval=1.0) as writer:
        writer.write_sample(take(0))
        writer.write_sample(take(1, [shm(4 * MiB)]), [mapped])
    ((_i, read),) = Recording.open(path).events()
    assert read == mapped and read.rss == 4 * MiB
    # An event of a recording written before events had the field: ten of them.
    old = list(mapped)[:10]
    assert fmt.row_event(old) == mapped._replace(rss=None)


# -- live ----------------------------------------------------------------------------------

MEMFD_PROGRAM = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    char line[64];
    size_t size = 4 << 20;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    if (!fgets(line, sizeof line, stdin)) return 1;
    int fd = memfd_create("vmtop-test", 0);
    if (fd < 0 || ftruncate(fd, size)) return 1;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return 1;
    memset(p, 1, size);
    printf("mapped %p\n", (void *)p);
    if (!fgets(line, sizeof line, stdin)) return 1;
    if (ftruncate(fd, 0)) return 1;
    printf("truncated\n");
    if (!fgets(line, sizeof line, stdin)) return 1;
    return 0;
}
"""
SIZE = 4 * MiB


def start_memfd(compile_c, spawn):
    child = spawn([compile_c(MEMFD_PROGRAM)], stdin=subprocess.PIPE)
    assert child.read_line() == "ready"
    return child


def say(child) -> None:
    child.proc.stdin.write(b"go\n")
    child.proc.stdin.flush()


def run_steps(child, pause: float) -> int:
    """Map and fill, then truncate, a pause for sampling after each: the address."""
    say(child)
    word, address = child.read_line().split()
    assert word == "mapped"
    time.sleep(pause)
    say(child)
    assert child.read_line() == "truncated"
    time.sleep(pause)
    say(child)
    child.reap()
    return int(address, 16)


def check_resident_events(events: list[dict], address: int) -> None:
    """The shared memory's events: mapped with its 4 MiB, then -4 MiB; adding up."""
    mine = [e for e in events if "start" in e and covers(e, address)]
    (mapped,) = [e for e in mine if e["event"] == "mapped"]
    assert mapped["rss"] == SIZE and "4.0 MiB resident" in mapped["detail"], mapped
    changes = [e["delta"] for e in mine if e["event"] == "rss_changed"]
    assert changes == [-SIZE], mine
    assert mapped["rss"] + sum(changes) == 0


@pytest.mark.live
def test_watch_says_the_resident_memory_a_new_mapping_came_with(compile_c, spawn):
    child = start_memfd(compile_c, spawn)
    watch = WatchProcess(child.pid, interval=0.1)
    watch.wait_ready()
    address = run_steps(child, 0.6)
    assert watch.wait(15) == 0
    check_resident_events(watch.events, address)


@pytest.mark.live
def test_the_sampler_and_a_recording_say_it_too(compile_c, spawn, tmp_path):
    child = start_memfd(compile_c, spawn)
    path = tmp_path / "memfd.jsonl.gz"
    # `vmtop record` samples as the TUI does (vmtop.tui.sampler.Sampler).
    recorder = subprocess.Popen(
        [*VMTOP, "record", str(child.pid), "-o", str(path), "--interval", "0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "recording PID" in recorder.stderr.readline()
    address = run_steps(child, 0.6)
    assert recorder.wait(15) == 0
    out = run_vmtop("replay", str(path), "--events", "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.decode().splitlines()]
    check_resident_events(lines[1:], address)


def test_an_event_without_the_figure_is_as_before():
    e = Event(T0, ev.MAPPED, SHM, SHM + MiB, kinds.ANON, MiB, MiB, "", None, "anonymous memory")
    assert e.rss is None and "rss" not in event_record(e)
