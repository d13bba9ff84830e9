"""Memory in huge pages and shared memory removed while mapped, on a recorded process
(tests/fixtures/real/huge_pages, src/huge_pages.c): ground truth is the addresses the
program printed (ready.txt) and what its smaps says, not vmtop's own output.

hugetlb pages are in neither Rss nor Pss (proc.rst): before, a MAP_HUGETLB region was a
"file" with 0 resident, and postgres's shared buffers on huge pages looked unused.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, hugetlb_pool_raised

from vmtop.model import kinds
from vmtop.model.classify import HUGETLB
from vmtop.model.explain import huge_pages_note, why_kind
from vmtop.model.sysv import describe_sysv, parse_sysv_shm
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_blocks import region_fields
from vmtop.procfs.snapshot import take_snapshot

ROOT = FIXTURES / "real" / "huge_pages"
PID = int(next(p.name for p in ROOT.iterdir() if p.name.isdigit()))
MIB = 1 << 20


def printed() -> dict[str, int]:
    """What huge_pages.c printed: {"hugetlb_shared": address, ...}."""
    fields = (ROOT / "ready.txt").read_text().split()[1:]
    return {k: int(v, 16) for k, v in (f.split("=") for f in fields)}


@pytest.fixture(scope="module")
def snap():
    return take_snapshot(ProcFS(str(ROOT)), PID)


def at(snap, name: str):
    address = printed()[name]
    (region,) = [r for r in snap.regions if r.start == address]
    return region


def smaps_kb(start: int, field: str) -> int:
    """One field of the recorded smaps block starting at ``start``, in bytes."""
    text = (ROOT / str(PID) / "smaps").read_text()
    block = text.split(f"{start:x}-", 1)[1].split("VmFlags", 1)[0]
    line = next(ln for ln in block.splitlines() if ln.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def test_hugetlb_memory_is_shared_or_anonymous_memory_in_hugetlb_pages(snap):
    shared, private = at(snap, "hugetlb_shared"), at(snap, "hugetlb_private")
    assert shared.path == private.path == "/anon_hugepage (deleted)"
    assert (shared.kind, shared.object) == (kinds.SHM, HUGETLB)  # MAP_SHARED
    assert (private.kind, private.object) == (kinds.ANON, HUGETLB)  # MAP_PRIVATE
    # What makes the explanation needed: the kernel's Rss leaves them out.
    assert shared.rss == private.rss == 0
    assert smaps_kb(shared.start, "Private_Hugetlb") == 4 * MIB  # touched, mapped only here
    for region in (shared, private):
        why = why_kind(region)
        assert "MAP_HUGETLB" in why and "nr_hugepages" in why
        assert "Rss" in why and "leave them out" in why
        # The kernel counts a page mapped only here as Private_Hugetlb, even in a
        # MAP_SHARED region: the explanation names both.
        assert "Shared_Hugetlb + Private_Hugetlb" in why


def test_the_region_fields_say_how_big_its_pages_are_and_what_is_resident(snap):
    shared = at(snap, "hugetlb_shared")
    note = huge_pages_note(region_fields(snap, shared))
    assert note.startswith("Backed by 2 MiB hugetlb pages: 4 MiB resident"), note
    private = at(snap, "hugetlb_private")
    assert "6 MiB resident" in huge_pages_note(region_fields(snap, private))


def test_transparent_huge_pages_asked_for_are_explained(snap):
    thp = at(snap, "thp")
    fields = region_fields(snap, thp)
    assert fields["AnonHugePages"] == 8 * MIB and "hg" in str(fields["VmFlags"]).split()
    note = huge_pages_note(fields)
    assert note.startswith("8 MiB of it in transparent huge pages"), note
    assert "MADV_HUGEPAGE" in note
    # The rest of the same mmap, not madvised and untouched: nothing to say.
    rest = next(r for r in snap.regions if r.start == thp.end)
    assert huge_pages_note(region_fields(snap, rest)) == ""


def test_huge_pages_note_words_each_case():
    asked = {"VmFlags": "rd wr mr mw me ac hg", "AnonHugePages": 0, "THPeligible": 1}
    assert "none yet" in huge_pages_note(asked)
    assert "cannot get them" in huge_pages_note({**asked, "THPeligible": 0})
    unasked = {"VmFlags": "rd wr mr mw me ac", "AnonHugePages": 2 * MIB}
    assert "without madvise MADV_HUGEPAGE" in huge_pages_note(unasked)
    assert "MADV_COLLAPSE" in huge_pages_note(unasked)  # khugepaged is not the only way
    no_thp = huge_pages_note({"VmFlags": "rd wr nh", "AnonHugePages": 0})
    # The kernel sets nh on every MAP_STACK mapping (Linux 6.7+): not always asked for.
    assert "MADV_NOHUGEPAGE" in no_thp and "MAP_STACK" in no_thp
    # A 64 KiB base page (arm64, ppc64le) is no hugetlb page: VmFlags would say ht.
    assert huge_pages_note({"VmFlags": "rd wr mr mw me ac", "KernelPageSize": 65536}) == ""
    assert "hugetlb" in huge_pages_note({"VmFlags": "rd wr ht", "KernelPageSize": 2 * MIB})
    assert huge_pages_note({"VmFlags": "rd wr", "KernelPageSize": 4096}) == ""


def test_a_file_deleted_while_mapped_is_explained(snap):
    file = at(snap, "deleted_file")
    assert file.path.endswith("vmtop-deleted.dat (deleted)") and file.kind == kinds.FILE
    why = why_kind(file)
    assert "removed" in why and "lsof +L1" in why
    assert "restart" not in why  # data, not code


def test_a_posix_shm_object_unlinked_while_mapped_is_explained(snap):
    shm = at(snap, "unlinked_shm")
    assert shm.path.startswith("/dev/shm/vmtop-unlinked-") and shm.kind == kinds.SHM
    assert "shm_unlink" in why_kind(shm)


def test_a_keyed_sysv_segment_removed_while_attached_says_removed(snap):
    sysv = at(snap, "sysv")
    table = parse_sysv_shm((ROOT / "sysvipc" / "shm").read_bytes())
    # The kernel set the key to IPC_PRIVATE at IPC_RMID; the name kept it.
    assert table[sysv.inode].key == 0 and table[sysv.inode].marked_for_removal
    assert sysv.path.startswith("/SYSV766d") and "IPC_PRIVATE" not in sysv.object
    assert f"created by PID {PID}" in sysv.object and "removed (IPC_RMID)" in sysv.object
    why = why_kind(sysv)
    assert "does not mean something was removed" not in why
    assert why.count("detach") == 1  # in the object, quoted once


def test_a_sysv_key_that_differs_without_removal_is_another_segment():
    """A shmid reused by another segment (a recording read later): not described as it."""
    table = parse_sysv_shm(
        b"key shmid perms size cpid lpid nattch uid\n"
        b"4660 7 600 4096 100 100 1 0\n"
        b"0 8 600 4096 100 100 1 0\n"
    )
    assert "created by" not in describe_sysv("/SYSV00005678 (deleted)", 7, table)
    assert "created by" not in describe_sysv("/SYSV00005678 (deleted)", 8, table)


def test_the_hugetlb_column_and_the_header_figure(snap):
    """The TUI's figures: the HugeTLB column sums the two smaps fields, the header shows
    the process's HugetlbPages (status) when it has any."""
    from vmtop.tui.widgets.table_columns import CATALOGUE, FIELD_COLUMNS

    (column,) = [c for c in CATALOGUE if c.id == "hugetlb"]
    assert column.title == "HugeTLB" and "which RSS leaves out" in column.meaning
    fields = region_fields(snap, at(snap, "hugetlb_private"))
    assert sum(fields[name] for name in FIELD_COLUMNS["hugetlb"]) == 6 * MIB
    assert snap.status["HugetlbPages"] == 10 * MIB


@pytest.mark.live
def test_live_process_in_huge_pages_matches_pmap(tmp_path):
    """A live run of the same program: kinds and objects as in the recording, and
    `snapshot --format pmap` still what `pmap -x` prints for the hugetlb regions."""
    if not shutil.which("gcc") or not shutil.which("pmap"):
        pytest.skip("needs gcc and pmap")
    exe = tmp_path / "huge_pages"
    src = FIXTURES / "real" / "src" / "huge_pages.c"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(src)], check=True)
    old = hugetlb_pool_raised(8)
    if old is None:
        pytest.skip("raising /proc/sys/vm/nr_hugepages needs root and free memory")
    child = None
    try:
        child = subprocess.Popen([str(exe), str(tmp_path)], stdout=subprocess.PIPE, text=True)
        line = child.stdout.readline()
        assert line.startswith("READY"), line
        got = {k: int(v, 16) for k, v in (f.split("=") for f in line.split()[1:])}
        snap = take_snapshot(ProcFS(), child.pid)
        by_start = {r.start: r for r in snap.regions}
        assert by_start[got["hugetlb_shared"]].object == HUGETLB
        assert by_start[got["hugetlb_shared"]].kind == kinds.SHM
        assert by_start[got["hugetlb_private"]].kind == kinds.ANON
        assert snap.status["HugetlbPages"] == 10 * MIB
        ours = subprocess.run(
            [sys.executable, "-m", "vmtop", "snapshot", "--format", "pmap", str(child.pid)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        theirs = subprocess.run(
            ["pmap", "-x", str(child.pid)], capture_output=True, text=True, check=True
        ).stdout
        pick = [ln for ln in theirs.splitlines() if "anon_hugepage" in ln]
        assert len(pick) == 2 and all(ln in ours.splitlines() for ln in pick), (pick, ours)
    finally:
        if child is not None:
            child.kill()
            child.wait()
        Path("/proc/sys/vm/nr_hugepages").write_text(str(old))
