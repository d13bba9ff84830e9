"""take_snapshot and the pmap / JSON / CSV renderers on the fixture proc trees.

Ground truth: ``pmap -x`` of the same stopped process, recorded with the tree
(expected/PID.pmap-x); what the C programs printed about themselves; and hand-made
trees whose values are stated here by hand.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import PROC_FIXTURES

from vmtop.procfs.errors import KernelThread, NoSuchProcess, ZombieProcess
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_blocks import region_fields, region_flags
from vmtop.procfs.snapshot import take_snapshot

EXPECTED = PROC_FIXTURES / "expected"
KB = 1024


@pytest.fixture(scope="module")
def procfs() -> ProcFS:
    return ProcFS(str(PROC_FIXTURES))


def recorded(suffix: str) -> list[int]:
    return sorted(int(p.name.split(".")[0]) for p in EXPECTED.glob(f"*.{suffix}"))


def recorded_by_state(state: str) -> int:
    for stat in PROC_FIXTURES.glob("*/stat"):
        data = stat.read_bytes()
        if data[data.rfind(b")") + 2 :][:1] == state.encode():
            return int(stat.parent.name)
    raise AssertionError(f"no recorded process in state {state}")


def long_lines(pid: int) -> set[int]:
    """Start addresses of maps lines pmap cannot read whole (over 1023 bytes)."""
    lines = (PROC_FIXTURES / str(pid) / "maps").read_bytes().split(b"\n")
    return {int(line.split(b"-", 1)[0], 16) for line in lines if len(line) + 1 > 1023}


# -- pmap -x --------------------------------------------------------------------------


@pytest.mark.parametrize("pid", recorded("pmap-x"))
def test_pmap_format_equals_recorded_pmap(procfs, pid):
    from vmtop.output.pmap import render_pmap

    ours = render_pmap(take_snapshot(procfs, pid)).split("\n")
    theirs = (EXPECTED / f"{pid}.pmap-x").read_bytes().decode("utf-8", "surrogateescape")
    theirs = theirs.split("\n")
    garbled = long_lines(pid)
    if not garbled:
        assert ours == theirs
        return
    # Documented difference (render_pmap): pmap garbles a maps line over 1023 bytes,
    # and its Kbytes total with it. Every other row, and the RSS and Dirty totals,
    # must be the same.
    assert len(ours) == len(theirs)
    assert ours[:2] == theirs[:2]
    for mine, pmaps in zip(ours[2:-3], theirs[2:-3], strict=True):
        if int(mine[:16], 16) in garbled:
            continue
        assert mine == pmaps
    assert ours[-3] == theirs[-3]
    assert ours[-2].split()[-2:] == theirs[-2].split()[-2:]


def test_pmap_format_long_name_row(procfs):
    """The row pmap garbles: vmtop's is checked against the program's own account."""
    from vmtop.output.pmap import render_pmap

    (pid,) = recorded("regions")
    (start,) = long_lines(pid)
    row = [
        r
        for r in render_pmap(take_snapshot(procfs, pid)).split("\n")
        if r.startswith(f"{start:016x} ")
    ]
    assert row == [f"{start:016x}       4       4       0 r---- long name at the end"]


def test_pmap_format_without_smaps(procfs):
    from vmtop.output.pmap import render_pmap

    text = render_pmap(take_snapshot(procfs, 90008))
    assert text == (
        "90008:   /usr/bin/nosmaps -v\n"
        "Address           Kbytes     RSS   Dirty Mode  Mapping\n"
        "0000000000400000       8       -       - r-x-- nosmaps\n"
        "00007ffc00000000     132       -       - rw---   [ stack ]\n"
        "---------------- ------- ------- ------- \n"
        "total kB             140      40       -\n"  # (the RSS: status' VmRSS, 40 kB)
    )


def test_pmap_format_of_kernel_names(procfs):
    from vmtop.output.pmap import render_pmap

    rows = render_pmap(take_snapshot(procfs, 90007)).split("\n")[2:-3]
    # pmap's rule: the basename after the last '/', a SysV segment's shmid, else anon.
    assert [row[47:] for row in rows] == [
        "  [ anon ]",
        "  [ anon ]",
        "  [ anon ]",
        "  [ anon ]",
        "  [ anon ]",
        "  [ shmid=0x10002 ]",
        "  [ anon ]",
        "drm mm object (deleted)",
        "  [ anon ]",
    ]


# -- what the snapshot holds --------------------------------------------------------------


def test_threads_process_matches_what_it_printed(procfs):
    (pid,) = recorded("printed")
    printed = (EXPECTED / f"{pid}.printed").read_text().split("\n")
    heap = int(next(line for line in printed if line.startswith("HEAP")).split()[1], 16)
    _, big, big_len = next(line for line in printed if line.startswith("BIG")).split()
    big, big_len = int(big, 16), int(big_len, 16)
    tids = {int(line.split()[1]) for line in printed if line.startswith("THREAD")}
    snap = take_snapshot(procfs, pid)
    assert snap.region_at(heap).path == "[heap]"
    assert snap.region_at(heap).kind == "heap"
    holder = snap.region_at(big)
    assert holder.path == "" and holder.end >= big + big_len
    # Half of the 1 MiB block was written: at least that much of its region is resident.
    assert holder.rss >= big_len // 2
    assert snap.info.threads == len(tids) + 1
    assert snap.info.state == "T"
    assert snap.info.comm == "threads_ready"


def test_awkward_names_paths_come_out_unmangled_in_json(procfs):
    from vmtop.output.json_out import write_json

    (pid,) = recorded("regions")
    out = io.StringIO()
    write_json(take_snapshot(procfs, pid), out)
    data = json.loads(out.getvalue())
    by_start = {int(r["start"], 16): r for r in data["regions"]}
    for line in (EXPECTED / f"{pid}.regions").read_text().splitlines():
        if not line.startswith("REGION "):
            continue
        _, start, end, perms, offset, _dev, _inode, name = line.split(" ")
        region = by_start[int(start, 16)]
        assert region["end"] == f"0x{int(end, 16):x}"
        assert region["size"] == int(end, 16) - int(start, 16)
        assert region["perms"] == perms
        assert region["offset"] == int(offset, 16)
        want = "" if name == "-" else bytes.fromhex(name).decode("utf-8", "surrogateescape")
        assert region["path"] == want


def test_json_fields_of_hand_made_regions(procfs):
    from vmtop.output.json_out import write_json

    out = io.StringIO()
    write_json(take_snapshot(procfs, 90002), out)
    data = json.loads(out.getvalue())
    assert data["pid"] == 90002
    assert data["start_time"] == 4242
    assert data["command"] == "/usr/bin/fields --flag"
    full, missing, unknown, no_flags, odd = data["regions"]
    assert (full["start"], full["end"], full["size"]) == ("0x10000", "0x14000", 16 * KB)
    assert (full["rss"], full["pss"], full["shared_clean"], full["private_dirty"]) == (
        16 * KB,
        9 * KB,
        12 * KB,
        1 * KB,
    )
    assert (full["swap"], full["anonymous"]) == (5 * KB, 3 * KB)
    assert (full["thp_eligible"], full["protection_key"]) == (1, 3)
    assert full["vm_flags"] == ["rd", "mr", "mw", "me"]
    assert "rss" not in missing or missing["rss"] is None
    assert missing["private_dirty"] == 4 * KB
    assert (unknown["future_bytes"], unknown["future_count"]) == (12 * KB, 7)
    assert unknown["vm_flags"] == ["rd", "wr", "mr", "mw", "me", "ac", "zz", "q9"]
    assert no_flags["vm_flags"] == []
    assert odd["path"] == "[vvar_vclock]"
    # Totals in bytes, summed by hand from the blocks (the missing Rss counts as 0).
    assert data["totals"]["rss"] == (16 + 4 + 0 + 0) * KB
    assert data["totals"]["size"] == (16 + 4 + 4 + 4 + 4) * KB


def test_csv_has_a_header_and_one_row_per_region(procfs):
    from vmtop.output.csv_out import write_csv

    (pid,) = recorded("regions")
    snap = take_snapshot(procfs, pid)
    out = io.StringIO()
    write_csv(snap, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    header, body = rows[0], rows[1:]
    assert header[:8] == ["start", "end", "size", "perms", "offset", "dev", "inode", "path"]
    assert len(body) == (PROC_FIXTURES / str(pid) / "maps").read_bytes().count(b"\n")
    paths = [row[header.index("path")] for row in body]
    # Control bytes are escaped in CSV; nothing printed raw.
    assert not any(ch in p for p in paths for ch in "\x1b\r\t")
    assert any(p.endswith("/esc\\x1b[31mred") for p in paths)
    rss = [int(row[header.index("rss")]) for row in body]
    assert rss == [r.rss for r in snap.regions]


# -- partial and copied trees ---------------------------------------------------------


def test_maps_without_smaps_gives_sizes_without_rss(procfs):
    snap = take_snapshot(procfs, 90008)
    assert not snap.has_smaps
    assert [(r.start, r.size, r.rss) for r in snap.regions] == [
        (0x400000, 8 * KB, None),
        (0x7FFC00000000, 132 * KB, None),
    ]
    assert snap.totals.size == 140 * KB
    assert snap.totals.rss == 40 * KB  # from status VmRSS
    assert region_fields(snap, snap.regions[0]) == {}
    assert snap.info.command == "/usr/bin/nosmaps -v"


def test_tree_with_maps_only(procfs):
    snap = take_snapshot(procfs, 90009)
    assert [(r.start, r.end, r.path) for r in snap.regions] == [(0x400000, 0x401000, "/alone")]
    assert snap.info.start_time == 0
    assert snap.totals.rss is None


def test_tree_with_smaps_only(procfs):
    snap = take_snapshot(procfs, 90010)
    (region,) = snap.regions
    assert (region.start, region.rss, region.private_clean) == (0x400000, 4 * KB, 4 * KB)
    assert region_fields(snap, region)["Size"] == 4 * KB


def test_old_kernel_tree(procfs):
    snap = take_snapshot(procfs, 90003)
    assert snap.info.comm == "old"
    assert snap.totals.rss == 16 * KB and snap.totals.swap == 8 * KB
    assert region_flags(snap, snap.regions[0]) == []


def test_32_bit_and_56_bit_trees(procfs):
    snap = take_snapshot(procfs, 90005)
    assert snap.regions[-1].path == "[stack]" and snap.regions[-1].end == 0xFFDAF000
    snap = take_snapshot(procfs, 90004)
    assert snap.region_at(0xFF7FFFF7FF1000).start == 0xFF7FFFF7FF0000
    assert snap.region_at(0xFFFFFFFFFF600000).path == "[vsyscall]"


def test_zombie_kernel_thread_and_missing(procfs):
    with pytest.raises(ZombieProcess) as zombie:
        take_snapshot(procfs, recorded_by_state("Z"))
    assert "zombie" in str(zombie.value)
    with pytest.raises(KernelThread) as kthread:
        take_snapshot(procfs, 2)
    assert "kernel thread" in str(kthread.value) and "kthreadd" in str(kthread.value)
    with pytest.raises(NoSuchProcess):
        take_snapshot(procfs, 424242)


def test_a_tree_without_maps_or_smaps(tmp_path):
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "stat").write_bytes(b"77 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n")
    from vmtop.procfs.errors import ProcError

    with pytest.raises(ProcError) as error:
        take_snapshot(ProcFS(str(tmp_path)), 77)
    assert "neither smaps nor maps" in str(error.value)


def test_every_fixture_tree_is_listed_in_the_readme():
    readme = (PROC_FIXTURES / "README.md").read_text()
    for tree in PROC_FIXTURES.iterdir():
        if tree.is_dir() and tree.name.isdigit() and int(tree.name) >= 90000:
            assert f"| {tree.name} |" in readme, tree.name
    assert Path(PROC_FIXTURES / "record.py").exists()


@pytest.mark.live
def test_pmap_without_smaps_totals_the_rss_status_gives():
    """`--no-smaps --format pmap` printed "-" for the total RSS, which status says."""
    import subprocess
    import sys

    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        out = subprocess.run(
            [sys.executable, "-m", "vmtop", "snapshot", str(sleeper.pid), "--no-smaps",
             "--format", "pmap"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        with open(f"/proc/{sleeper.pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    finally:
        sleeper.kill()
        sleeper.wait()
    total = out.splitlines()[-1].split()
    assert total[:2] == ["total", "kB"] and total[3:] == [str(rss), "-"]
