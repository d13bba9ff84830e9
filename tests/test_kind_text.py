"""What vmtop says about kinds: the driver's meaning of a device, the SysV table, the
"why this kind" text of the region detail, and the summary's groups."""

from __future__ import annotations

import pytest
from conftest import FIXTURES
from hypothesis import given
from hypothesis import strategies as st

from vmtop.model import kinds
from vmtop.model.devices import device_meaning, device_name
from vmtop.model.explain import why_kind
from vmtop.model.kind_groups import GROUPS, group_of
from vmtop.model.kinds import kind_from_name
from vmtop.model.sysv import SHM_DEST, describe_sysv, key_from_name, parse_sysv_shm
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

REAL = FIXTURES / "real"
SHM_TABLE = (
    b"       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid"
    b"  cgid      atime      dtime      ctime                   rss                  swap\n"
    b"         0         35  1600               1048576 12878 12878      1     0     0     0"
    b"     0 1795799861          0 1795799861                  4096                     0\n"
    b"   2148145         40   600                    56 12898 12898      6 65534 65534 65534"
    b" 65534 1795799862 1795799862 1795799862                  4096                     0\n"
)


def regions_of(name: str):
    root = REAL / name
    pid = int(next(p for p in root.iterdir() if p.name.isdigit()).name)
    return take_snapshot(ProcFS(str(root)), pid).regions


@pytest.mark.parametrize(
    "path, perms, inode, kind",
    [
        ("/dev/nvidia0", "rw-s", 9, kinds.DEVICE),
        ("/dev/nvidia-uvm", "---p", 9, kinds.DEVICE),  # a device even when no access
        ("/dev/dri/renderD128", "rw-s", 9, kinds.DEVICE),
        ("/dev/shm/PostgreSQL.1", "rw-s", 9, kinds.SHM),
        ("/dev/zero (deleted)", "rw-s", 9, kinds.SHM),
        ("", "rwxp", 0, kinds.JIT),
        ("", "r-xp", 0, kinds.JIT),
        ("", "rwxs", 0, kinds.SHM),
        ("", "---p", 0, kinds.RESERVED),
        ("/usr/lib/libx.so", "---p", 7, kinds.RESERVED),  # a gap once the object is known
    ],
)
def test_first_guess_from_one_line(path, perms, inode, kind):
    assert kind_from_name(path, perms, inode) == kind


@pytest.mark.parametrize(
    "path, words",
    [
        ("/dev/nvidiactl", "NVIDIA control device"),
        ("/dev/nvidia3", "NVIDIA GPU 3"),
        ("/dev/nvidia-uvm", "cudaMallocManaged"),
        ("/dev/dri/renderD129", "DRM render node 129"),
        ("/dev/dri/card1", "DRM primary node 1"),
        ("/dev/kfd", "AMD KFD"),
        ("/dev/fb0 (deleted)", "framebuffer 0"),
        ("/dev/something-new", "a device mapped into memory"),
    ],
)
def test_device_meanings(path, words):
    assert words in device_meaning(path)


@pytest.mark.parametrize(
    "path, name",
    [
        ("/dev/nvidiactl", "NVIDIA control device"),
        ("/dev/nvidia3", "NVIDIA GPU 3"),
        ("/dev/nvidia-uvm", "NVIDIA Unified Memory"),
        ("/dev/dri/renderD129", "DRM render node 129"),
        ("/dev/kfd", "AMD KFD"),
        ("/dev/fb0 (deleted)", "framebuffer 0"),
        ("/dev/something-new (deleted)", "/dev/something-new"),
    ],
)
def test_device_names_are_short_and_start_the_meaning(path, name):
    """The name is a region's object (a table column, a group): short, and what the
    detail's meaning starts with."""
    assert device_name(path) == name
    if not path.startswith("/dev/something"):
        assert device_meaning(path).startswith(name + ": ")


def test_nvidia_texts_say_what_the_recording_shows():
    # Pinned memory is no /dev/nvidia* mapping: the texts no longer say so.
    assert "cudaHostAlloc" not in device_meaning("/dev/nvidia0")
    assert "PCI BARs" in device_meaning("/dev/nvidia0")
    assert "doorbell" in device_meaning("/dev/nvidia0")
    ctl = device_meaning("/dev/nvidiactl")
    assert "host memory the driver allocated" in ctl and "/dev/zero" in ctl


def test_sysv_table_parses_and_marks_removed_segments():
    table = parse_sysv_shm(SHM_TABLE)
    assert sorted(table) == [35, 40]
    assert table[35].perms & SHM_DEST and table[35].marked_for_removal
    assert (table[40].key, table[40].size, table[40].cpid, table[40].nattch) == (
        2148145,
        56,
        12898,
        6,
    )
    assert not table[40].marked_for_removal
    assert key_from_name("/SYSV0020c731 (deleted)") == 0x20C731
    assert key_from_name("/memfd:x") is None
    described = describe_sysv("/SYSV0020c731 (deleted)", 40, table)
    assert described == "SysV shmid 40 key 0x0020c731, created by PID 12898, 6 attached"
    # A table line for the shmid with another key is another segment (reused shmid).
    assert describe_sysv("/SYSV00000001 (deleted)", 40, table) == "SysV shmid 40 key 0x00000001"


@given(st.binary(max_size=2000))
def test_sysv_parser_takes_any_bytes(data):
    parse_sysv_shm(data)
    parse_sysv_shm(SHM_TABLE.splitlines(keepends=True)[0] + data)


def test_why_a_gap_is_no_guard():
    (gap, *_) = [r for r in regions_of("dlopen_gap") if r.kind == kinds.GAP]
    text = why_kind(gap)
    assert gap.object in text and "alignment" in text and "Not a guard" in text


def test_why_a_guard_says_whose_and_a_reserve_says_what_it_is_for():
    regions = regions_of("jvm")
    guard = next(r for r in regions if r.kind == kinds.GUARD)
    assert f"thread {regions[regions.index(guard) + 1].tid}" in why_kind(guard)
    tail = next(
        r for r in regions if r.kind == kinds.RESERVED and (r.object or "").startswith("arena")
    )
    assert "arena's heap" in why_kind(tail)
    heap = next(r for r in regions if r.kind == kinds.RESERVED and r.object == "Java heap")
    assert "not committed yet" in why_kind(heap)
    big = max((r for r in regions if r.kind == kinds.RESERVED), key=lambda r: r.size)
    assert why_kind(big).startswith("No-access anonymous region, 1024 MiB: reserved")


def test_deleted_shared_memory_is_explained():
    regions = regions_of("postgres")
    zero = next(r for r in regions if r.path == "/dev/zero (deleted)")
    assert "MAP_SHARED|MAP_ANONYMOUS" in why_kind(zero) and "tmpfs" in why_kind(zero)
    sysv = next(r for r in regions if r.path.startswith("/SYSV"))
    assert "shmid is its inode" in why_kind(sysv)
    removed = next(r for r in regions_of("dlopen_gap") if r.path.startswith("/SYSV"))
    # Removed, and why its name says "(deleted)": not because it was removed.
    # On Linux a removed segment can still be attached by its shmid (shmat(2), NOTES).
    assert "no longer finds it" in why_kind(removed) and "can still attach" in why_kind(removed)
    assert "No process can attach" not in why_kind(removed)
    assert "in every SysV mapping's name" in why_kind(removed)


def test_why_cuda_reserves_and_pinned_memory():
    regions = regions_of("cuda")
    reserve = next(r for r in regions if r.object == "CUDA driver")
    text = why_kind(reserve)
    assert text.startswith("No access, 6 MiB, beside the NVIDIA driver's mappings")
    assert "unified addressing" in text and "cudaMalloc" in text
    plain = next(r for r in regions if r.kind == kinds.RESERVED and r.object is None)
    assert "CUDA" not in why_kind(plain)
    pinned = next(r for r in regions if r.object == "CUDA pinned host memory")
    assert "cudaHostAlloc" in why_kind(pinned) and "most likely" in why_kind(pinned)
    # The same shared anonymous memory outside a CUDA process says nothing of CUDA.
    zero = next(r for r in regions_of("postgres") if r.path == "/dev/zero (deleted)")
    assert "CUDA" not in why_kind(zero)


def test_why_for_devices_jit_arena_and_relro():
    nvidia = regions_of("cuda")
    uvm = next(r for r in nvidia if r.path == "/dev/nvidia-uvm")
    assert "Unified Memory" in why_kind(uvm) and "cudaMallocManaged" in why_kind(uvm)
    node = regions_of("node")
    assert "JIT" in why_kind(next(r for r in node if r.kind == kinds.JIT))
    assert "64 MiB boundary" in why_kind(next(r for r in node if r.kind == kinds.ARENA))
    assert "RELRO" in why_kind(next(r for r in node if r.kind == kinds.RELRO))


def test_every_kind_is_in_exactly_one_summary_group():
    grouped = [kind for group in GROUPS for kind in group.kinds]
    assert sorted(grouped) == sorted(kinds.ALL_KINDS)
    assert group_of(kinds.ARENA).name == group_of(kinds.HEAP).name == "heaps"
    assert group_of(kinds.RESERVED).name == "reserved"


def test_a_stack_glibc_kept_after_its_thread_exited_is_explained_and_named():
    from vmtop.model.cached_stacks import CACHED
    from vmtop.model.region import Region
    from vmtop.tui.widgets.table_columns import region_name

    stack = Region(
        0x7F0000000000, 0x7F0000800000, "rw-p", 0, "00:00", 0, "",
        kind=kinds.THREAD_STACK, object=CACHED + "exited thread 30028",
    )  # fmt: skip
    why = why_kind(stack)
    assert "cached stack of exited thread 30028" in why and "pthread_create" in why
    assert "could not be read" not in why  # (what a stack found by its shape says)
    assert region_name(stack) == ("[cached stack of exited thread 30028]", True)
