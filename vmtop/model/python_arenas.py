"""CPython's object arenas (obmalloc, "pymalloc"), named in the map of a Python process.

CPython serves every allocation of 512 bytes or less (most objects: ints, strs, tuples,
small dicts and lists, frames) from its own allocator, obmalloc. It asks the kernel for
memory an arena at a time, each one anonymous ``mmap`` of exactly ``ARENA_SIZE``
(``_PyObject_ArenaMmap``): 256 KiB up to 3.9, 1 MiB from 3.10 (large arenas came with
the radix tree that tells obmalloc's addresses apart), and gives an arena back
(``munmap``) when every pool in it is empty. Checked with strace -k (which call made
each mapping) on 2.7 and 3.6 to 3.13, against ``sys._debugmallocstats()``'s arena
count:

- an arena is placed where the kernel puts any mmap, on a page boundary, not aligned
  to its size; arenas mapped one after another touch, and the kernel merges them into
  one region, so a region of arenas is a whole number of arenas;
- a region is also merged with malloc's neighbouring mmaps (a list's item array, the
  radix tree's nodes, 3.11's 16 KiB frame stack chunks): request + 8 bytes rounded up
  to pages, so such a region is almost never a whole number of arenas. Those arenas
  stay unnamed (in a process with 50 arenas, strace found 86-100% of the arena bytes
  in regions of whole arenas, and no other bytes there);
- with ``PYTHONMALLOC=malloc`` (or ``malloc_debug``) CPython uses malloc alone, and
  with ``mimalloc`` (3.13) or in a free-threaded build (3.13t) mimalloc, which reserves
  1 GiB at a time: no arenas then, and nothing is named.

So in a CPython process (its executable or libpython, or a compiled extension module,
mapped executable names the version), a private read-write anonymous region that is a
whole number of arenas is named, but not:

- a thread's stack (glibc's are 8 MiB, a whole number of arenas: one right above a
  small no-access region, the guard pthread_create puts below a stack, is taken for a
  stack even when no thread's stack pointer says so);
- one that starts on a 2 MiB boundary and is a whole number of 2 MiB: since Linux 6.7
  the kernel puts an anonymous mmap of a multiple of 2 MiB on a 2 MiB boundary (for
  transparent huge pages), which an arena never is (a 256 KiB or 1 MiB mmap is placed
  anywhere). OpenBLAS's 32 MiB buffers (numpy), jemalloc's and mimalloc's chunks are
  such mappings; a recorded PyTorch process had OpenBLAS's 512 MiB of them;
- where OpenBLAS is mapped, one of a whole number of 32 MiB: its buffers. Before Linux
  6.7 the kernel places them anywhere, and the rule above tells nothing (arenas merged
  into a whole number of 32 MiB are left unnamed with them).
"""

from __future__ import annotations

from collections.abc import Collection, MutableSequence, Sequence
from itertools import compress, count, repeat
from operator import eq, itemgetter

from vmtop.model import kinds
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.python_facts import (
    EXTENSION,
    OPENBLAS_BUFFER,
    PythonFacts,
    is_openblas,
    python_file,
)
from vmtop.model.region import Region
from vmtop.model.region_rows import (
    END,
    INODE,
    KIND,
    OBJECT,
    PATH,
    PERMS,
    START,
    TID,
    Patched,
    PlainRows,
    relabel,
)
from vmtop.model.stacks import GUARD_MAX

THP_SIZE = 2 << 20  # where the kernel aligns anonymous mmaps of a multiple of it


def _tells(path: str) -> bool:
    return "python" in path and path.startswith("/") and python_file(path) is not None


def runs_python(regions: Sequence[Region], paths: Collection[str]) -> PythonFacts | None:
    """The CPython a map runs (``paths``: the paths of ``regions``), told by a file of
    the interpreter or an extension module mapped executable (a file only read, as a
    debugger or ``file`` would, tells nothing); the interpreter's own files first."""
    candidates = sorted(
        (p for p in paths if _tells(p)),
        key=lambda p: EXTENSION.search(p) is not None,
    )
    for path in candidates:
        if _mapped_executable(regions, path):
            python = python_file(path)
            if python is not None and any(map(is_openblas, paths)):
                python = python._replace(openblas=True)
            return python
    return None


def _mapped_executable(regions: Sequence[Region], path: str) -> bool:
    if isinstance(regions, RegionColumns):
        return any(regions[i].perms[2] == "x" for i in where(regions.name_mask("path", path)))
    return any(r[PATH] == path and r[PERMS][2] == "x" for r in regions)


_GET_KIND = itemgetter(KIND)


def _indexes_of_anon(regions) -> list[int]:
    if isinstance(regions, Patched):
        return regions.indexes_of_kind(kinds.ANON)
    if isinstance(regions, PlainRows):
        regions = regions.base
    if isinstance(regions, RegionColumns):
        return list(where(regions.name_mask("kind", kinds.ANON)))
    return list(compress(count(), map(eq, map(_GET_KIND, regions), repeat(kinds.ANON))))


def _above_a_guard(regions, i: int) -> bool:
    """Is region ``i`` right above a small no-access anonymous region (a stack's
    shape: pthread_create's guard page below the stack)?"""
    if i == 0:
        return False
    below, r = regions[i - 1], regions[i]
    return (
        below[END] == r[START]
        and below[PERMS][:3] == "---"
        and not below[PATH]
        and not below[INODE]
        and below[END] - below[START] <= GUARD_MAX
    )


def arenas_shape(r: Region, arena: int) -> bool:
    """Private read-write anonymous memory of whole arenas, not placed as the kernel
    places a mapping of whole 2 MiB (see the module docstring)."""
    size = r[END] - r[START]
    return (
        r[PERMS] == "rw-p"
        and not r[PATH]
        and not r[INODE]
        and size >= arena
        and not size % arena
        and not (r[START] % THP_SIZE == 0 and size % THP_SIZE == 0)
    )


def mark_python_arenas(regions: MutableSequence[Region], python: PythonFacts) -> None:
    """In place: in a CPython process whose objects obmalloc allocates, the regions of
    whole arenas get the object "Python 3.X object arenas (obmalloc)" (kind kept:
    anon). Run after thread stacks are marked: a stack is no arena."""
    arena = python.arena_size
    if arena is None:
        return
    name = python.arenas_object
    for i in _indexes_of_anon(regions):
        r = regions[i]
        if r[OBJECT] is not None or not arenas_shape(r, arena) or _above_a_guard(regions, i):
            continue
        if python.openblas and not (r[END] - r[START]) % OPENBLAS_BUFFER:
            continue  # OpenBLAS's buffers, wherever the kernel put them
        regions[i] = relabel(r, r[KIND], name, r[TID])
