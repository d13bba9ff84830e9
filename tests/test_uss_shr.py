"""USS (smem's: every region's Private_Clean + Private_Dirty) and SHR (top's and
htop's: status' RssFile + RssShmem) in the totals, on a copied process: summed for a
map held as regions or as columns, and kept known on the ticks that read maps alone
between two smaps reads (the TUI's carry_smaps, watch's MapsTicks), so the header's
figure does not go from a number to "-" and back. The truth is the copy's own smaps
and status text, summed here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vmtop.commands.diff_lines import totals_parts
from vmtop.model.columns import RegionColumns, as_columns
from vmtop.procfs.maps_ticks import MapsTicks
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_budget import carry_smaps
from vmtop.procfs.snapshot import compute_totals, take_snapshot

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "process_screen"
PID = 6025
START = 34674  # field 22 of the fixture's stat
KB = 1024


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "proc"
    shutil.copytree(FIXTURE / str(PID), root / str(PID))
    return root


def private_by_block(smaps: Path) -> dict[int, int]:
    """Private_Clean + Private_Dirty of each block of an smaps text, by its start."""
    out: dict[int, int] = {}
    start = None
    for line in smaps.read_text().splitlines():
        head = line.split(" ", 1)[0]
        if "-" in head and not head.endswith(":"):
            start = int(head.split("-")[0], 16)
            out[start] = 0
        elif head in ("Private_Clean:", "Private_Dirty:"):
            out[start] += int(line.split()[1]) * KB
    return out


def status_kb(status: Path, *names: str) -> int:
    fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
    return sum(int(fields[name].split()[0]) * KB for name in names)


def test_uss_and_shr_of_a_snapshot_are_the_smaps_and_status_sums(tree):
    truth = sum(private_by_block(tree / str(PID) / "smaps").values())
    shr = status_kb(tree / str(PID) / "status", "RssFile", "RssShmem")
    assert truth == 5328 * KB and shr == 1356 * KB  # (the copy holds both: not zero)
    snap = take_snapshot(ProcFS(str(tree)), PID)
    assert snap.totals.uss == truth and snap.totals.shr == shr
    # A huge map is held as columns: summed there too, in C.
    columns = as_columns(snap.regions)
    assert isinstance(columns, RegionColumns)
    assert compute_totals(columns, snap.status, True).uss == truth
    # Without smaps USS is not known; SHR, from status, is.
    maps_only = take_snapshot(ProcFS(str(tree)), PID, smaps=False)
    assert maps_only.totals.uss is None and maps_only.totals.shr == shr


@pytest.mark.parametrize("held", ["regions", "columns"])
def test_the_tuis_maps_only_tick_keeps_uss_known(tree, held):
    procfs = ProcFS(str(tree))
    truth = private_by_block(tree / str(PID) / "smaps")
    smaps = take_snapshot(procfs, PID)
    maps = take_snapshot(procfs, PID, smaps=False)
    if held == "columns":
        smaps = smaps._replace(regions=as_columns(smaps.regions))
        maps = maps._replace(regions=as_columns(maps.regions))
    assert maps.totals.uss is None
    assert carry_smaps(maps, smaps).totals.uss == sum(truth.values())
    # The map changed since the smaps read (a region unmapped): the sum of what is left.
    gone = max(truth, key=truth.get)
    left = [r for r in take_snapshot(procfs, PID, smaps=False).regions if r.start != gone]
    changed = maps._replace(regions=as_columns(left) if held == "columns" else tuple(left))
    assert carry_smaps(changed, smaps).totals.uss == sum(truth.values()) - truth[gone] > 0


def test_the_tuis_sampler_keeps_uss_known_on_a_tick_without_smaps(tree):
    from vmtop.tui.sampler import Sampler

    truth = sum(private_by_block(tree / str(PID) / "smaps").values())
    # A budget so small that smaps, once read, is not read again for a long while.
    sampler = Sampler(ProcFS(str(tree)), PID, clock=lambda: 1_700_000_000.0, budget=1e-12)
    first = sampler.sample()
    assert first.smaps_read and first.snapshot.totals.uss == truth
    second = sampler.sample()
    assert not second.smaps_read
    assert second.snapshot.totals.uss == truth


def test_watchs_maps_only_ticks_keep_uss_known_and_follow_the_map(tree):
    procfs = ProcFS(str(tree))
    truth = private_by_block(tree / str(PID) / "smaps")
    smaps = take_snapshot(procfs, PID)
    ticks = MapsTicks(procfs, PID, START)
    first = ticks.take(smaps)
    assert first.totals.uss == sum(truth.values())
    assert ticks.take(smaps).totals.uss == sum(truth.values())  # the same map again
    # A region unmapped: only the changed lines are read again, the sums carried.
    gone = max(truth, key=truth.get)
    maps = tree / str(PID) / "maps"
    lines = maps.read_text().splitlines(keepends=True)
    maps.write_text("".join(line for line in lines if int(line.split("-")[0], 16) != gone))
    after = ticks.take(smaps)
    assert ticks.whole_reads == 1
    assert after.totals.uss == sum(truth.values()) - truth[gone]
    assert len(after.regions) == len(first.regions) - 1


def test_diff_prints_uss_and_shr_beside_rss_and_pss(tree):
    procfs = ProcFS(str(tree))
    a = take_snapshot(procfs, PID)
    b = a._replace(totals=a.totals._replace(uss=a.totals.uss + 4 * KB * KB, rss_shmem=KB * KB))
    parts = totals_parts(a, b)
    assert "USS 5.2M → 9.2M (+4.0M)" in parts
    assert "SHR 1.3M → 2.3M (+1.0M)" in parts
    labels = [p.split()[0] for p in parts]
    assert labels == ["size", "RSS", "SHR", "PSS", "USS", "regions"]


def test_every_json_totals_field_is_documented(tree):
    from conftest import REPO

    from vmtop.output.fields import totals_record
    from vmtop.record.format import TOTALS_FIELDS

    keys = set(totals_record(take_snapshot(ProcFS(str(tree)), PID)))
    assert {"uss", "shr"} <= keys
    readme = (REPO / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| `totals` |")]
    assert not [k for k in keys if f"`{k}`" not in row]
    recording = (REPO / "docs" / "recording-format.md").read_text()
    listed = recording.split("- **totals**: `", 1)[1].split("`", 1)[0]
    assert [f.strip() for f in listed.split(",")] == list(TOTALS_FIELDS)
