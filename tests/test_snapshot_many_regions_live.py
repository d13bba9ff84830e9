"""`vmtop snapshot --format json` of a process with 250 000 regions equals `pmap -X`,
and `--format pmap` equals `pmap -x`: the streamed output, in many pieces, at a scale
where the map is read a few MiB at a time.

Needs vm.max_map_count above 250 000: raised for the test when we are root and the
sysctl is writable (restored after), else skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, run_vmtop

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(shutil.which("pmap") is None, reason="pmap (procps) is not installed"),
]

REGIONS = 250_000
MAX_MAP_COUNT = Path("/proc/sys/vm/max_map_count")
PMAP_ENV = dict(os.environ, LC_ALL="C.UTF-8")
KB = 1024


@pytest.fixture
def map_count():
    """vm.max_map_count high enough for REGIONS, restored afterwards."""
    before = int(MAX_MAP_COUNT.read_text())
    wanted = REGIONS + 10_000
    if before >= wanted:
        yield
        return
    try:
        MAX_MAP_COUNT.write_text(str(wanted))
    except OSError as e:
        pytest.skip(f"vm.max_map_count is {before} and cannot be raised here: {e.strerror}")
    try:
        yield
    finally:
        MAX_MAP_COUNT.write_text(str(before))


@pytest.fixture
def many(map_count, spawn, tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path / "many_regions"
    subprocess.run(
        ["gcc", "-O2", "-o", str(exe), str(REPO / "benchmarks" / "many_regions.c")], check=True
    )
    child = spawn([str(exe), str(REGIONS)])
    child.read_until("READY", timeout=120)
    child.stop()
    return child


def _pmap(*args: str) -> str:
    out = subprocess.run(["pmap", *args], capture_output=True, env=PMAP_ENV, check=True)
    return out.stdout.decode("utf-8", "surrogateescape")


def test_json_and_pmap_of_250000_regions_equal_pmap(many):
    pid = many.pid
    result = run_vmtop("snapshot", str(pid), "--format", "json", timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    theirs = _pmap("-X", str(pid)).split("\n")
    columns = theirs[1].split()
    records = []
    for line in theirs[2:]:
        if not line.strip() or line.lstrip().startswith("="):
            break  # the totals follow
        records.append(dict(zip(columns, line.split(None, len(columns) - 1), strict=False)))
    summed = columns[columns.index("Size") : -1]  # the totals line: Size on, then "KB"
    rule = next(i for i, line in enumerate(theirs) if line.lstrip().startswith("="))
    totals = dict(zip(summed, map(int, theirs[rule + 1].split()[:-1]), strict=True))
    assert data["format"] == "vmtop-snapshot" and data["format_version"] == 1
    assert len(data["regions"]) == len(records) > REGIONS
    for region, record in zip(data["regions"], records, strict=True):
        assert region["start"] == f"0x{int(record['Address'], 16):x}"
        assert region["perms"] == record["Perm"]
        assert region["offset"] == int(record["Offset"], 16)
        assert region["size"] == int(record["Size"]) * KB
        assert region["rss"] == int(record["Rss"]) * KB
        assert region["anonymous"] == int(record["Anonymous"]) * KB
        if not region["inode"]:  # (a library's PSS moves as other processes map it)
            assert region["pss"] == int(record["Pss"]) * KB
        assert region["swap"] == int(record["Swap"]) * KB
        assert (region["dev"], region["inode"]) == (record["Device"], int(record["Inode"]))
        assert os.path.basename(region["path"]) == record.get("Mapping", "")  # pmap: basename
    for field, column in (("size", "Size"), ("rss", "Rss"), ("swap", "Swap")):
        assert data["totals"][field] == totals[column] * KB, field

    result = run_vmtop("snapshot", str(pid), "--format", "pmap", timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8", "surrogateescape") == _pmap("-x", str(pid))
