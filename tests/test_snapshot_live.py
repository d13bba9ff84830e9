"""`vmtop snapshot` on live, stopped C children, row by row against procps pmap.

Ground truth: ``pmap -x`` and ``pmap -X`` (procps-ng) run on the same stopped process,
and what the C programs print about their own mappings. The child is stopped
(SIGSTOP) so both readers see one address space.

Documented differences from pmap (vmtop/output/pmap.py render_pmap): a maps line over
1023 bytes, which pmap garbles. The awkward-names child has one; it is left out of the
row comparison and checked against the program's own account instead.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess

import pytest
from conftest import run_vmtop

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(shutil.which("pmap") is None, reason="pmap (procps) is not installed"),
]

PMAP_ENV = dict(os.environ, LC_ALL="C.UTF-8")
KB = 1024


def pmap(*args: str) -> str:
    out = subprocess.run(["pmap", *args], capture_output=True, env=PMAP_ENV, check=True)
    return out.stdout.decode("utf-8", "surrogateescape")


def vmtop(pid: int, *args: str) -> str:
    result = run_vmtop("snapshot", str(pid), *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    return result.stdout.decode("utf-8", "surrogateescape")


@pytest.fixture
def threads_child(compile_c_once, spawn):
    child = spawn([compile_c_once("threads_ready.c", "-pthread")])
    printed = child.read_until("READY")
    child.stop()
    return child, printed


@pytest.fixture
def awkward_child(compile_c_once, spawn, tmp_path):
    directory = tmp_path / "names"
    directory.mkdir()
    child = spawn([compile_c_once("awkward_names.c"), str(directory.resolve())])
    printed = child.read_until("READY")
    child.stop()
    return child, printed


def long_line_starts(pid: int) -> set[int]:
    with open(f"/proc/{pid}/maps", "rb") as f:
        lines = f.read().split(b"\n")
    return {int(line.split(b"-", 1)[0], 16) for line in lines if len(line) + 1 > 1023}


def test_pmap_format_equals_pmap_x(threads_child):
    child, _ = threads_child
    assert vmtop(child.pid) == pmap("-x", str(child.pid))


def test_pmap_format_equals_pmap_x_for_a_process_that_rewrote_its_title(compile_c_once, spawn):
    """postgres' children write their title over argv and pad the rest with NULs: the
    title line keeps the title's own trailing space and nothing of the padding."""
    title = "postgres: checkpointer "
    child = spawn([compile_c_once("retitle.c"), title, "x" * 40, "y" * 40])
    child.read_until("READY")
    child.stop()
    with open(f"/proc/{child.pid}/cmdline", "rb") as f:
        cmdline = f.read()
    assert cmdline.startswith(title.encode() + b"\0" * 80)  # the padding is really there
    assert cmdline.rstrip(b"\0") == title.encode()
    theirs = pmap("-x", str(child.pid))
    assert theirs.startswith(f"{child.pid}:   {title}\n")
    assert vmtop(child.pid) == theirs


def test_pmap_format_equals_pmap_x_with_awkward_names(awkward_child):
    child, _ = awkward_child
    ours = vmtop(child.pid).split("\n")
    theirs = pmap("-x", str(child.pid)).split("\n")
    garbled = long_line_starts(child.pid)
    assert len(garbled) == 1
    assert len(ours) == len(theirs)
    assert ours[:2] == theirs[:2]  # the header, command line included
    for mine, pmaps in zip(ours[2:-3], theirs[2:-3], strict=True):
        if int(mine[:16], 16) not in garbled:
            assert mine == pmaps
    assert ours[-3] == theirs[-3]
    # pmap's Kbytes total includes its garbled row; RSS and Dirty totals do not.
    assert ours[-2].split()[-2:] == theirs[-2].split()[-2:]


def test_pmap_rows_agree_with_what_the_program_mapped(awkward_child):
    child, printed = awkward_child
    rows = {}
    for row in vmtop(child.pid).split("\n")[2:-3]:
        rows[int(row[:16], 16)] = row
    for line in printed:
        if line.startswith("REGION "):
            _, start, end, perms, *_ = line.split(" ")
            row = rows[int(start, 16)]
            size_kb = (int(end, 16) - int(start, 16)) // KB
            assert row[17:24] == f"{size_kb:7d}"
            assert row[41:46] == perms[:3] + ("s" if perms[3] == "s" else "-") + "-"


def pmap_big_x(pid: int) -> tuple[list[str], list[dict]]:
    """pmap -X as records: its column names, one dict per region."""
    lines = pmap("-X", str(pid)).split("\n")
    columns = lines[1].split()
    records = []
    for line in lines[2:]:
        if not line.strip() or line.lstrip().startswith("="):
            break
        values = line.split(None, len(columns) - 1)
        records.append(dict(zip(columns, values, strict=False)))
    return columns, records


NOT_KB = {"THPeligible", "ProtectionKey"}
# Proportional figures divide shared pages by how many processes map them: they change
# while the child is stopped whenever any other process maps or unmaps libc (pmap and
# vmtop themselves do), so two readers a few milliseconds apart may disagree.
PROPORTIONAL = {"Pss", "Pss_Dirty", "SwapPss"}


def expected_json_value(column: str, text: str):
    if column == "Address":
        return f"0x{int(text, 16):x}"
    if column == "Offset":
        return int(text, 16)
    if column in ("Perm", "Device", "Mapping"):
        return text
    if column == "Inode" or column in NOT_KB:
        return int(text)
    return int(text) * KB  # every other column is kB


def snake(column: str) -> str:
    special = {
        "Address": "start",
        "Perm": "perms",
        "Device": "dev",
        "THPeligible": "thp_eligible",
        "ProtectionKey": "protection_key",
        "KSM": "ksm",
    }
    if column in special:
        return special[column]
    out = ""
    for i, ch in enumerate(column):
        if ch.isupper() and i and column[i - 1].islower():
            out += "_"
        out += ch.lower()
    return out.replace("__", "_")


def test_json_equals_pmap_big_x(threads_child):
    child, printed = threads_child
    data = json.loads(vmtop(child.pid, "--format", "json"))
    columns, records = pmap_big_x(child.pid)
    assert data["pid"] == child.pid
    assert len(data["regions"]) == len(records)
    compared = 0
    for region, record in zip(data["regions"], records, strict=True):
        for column, text in record.items():
            if column == "Mapping":
                assert region["path"].endswith(text) or text.startswith("[")
                continue
            if column in PROPORTIONAL:
                assert snake(column) in region
                continue
            assert region[snake(column)] == expected_json_value(column, text), column
            compared += 1
    assert compared >= 18 * len(records)  # every column but Mapping and the proportional
    totals = pmap("-x", str(child.pid)).split("\n")[-2].split()
    assert data["totals"]["size"] == int(totals[2]) * KB
    assert data["totals"]["rss"] == int(totals[3]) * KB
    # What the program printed about itself.
    heap = int(next(line for line in printed if line.startswith("HEAP")).split()[1], 16)
    holder = [r for r in data["regions"] if int(r["start"], 16) <= heap < int(r["end"], 16)]
    assert [r["path"] for r in holder] == ["[heap]"]


def test_json_paths_are_the_kernels_names(awkward_child):
    child, printed = awkward_child
    data = json.loads(vmtop(child.pid, "--format", "json"))
    by_start = {int(r["start"], 16): r for r in data["regions"]}
    for line in printed:
        if line.startswith("REGION "):
            _, start, end, perms, offset, dev, inode, name = line.split(" ")
            region = by_start[int(start, 16)]
            want = "" if name == "-" else bytes.fromhex(name).decode("utf-8", "surrogateescape")
            assert region["path"] == want
            assert (region["perms"], region["offset"]) == (perms, int(offset, 16))
            if dev != "-":
                assert region["dev"] == dev
            if inode != "-":
                assert region["inode"] == int(inode)
            assert region["size"] == int(end, 16) - int(start, 16)


def test_csv_equals_pmap_big_x(threads_child):
    child, _ = threads_child
    rows = list(csv.reader(io.StringIO(vmtop(child.pid, "--format", "csv"))))
    header, body = rows[0], rows[1:]
    _, records = pmap_big_x(child.pid)
    assert len(body) == len(records)
    for row, record in zip(body, records, strict=True):
        values = dict(zip(header, row, strict=True))
        assert values["start"] == f"0x{int(record['Address'], 16):x}"
        assert int(values["rss"]) == int(record["Rss"]) * KB
        assert int(values["pss"]) >= 0
        assert int(values["referenced"]) == int(record["Referenced"]) * KB
        assert int(values["swap"]) == int(record["Swap"]) * KB
        assert int(values["inode"]) == int(record["Inode"])
        assert values["perms"] == record["Perm"]


def test_no_smaps_gives_sizes_only(threads_child):
    child, _ = threads_child
    rows = vmtop(child.pid, "--no-smaps").split("\n")
    theirs = pmap("-x", str(child.pid)).split("\n")
    assert len(rows) == len(theirs)
    for mine, pmaps in zip(rows[2:-3], theirs[2:-3], strict=True):
        assert mine[:24] == pmaps[:24]  # address and Kbytes
        assert mine[24:40] == "       -       -"
        assert mine[40:] == pmaps[40:]  # mode and mapping


def test_take_snapshot_in_process(threads_child):
    from vmtop.procfs.reader import ProcFS
    from vmtop.procfs.snapshot import take_snapshot

    child, printed = threads_child
    snap = take_snapshot(ProcFS(), child.pid)
    assert snap.info.pid == child.pid
    assert snap.info.state == "t" or snap.info.state == "T"
    assert snap.info.threads == 3
    with open(f"/proc/{child.pid}/stat", "rb") as f:
        assert snap.info.start_time == int(f.read().rsplit(b")", 1)[1].split()[19])
    big, length = (int(x, 16) for x in next(p for p in printed if p.startswith("BIG")).split()[1:])
    assert snap.region_at(big).rss >= length // 2
    assert snap.read_seconds > 0 and snap.parse_seconds > 0


HUGE_RESERVATION = r"""
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    /* 1 TiB of address space, as allocators and JITs reserve: a 10-digit Size in kB. */
    char *huge = mmap(NULL, 1UL << 40, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
    char *small = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (huge == MAP_FAILED || small == MAP_FAILED) return 1;
    memset(small, 1, 1 << 15);
    printf("HUGE %lx\nREADY\n", (unsigned long)huge);
    fflush(stdout);
    for (;;) pause();
}
"""


def test_huge_region_with_wide_figures_equals_pmap_x(compile_c, spawn):
    child = spawn([compile_c(HUGE_RESERVATION)])
    printed = child.read_until("READY")
    child.stop()
    huge = int(printed[0].split()[1], 16)
    ours = vmtop(child.pid)
    assert ours == pmap("-x", str(child.pid))
    row = next(line for line in ours.split("\n") if line.startswith(f"{huge:016x} "))
    assert row.split()[1] == str((1 << 40) // KB)


def test_a_process_whose_main_thread_exited_is_read_through_another_thread(compile_c_once, spawn):
    """pthread_exit() in main: the main thread is a zombie with empty maps, the process
    lives on. pmap shows nothing; vmtop reads the map through the living thread."""
    from conftest import wait_for_state

    child = spawn([compile_c_once("leader_exits.c", "-pthread")])
    worker = child.read_line().split()
    assert worker[0] == "worker"
    tid, block = int(worker[1]), int(worker[2], 16)
    assert child.read_line() == "READY"
    wait_for_state(child.pid, "Z")  # the main thread has exited
    with open(f"/proc/{child.pid}/maps", "rb") as f:
        assert f.read() == b""
    with open(f"/proc/{child.pid}/task/{tid}/maps", "rb") as f:
        thread_maps = f.read()
    snap = json.loads(vmtop(child.pid, "--format", "json"))
    ranges = [(int(r["start"], 16), int(r["end"], 16)) for r in snap["regions"]]
    expected = [
        tuple(int(x, 16) for x in line.split(b" ", 1)[0].split(b"-"))
        for line in thread_maps.splitlines()
    ]
    assert ranges == expected
    holding = [r for r in snap["regions"] if int(r["start"], 16) <= block < int(r["end"], 16)]
    assert len(holding) == 1 and holding[0]["rss"] >= 4 << 20  # the worker's 4 MiB
    assert "leader_exits" in snap["command"]
    # The program's files are still reached (through the living thread's root): its
    # text has ELF sections, as for any process.
    text = [r for r in snap["regions"] if r["kind"] == "text" and "leader_exits" in r["path"]]
    assert len(text) == 1 and ".text" in text[0]["sections"], text
    pmap_rows = vmtop(child.pid).splitlines()
    assert len(pmap_rows) == 4 + len(expected)  # header, column names, rows, dashes, total
