"""Which pages of a region are resident, from /proc/PID/pagemap.

pagemap holds one little-endian 64-bit entry per virtual page (kernel
Documentation/admin-guide/mm/pagemap.rst):

- bit 63: page present in RAM
- bit 62: page swapped
- bit 61: page is a file page or shared anonymous
- bit 58: a guard region's page (MADV_GUARD_INSTALL, Linux 6.13+; this bit since 6.14):
  touching it raises SIGSEGV. Its entry is a marker of the swap type, so bit 62 is set
  too: without bit 58 every guard page would read as swapped out
- bit 56: page exclusively mapped (by this process only)
- bits 0-54: the page frame number, zero unless the reader has CAP_SYS_ADMIN (unused)

Only the region's own range is read (``os.pread`` at ``start / page_size * 8``), and only
while the region detail screen asks for it. A strip of cells summarises the pages,
bucketed when the region has more pages than the strip has cells.
"""

from __future__ import annotations

import os
import struct
from typing import NamedTuple

from vmtop.procfs.errors import ProcError
from vmtop.procfs.reader import ProcFS, UnsafeFile, open_regular

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
ENTRY_SIZE = 8

PRESENT = 1 << 63
SWAPPED = 1 << 62
FILE_SHARED = 1 << 61
GUARD_REGION = 1 << 58
EXCLUSIVE = 1 << 56

# What one page (or one cell of the strip) is, most telling first.
NOT_PRESENT = "not_present"
SWAP = "swapped"
FILE = "file_shared"
EXCL = "exclusive"
RESIDENT = "present"  # present, anonymous, shared with another process (e.g. after fork)
GUARD = "guard"  # a guard region's page: no memory, a fault on access

STATES = (EXCL, RESIDENT, FILE, SWAP, GUARD, NOT_PRESENT)


class PageCounts(NamedTuple):
    """How many pages of a range are in each state. Present pages are also counted in
    ``file_shared`` and ``exclusive`` when those bits are set (the kernel's flags overlap).
    """

    pages: int
    present: int
    swapped: int
    file_shared: int
    exclusive: int
    guard: int = 0  # guard region pages (MADV_GUARD_INSTALL): neither present nor swapped

    @property
    def not_present(self) -> int:
        return self.pages - self.present - self.swapped - self.guard


def parse_entries(data: bytes) -> list[int]:
    """The 64-bit entries of a pagemap read (a trailing partial entry is dropped)."""
    count = len(data) // ENTRY_SIZE
    return list(struct.unpack_from(f"<{count}Q", data)) if count else []


def page_state(entry: int) -> str:
    """The single state a strip shows for one page."""
    if entry & PRESENT:
        if entry & FILE_SHARED:
            return FILE
        if entry & EXCLUSIVE:
            return EXCL
        return RESIDENT
    if entry & GUARD_REGION:
        return GUARD  # (its marker sets the swap bit too)
    if entry & SWAPPED:
        return SWAP
    return NOT_PRESENT


def count_pages(entries: list[int]) -> PageCounts:
    present = swapped = file_shared = exclusive = guard = 0
    for entry in entries:
        if entry & PRESENT:
            present += 1
            if entry & FILE_SHARED:
                file_shared += 1
            if entry & EXCLUSIVE:
                exclusive += 1
        elif entry & GUARD_REGION:
            guard += 1
        elif entry & SWAPPED:
            swapped += 1
            if entry & FILE_SHARED:
                file_shared += 1
    return PageCounts(len(entries), present, swapped, file_shared, exclusive, guard)


def tally_states(entries: list[int]) -> dict[str, int]:
    """How many pages are in each single strip state (``page_state``); sums to the total."""
    tally = dict.fromkeys(STATES, 0)
    for entry in entries:
        tally[page_state(entry)] += 1
    return tally


class StripCell(NamedTuple):
    """One cell of the page strip: the pages it stands for and what most of them are."""

    first_page: int
    pages: int
    state: str  # the state of most resident pages, else swapped, else guard, else absent
    present: int  # how many of its pages are present (for shading)


def bucket(entries: list[int], cells: int) -> list[StripCell]:
    """Summarise the pages into at most ``cells`` cells of (nearly) equal page counts.

    A cell shows a resident state when any of its pages is resident, so a big region
    with a few touched pages still shows them; ``present`` tells how full it is.
    """
    total = len(entries)
    if total == 0 or cells <= 0:
        return []
    cells = min(cells, total)
    strip = []
    for i in range(cells):
        lo = i * total // cells
        hi = (i + 1) * total // cells
        tally = dict.fromkeys(STATES, 0)
        for entry in entries[lo:hi]:
            tally[page_state(entry)] += 1
        present = tally[EXCL] + tally[RESIDENT] + tally[FILE]
        if present:
            state = max((EXCL, RESIDENT, FILE), key=lambda s: tally[s])
        elif tally[SWAP]:
            state = SWAP
        elif tally[GUARD]:
            state = GUARD
        else:
            state = NOT_PRESENT
        strip.append(StripCell(lo, hi - lo, state, present))
    return strip


# -- reading ---------------------------------------------------------------------------


class PagemapUnavailable(Exception):
    """This tree has no pagemap (a copied fixture), or the kernel refused it."""


def read_pagemap(
    procfs: ProcFS, pid: int, start: int, end: int, *, page_size: int = PAGE_SIZE
) -> list[int]:
    """The entries for pages ``start``..``end`` (bytes, page aligned) of process ``pid``.

    Raises PagemapUnavailable when there is no pagemap to read, ProcError when the
    process is gone or may not be read.
    """
    path = procfs.path(pid, "pagemap")
    first = start // page_size
    count = max(0, (end - start) // page_size)
    try:
        fd = open_regular(path, inside=procfs.confine_to)
    except UnsafeFile as e:
        raise PagemapUnavailable(f"{path}: {e.reason}") from None
    except FileNotFoundError:
        if procfs.exists(pid) and not procfs.is_live:
            raise PagemapUnavailable("this /proc tree has no pagemap") from None
        raise _translate(procfs, pid) from None
    except PermissionError:
        raise _translate(procfs, pid, denied=True) from None
    try:
        chunks = []
        want = count * ENTRY_SIZE
        offset = first * ENTRY_SIZE
        while want > 0:
            # Big regions in pieces: the kernel fills at most a few MiB per read.
            chunk = os.pread(fd, min(want, 1 << 20), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
            want -= len(chunk)
    except OSError as e:
        raise ProcError(pid, f"cannot read the pagemap of process {pid}: {e.strerror}") from None
    finally:
        os.close(fd)
    return parse_entries(b"".join(chunks))


# Above this many pages a region's pagemap is sampled per strip cell, not read whole
# (a 1 TiB PROT_NONE reservation would otherwise mean 2 GiB of pagemap).
MAX_PAGES_READ = 1 << 19


class PageStrip(NamedTuple):
    """What the region detail's page strip shows of a region."""

    how: str  # "full": every page read; "sampled": a window of pages per cell
    entries: list[int]  # the pagemap entries read
    cells: list[StripCell]
    pages: int  # pages in the region


def read_page_strip(procfs: ProcFS, pid: int, start: int, end: int, cells: int) -> PageStrip:
    """The pages of ``start``..``end`` in at most ``cells`` cells: every page's entry
    when the region has up to MAX_PAGES_READ pages, else a window at the start of each
    cell's share (MAX_PAGES_READ entries in all), so that a cell stands for its pages.
    Raises as read_pagemap does."""
    pages = (end - start) // PAGE_SIZE
    if pages <= MAX_PAGES_READ:
        entries = read_pagemap(procfs, pid, start, end)
        return PageStrip("full", entries, bucket(entries, cells), len(entries))
    per_cell = max(1, MAX_PAGES_READ // cells)
    strip = []
    sampled: list[int] = []
    for i in range(cells):
        lo = i * pages // cells
        hi = (i + 1) * pages // cells
        at = start + lo * PAGE_SIZE
        entries = read_pagemap(procfs, pid, at, at + min(hi - lo, per_cell) * PAGE_SIZE)
        sampled.extend(entries)
        cell = bucket(entries, 1)
        if cell:
            strip.append(cell[0]._replace(first_page=lo, pages=hi - lo))
    return PageStrip("sampled", sampled, strip, pages)


def guard_pages(procfs: ProcFS, pid: int, addresses) -> frozenset[int]:
    """Those of ``addresses`` that are on a guard region's page (MADV_GUARD_INSTALL):
    mapped, but touching them raises SIGSEGV. One entry read for each; none where
    pagemap cannot be read (a copied tree, a refusal: the map is said all the same)."""
    found = set()
    for address in addresses:
        page = address - address % PAGE_SIZE
        try:
            entries = read_pagemap(procfs, pid, page, page + PAGE_SIZE)
        except (PagemapUnavailable, ProcError, OSError):
            # (ESRCH: a leader that exited while its threads run has no pagemap)
            return frozenset()
        if entries and page_state(entries[0]) == GUARD:
            found.add(address)
    return frozenset(found)


def _translate(procfs: ProcFS, pid: int, *, denied: bool = False) -> ProcError:
    from vmtop.procfs.errors import AccessDenied, ProcessGone

    if denied:
        return AccessDenied(pid, procfs.owner(pid), "pagemap")
    return ProcessGone(pid)
