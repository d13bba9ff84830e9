"""Builders for hand-made snapshots used by the diff tests."""

from __future__ import annotations

from vmtop.model.kinds import kind_from_name
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals

KiB = 1024
MiB = 1024 * KiB
PAGE = 4 * KiB


def region(
    start: int,
    end: int,
    perms: str = "rw-p",
    path: str = "",
    *,
    inode: int = 0,
    dev: str = "00:00",
    offset: int = 0,
    rss: int | None = 0,
    kind: str | None = None,
    tid: int | None = None,
) -> Region:
    if path.startswith("/") and not inode:
        inode = 4242
        dev = "fe:00"
    return Region(
        start,
        end,
        perms,
        offset,
        dev,
        inode,
        path,
        rss=rss,
        kind=kind or kind_from_name(path, perms, inode),
        tid=tid,
    )


def snapshot(
    regions: list[Region],
    *,
    pid: int = 4321,
    start_time: int = 1000,
    comm: str = "demo",
    taken_at: float = 1_700_000_000.0,
    smaps: bool = True,
) -> Snapshot:
    regions = sorted(regions, key=lambda r: r.start)
    if not smaps:
        regions = [r._replace(rss=None) for r in regions]
    info = ProcessInfo(
        pid=pid,
        start_time=start_time,
        command=f"./{comm}",
        comm=comm,
        state="S",
        ppid=1,
        uid=0,
        threads=1,
        start_stack=None,
    )
    size = sum(r.end - r.start for r in regions)
    rss = sum(r.rss or 0 for r in regions) if smaps else None
    return Snapshot(
        info=info,
        taken_at=taken_at,
        regions=tuple(regions),
        totals=Totals(
            size=size, rss=rss, pss=None, private_dirty=None, shared_dirty=None, swap=None
        ),
        has_smaps=smaps,
        status={},
    )


# A small process: its executable, a heap, libc, a stack, the vDSO.
EXE = "/usr/bin/demo"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
EXE_BASE = 0x5555_5555_4000
HEAP = 0x5555_5557_0000
LIBC_BASE = 0x7F00_0000_0000
STACK_TOP = 0x7FFF_F000_0000
VDSO = 0x7FFF_F7FF_0000


def base_regions(
    *,
    heap_end: int = HEAP + 132 * KiB,
    stack_start: int = STACK_TOP - 132 * KiB,
    vdso: int = VDSO,
    exe: str = EXE,
    exe_base: int = EXE_BASE,
) -> list[Region]:
    return [
        region(exe_base, exe_base + 0x1000, "r--p", exe, inode=11, offset=0),
        region(exe_base + 0x1000, exe_base + 0x2000, "r-xp", exe, inode=11, offset=0x1000),
        region(exe_base + 0x2000, exe_base + 0x3000, "rw-p", exe, inode=11, offset=0x2000),
        region(HEAP, heap_end, "rw-p", "[heap]"),
        region(LIBC_BASE, LIBC_BASE + 0x28000, "r--p", LIBC, inode=22, offset=0),
        region(LIBC_BASE + 0x28000, LIBC_BASE + 0x1BD000, "r-xp", LIBC, inode=22, offset=0x28000),
        region(stack_start, STACK_TOP, "rw-p", "[stack]"),
        region(vdso, vdso + 0x2000, "r-xp", "[vdso]"),
    ]
