"""Kinds grouped by what answers "where does my RSS go".

A heap profiler counts what malloc handed out; the process's RSS also holds the
program's code and data, thread stacks, JIT code, mapped files, shared memory and
device memory, while reserved address space counts in the virtual size only. The
summary groups kinds that way, heaps first: the heap, the other threads' arenas and
anonymous memory (malloc above its mmap threshold, and runtimes' own heaps: a JVM's
Java heap, V8's, Go's, which malloc never sees; so the group is not called malloc).
"""

from __future__ import annotations

from typing import NamedTuple

from vmtop.model import kinds


class KindGroup(NamedTuple):
    name: str
    kinds: tuple[str, ...]
    meaning: str


GROUPS: tuple[KindGroup, ...] = (
    KindGroup(
        "heaps",
        (kinds.HEAP, kinds.ARENA, kinds.ANON, kinds.NAMED_ANON),
        "heap + arenas + anonymous memory: what malloc and runtimes' heaps (JVM, V8) hold",
    ),
    KindGroup("stacks", (kinds.STACK, kinds.THREAD_STACK), "the main and thread stacks"),
    KindGroup("jit", (kinds.JIT,), "JIT-compiled code"),
    KindGroup(
        "image",
        (kinds.TEXT, kinds.RODATA, kinds.RELRO, kinds.DATA, kinds.BSS),
        "the program's and libraries' code and data",
    ),
    KindGroup("files", (kinds.FILE,), "mapped data files (page cache, shared)"),
    KindGroup("shared", (kinds.SHM,), "shared memory"),
    KindGroup("device", (kinds.DEVICE,), "device memory (GPU drivers)"),
    KindGroup(
        "reserved",
        (kinds.RESERVED, kinds.GUARD, kinds.GAP),
        "no-access address space: virtual size only, never resident",
    ),
    KindGroup(
        "kernel",
        (kinds.VDSO, kinds.VVAR, kinds.VSYSCALL, kinds.KERNEL),
        "pages the kernel provides",
    ),
)

_GROUP_OF = {kind: group for group in GROUPS for kind in group.kinds}
OTHER = KindGroup("other", (), "kinds of no group")


def group_of(kind: str) -> KindGroup:
    return _GROUP_OF.get(kind, OTHER)


def summary_order() -> list[str]:
    """Every kind, group by group: the order of the summary's lines."""
    return [kind for group in GROUPS for kind in group.kinds]
