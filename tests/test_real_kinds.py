"""Kinds of real processes: the recorded corpus under tests/fixtures/real (a JVM, Node,
CPython with threads, a C program with a big-alignment library, a PostgreSQL
postmaster) and hand-made GPU driver shapes (NVIDIA, AMD). Every region's expected kind
is written down in the fixture's expected_kinds.tsv, checked by hand once."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from vmtop.model import kinds
from vmtop.model.classify import GUARD_MAX, classify_regions, mark_thread_stacks
from vmtop.model.facts import ClassifyFacts
from vmtop.model.region import Region
from vmtop.model.sysv import parse_sysv_shm
from vmtop.procfs.facts import parse_task_syscall, read_classify_facts
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

REAL = FIXTURES / "real"
NAMES = sorted(d.name for d in REAL.iterdir() if (d / "expected_kinds.tsv").is_file())


def tree(name: str) -> tuple[ProcFS, int]:
    root = REAL / name
    pid = int(next(p for p in root.iterdir() if p.name.isdigit()).name)
    return ProcFS(str(root)), pid


def expected(name: str) -> list[list[str]]:
    lines = (REAL / name / "expected_kinds.tsv").read_text().splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def snapshot(name: str):
    procfs, pid = tree(name)
    return take_snapshot(procfs, pid)


def test_the_corpus_is_there():
    for must in ("jvm", "node", "python", "dlopen_gap", "postgres", "nvidia_handmade"):
        assert must in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_region_gets_its_expected_kind(name):
    regions = snapshot(name).regions
    rows = expected(name)
    assert len(regions) == len(rows)
    for r, (start, end, perms, kind, tid, obj, path) in zip(regions, rows, strict=True):
        where = f"{name}: {start}-{end} {path}"
        assert (f"{r.start:x}", f"{r.end:x}", r.perms, r.path) == (start, end, perms, path)
        assert r.kind == kind, where
        assert str(r.tid or "") == tid, where
        if obj:
            assert r.object is not None and r.object.startswith(obj), where
        else:
            assert r.object is None, where


@pytest.mark.parametrize("name", ["jvm", "node"])
def test_runtimes_have_jit_and_only_small_guards(name):
    regions = snapshot(name).regions
    assert any(r.kind == kinds.JIT for r in regions)
    guards = [r for r in regions if r.kind == kinds.GUARD]
    assert guards and max(r.size for r in guards) <= GUARD_MAX
    reserved = sum(r.size for r in regions if r.kind == kinds.RESERVED)
    no_access = sum(r.size for r in regions if r.perms.startswith("---") and not r.path)
    # Almost all the no-access address space is reserve, not guard.
    assert reserved > 0.99 * no_access


def test_jvm_arenas_are_numbered_and_their_tails_reserved():
    regions = snapshot("jvm").regions
    arenas = [r for r in regions if r.kind == kinds.ARENA]
    assert [r.object for r in arenas] == [f"arena {i}" for i in range(1, len(arenas) + 1)]
    for r in arenas:
        assert r.start % (64 << 20) == 0
    tails = [
        r for r in regions if r.kind == kinds.RESERVED and (r.object or "").startswith("arena")
    ]
    assert len(tails) == len(arenas)
    for tail in tails:
        assert tail.end % (64 << 20) == 0


def test_library_alignment_gap_is_named_after_the_library():
    regions = snapshot("dlopen_gap").regions
    gaps = [r for r in regions if r.kind == kinds.GAP]
    assert len(gaps) == 3
    assert all(r.object.endswith("/libgap.so") and r.perms == "---p" for r in gaps)
    # The library's r-- page right below its rw- data is RELRO, not rodata.
    lib = [r for r in regions if (r.object or "").endswith("/libgap.so")]
    assert [r.kind for r in lib][-2:] == [kinds.RELRO, kinds.DATA]


def test_sysv_segment_gets_shmid_key_creator_and_attach_count():
    snap = snapshot("postgres")
    table = parse_sysv_shm((REAL / "postgres" / "sysvipc" / "shm").read_bytes())
    (shm,) = [r for r in snap.regions if r.path.startswith("/SYSV")]
    seg = table[shm.inode]
    assert shm.path == f"/SYSV{seg.key:08x} (deleted)"
    assert shm.object == (
        f"SysV shmid {seg.shmid} key 0x{seg.key:08x}, created by PID {snap.pid}, "
        f"{seg.nattch} attached"
    )
    removed = [r for r in snapshot("dlopen_gap").regions if r.path.startswith("/SYSV")][0]
    assert "IPC_PRIVATE" in removed.object and "IPC_RMID" in removed.object


def test_without_the_sysv_table_the_name_and_inode_still_give_shmid_and_key():
    procfs, pid = tree("postgres")
    regions = parse_maps((REAL / "postgres" / str(pid) / "maps").read_bytes())
    (shm,) = [r for r in classify_regions(regions) if r.path.startswith("/SYSV")]
    assert shm.object == f"SysV shmid {shm.inode} key 0x{shm.path[5:13]}"


@pytest.mark.parametrize("name", NAMES)
def test_classification_is_a_pure_function_of_map_and_facts(name):
    """The facts read from the copied tree, handed to classify_regions with the parsed
    map, give what the snapshot gives; and classifying again changes nothing."""
    procfs, pid = tree(name)
    snap = take_snapshot(procfs, pid)
    raw = parse_maps((REAL / name / str(pid) / "maps").read_bytes())
    facts = read_classify_facts(procfs, pid, raw)
    once = classify_regions(raw, facts)
    key = [(r.start, r.end, r.kind, r.object, r.tid) for r in once]
    assert key == [(r.start, r.end, r.kind, r.object, r.tid) for r in snap.regions]
    assert classify_regions(once, facts) == once


def test_thread_stacks_come_from_the_copied_task_files():
    procfs, pid = tree("python")
    facts = read_classify_facts(procfs, pid, [])
    sps = {}
    for task in (REAL / "python" / str(pid) / "task").iterdir():
        if int(task.name) != pid:
            sps[int(task.name)] = parse_task_syscall((task / "syscall").read_bytes())
    assert dict(facts.stack_pointers) == sps and len(sps) == 3
    stacks = {r.tid: r for r in snapshot("python").regions if r.kind == kinds.THREAD_STACK}
    assert sorted(stacks) == sorted(sps)
    for tid, sp in sps.items():
        assert stacks[tid].contains(sp)


def test_a_merged_mapping_with_several_thread_stacks_lists_every_tid():
    stack = Region(0x7F0000001000, 0x7F0000201000, "rw-p", 0, "00:00", 0, "", kind="anon")
    guard = Region(0x7F0000000000, 0x7F0000001000, "---p", 0, "00:00", 0, "", kind="reserved")
    regions = classify_regions(
        [guard, stack],
        ClassifyFacts(stack_pointers={12: 0x7F0000100F00, 11: 0x7F0000200F00}),
    )
    assert regions[1].kind == kinds.THREAD_STACK
    assert regions[1].tid == 11 and regions[1].object == "threads 11, 12"
    assert regions[0].kind == kinds.GUARD and regions[0].object == "the stack of threads 11, 12"


def test_small_no_access_region_with_no_stack_or_code_beside_it_is_reserved():
    # The JVM's safepoint polling page: one ---p page below an r-- page.
    regions = [r for r in snapshot("jvm").regions if r.perms == "---p" and r.size == 4096]
    lonely = [r for r in regions if r.kind == kinds.RESERVED]
    assert lonely and all(r.object is None for r in lonely)


def test_unknown_thread_fallback_still_uses_small_no_access_regions():
    guard = Region(0x1000, 0x2000, "---p", 0, "00:00", 0, "", kind="reserved")
    stack = Region(0x2000, 0x102000, "rw-p", 0, "00:00", 0, "", kind="anon")
    regions = [guard, stack]
    mark_thread_stacks(regions, {5: None})
    assert regions[1].kind == kinds.THREAD_STACK and regions[1].tid == 5


def test_gpu_reserves_are_reserved_and_devices_say_what_they_are():
    regions = snapshot("nvidia_handmade").regions
    assert not [r for r in regions if r.kind == kinds.GUARD and r.size > GUARD_MAX]
    reserved = sum(r.size for r in regions if r.kind == kinds.RESERVED)
    assert reserved > 55 << 30
    uvm = [r for r in regions if r.path == "/dev/nvidia-uvm"]
    assert uvm and all(r.kind == kinds.DEVICE and "managed memory" in r.object for r in uvm)


def test_where_on_a_managed_pointer_says_device():
    from vmtop.model.where import where

    snap = snapshot("nvidia_handmade")
    result = where(snap, 0x600001000, None)
    assert result.kind == kinds.DEVICE and "Unified Memory" in result.object
    assert where(snap, 0x700000000, None).kind == kinds.RESERVED


def test_fixture_files_stay_small():
    total = sum(p.stat().st_size for p in REAL.rglob("*") if p.is_file())
    assert total < 2_500_000, f"tests/fixtures/real is {total} bytes"
