"""Kinds of real processes: the recorded corpus under tests/fixtures/real (a JVM, Node,
CPython with threads, a C program with a big-alignment library, a PostgreSQL
postmaster, two CUDA processes on an H200, a Chromium renderer) and hand-made GPU driver shapes (NVIDIA,
AMD). Every region's expected kind is written down in the fixture's
expected_kinds.tsv, checked by hand once; the CUDA ones are also checked against the
addresses their workloads printed (ready.txt)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from vmtop.model import cuda, kinds
from vmtop.model.classify import classify_regions
from vmtop.model.explain import why_kind
from vmtop.model.facts import ClassifyFacts
from vmtop.model.region import Region
from vmtop.model.stacks import GUARD_MAX, mark_thread_stacks
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
    for must in ("jvm", "node", "python", "dlopen_gap", "postgres", "cuda", "pytorch", "chromium"):
        assert must in NAMES
    assert "nvidia_handmade" in NAMES and "amd_handmade" in NAMES


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


@pytest.mark.parametrize("name", ["jvm", "node", "chromium"])
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
    # From the top of the map down: the order glibc made them in.
    assert [r.object for r in arenas] == [f"arena heap {i}" for i in range(len(arenas), 0, -1)]
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
    # (a few bytes, beside the mmap'd shared memory: PostgreSQL's interlock segment)
    assert shm.object == (
        f"PostgreSQL interlock (SysV shmid {seg.shmid} key 0x{seg.key:08x}, created by "
        f"PID {snap.pid}, {seg.nattch} attached)"
    )
    removed = [r for r in snapshot("dlopen_gap").regions if r.path.startswith("/SYSV")][0]
    assert "IPC_PRIVATE" in removed.object and "IPC_RMID" in removed.object
    why = why_kind(removed)  # says what the object does not, once
    assert why.count("detach") == 1, why  # (the object, quoted in it)
    assert "'(deleted)'" in why


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


def ready(name: str) -> dict[str, tuple[int, int]]:
    """What the CUDA workload printed: {"device": (address, size), "pinned": ..., ...}."""
    fields = (REAL / name / "ready.txt").read_text().split()[1:]
    out = {}
    for field in fields:
        what, value = field.split("=")
        address, size = value.split("+")
        out[what] = (int(address, 16), int(size, 16))
    return out


def region_at(regions, address: int) -> Region:
    (found,) = [r for r in regions if r.contains(address)]
    return found


@pytest.mark.parametrize("name", ["cuda", "pytorch"])
def test_cuda_allocations_are_where_the_driver_put_them(name):
    """Ground truth: the addresses the CUDA driver returned to the workload."""
    regions = snapshot(name).regions
    got = ready(name)
    # A device allocation is host address space the driver reserved: no access, and
    # nothing resident on the host.
    address, size = got["device"]
    held = region_at(regions, address)
    assert held.contains(address + size - 1) and held.perms == "---p"
    assert held.kind == kinds.RESERVED and held.object == cuda.RESERVE and held.rss == 0
    assert "unified addressing" in why_kind(held) and "no memory" in why_kind(held)
    # Pinned host memory is shared anonymous memory, all of it resident.
    address, size = got["pinned"]
    pinned = region_at(regions, address)
    assert (pinned.start, pinned.end, pinned.path) == (
        address,
        address + size,
        "/dev/zero (deleted)",
    )
    assert pinned.kind == kinds.SHM and pinned.object == cuda.PINNED and pinned.rss == size
    assert "page-locked" in why_kind(pinned)
    if "managed" in got:  # a mapping of the Unified Memory device, paged in on the host
        address, size = got["managed"]
        managed = region_at(regions, address)
        assert (managed.start, managed.end, managed.path) == (
            address,
            address + size,
            "/dev/nvidia-uvm",
        )
        assert managed.kind == kinds.DEVICE and managed.object == "NVIDIA Unified Memory"
        assert "cudaMallocManaged" in why_kind(managed)


@pytest.mark.parametrize("name", ["cuda", "pytorch", "nvidia_handmade"])
def test_cuda_reserves_touch_the_driver_and_cost_nothing(name):
    regions = snapshot(name).regions
    assert not [r for r in regions if r.kind == kinds.GUARD and r.size > GUARD_MAX]
    ours = [i for i, r in enumerate(regions) if r.object == cuda.RESERVE]
    assert ours
    for i in ours:
        r, below, above = regions[i], regions[i - 1], regions[i + 1]
        assert r.kind == kinds.RESERVED and r.perms == "---p" and not r.path
        assert r.size > GUARD_MAX and r.rss in (0, None)
        touching = [n for n in (below, above) if n.start == r.end or n.end == r.start]
        assert any(n.path.startswith("/dev/nvidia") or n.object == cuda.PINNED for n in touching)


def test_cuda_reserves_the_map_cannot_tie_to_the_driver_stay_plain():
    """The 64 MiB at 1 TiB is the same in both recordings, the driver's by every sign,
    but it touches none of its mappings: vmtop does not guess."""
    for name in ("cuda", "pytorch"):
        lone = region_at(snapshot(name).regions, 0x10000000000)
        assert (lone.kind, lone.object, lone.size) == (kinds.RESERVED, None, 64 << 20)


def test_no_cuda_object_outside_a_cuda_process():
    for name in NAMES:
        regions = snapshot(name).regions
        if any(r.path == cuda.UVM for r in regions):
            continue
        assert not [r for r in regions if r.object in (cuda.RESERVE, cuda.PINNED)], name
    # PostgreSQL's shared anonymous memory is its own.
    (zero,) = [r for r in snapshot("postgres").regions if r.path == "/dev/zero (deleted)"]
    assert zero.kind == kinds.SHM and zero.object == "PostgreSQL shared memory"


def test_nvidia_devices_say_which_device_and_the_detail_says_what_it_holds():
    regions = snapshot("cuda").regions
    names = {r.path: r.object for r in regions if r.kind == kinds.DEVICE}
    assert names == {
        "/dev/nvidia0": "NVIDIA GPU 0",
        "/dev/nvidiactl": "NVIDIA control device",
        "/dev/nvidia-uvm": "NVIDIA Unified Memory",
    }
    bar = [r for r in regions if r.path == "/dev/nvidia0"]
    # The GPU's BARs: registers and video memory, never resident host memory.
    assert all(r.rss == 0 for r in bar) and {r.perms for r in bar} == {"rw-s", "-w-s"}
    assert "PCI BARs" in why_kind(bar[0]) and "no host memory" in why_kind(bar[0])
    ctl = [r for r in regions if r.path == "/dev/nvidiactl"]
    assert sum(r.rss for r in ctl) > 60 << 20  # host memory, resident
    assert "host memory the driver allocated" in why_kind(ctl[0])


def test_where_on_a_managed_pointer_says_device():
    from vmtop.model.elf import NO_FILES
    from vmtop.model.where import where

    snap = snapshot("cuda")
    address, _ = ready("cuda")["managed"]
    result = where(snap, address + 4096, NO_FILES)
    assert result.kind == kinds.DEVICE and result.object == "NVIDIA Unified Memory"
    address, _ = ready("cuda")["device"]
    result = where(snap, address, NO_FILES)
    assert result.kind == kinds.RESERVED and result.object == cuda.RESERVE
    hand = snapshot("nvidia_handmade")  # an older layout: managed memory at a low address
    assert where(hand, 0x600001000, NO_FILES).object == "NVIDIA Unified Memory"
    assert where(hand, 0x700000000, NO_FILES).kind == kinds.RESERVED


def test_fixture_files_stay_small():
    total = sum(p.stat().st_size for p in REAL.rglob("*") if p.is_file())
    assert total < 2_500_000, f"tests/fixtures/real is {total} bytes"


def test_a_new_arena_leaves_the_others_their_numbers():
    """glibc maps a new arena below the others: numbered from the top, every arena
    keeps its number (numbered from the bottom, all moved up one, and the log's
    "arena heap 1" became the table's "arena heap 4")."""
    procfs, pid = tree("jvm")
    text = (REAL / "jvm" / str(pid) / "maps").read_bytes()
    before = classify_regions(parse_maps(text))
    arenas = [r for r in before if r.kind == kinds.ARENA]
    lowest = min(r.start for r in arenas)
    new = lowest - (64 << 20)
    assert not [r for r in before if r.start < lowest and r.end > new]  # room below
    lines = text.split(b"\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(b"%x-" % lowest))
    lines[at:at] = [
        b"%x-%x rw-p 00000000 00:00 0 " % (new, new + 0x21000),
        b"%x-%x ---p 00000000 00:00 0 " % (new + 0x21000, lowest),
    ]
    after = classify_regions(parse_maps(b"\n".join(lines)))
    names = {r.start: r.object for r in after if r.kind in (kinds.ARENA, kinds.RESERVED)}
    for r in before:
        if r.object and r.object.startswith("arena "):
            assert names[r.start] == r.object
    assert names[new] == names[new + 0x21000] == f"arena heap {len(arenas) + 1}"
