"""`vmtop replay FILE --at T --format json|csv` carries the resident figures the recording
kept for each region, under the names `vmtop snapshot --format json|csv` gives them.

Before, a replayed region had only its maps fields: the figures were looked up in the
raw smaps text, which a recording does not keep, so every rss, pss, dirty and swap
figure was dropped while `--format pmap` of the same moment printed them.

Ground truth is a live C child that maps and touches 32 MiB: its samples, as read at
record time, are what the recording holds; the replay must print the same figures.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import run_vmtop

from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record.format import RESIDENT_FIELDS
from vmtop.record.writer import RecordingWriter

TOUCHED = 32 << 20

TOUCH_32_MIB = r"""
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    size_t size = 32u << 20;
    char *block = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) return 1;
    memset(block, 1, size);
    printf("%p\n", (void *)block);
    fflush(stdout);
    pause();
    return 0;
}
"""

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, compile_c_once):
    """A recording of the child: sample 0 with smaps, sample 1 read from maps only
    (``has_smaps`` false, as a huge map's first read), sample 2 with smaps again but the
    child's block without figures (a region mapped since the last smaps read, carried).
    Returns (path, block address, the three snapshots as recorded, the live snapshot
    JSON of the child, with the live CSV's columns under "csv_columns")."""
    from conftest import Child

    exe = compile_c_once(TOUCH_32_MIB)
    child = Child([exe])
    try:
        block = int(child.read_line(), 16)
        procfs = ProcFS()
        with_smaps = take_snapshot(procfs, child.pid)
        maps_only = take_snapshot(procfs, child.pid, smaps=False)
        again = take_snapshot(procfs, child.pid)
        live = run_vmtop("snapshot", child.pid, "--format", "json")
        live_csv = run_vmtop("snapshot", child.pid, "--format", "csv")
        assert live.returncode == 0 and live_csv.returncode == 0, live.stderr + live_csv.stderr
    finally:
        child.kill()
    assert with_smaps.has_smaps and not maps_only.has_smaps
    carried = tuple(
        r._replace(**dict.fromkeys(RESIDENT_FIELDS)) if r.start == block else r
        for r in again.regions
    )
    snaps = [
        with_smaps.compact()._replace(taken_at=T0),
        maps_only._replace(taken_at=T0 + 1),
        again.compact()._replace(taken_at=T0 + 2, regions=carried),
    ]
    path = tmp_path_factory.mktemp("figures") / "r.jsonl.gz"
    with RecordingWriter(str(path), interval=1.0) as writer:
        for snap in snaps:
            writer.write_sample(snap)
    live_doc = json.loads(live.stdout)
    live_doc["csv_columns"] = live_csv.stdout.decode().splitlines()[0].split(",")
    return path, block, snaps, live_doc


def _replay_json(path, at: str) -> dict:
    out = run_vmtop("replay", path, "--at", at, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _replay_csv(path, at: str) -> list[dict]:
    out = run_vmtop("replay", path, "--at", at, "--format", "csv")
    assert out.returncode == 0, out.stderr
    return list(csv.DictReader(io.StringIO(out.stdout.decode())))


def _holding(regions: list[dict], address: int) -> dict:
    (region,) = [r for r in regions if int(r["start"], 16) <= address < int(r["end"], 16)]
    return region


def test_json_regions_carry_the_recorded_figures(recorded):
    path, block, snaps, live = recorded
    doc = _replay_json(path, "start")
    assert doc["smaps_fields"] == list(RESIDENT_FIELDS)
    got = _holding(doc["regions"], block)
    want = next(r for r in snaps[0].regions if r.start <= block < r.end)
    assert got["rss"] >= TOUCHED  # the 32 MiB touched (more if merged with a neighbour)
    for name in RESIDENT_FIELDS:
        assert got[name] == getattr(want, name), name
    # Every region, not just the child's block: the figures smaps gave at record time.
    by_start = {r.start: r for r in snaps[0].regions}
    for region in doc["regions"]:
        recorded_region = by_start[int(region["start"], 16)]
        assert {n: region[n] for n in RESIDENT_FIELDS} == {
            n: getattr(recorded_region, n) for n in RESIDENT_FIELDS
        }
    # What the recording did not keep is absent, not made up.
    for absent in ("pss_dirty", "referenced", "vm_flags", "kernel_page_size"):
        assert absent not in got
    # The names a live snapshot gives the same figures.
    live_block = _holding(live["regions"], block)
    assert set(RESIDENT_FIELDS) <= set(live_block)
    # The totals are still the sum of the regions.
    for name in ("rss", "pss", "private_dirty", "shared_dirty", "swap"):
        assert doc["totals"][name] == sum(r[name] for r in doc["regions"]), name


def test_json_figures_match_the_pmap_of_the_same_moment(recorded):
    path, block, _snaps, _live = recorded
    doc = _replay_json(path, "start")
    got = _holding(doc["regions"], block)
    pmap = run_vmtop("replay", path, "--at", "start").stdout.decode()
    row = next(
        line for line in pmap.splitlines() if line.startswith(f"{int(got['start'], 16):016x}")
    )
    _address, kbytes, rss, dirty, *_ = row.split()
    assert int(kbytes) == got["size"] >> 10
    assert int(rss) == got["rss"] >> 10
    assert int(dirty) == (got["shared_dirty"] + got["private_dirty"]) >> 10


def test_csv_rows_carry_the_recorded_figures(recorded):
    path, block, snaps, live = recorded
    rows = _replay_csv(path, "start")
    got = _holding(rows, block)
    want = next(r for r in snaps[0].regions if r.start <= block < r.end)
    for name in RESIDENT_FIELDS:
        assert int(got[name]) == getattr(want, name), name
    # The column names a live snapshot gives the same figures.
    assert set(RESIDENT_FIELDS) <= set(live["csv_columns"])


def test_a_sample_without_smaps_has_no_figures_not_zeros(recorded):
    path, block, snaps, _live = recorded
    doc = _replay_json(path, "+1s")
    assert doc["smaps_fields"] == []
    for region in doc["regions"]:
        assert not set(RESIDENT_FIELDS) & set(region), region
    assert doc["totals"]["pss"] is None  # unknown, as recorded
    for row in _replay_csv(path, "+1s"):
        assert all(row.get(name, "") == "" for name in RESIDENT_FIELDS), row
    # pmap of that moment says "-" where the figures are unknown: the same as JSON; its
    # total RSS is the one status gave (as recorded), Dirty unknown.
    pmap = run_vmtop("replay", path, "--at", "+1s").stdout.decode()
    assert all(line.split()[2:4] == ["-", "-"] for line in pmap.splitlines()[2:-2])
    total = pmap.splitlines()[-1].split()
    assert total[-1] == "-" and total[-2] == str(doc["totals"]["rss"] >> 10)


def test_a_region_without_figures_among_others_has_none(recorded):
    path, block, _snaps, _live = recorded
    doc = _replay_json(path, "end")
    assert not set(RESIDENT_FIELDS) & set(_holding(doc["regions"], block))
    others = [r for r in doc["regions"] if not int(r["start"], 16) <= block < int(r["end"], 16)]
    assert all(set(RESIDENT_FIELDS) <= set(r) for r in others)
    rows = _replay_csv(path, "end")
    assert all(_holding(rows, block)[name] == "" for name in RESIDENT_FIELDS)
    assert all(r["rss"] != "" for r in rows if r is not _holding(rows, block))
