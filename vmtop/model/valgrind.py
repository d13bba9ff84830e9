"""A program run under valgrind: the memory it and the tool map is read-write-execute.

valgrind (memcheck and the other tools) runs the program on a synthetic CPU and maps
its own memory and the program's with every permission: the program's malloc heap, its
simulated brk, its threads' stacks, the tool's shadow memory. The rule "anonymous
executable memory is JIT-compiled code" would call all of that JIT code, with
confidence. Told by the tool's own executable in the map
(``/usr/libexec/valgrind/memcheck-amd64-linux``) or its preload libraries
(``vgpreload_memcheck-amd64-linux.so``).

The program's main stack is not the kernel's ``[stack]``: that one is valgrind's own
(the tool's process started on it). valgrind makes the program a stack of its own, an
anonymous read-write mapping that ends 16 MiB less a page below the top of the
program's part of the address space (``suggested_clstack_end = aspacem_maxAddr -
16 MiB + page`` in its aspacemgr), a power of two on 64-bit Linux (2^37 with valgrind
3.19 on amd64; 2^36 in others); it grows down as the program's calls go deeper.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence

from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.model.region_rows import END, INODE, KIND, OBJECT, PATH, PERMS, TID, relabel
from vmtop.model.stacks import JIT_CODE

# Short: it is an object, shown in the table's narrow column.
VALGRIND_MEMORY = "under valgrind"
VALGRIND_CLIENT_STACK = "program's stack (valgrind)"
VALGRIND_OWN_STACK = "valgrind's own stack"
VALGRIND_CLIENT_STACK_WHY = (
    "The program's main stack under valgrind: valgrind starts the program on a stack "
    "it made, ending 16 MiB below the top of the program's part of the address space, "
    "with the program's arguments and environment on it, and maps more of it, "
    "downwards, as the calls go deeper. The kernel's [stack] is valgrind's own."
)
VALGRIND_OWN_STACK_WHY = (
    "The stack the kernel gave the process, which is valgrind's (the tool's own "
    "calls), not the program's: valgrind runs the program on a stack of its own, the "
    '"program\'s stack (valgrind)" region.'
)
# What lies between the end of valgrind's client stack and the top of the program's
# part of the address space (16 MiB less a page, aspacemgr-linux.c).
CLIENT_STACK_BELOW_TOP = (16 << 20) - 4096
VALGRIND_WHY = (
    "Anonymous memory of a program run under valgrind, which maps its own memory and the "
    "program's read-write-execute: the program's malloc heap, its brk or its threads' "
    "stacks, or the tool's shadow memory or translated code. Not JIT code, for all the x."
)


def runs_valgrind(paths: Iterable[str]) -> bool:
    """Does a map with these paths run under valgrind (its tool or preload mapped)?"""
    for path in paths:
        if "/valgrind/" in path:
            name = path.rpartition("/")[2]
            if name.startswith("vgpreload_") or name.endswith("-linux"):
                return True
    return False


def is_client_stack(r: Region | tuple) -> bool:
    """Is this region, in a map under valgrind, the program's main stack: anonymous,
    read-write, ending where valgrind puts its end (a power of two, 4 GiB or more,
    less 16 MiB and a page)?"""
    if r[PATH] or r[INODE] or not r[PERMS].startswith("rw"):
        return False
    top = r[END] + CLIENT_STACK_BELOW_TOP
    return top >= 1 << 32 and top & (top - 1) == 0


def is_main_stack(r: Region) -> bool:
    """Does ``r`` grow down as the program's main stack: the kernel's [stack], or the
    stack valgrind made for the program (its growth is a stack_grew, not a mapping)?"""
    return r.path == "[stack]" or r.object == VALGRIND_CLIENT_STACK


def mark_valgrind_memory(regions: MutableSequence[Region]) -> None:
    """In place: anonymous executable memory is valgrind's or the program's, not JIT
    code (kind anon, the object says so); a guard taken for JIT code's is a plain
    no-access region again, for the stack rules after this to name. The program's main
    stack is named, and the kernel's [stack] is said to be valgrind's own."""
    client_stack = False
    for i in range(len(regions)):
        r = regions[i]
        if r[KIND] == kinds.JIT:
            regions[i] = relabel(r, kinds.ANON, VALGRIND_MEMORY, r[TID])
        elif r[KIND] == kinds.GUARD and r[OBJECT] == JIT_CODE:
            regions[i] = relabel(r, kinds.RESERVED, None, None)
        elif r[KIND] == kinds.ANON and not client_stack and is_client_stack(r):
            regions[i] = relabel(r, kinds.STACK, VALGRIND_CLIENT_STACK, None)
            client_stack = True
    if not client_stack:
        return  # then not the layout this knows: the kernel's [stack] says nothing more
    for i in range(len(regions) - 1, -1, -1):
        r = regions[i]
        if r[KIND] == kinds.STACK and r[PATH] == "[stack]":
            regions[i] = relabel(r, kinds.STACK, VALGRIND_OWN_STACK, r[TID])
            break
