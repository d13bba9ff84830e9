"""Read what classification needs besides the map: the facts of ``ClassifyFacts``.

- each thread's stack pointer, from ``task/TID/syscall`` (the second-to-last field,
  while the thread is blocked; needs ptrace access) or, failing that, ``stat`` field 29
  (kstkesp, which modern kernels fill only for a thread dumping core), under a time
  budget: a copied tree with ``task/*/{stat,syscall}`` answers the same way;
- for each ELF object whose data is followed by anonymous memory, how much .bss its
  program headers say the loader maps there (``vmtop.model.bss``);
- the SysV shared memory table, ``/proc/sysvipc/shm`` (readable by anyone), when the
  map has a ``/SYSV…`` mapping;
- which regions shaped like a glibc arena's heap were mapped without MAP_NORESERVE
  (``vmtop.procfs.noreserve_flags``), from the smaps text when there is one;
- whether the program runs V8 under a name that does not say so: its executable's
  dynamic symbols (``vmtop.procfs.v8_binary``), read once a file;
- which CPython it runs and with which allocator (``vmtop.procfs.python_facts``);
- which sanitizer's run-time it runs (``vmtop.procfs.sanitizer_runtime``);
- which file of a PostgreSQL process's dynamic shared memory is its DSM control
  segment: the one its postmaster maps (``vmtop.procfs.postgres_dsm``).

Every read may fail (a copied tree lacks the file, the process exits): the fact is then
left out and classification falls back on the map's shape.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence

from vmtop.model.bss import RELRO_HOLE_MAX
from vmtop.model.column_masks import mask_and, mask_not, zero_mask
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.facts import ClassifyFacts
from vmtop.model.postgres_memory import runs_postgres
from vmtop.model.region import Region
from vmtop.model.sysv import SYSV_PREFIX, SysvSegment, parse_sysv_shm
from vmtop.model.v8_pages import runs_v8
from vmtop.model.valgrind import runs_valgrind
from vmtop.procfs.bss_sizes import DEFAULT_BSS_SIZES
from vmtop.procfs.java_facts import read_java_facts
from vmtop.procfs.noreserve_flags import mapped_without_noreserve
from vmtop.procfs.postgres_dsm import read_dsm_control
from vmtop.procfs.python_facts import read_python_facts
from vmtop.procfs.sanitizer_runtime import read_sanitizer
from vmtop.procfs.v8_binary import DEFAULT_V8_PROGRAMS

# Reading threads' stack pointers stops after this long; the rest count as unknown.
THREAD_READ_BUDGET_S = 0.025


def parse_task_syscall(data: bytes) -> int | None:
    """The stack pointer in /proc/PID/task/TID/syscall: "NR ARGS... SP PC" while in a
    system call, "-1 SP PC" while blocked outside one, "running" while running."""
    fields = data.split()
    if len(fields) < 3 or fields[0] == b"running":
        return None
    try:
        sp = int(fields[-2], 16)
    except ValueError:
        return None
    return sp or None


def parse_stat_kstkesp(data: bytes) -> int | None:
    """Field 29 of a stat line (0 on modern kernels unless the thread dumps core)."""
    rest = data[data.rfind(b")") + 2 :].split()
    try:
        sp = int(rest[29 - 3])
    except (IndexError, ValueError):
        return None
    return sp or None


def _read_deadline(procfs) -> float:
    """Until when a process's threads are read: a budget for a live one (thousands of
    threads), none for a copied tree, whose files do not change (under load, a budget
    made the same tree classify one way, then another)."""
    return time.monotonic() + THREAD_READ_BUDGET_S if procfs.is_live else math.inf


def thread_stack_pointers(procfs, pid: int) -> dict[int, int | None]:
    """Stack pointer of every thread except the main one; None where unknown."""
    tids = [tid for tid in procfs.task_ids(pid) if tid != pid]
    out: dict[int, int | None] = {}
    deadline = _read_deadline(procfs)
    for tid in tids:
        sp = None
        if time.monotonic() < deadline:
            data = procfs.read_task_file(pid, tid, "syscall")
            sp = parse_task_syscall(data) if data else None
            if sp is None:
                data = procfs.read_task_file(pid, tid, "stat")
                sp = parse_stat_kstkesp(data) if data else None
        out[tid] = sp
    return out


def thread_names(procfs, pid: int, tids) -> dict[int, str]:
    """The name (task/TID/comm) of each of ``tids`` that named itself, read in time: a
    thread that did not has the process's name, which says nothing about it."""
    out: dict[int, str] = {}
    if not tids:
        return out
    deadline = _read_deadline(procfs)
    main = procfs.read_task_file(pid, pid, "comm")
    for tid in tids:
        if time.monotonic() >= deadline:
            break
        data = procfs.read_task_file(pid, tid, "comm")
        if data and data != main:
            out[tid] = data.rstrip(b"\n").decode("utf-8", "surrogateescape")
    return out


def bss_after_data(procfs, pid: int, regions: Sequence[Region]) -> dict[int, int | None]:
    """For each file-backed rw-p region followed by anonymous rw-p memory (where an
    object's .bss spills), the bss bytes its program headers give; None if unreadable.
    Each file's headers are read once (``BssSizes`` caches them)."""
    out: dict[int, int | None] = {}
    for prev, r in _file_rw_and_next(regions):
        if (
            prev.inode
            and prev.perms == "rw-p"
            and prev.end == r.start
            and not r.inode
            and not r.path
            and r.perms == "rw-p"
            and prev.path.startswith("/")
        ):
            out[prev.start] = DEFAULT_BSS_SIZES.bss_after(procfs, pid, prev)
    return out


def relro_below_data(procfs, pid: int, regions: Sequence[Region]) -> dict[int, bool | None]:
    """For each file-backed rw-p region with a read-only region of the same file right
    below it (or an unmapped page or so below: lld), whether that region is in its
    object's RELRO (its program headers, read once a file); None if unreadable."""
    out: dict[int, bool | None] = {}
    for below, r in _file_rw_and_prev(regions):
        if (
            below.perms == "r--p"
            and below.inode == r.inode
            and below.dev == r.dev
            and below.end <= r.start <= below.end + RELRO_HOLE_MAX
            and r.path.startswith("/")
        ):
            out[r.start] = DEFAULT_BSS_SIZES.relro_below(procfs, pid, below, r)
    return out


def _file_rw_and_prev(regions: Sequence[Region]) -> Iterator[tuple[Region, Region]]:
    """(the region before, region) for the file-backed rw-p regions but the first."""
    if not isinstance(regions, RegionColumns):
        return ((p, r) for p, r in zip(regions, regions[1:], strict=False) if r.inode
                and r.perms == "rw-p")  # fmt: skip
    wanted = mask_and(mask_not(zero_mask(regions.numbers[3])), regions.name_mask("perms", "rw-p"))
    return ((regions[i - 1], regions[i]) for i in where(wanted) if i)


def _file_rw_and_next(regions: Sequence[Region]) -> Iterator[tuple[Region, Region]]:
    """(region, the next one) for the file-backed rw-p regions: the few that matter,
    found in the columns of a huge map without making a Region of every one."""
    if not isinstance(regions, RegionColumns):
        return zip(regions, regions[1:], strict=False)
    wanted = mask_and(mask_not(zero_mask(regions.numbers[3])), regions.name_mask("perms", "rw-p"))
    return ((regions[i], regions[i + 1]) for i in where(wanted[:-1]))


def read_sysv_table(procfs, pid: int) -> dict[int, SysvSegment]:
    """/proc/sysvipc/shm by shmid: the segments of vmtop's own IPC namespace, so none
    for a process in another (its shmids number other segments)."""
    if not procfs.shares_ipc_namespace(pid):
        return {}
    data = procfs.read_global("sysvipc/shm")
    return parse_sysv_shm(data) if data else {}


def read_classify_facts(
    procfs, pid: int, regions: Sequence[Region], smaps_text=None
) -> ClassifyFacts:
    """Every fact ``classify_regions`` uses about ``pid``, read now; ``smaps_text``:
    the smaps text ``regions`` were read from (None: read from maps)."""
    sysv: dict[int, SysvSegment] = {}
    paths = (
        regions.distinct("path")
        if isinstance(regions, RegionColumns)
        else {r.path for r in regions}
    )
    if any(path.startswith(SYSV_PREFIX) for path in paths):
        sysv = read_sysv_table(procfs, pid)
    stack_pointers = thread_stack_pointers(procfs, pid)
    postgres = runs_postgres(paths)
    return ClassifyFacts(
        stack_pointers=stack_pointers,
        thread_names=thread_names(procfs, pid, stack_pointers),
        bss_after_data=bss_after_data(procfs, pid, regions),
        relro_below_data=relro_below_data(procfs, pid, regions),
        sysv=sysv,
        java=read_java_facts(procfs, pid, paths, regions),
        v8=runs_v8(paths) or DEFAULT_V8_PROGRAMS.runs_v8(procfs, pid, regions),
        valgrind=runs_valgrind(paths),
        postgres=postgres,
        postgres_dsm_control=read_dsm_control(procfs, pid, paths) if postgres else "",
        python=read_python_facts(procfs, pid, regions, paths),
        mapped_without_noreserve=mapped_without_noreserve(procfs, pid, regions, smaps_text),
        sanitizer=read_sanitizer(procfs, pid, regions, paths),
    )
