"""A glibc arena heap's shape is no proof: smaps' ``nr`` VmFlag tells arenas apart.

glibc reserves each heap of a non-main arena with MAP_NORESERVE and commits it with
mprotect, which keeps the flag; HotSpot commits metaspace nodes with mmap over their
reservation, which drops it. A JVM loading 20 000 classes had 40 metaspace nodes
(2.5 GB) called "arena heap 16" to "arena heap 55". Hand-made trees for the fact's
read (strict overcommit, a copied tree without the setting, the maps-only reads between
smaps reads), hypothesis on the flags' parse, and live: a C program with a real arena
and a 64 MiB region of its own at a 64 MiB boundary, the addresses it prints the truth.
(The JVM's own fixtures: tests/test_java_native_regions.py, g1_1g_many_nodes.)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from conftest import run_vmtop
from hypothesis import given
from hypothesis import strategies as st

from vmtop.model import kinds
from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.facts import ClassifyFacts
from vmtop.procfs.noreserve_flags import (
    arena_candidates,
    mapped_without_noreserve,
    without_noreserve,
)
from vmtop.procfs.parse_maps import parse_maps, parse_smaps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

MIB = 1 << 20
PID = 4242
ARENA_BASE = 0x7F00_0000_0000  # on a 64 MiB boundary
NODE_BASE = ARENA_BASE + 64 * MIB


def block(start: int, end: int, perms: str, flags: str, path: str = "") -> str:
    header = f"{start:x}-{end:x} {perms} 00000000 00:00 0"
    header += f"                          {path}" if path else ""
    size = (end - start) >> 10
    return (
        f"{header}\nSize:           {size:8d} kB\nRss:                   4 kB\n"
        f"Pss:                   4 kB\nPrivate_Dirty:         4 kB\n"
        f"Anonymous:             4 kB\nVmFlags: {flags}\n"
    )


# A glibc arena (its heap committed in part, the rest reserved, both with nr), a 64 MiB
# node committed whole without nr, and a 64 MiB region not on a 64 MiB boundary.
SMAPS = (
    block(ARENA_BASE, ARENA_BASE + 2 * MIB, "rw-p", "rd wr mr mw me nr ac")
    + block(ARENA_BASE + 2 * MIB, ARENA_BASE + 64 * MIB, "---p", "mr mw me nr")
    + block(NODE_BASE, NODE_BASE + 64 * MIB, "rw-p", "rd wr mr mw me ac")
    + block(NODE_BASE + 68 * MIB, NODE_BASE + 132 * MIB, "rw-p", "rd wr mr mw me ac")
).encode()


def tree(tmp_path: Path, overcommit: bytes | None = b"0\n", smaps: bytes = SMAPS) -> ProcFS:
    """A copied /proc tree of one process with ``smaps`` (and its maps)."""
    pid_dir = tmp_path / str(PID)
    pid_dir.mkdir(parents=True, exist_ok=True)
    (pid_dir / "smaps").write_bytes(smaps)
    maps = b"".join(line + b"\n" for line in smaps.splitlines() if not line[:1].isupper())
    (pid_dir / "maps").write_bytes(maps)
    if overcommit is not None:
        (tmp_path / "sys" / "vm").mkdir(parents=True, exist_ok=True)
        (tmp_path / "sys" / "vm" / "overcommit_memory").write_bytes(overcommit)
    return ProcFS(str(tmp_path))


def test_the_flags_parse():
    assert without_noreserve(b"Rss: 4 kB\nVmFlags: rd wr mr mw me ac\n") is True
    assert without_noreserve(b"Rss: 4 kB\nVmFlags: rd wr mr mw me nr ac\n") is False
    assert without_noreserve(b"Rss: 4 kB\nVmFlags: rd wr nr") is False  # no newline
    assert without_noreserve(b"Rss: 4 kB\nVmFlags: rd wr mr mw me ac nrx\n") is True
    assert without_noreserve(b"Rss: 4 kB\n") is None  # no VmFlags line (old kernels)


@given(st.binary(max_size=300))
def test_the_flags_parse_takes_any_bytes(data):
    assert without_noreserve(data) in (True, False, None)
    assert without_noreserve(b"Rss: 4 kB\nVmFlags: nr " + data.replace(b"\n", b"")) is False


def test_a_node_mapped_without_noreserve_is_no_arena(tmp_path):
    procfs = tree(tmp_path)
    regions = parse_smaps(SMAPS)
    fresh = mapped_without_noreserve(procfs, PID, regions, SMAPS)
    assert fresh == {NODE_BASE}  # not the arena (nr), not the unaligned one
    by_shape = classify_regions(regions, ClassifyFacts())
    told = classify_regions(regions, ClassifyFacts(mapped_without_noreserve=fresh))
    assert [r.kind for r in by_shape][:3] == [kinds.ARENA, kinds.RESERVED, kinds.ARENA]
    assert [r.kind for r in told][:3] == [kinds.ARENA, kinds.RESERVED, kinds.ANON]
    assert told[0].object == "arena heap 1" and told[2].object is None
    # Columns find the same candidates and classify the same way.
    columns = RegionColumns.from_regions(regions)
    assert [r.start for r in arena_candidates(columns)] == [ARENA_BASE, NODE_BASE]
    facts = ClassifyFacts(mapped_without_noreserve=fresh)
    assert list(classify_columns(columns, facts)) == told


def test_nothing_is_said_under_strict_overcommit_or_where_no_region_has_the_flag(tmp_path):
    # vm.overcommit_memory=2 ignores MAP_NORESERVE: glibc's heaps have no nr either.
    regions = parse_smaps(SMAPS)
    assert mapped_without_noreserve(tree(tmp_path / "a", b"2\n"), PID, regions, SMAPS) == set()
    assert mapped_without_noreserve(tree(tmp_path / "b", b"1\n"), PID, regions, SMAPS)
    # A copied tree without the setting: the text itself shows the kernel keeps nr.
    assert mapped_without_noreserve(tree(tmp_path / "c", None), PID, regions, SMAPS)
    # Recorded where no region has nr (a CUDA machine's trees, tests/fixtures/real/
    # cuda and pytorch: strict overcommit there), an arena's heap has none either.
    strict = SMAPS.replace(b" nr", b"")
    procfs = tree(tmp_path / "d", None, strict)
    assert mapped_without_noreserve(procfs, PID, parse_smaps(strict), strict) == set()
    assert take_snapshot(procfs, PID).region_at(ARENA_BASE).kind == kinds.ARENA


def test_reads_of_maps_alone_keep_what_the_last_smaps_read_said(tmp_path):
    # Between the smaps reads of a big map, the ticks read maps: a region's kind must
    # not go from anon to arena and back with them.
    procfs = tree(tmp_path)
    regions = parse_smaps(SMAPS)
    assert mapped_without_noreserve(procfs, PID, regions, SMAPS) == {NODE_BASE}
    from_maps = parse_maps((tmp_path / str(PID) / "maps").read_bytes())
    assert mapped_without_noreserve(procfs, PID, from_maps, None) == {NODE_BASE}
    # Not for another process, nor for a region that is not the same (start and end).
    assert mapped_without_noreserve(procfs, PID + 1, from_maps, None) == set()
    moved = [r._replace(end=r.end - MIB) if r.start == NODE_BASE else r for r in from_maps]
    assert mapped_without_noreserve(procfs, PID, moved, None) == set()
    # A new smaps read replaces what was remembered.
    again = SMAPS.replace(b"rd wr mr mw me ac\n", b"rd wr mr mw me nr ac\n", 1)
    assert mapped_without_noreserve(procfs, PID, regions, again) == set()
    assert mapped_without_noreserve(procfs, PID, from_maps, None) == set()


def test_a_copied_tree_is_classified_with_its_flags(tmp_path):
    snap = take_snapshot(tree(tmp_path), PID)
    assert snap.region_at(NODE_BASE).kind == kinds.ANON
    assert snap.region_at(ARENA_BASE).kind == kinds.ARENA


@pytest.mark.live
def test_a_live_arena_keeps_its_kind_and_a_64_mib_region_of_its_own_is_none(compile_c, spawn):
    exe = compile_c("arena_or_not.c", "-pthread")
    child = spawn([str(exe)])
    (line,) = child.read_until("READY")[-1:]
    arena_block, own = (int(word, 16) for word in line.split()[1:3])
    snap = take_snapshot(ProcFS(), child.pid)
    arena = snap.region_at(arena_block)
    assert arena is not None and arena.kind == kinds.ARENA, arena
    region = snap.region_at(own)
    assert region is not None and region.start == own and region.size == 64 * MIB
    assert region.kind == kinds.ANON and region.object is None, region
    # From maps alone (no VmFlags read yet in this process): by its shape, an arena.
    by_shape = take_snapshot(ProcFS(), child.pid, smaps=False)
    assert by_shape.region_at(own).kind == kinds.ANON  # remembered from the read above
    other = ProcFS("/proc/")  # another root: nothing remembered for it
    assert take_snapshot(other, child.pid, smaps=False).region_at(own).kind == kinds.ARENA
    # `vmtop snapshot` (streamed, its text read a piece at a time) says the same.
    out = run_vmtop("snapshot", str(child.pid), "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = {int(r["start"], 16): r for r in csv.DictReader(io.StringIO(out.stdout.decode()))}
    assert rows[own]["kind"] == kinds.ANON and rows[arena.start]["kind"] == kinds.ARENA
