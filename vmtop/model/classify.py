"""Refine the per-line kinds with what needs the whole map, and find thread stacks.

- Regions of a file that has an executable mapping form an ELF object: its r-x regions
  are ``text``, r-- ``rodata`` (this includes the RELRO part made read-only after
  relocation), rw- ``data``; the anonymous rw- region right after its last file-backed
  rw- region is its ``bss`` (where .bss spills past the file-backed page), unless the
  object's program headers (read when the file can be reached) say it has no bss pages:
  then it is some other mapping placed there. Every region of an object carries
  ``object`` = the object's path.
- Thread stacks: the kernel no longer names them. Each thread's stack pointer is read
  from ``/proc/PID/task/TID/syscall`` (the second-to-last field, while the thread is
  blocked; needs ptrace access) or, failing that, ``stat`` field 29 (kstkesp, which
  modern kernels only fill for a thread dumping core). The anonymous region holding it
  is that thread's ``thread_stack`` with its TID. When some thread's stack pointer is
  unknown (it is running, or we may not read it), rw-p anonymous regions directly above
  a ---p anonymous guard (the layout glibc's pthread_create makes) are taken for thread
  stacks without a TID, at most one per such thread (with the TID when one thread and
  one such region are left).

This runs on every snapshot, for processes with tens of thousands of regions: one pass,
no file I/O except one small read per thread, under a time budget.
"""

from __future__ import annotations

import bisect
import heapq
import time
from collections.abc import Sequence

from vmtop.model import kinds
from vmtop.model.region import Region

# Reading threads' stack pointers stops after this long; the rest count as unknown.
THREAD_READ_BUDGET_S = 0.025

_OBJECT_KINDS = frozenset((kinds.TEXT, kinds.RODATA, kinds.DATA, kinds.FILE, kinds.GUARD))
_STACK_CANDIDATE_KINDS = frozenset((kinds.ANON, kinds.NAMED_ANON, kinds.THREAD_STACK))
_KIND = Region._fields.index("kind")
_OBJECT = Region._fields.index("object")
_TID = Region._fields.index("tid")


def _relabel(r: Region, kind: str, obj: str | None, tid: int | None) -> Region:
    # Three times faster than Region._replace, which matters at 60 000 regions.
    values = list(r)
    values[_KIND] = kind
    values[_OBJECT] = obj
    values[_TID] = tid
    return tuple.__new__(Region, values)


def classify_regions(
    regions: Sequence[Region], procfs=None, pid: int | None = None
) -> list[Region]:
    """A new list of regions with refined ``kind``, ``object`` and ``tid``."""
    out = classify_objects(regions)
    if procfs is not None and pid is not None:
        check_bss(out, procfs, pid)
        stack_pointers = thread_stack_pointers(procfs, pid)
        if stack_pointers:
            mark_thread_stacks(out, stack_pointers)
    return out


def classify_objects(regions: Sequence[Region]) -> list[Region]:
    """text / rodata / data / bss and ``object`` for the regions of ELF objects."""
    TEXT, DATA, RODATA, BSS, GUARD, ANON, STACK = (
        kinds.TEXT,
        kinds.DATA,
        kinds.RODATA,
        kinds.BSS,
        kinds.GUARD,
        kinds.ANON,
        kinds.STACK,
    )
    exec_objects = {(r.dev, r.inode) for r in regions if r.kind == TEXT and r.inode}
    out: list[Region] = []
    append = out.append
    prev: Region | None = None
    for r in regions:
        if r.inode:
            if r.kind in _OBJECT_KINDS and (r.dev, r.inode) in exec_objects:
                p = r.perms
                if r.kind == GUARD:
                    kind = GUARD
                else:
                    kind = TEXT if p[2] == "x" else DATA if p[1] == "w" else RODATA
                if kind != r.kind or r.object != r.path:
                    r = _relabel(r, kind, r.path, r.tid)
        elif (
            r.kind == ANON
            and prev is not None
            and prev.kind == DATA
            and prev.end == r.start
            and prev.inode
            and r.perms == "rw-p"
            and not r.path
        ):
            r = _relabel(r, BSS, prev.object, r.tid)
        elif r.kind == STACK and r.path.startswith("[stack:"):
            # Kernels before 4.5 named thread stacks themselves: "[stack:TID]".
            tid = r.path[7:-1]
            if tid.isdigit():
                r = _relabel(r, kinds.THREAD_STACK, r.object, int(tid))
        append(r)
        prev = r
    return out


def check_bss(out: list[Region], procfs, pid: int) -> None:
    """Undo ``bss`` where the object's program headers say it has no bss pages: the
    anonymous region after its data is then some other mapping placed there (a big
    malloc, an arena). Where the file cannot be read, the guess stands."""
    from vmtop.model.bss import DEFAULT_BSS_SIZES

    for i in range(1, len(out)):
        r = out[i]
        if r.kind == kinds.BSS and out[i - 1].kind == kinds.DATA:
            if DEFAULT_BSS_SIZES.bss_after(procfs, pid, out[i - 1]) == 0:
                out[i] = _relabel(r, kinds.ANON, None, r.tid)


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


def thread_stack_pointers(procfs, pid: int) -> dict[int, int | None]:
    """Stack pointer of every thread except the main one; None where unknown."""
    tids = [tid for tid in procfs.task_ids(pid) if tid != pid]
    out: dict[int, int | None] = {}
    deadline = time.monotonic() + THREAD_READ_BUDGET_S
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


def mark_thread_stacks(regions: list[Region], stack_pointers: dict[int, int | None]) -> None:
    """Mark, in place, the regions holding threads' stacks."""
    starts = [r.start for r in regions]
    unknown: list[int] = []
    for tid, sp in sorted(stack_pointers.items()):
        if sp is None:
            unknown.append(tid)
            continue
        i = bisect.bisect_right(starts, sp) - 1
        if i < 0:
            continue
        r = regions[i]
        if r.start <= sp < r.end and r.kind in _STACK_CANDIDATE_KINDS and r.tid is None:
            regions[i] = _relabel(r, kinds.THREAD_STACK, r.object, tid)
    if not unknown:
        return
    # Candidates: rw-p anonymous right above a ---p anonymous guard. There can be more
    # than unknown threads (other programs make that layout too): keep the ones with
    # the smallest guard, as glibc's default guard is one page.
    ANON, GUARD = kinds.ANON, kinds.GUARD
    candidates: list[tuple[int, int]] = []
    guard: Region | None = None
    for i, r in enumerate(regions):
        if (
            guard is not None
            and r.kind == ANON
            and guard.end == r.start
            and r.perms == "rw-p"
            and not r.path
        ):
            candidates.append((guard.end - guard.start, i))
        guard = r if r.kind == GUARD and not r.inode and not r.path else None
    # One thread unknown and exactly one such region: by elimination, it is that thread's.
    tid = unknown[0] if len(unknown) == 1 == len(candidates) else None
    if len(candidates) > len(unknown):
        candidates = heapq.nsmallest(len(unknown), candidates)
    for _guard_size, i in candidates:
        r = regions[i]
        regions[i] = _relabel(r, kinds.THREAD_STACK, r.object, tid)
