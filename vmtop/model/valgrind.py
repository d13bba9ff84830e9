"""A program run under valgrind: the memory it and the tool map is read-write-execute.

valgrind (memcheck and the other tools) runs the program on a synthetic CPU and maps
its own memory and the program's with every permission: the program's malloc heap, its
simulated brk, its threads' stacks, the tool's shadow memory. The rule "anonymous
executable memory is JIT-compiled code" would call all of that JIT code, with
confidence. Told by the tool's own executable in the map
(``/usr/libexec/valgrind/memcheck-amd64-linux``) or its preload libraries
(``vgpreload_memcheck-amd64-linux.so``).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence

from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.model.region_rows import KIND, OBJECT, TID, relabel
from vmtop.model.stacks import JIT_CODE

# Short: it is an object, shown in the table's narrow column.
VALGRIND_MEMORY = "under valgrind"
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


def mark_valgrind_memory(regions: MutableSequence[Region]) -> None:
    """In place: anonymous executable memory is valgrind's or the program's, not JIT
    code (kind anon, the object says so); a guard taken for JIT code's is a plain
    no-access region again, for the stack rules after this to name."""
    for i in range(len(regions)):
        r = regions[i]
        if r[KIND] == kinds.JIT:
            regions[i] = relabel(r, kinds.ANON, VALGRIND_MEMORY, r[TID])
        elif r[KIND] == kinds.GUARD and r[OBJECT] == JIT_CODE:
            regions[i] = relabel(r, kinds.RESERVED, None, None)
