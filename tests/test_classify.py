"""Classification of regions: kinds from the whole map, ELF objects, .bss spill, thread
stacks from hand-written proc trees, and the cost on 60 000 regions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.region import Region
from vmtop.model.stacks import mark_thread_stacks
from vmtop.procfs.facts import parse_stat_kstkesp, parse_task_syscall, thread_stack_pointers
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

# A PIE with a .bss spilling into anonymous memory, libc with its RELRO page and bss,
# a library with a ---p hole, a mapped data file, shared memory and the kernel's names.
MAPS = b"""\
55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 100 /tmp/prog
55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:00 100 /tmp/prog
55d0c0a02000-55d0c0a03000 r--p 00002000 fe:00 100 /tmp/prog
55d0c0a03000-55d0c0a04000 r--p 00002000 fe:00 100 /tmp/prog
55d0c0a04000-55d0c0a05000 rw-p 00003000 fe:00 100 /tmp/prog
55d0c0a05000-55d0c0a45000 rw-p 00000000 00:00 0
55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000010000 rw-s 00000000 00:01 15                         /SYSV00000000 (deleted)
7f0000010000-7f0000110000 rw-p 00000000 00:00 0
7f0000110000-7f0000210000 r--p 00000000 fe:00 200                        /data/file.bin
7f0000210000-7f0000220000 r--s 00000000 fe:00 201                        /usr/lib/gconv/gconv-modules.cache
7f0000220000-7f0000230000 rw-s 00000000 00:1a 202                        /dev/shm/posix-segment
7f0000300000-7f0000326000 r--p 00000000 fe:00 300                        /lib/libc.so.6
7f0000326000-7f000047c000 r-xp 00026000 fe:00 300                        /lib/libc.so.6
7f000047c000-7f00004cf000 r--p 0017c000 fe:00 300                        /lib/libc.so.6
7f00004cf000-7f00004d3000 r--p 001cf000 fe:00 300                        /lib/libc.so.6
7f00004d3000-7f00004d5000 rw-p 001d3000 fe:00 300                        /lib/libc.so.6
7f00004d5000-7f00004e2000 rw-p 00000000 00:00 0
7f0000500000-7f0000501000 r--p 00000000 fe:00 400                        /lib/libold.so
7f0000501000-7f0000502000 r-xp 00001000 fe:00 400                        /lib/libold.so
7f0000502000-7f0000601000 ---p 00002000 fe:00 400                        /lib/libold.so
7f0000601000-7f0000602000 rw-p 00001000 fe:00 400                        /lib/libold.so
7f0000602000-7f0000603000 r--p 00000000 00:00 0
7f0000700000-7f0000701000 rw-p 00000000 00:00 0                          [anon:my arena]
7f0000701000-7f0000702000 rw-s 00000000 00:01 9                          [anon_shmem:sh name]
7f0000710000-7f0000720000 rw-p 00000000 00:00 0                          [stack:4321]
7f0000800000-7f0000804000 r--p 00000000 00:00 0                          [vvar]
7f0000804000-7f0000806000 r-xp 00000000 00:00 0                          [vdso]
7f0000806000-7f0000807000 rw-p 00000000 00:0e 77                         anon_inode:[io_uring]
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
"""

# (kind, object) of each line, by hand.
EXPECTED_KINDS = [
    ("rodata", "/tmp/prog"),
    ("text", "/tmp/prog"),
    ("rodata", "/tmp/prog"),
    ("relro", "/tmp/prog"),  # RELRO: read-only once relocated, right below .data
    ("data", "/tmp/prog"),
    ("bss", "/tmp/prog"),  # .bss past the file-backed page
    ("heap", None),
    ("shm", "SysV shmid 15 key IPC_PRIVATE"),  # no SysV table handed in: name and inode
    ("anon", None),
    ("file", None),
    ("file", None),  # MAP_SHARED of an ordinary file: a file, not shared memory
    ("shm", None),  # a POSIX shared memory object (shm_open) lives in /dev/shm
    ("rodata", "/lib/libc.so.6"),
    ("text", "/lib/libc.so.6"),
    ("rodata", "/lib/libc.so.6"),
    ("relro", "/lib/libc.so.6"),
    ("data", "/lib/libc.so.6"),
    ("bss", "/lib/libc.so.6"),
    ("rodata", "/lib/libold.so"),
    ("text", "/lib/libold.so"),
    ("gap", "/lib/libold.so"),  # the hole between segments belongs to the object
    ("data", "/lib/libold.so"),
    ("anon", None),  # not rw-p: not a .bss continuation
    ("named_anon", None),
    ("named_anon", None),
    ("thread_stack", None),  # kernels before 4.5 named thread stacks "[stack:TID]"
    ("vvar", None),
    ("vdso", None),
    ("kernel", None),
    ("stack", None),
    ("vsyscall", None),
]


def test_kinds_and_objects_from_the_whole_map():
    regions = classify_regions(parse_maps(MAPS))
    assert [(r.kind, r.object) for r in regions] == EXPECTED_KINDS
    assert [r.tid for r in regions if r.tid is not None] == [4321]
    assert next(r for r in regions if r.tid).path == "[stack:4321]"


def test_classifying_twice_changes_nothing():
    once = classify_regions(parse_maps(MAPS))
    assert classify_regions(once) == once


def test_every_kind_is_known_and_described():
    regions = classify_regions(parse_maps(MAPS))
    assert {r.kind for r in regions} <= set(kinds.ALL_KINDS)
    assert set(kinds.KIND_DESCRIPTIONS) == set(kinds.ALL_KINDS)


@pytest.mark.parametrize(
    "flags, nobits, kind",
    [
        (0x6, False, "text"),  # AX: .text, .plt
        (0x2, False, "rodata"),  # A: .rodata, .eh_frame
        (0x3, False, "data"),  # WA: .data, .got
        (0x3, True, "bss"),  # WA NOBITS: .bss
        (0x2, True, "rodata"),  # a read-only NOBITS section is not bss
    ],
)
def test_kind_of_section(flags, nobits, kind):
    assert kinds.kind_of_section(flags, nobits) == kind


# -- stack pointers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, sp",
    [
        # blocked in a syscall: number, six arguments, stack pointer, program counter
        (b"202 0x7f00 0x80 0x2 0x0 0x0 0x0 0x7f0000a0fe90 0x7f00000d7df2\n", 0x7F0000A0FE90),
        (b"-1 0x7ffd1234 0x401000\n", 0x7FFD1234),  # blocked, not in a syscall
        (b"running\n", None),
        (b"", None),
        (b"garbage here\n", None),
        (b"0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0\n", None),  # a zero SP is no SP
    ],
)
def test_parse_task_syscall(text, sp):
    assert parse_task_syscall(text) == sp


def _stat_line(comm: str, kstkesp: int) -> bytes:
    # Fields 3..52 after "pid (comm)"; field 29 is kstkesp.
    fields = ["S"] + ["0"] * 49
    fields[29 - 3] = str(kstkesp)
    return f"1234 ({comm}) {' '.join(fields)}\n".encode()


def test_parse_stat_kstkesp_with_an_awkward_comm():
    assert parse_stat_kstkesp(_stat_line("a) (b c", 0x7F0012345678)) == 0x7F0012345678
    assert parse_stat_kstkesp(_stat_line("worker", 0)) is None
    assert parse_stat_kstkesp(b"1 (x) S 1") is None


# -- thread stacks in a hand-made proc tree -------------------------------------------------

PID = 4242
THREAD_MAPS = b"""\
55d0c0a00000-55d0c0a01000 r-xp 00000000 fe:00 100 /tmp/prog
55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000021000 rw-p 00000000 00:00 0
7f0000021000-7f0004000000 ---p 00000000 00:00 0
7f0010000000-7f0010001000 ---p 00000000 00:00 0
7f0010001000-7f0010801000 rw-p 00000000 00:00 0
7f0010801000-7f0010802000 ---p 00000000 00:00 0
7f0010802000-7f0011002000 rw-p 00000000 00:00 0
7f0011002000-7f0011012000 ---p 00000000 00:00 0
7f0011012000-7f0011812000 rw-p 00000000 00:00 0
7f0011900000-7f0011901000 ---p 00000000 00:00 0
7f0011901000-7f0012101000 rw-p 00000000 00:00 0
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
"""


def make_tree(root: Path, syscalls: dict[int, bytes]) -> ProcFS:
    proc = root / str(PID)
    proc.mkdir(parents=True)
    (proc / "maps").write_bytes(THREAD_MAPS)
    for tid, text in syscalls.items():
        task = proc / "task" / str(tid)
        task.mkdir(parents=True)
        (task / "syscall").write_bytes(text)
        (task / "stat").write_bytes(_stat_line("prog", 0))
    return ProcFS(str(root))


def _syscall(sp: int) -> bytes:
    return f"7 0x1 0x2 0x3 0x4 0x5 0x6 {sp:#x} 0x7f00000d7df2\n".encode()


def test_thread_stacks_found_by_stack_pointer(tmp_path):
    procfs = make_tree(
        tmp_path,
        {
            PID: _syscall(0x7FFC00020000),  # the main thread: [stack]
            PID + 1: _syscall(0x7F0010800E90),
            PID + 2: _syscall(0x7F0011001E90),
            PID + 3: _syscall(0x7F0011811E90),
            PID + 4: _syscall(0x7F0011900E90 + 0x1000),
        },
    )
    regions = take_snapshot(procfs, PID).regions
    stacks = {r.start: r.tid for r in regions if r.kind == "thread_stack"}
    assert stacks == {
        0x7F0010001000: PID + 1,
        0x7F0010802000: PID + 2,
        0x7F0011012000: PID + 3,
        0x7F0011901000: PID + 4,
    }
    # The malloc arena (rw-p below its ---p reserve to 64 MiB) is an arena.
    assert regions[2].kind == "arena" and regions[-1].kind == "stack"
    assert regions[-1].tid is None


def test_stack_pointer_in_the_heap_does_not_relabel_the_heap(tmp_path):
    procfs = make_tree(tmp_path, {PID + 1: _syscall(0x55D0C1000100)})
    regions = take_snapshot(procfs, PID).regions
    assert regions[1].kind == "heap" and regions[1].tid is None
    assert not [r for r in regions if r.kind == "thread_stack"]


def test_unknown_stack_pointers_fall_back_to_the_guard_layout(tmp_path):
    # Two threads known, two running (no stack pointer): the two remaining rw-p regions
    # above a guard are taken, without a TID. The arena is not (its ---p is above it).
    procfs = make_tree(
        tmp_path,
        {
            PID + 1: _syscall(0x7F0010800E90),
            PID + 2: _syscall(0x7F0011001E90),
            PID + 3: b"running\n",
            PID + 4: b"running\n",
        },
    )
    regions = take_snapshot(procfs, PID).regions
    stacks = {r.start: r.tid for r in regions if r.kind == "thread_stack"}
    assert stacks == {
        0x7F0010001000: PID + 1,
        0x7F0010802000: PID + 2,
        0x7F0011012000: None,
        0x7F0011901000: None,
    }


def test_the_last_unknown_thread_gets_the_last_stack(tmp_path):
    procfs = make_tree(
        tmp_path,
        {
            PID + 1: _syscall(0x7F0010800E90),
            PID + 2: _syscall(0x7F0011001E90),
            PID + 3: _syscall(0x7F0011811E90),
            PID + 4: b"running\n",
        },
    )
    regions = take_snapshot(procfs, PID).regions
    stacks = {r.start: r.tid for r in regions if r.kind == "thread_stack"}
    assert stacks[0x7F0011901000] == PID + 4 and len(stacks) == 4


def test_fallback_takes_no_more_stacks_than_unknown_threads(tmp_path):
    # One thread unknown, three candidates: the one with the one-page guard wins over
    # the 64 KiB guard; of the two one-page guards, the first.
    procfs = make_tree(tmp_path, {PID + 1: b"running\n"})
    regions = take_snapshot(procfs, PID).regions
    stacks = [(r.start, r.tid) for r in regions if r.kind == "thread_stack"]
    assert len(stacks) == 1 and stacks[0][1] is None  # which thread's: unknown
    assert stacks[0][0] in (0x7F0010001000, 0x7F0010802000, 0x7F0011901000)
    assert stacks[0][0] != 0x7F0011012000  # above the 64 KiB guard


# A JVM's compressed class space (a 1 GiB reserve, committed upwards in pieces: a 64 KiB
# hole left between two of them) above a thread's stack (its one-page guard below it).
JVM_CLASS_SPACE_MAPS = b"""\
55d0c0a00000-55d0c0a01000 r-xp 00000000 fe:00 100 /tmp/prog
7f0850000000-7f0850001000 ---p 00000000 00:00 0
7f0850001000-7f0850801000 rw-p 00000000 00:00 0
7f0860000000-7f0860040000 rw-p 00000000 00:00 0
7f0860040000-7f0860070000 rw-p 00000000 00:00 0
7f0860070000-7f0860080000 ---p 00000000 00:00 0
7f0860080000-7f0860150000 rw-p 00000000 00:00 0
7f0860150000-7f08a0000000 ---p 00000000 00:00 0
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
"""


def test_a_hole_in_a_runtime_reserve_is_no_guard_and_its_neighbour_no_stack(tmp_path):
    """A small no-access region below rw- memory has a thread stack's shape, but not
    when that memory runs straight into a big no-access reserve: a runtime committing
    its reservation in pieces (`jcmd VM.native_memory`: class space reserved 1 GiB,
    committed 1280 KiB = 256 + 192 + 832). It was a "guard" of "the rw- region above it
    (the shape of a thread's stack)", and the piece above a candidate thread stack."""
    procfs = make_tree(tmp_path, {PID + 1: b"running\n"})
    (tmp_path / str(PID) / "maps").write_bytes(JVM_CLASS_SPACE_MAPS)
    by_start = {r.start: r for r in take_snapshot(procfs, PID).regions}
    hole, above = by_start[0x7F0860070000], by_start[0x7F0860080000]
    assert (hole.kind, hole.object) == ("reserved", None)
    assert above.kind == "anon" and above.tid is None
    # The thread whose stack pointer is unknown has the one stack-shaped region left.
    stack = by_start[0x7F0850001000]
    assert (stack.kind, stack.tid) == ("thread_stack", PID + 1)
    assert by_start[0x7F0850000000].kind == "guard"


def test_no_threads_no_thread_stacks(tmp_path):
    procfs = make_tree(tmp_path, {})
    regions = take_snapshot(procfs, PID).regions
    assert not [r for r in regions if r.kind == "thread_stack"]
    assert thread_stack_pointers(procfs, PID) == {}


def test_threads_whose_task_files_vanish_are_unknown(tmp_path):
    procfs = make_tree(tmp_path, {PID + 1: _syscall(0x7F0010800E90)})
    (tmp_path / str(PID) / "task" / str(PID + 1) / "syscall").unlink()
    (tmp_path / str(PID) / "task" / str(PID + 1) / "stat").unlink()
    assert thread_stack_pointers(procfs, PID) == {PID + 1: None}


# -- cost --------------------------------------------------------------------------------


def synthetic_regions(count: int) -> list[Region]:
    """A big map: a library every 1000 regions, the rest anonymous rw-p / ---p pairs."""
    from vmtop.model.kinds import kind_from_name

    regions = []
    address = 0x7F0000000000
    for i in range(count):
        slot = i % 1000
        if slot < 5:
            perms = ("r--p", "r-xp", "r--p", "rw-p", "rw-p")[slot]
            path = f"/usr/lib/lib{i // 1000}.so" if slot < 4 else ""
        else:
            perms, path = ("rw-p" if i % 2 else "---p"), ""
        inode = 1000 + i // 1000 if path else 0
        dev = "fe:00" if inode else "00:00"
        kind = kind_from_name(path, perms, inode)
        regions.append(Region(address, address + 4096, perms, 0, dev, inode, path, kind=kind))
        address += 8192 if slot >= 5 and i % 3 == 0 else 4096  # some holes
    return regions


def test_classify_60000_regions_is_fast():
    regions = synthetic_regions(60_000)
    best = min(_timed(lambda: classify_regions(regions)) for _ in range(3))
    assert best < 0.1, f"classify_regions took {best * 1000:.0f} ms on 60 000 regions"
    out = classify_regions(regions)
    assert sum(r.kind == "bss" for r in out) == 60 and sum(r.kind == "text" for r in out) == 60


def test_thread_stack_fallback_on_60000_regions_is_fast():
    regions = classify_regions(synthetic_regions(60_000))
    best = min(
        _timed(lambda: mark_thread_stacks(list(regions), {1: None, 2: None})) for _ in range(3)
    )
    assert best < 0.1, f"the fallback took {best * 1000:.0f} ms on 60 000 regions"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def test_mappings_glibc_names_itself():
    """glibc.mem.decorate_maps (glibc 2.40+, kernels with CONFIG_ANON_VMA_NAME) names
    arenas and thread stacks: the names are evidence enough."""
    maps = (
        b"7f0000000000-7f0000021000 rw-p 00000000 00:00 0    [anon: glibc: malloc arena]\n"
        b"7f0000021000-7f0004000000 ---p 00000000 00:00 0\n"
        b"7f0010000000-7f0010001000 ---p 00000000 00:00 0\n"
        b"7f0010001000-7f0010801000 rw-p 00000000 00:00 0    [anon: glibc: pthread stack: 4243]\n"
        b"7f0020000000-7f0020040000 rw-p 00000000 00:00 0    [anon: glibc: malloc]\n"
    )
    regions = classify_regions(parse_maps(maps))
    got = [(r.kind, r.object, r.tid) for r in regions]
    assert got == [
        ("arena", "arena heap 1", None),
        ("reserved", "arena heap 1", None),
        ("guard", "the stack of thread 4243", None),
        ("thread_stack", None, 4243),
        ("named_anon", None, None),
    ]
    assert classify_regions(regions) == regions


# -- CUDA --------------------------------------------------------------------------------

# The shapes recorded in tests/fixtures/real/cuda, small: reserves beside the driver's
# device mappings and beside pinned memory (shared anonymous), one beside nothing, a
# private /dev/zero mapping, and a thread stack whose guard page sits on a driver mapping.
CUDA_MAPS = b"""\
200000000-200600000 ---p 00000000 00:00 0
200600000-200800000 rw-s 00000000 00:06 143                              /dev/nvidia0
200800000-200a00000 rw-s 200800000 00:06 144                             /dev/nvidia-uvm
200a00000-300000000 ---p 00000000 00:00 0
7f0000000000-7f0004000000 rw-s 00000000 00:01 2052                       /dev/zero (deleted)
7f0004000000-7f0010000000 ---p 00000000 00:00 0
7f0020000000-7f0030000000 ---p 00000000 00:00 0
7f0030000000-7f0030200000 rw-p 00000000 00:06 5                          /dev/zero
7f0040000000-7f0040200000 rw-s 00000000 00:06 142                        /dev/nvidiactl
7f0040200000-7f0040201000 ---p 00000000 00:00 0
7f0040201000-7f0040a01000 rw-p 00000000 00:00 0
"""
CUDA_SP = {7: 0x7F0040A00000 - 0x100}
CUDA_KINDS = [
    ("reserved", "CUDA driver"),  # below /dev/nvidia0
    ("device", "NVIDIA GPU 0"),
    ("device", "NVIDIA Unified Memory"),
    ("reserved", "CUDA driver"),  # above /dev/nvidia-uvm
    ("shm", "CUDA pinned host memory"),
    ("reserved", "CUDA driver"),  # above pinned memory
    ("reserved", None),  # touches nothing of the driver's
    ("shm", None),  # MAP_PRIVATE of /dev/zero: not what CUDA pins
    ("device", "NVIDIA control device"),
    ("guard", "the stack of thread 7"),  # a guard's size: the stack rule keeps it
    ("thread_stack", None),
]


def _cuda_map(without: bytes = b"") -> list[Region]:
    lines = [
        line for line in CUDA_MAPS.splitlines(keepends=True) if not without or without not in line
    ]
    return parse_maps(b"".join(lines))


def test_cuda_reserves_and_pinned_memory_are_named():
    from vmtop.model.facts import ClassifyFacts

    regions = classify_regions(_cuda_map(), ClassifyFacts(stack_pointers=CUDA_SP))
    assert [(r.kind, r.object) for r in regions] == CUDA_KINDS
    assert classify_regions(regions, ClassifyFacts(stack_pointers=CUDA_SP)) == regions


def test_cuda_rule_on_columns_is_the_rule_on_a_list():
    from vmtop.model.classify import classify_columns
    from vmtop.model.columns import RegionColumns
    from vmtop.model.facts import ClassifyFacts

    facts = ClassifyFacts(stack_pointers=CUDA_SP)
    raw = _cuda_map()
    got = classify_columns(RegionColumns.from_regions(raw), facts)
    assert list(got) == classify_regions(raw, facts)


def test_without_the_unified_memory_device_nothing_is_cuda():
    """An NVIDIA driver client that is no CUDA process (no /dev/nvidia-uvm, as an
    OpenGL program): its reserves and shared anonymous memory stay plain."""
    regions = classify_regions(_cuda_map(without=b"/dev/nvidia-uvm"))
    assert not [r for r in regions if (r.object or "").startswith("CUDA")]
    assert [r.object for r in regions if r.kind == kinds.RESERVED] == [None, None, None, None]
    (pinned_shape,) = [r for r in regions if r.path == "/dev/zero (deleted)"]
    assert pinned_shape.kind == kinds.SHM and pinned_shape.object is None


def test_a_reserve_in_a_process_without_nvidia_devices_stays_plain():
    maps = b"""\
7f0000000000-7f0004000000 rw-s 00000000 00:01 2052                       /dev/zero (deleted)
7f0004000000-7f0010000000 ---p 00000000 00:00 0
"""
    regions = classify_regions(parse_maps(maps))
    assert [(r.kind, r.object) for r in regions] == [("shm", None), ("reserved", None)]


def test_a_shared_view_of_a_loaded_library_is_a_file_not_its_segment():
    # A program (a debugger, ldconfig, a JIT) mapping libc.so.6 MAP_SHARED to read it:
    # it was "rodata" of libc, and `where` gave ".text" in a view nothing runs from.
    # The loader maps an object's segments private.
    libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
    text = (
        b"7f0000000000-7f0000028000 r--p 00000000 fe:00 4242 " + libc.encode() + b"\n"
        b"7f0000028000-7f000017d000 r-xp 00028000 fe:00 4242 " + libc.encode() + b"\n"
        b"7f1000000000-7f1000100000 r--s 00000000 fe:00 4242 " + libc.encode() + b"\n"
        b"7f2000000000-7f2000100000 r--p 00000000 fe:00 4242 " + libc.encode() + b"\n"
    )
    regions = classify_regions(parse_maps(text))
    loaded, code, view, private_view = regions
    assert (loaded.kind, code.kind) == (kinds.RODATA, kinds.TEXT)
    assert view.kind not in (kinds.RODATA, kinds.TEXT) and view.object is None, view
    # A private read-only view (a Rust panic's backtrace maps the whole executable so, to
    # read its symbols) was its rodata too: no segment of its file is beside it, and the
    # loader maps an object's segments next to each other.
    assert (private_view.kind, private_view.object) == (kinds.FILE, None)


def test_the_segments_of_a_loaded_object_stay_its_segments():
    # The first r--p segment (offset 0) beside the text, a ---p gap of the file between
    # text and data (old linkers), the data: all beside another mapping of the file.
    lib = b"/usr/lib/libold.so.1"
    text = (
        b"7f3000000000-7f3000001000 r--p 00000000 fe:00 77 " + lib + b"\n"
        b"7f3000001000-7f3000005000 r-xp 00001000 fe:00 77 " + lib + b"\n"
        b"7f3000005000-7f3000204000 ---p 00005000 fe:00 77 " + lib + b"\n"
        b"7f3000204000-7f3000205000 rw-p 00004000 fe:00 77 " + lib + b"\n"
    )
    kinds_seen = [r.kind for r in classify_regions(parse_maps(text))]
    assert kinds_seen == [kinds.RODATA, kinds.TEXT, kinds.GAP, kinds.DATA]


def test_segments_of_an_executable_aligned_to_2_mib_stay_its_segments():
    # gcc -Wl,-z,max-page-size=0x200000: the kernel maps each PT_LOAD and leaves holes
    # between them (no ---p line of the file, as glibc's loader leaves for libraries).
    exe = b"/opt/app/exehuge"
    text = (
        b"556242400000-556242401000 r--p 00000000 fe:00 2277443 " + exe + b"\n"
        b"556242600000-556242601000 r-xp 00200000 fe:00 2277443 " + exe + b"\n"
        b"556242800000-556242801000 r--p 00400000 fe:00 2277443 " + exe + b"\n"
        b"556242bff000-556242c00000 r--p 005ff000 fe:00 2277443 " + exe + b"\n"
        b"556242c00000-556242c01000 rw-p 00600000 fe:00 2277443 " + exe + b"\n"
    )
    seen = [(r.kind, r.object) for r in classify_regions(parse_maps(text))]
    assert seen == [
        (kinds.RODATA, exe.decode()),
        (kinds.TEXT, exe.decode()),
        (kinds.RODATA, exe.decode()),
        (kinds.RELRO, exe.decode()),
        (kinds.DATA, exe.decode()),
    ]


def test_lld_s_relro_segment_of_its_own_and_data_made_read_only_at_run_time():
    """Chromium, linked by lld: RELRO is a PT_LOAD of its own, its file offsets running on
    into the data segment's but one unmapped page below it (it was rodata); and pages
    inside .data's segment that Chromium makes read-only itself (protected_memory) are
    its data, not RELRO, which is only ever below the data. (The lines of the recorded
    renderer, /usr/lib/chromium/chromium; readelf -lS gives the segments.)"""
    exe = b"/usr/lib/chromium/chromium"
    text = (
        b"55fb5f6d7000-55fb6d7f6000 r-xp 02d92000 fe:00 1458274 " + exe + b"\n"
        b"55fb6d7f6000-55fb6e34a000 r--p 10eb0000 fe:00 1458274 " + exe + b"\n"
        b"55fb6e34b000-55fb6e36b000 rw-p 11a04000 fe:00 1458274 " + exe + b"\n"
        b"55fb6e36b000-55fb6e36c000 r--p 11a24000 fe:00 1458274 " + exe + b"\n"
        b"55fb6e36c000-55fb6e442000 rw-p 11a25000 fe:00 1458274 " + exe + b"\n"
        b"55fb6e442000-55fb6e444000 r--p 11afb000 fe:00 1458274 " + exe + b"\n"
        b"55fb6e444000-55fb6e445000 rw-p 11afd000 fe:00 1458274 " + exe + b"\n"
    )
    seen = [r.kind for r in classify_regions(parse_maps(text))][1:]
    assert seen == [kinds.RELRO, kinds.DATA, kinds.DATA, kinds.DATA, kinds.DATA, kinds.DATA]
    # A read-only segment far below the data, or one that is not the data's file
    # before it, stays rodata.
    far = text.replace(b"6d7f6000 r-xp", b"6d7e6000 r-xp").replace(
        b"55fb6d7f6000-55fb6e34a000", b"55fb6d7e6000-55fb6e33a000"
    )
    assert classify_regions(parse_maps(far))[1].kind == kinds.RODATA
    other = text.replace(b"r--p 10eb0000", b"r--p 10eaf000")
    assert classify_regions(parse_maps(other))[1].kind == kinds.RODATA


def test_relro_sharing_the_data_s_first_file_page_is_relro_where_the_headers_say_so():
    """lld's more common layout (libvk_swiftshader.so, libvulkan.so.1 beside Chromium):
    RELRO's last file page is the data's first, at the next address. A read-only
    segment with no RELRO can sit so too (bfd with -z norelro): only the program
    headers tell them apart (review)."""
    from vmtop.model.facts import ClassifyFacts

    lib = b"/usr/lib/chromium/libvk_swiftshader.so"
    text = (
        b"7fbe61400000-7fbe61903000 r-xp 00000000 fe:00 77 " + lib + b"\n"
        b"7fbe61903000-7fbe61921000 r--p 00501000 fe:00 77 " + lib + b"\n"
        b"7fbe61921000-7fbe61923000 rw-p 0051e000 fe:00 77 " + lib + b"\n"
    )
    regions = parse_maps(text)
    data = regions[2].start
    for said, kind in ((True, kinds.RELRO), (None, kinds.RODATA), (False, kinds.RODATA)):
        facts = ClassifyFacts(relro_below_data={data: said})
        assert classify_regions(regions, facts)[1].kind == kind, said
    # Go's linker: the read-only data runs on into the data at the next address, and
    # the headers have no RELRO.
    go = parse_maps(text.replace(b"r--p 00501000", b"r--p 00500000"))
    assert classify_regions(go)[1].kind == kinds.RELRO  # the shape alone
    facts = ClassifyFacts(relro_below_data={data: False})
    assert classify_regions(go, facts)[1].kind == kinds.RODATA
