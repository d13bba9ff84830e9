"""V8's reservations outside its sandbox, in a Chromium or Electron process's map.

From V8's sources (src/common/globals.h, src/heap/trusted-range.cc; x64, pointer
compression with the external code space, as Chromium builds it) and checked against
Chromium 156's renderers (strace of their mmap calls, their maps):

- The code range: kMaximalCodeRangeSize, 512 MiB, reserved whole so that compiled code
  is in reach of near calls, at an address V8 asks for near the executable (the
  embedded builtins). Chromium's renderer maps it read-write-execute whole (no
  per-page W^X on this build), so it is one ``rwxp`` region of exactly 512 MiB on a
  256 KiB boundary (V8's page size): strace shows its mmap of 536870912 bytes,
  retried at lower hints until one lands. A part V8 gave back with no access splits it.
  Chromium does not use brk, so the program break stays where the kernel put it, just
  above the executable; when the code range lands over it (2 renderers in 10 here:
  /proc/PID/stat's start_brk inside it), the kernel calls the whole mapping
  ``[heap]``, which it is not: it is named the code range all the same.
- The trusted range: kMaximalTrustedRangeSize, 1 GiB at a 4 GiB boundary, reserved
  with no access, where V8 keeps the objects an attacker inside the sandbox must not
  reach (bytecode, code metadata); only with the sandbox on, right after V8 reserves
  the sandbox. Its pages are committed read-write as they are used.
- The pointer tables (src/sandbox/external-entity-table-inl.h, include/v8-internal.h):
  the handles the sandbox's objects hold instead of pointers to what lies outside it
  index tables V8 reserves whole, each its maximum size (external pointers 512 MiB,
  trusted pointers 64 MiB, code pointers 128 MiB, JS dispatch 256 MiB, and the
  CppHeap pointer table), 64 KiB aligned, whose first 64 KiB segment (the null entry)
  is read-only and whose other segments are committed read-write as the table grows.
  strace shows seven such mmaps in a renderer (the size plus 60 KiB, for the
  alignment; MAP_NORESERVE). They are named together, "V8 pointer tables": which table
  a reservation is, two sizes being shared, the map does not tell.

All are named only by their exact size and alignment with nothing of the same kind
touching their ends (a merged neighbour would make the size a coincidence), the
trusted range and the tables only where the map has a V8 sandbox.
"""

from __future__ import annotations

from vmtop.model import kinds
from vmtop.model.region_rows import END, INODE, PATH, PERMS, START
from vmtop.model.v8_reservations import CODE_RANGE

TRUSTED_RANGE = "V8 trusted space"
POINTER_TABLES = "V8 pointer tables"
# The objects only this module gives (explained by ``chromium_words``); the code range
# shares its name, and its words, with Node's (``v8_reservations``).
OBJECTS = frozenset((TRUSTED_RANGE, POINTER_TABLES))

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
CODE_RANGE_SIZE = 512 * MiB  # kMaximalCodeRangeSize, x64 with the external code space
CODE_PAGE = 256 * KiB  # V8's page size: the code range is aligned to it
TRUSTED_RANGE_SIZE = 1 * GiB  # kMaximalTrustedRangeSize
TRUSTED_ALIGNMENT = 4 * GiB  # a pointer-compression cage's base alignment
TABLE_SEGMENT = 64 * KiB  # a table's segment, and its alignment
TABLE_SIZES = (64 * MiB, 128 * MiB, 256 * MiB, 512 * MiB)

_NO_ACCESS = "---p"
BRK_NAME = "[heap]"
_CODE_PERMS = ("rwxp", _NO_ACCESS)
_TRUSTED_PERMS = ("rw-p", "r--p", _NO_ACCESS)
_TABLE_PERMS = ("rw-p", _NO_ACCESS)


def _anon(r) -> bool:
    return not r[PATH] and not r[INODE]


def _anon_or_brk(r) -> bool:
    """Anonymous, or named ``[heap]`` by the kernel for holding the program break."""
    return not r[INODE] and r[PATH] in ("", BRK_NAME)


def _touches(a, b) -> bool:
    return a[END] == b[START]


def _span_of(rows: list, first: int, size: int, perms: tuple[str, ...], anon=_anon) -> range | None:
    """The regions from ``first`` on that make up exactly ``size`` bytes, each touching
    the last, ``anon`` and of ``perms``, with no such region touching either end;
    None when there are none."""
    if first and _touches(rows[first - 1], rows[first]):
        before = rows[first - 1]
        if anon(before) and before[PERMS] in perms:
            return None  # merged with something below: the start is not the range's
    end = rows[first][START] + size
    k = first
    while True:
        r = rows[k]
        if not anon(r) or r[PERMS] not in perms or r[END] > end:
            return None
        if r[END] == end:
            break
        if k + 1 >= len(rows) or not _touches(r, rows[k + 1]):
            return None
        k += 1
    if k + 1 < len(rows) and _touches(rows[k], rows[k + 1]):
        after = rows[k + 1]
        if anon(after) and after[PERMS] in perms:
            return None
    return range(first, k + 1)


def label_code_range(rows: list, labels: dict[int, tuple[str, str]]) -> None:
    """V8's code range: 512 MiB of rwx (and no-access) anonymous memory on a 256 KiB
    boundary, starting rwx (the kernel's ``[heap]`` where it holds the program break)."""
    for i, r in enumerate(rows):
        if r[PERMS] != "rwxp" or r[START] % CODE_PAGE or not _anon_or_brk(r) or i in labels:
            continue
        span = _span_of(rows, i, CODE_RANGE_SIZE, _CODE_PERMS, _anon_or_brk)
        if span is None or any(k in labels for k in span):
            continue
        for k in span:
            code = rows[k][PERMS] == "rwxp"
            labels[k] = (kinds.JIT if code else kinds.RESERVED, CODE_RANGE)
        return  # one a process (V8's process-wide code range)


def label_trusted_range(rows: list, labels: dict[int, tuple[str, str]]) -> None:
    """V8's trusted range: 1 GiB at a 4 GiB boundary, no access but for the pages
    committed in it (at least one)."""
    for i, r in enumerate(rows):
        if r[START] % TRUSTED_ALIGNMENT or i in labels or not _anon(r):
            continue
        span = _span_of(rows, i, TRUSTED_RANGE_SIZE, _TRUSTED_PERMS)
        if span is None or any(k in labels for k in span):
            continue
        if all(rows[k][PERMS] == _NO_ACCESS for k in span):
            continue  # nothing committed: nothing tells it from any other reserve
        for k in span:
            committed = rows[k][PERMS] != _NO_ACCESS
            labels[k] = (kinds.ANON if committed else kinds.RESERVED, TRUSTED_RANGE)
        return  # one a process


def label_pointer_tables(rows: list, labels: dict[int, tuple[str, str]]) -> None:
    """V8's pointer tables: a read-only 64 KiB segment on a 64 KiB boundary, then the
    run of read-write and no-access regions touching it, one of the tables' sizes in
    all (a run that goes on past a table's end merged with a neighbour: left)."""
    for i, r in enumerate(rows):
        if (
            r[PERMS] != "r--p"
            or r[START] % TABLE_SEGMENT
            or r[END] - r[START] != TABLE_SEGMENT
            or not _anon(r)
            or i in labels
        ):
            continue
        last = i
        while last + 1 < len(rows) and _touches(rows[last], rows[last + 1]):
            nxt = rows[last + 1]
            if not _anon(nxt) or nxt[PERMS] not in _TABLE_PERMS:
                break
            last += 1
        span = range(i, last + 1)
        if rows[last][END] - r[START] not in TABLE_SIZES or any(k in labels for k in span):
            continue
        for k in span:
            committed = rows[k][PERMS] != _NO_ACCESS
            labels[k] = (kinds.ANON if committed else kinds.RESERVED, POINTER_TABLES)
