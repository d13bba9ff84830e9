"""The two big reservations V8 makes in a Node process, named by their shape.

Both are placed by the kernel among the other mmaps (above 2^46 in the usual layout),
and each is one mapping V8 then commits in parts, so the map shows a run of touching
regions whose ends give it away. Measured on Node 20 (V8 11.3, x64, no pointer
compression), each with a live process and its own figures:

- A WebAssembly memory with guard regions: 10 GiB reserved whole (V8's
  kFullGuardSize), the memory starting 2 GiB into it (the guard in front), its pages
  committed read-write from there (initial, then what memory.grow adds, in 64 KiB wasm
  pages), no access up to 8 GiB past its start. So: a read-write region on a 64 KiB
  boundary, exactly 2 GiB of no access right below it, and no access right above it up
  to exactly 8 GiB past its start. The kernel merges a no-access end with a touching
  no-access neighbour (the next memory's guard, mapped right below, merges with this
  one's end), so either end may be longer: the memory is named when one end is exact
  and the other reaches at least as far; a merged end, which holds some of something
  else, is left as it was. A memory with no page yet (initial 0) is one no-access
  10 GiB region, with nothing to tell it by: not named.
- The isolate's code range: 512 MiB (kMaximalCodeRangeSize) reserved whole for each
  isolate (the main thread's, and one per worker), so that compiled code is in reach
  of near calls. Its code pages are committed in it from its start (the first one: a
  read-write header, a guard page, the code, read-write-execute), and near its end
  the embedded builtins are remapped from the executable's file (r-x) so that they
  are in reach too. So: a run of touching regions 512 MiB long, starting read-write
  on a 256 KiB boundary, ending no-access, holding JIT code, all anonymous but a
  file's r-x mapping. Code space lives here, not among the heap pages ``v8_pages``
  names.

Chromium lays V8 out otherwise (``chromium_heaps``), so this runs for Node's layout
only, where ``v8_pages`` does.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import MutableSequence
from itertools import compress, count, repeat
from operator import eq, itemgetter

from vmtop.model import kinds
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
    relabel,
)

WASM_MEMORY = "WebAssembly memory"
CODE_RANGE = "V8 code range"

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
WASM_GUARD_BELOW = 2 * GiB  # V8's kNegativeGuardSize
WASM_RESERVED_ABOVE = 8 * GiB  # from the memory's start to the reservation's end
WASM_PAGE = 64 * KiB
CODE_RANGE_SIZE = 512 * MiB
CODE_PAGE = 256 * KiB  # V8's pages, code pages too, are aligned to their size

_GET_KIND = itemgetter(KIND)


def mark_v8_reservations(regions: MutableSequence[Region]) -> None:
    """In place, in a Node process's map: WebAssembly memories and V8's code ranges get
    their objects (kinds kept: the committed parts anon or jit, the rest reserved)."""
    labels: dict[int, str] = {}
    reserved = _indexes_of_reserved(regions)
    for i in reserved:
        _label_wasm(regions, i, labels)
    for i in reserved:
        _label_code_range(regions, i, labels)
    for i, obj in labels.items():
        r = regions[i]
        if r[OBJECT] != obj:
            regions[i] = relabel(r, r[KIND], obj, r[TID])


def _indexes_of_reserved(regions) -> list[int]:
    if isinstance(regions, Patched):
        return regions.indexes_of_kind(kinds.RESERVED)
    return list(compress(count(), map(eq, map(_GET_KIND, regions), repeat(kinds.RESERVED))))


def _anon(r) -> bool:
    return not r[PATH] and not r[INODE]


def _no_access(r) -> bool:
    return r[KIND] == kinds.RESERVED and r[PERMS] == "---p" and _anon(r)


def _label_wasm(regions, i: int, labels: dict[int, str]) -> None:
    """``i``: a reserved region; named with the two above it when it is a WebAssembly
    memory's guard in front, the memory, and the rest of its reservation."""
    if i + 2 >= len(regions):
        return
    below, memory, above = regions[i], regions[i + 1], regions[i + 2]
    if (
        below[END] - below[START] < WASM_GUARD_BELOW
        or memory[KIND] != kinds.ANON
        or memory[PERMS] != "rw-p"
        or not _anon(memory)
        or memory[START] % WASM_PAGE
        or memory[END] % WASM_PAGE
        or below[END] != memory[START]
        or memory[END] != above[START]
        or not _no_access(above)
    ):
        return
    guard_exact = below[END] - below[START] == WASM_GUARD_BELOW
    end = memory[START] + WASM_RESERVED_ABOVE
    rest_exact = above[END] == end
    if not (guard_exact and above[END] >= end or rest_exact):
        return
    labels[i + 1] = WASM_MEMORY
    if guard_exact:
        labels[i] = WASM_MEMORY
    if rest_exact:
        labels[i + 2] = WASM_MEMORY


def _label_code_range(regions, last: int, labels: dict[int, str]) -> None:
    """``last``: a reserved region; named with those below it when it ends a code range
    (the whole run, but the file's mapping and the guard pages beside the code)."""
    start = regions[last][END] - CODE_RANGE_SIZE
    first = bisect_left(range(last), start, key=lambda k: regions[k][START])
    if first >= last or start % CODE_PAGE:
        return
    head = regions[first]
    if head[START] != start or head[PERMS] != "rw-p" or not _anon(head):
        return
    span = range(first, last + 1)
    if any(regions[k][END] != regions[k + 1][START] for k in span[:-1]):
        return  # a hole: not one reservation
    files = [k for k in span if not _anon(regions[k])]
    if len(files) > 1 or any(regions[k][PERMS] != "r-xp" for k in files):
        return
    if not any(regions[k][KIND] == kinds.JIT for k in span):
        return
    for k in span:
        if k not in files and regions[k][KIND] != kinds.GUARD and k not in labels:
            labels[k] = CODE_RANGE
