"""Is the anonymous region right after an ELF object's data really its .bss? And is the
read-only region right below it RELRO? Asked of the object's program headers.

The loader maps an object's writable PT_LOAD segment from the file up to the end of its
file-backed pages, then maps anonymous memory for the rest of ``p_memsz``: that is the
bss region, ``page_up(vaddr + memsz) - page_up(vaddr + filesz)`` bytes long, right
after the data. An anonymous ``rw-p`` region there is not necessarily that: a big
``malloc`` or a thread's arena can be placed right after an object that has no bss
pages at all, and ``classify_objects`` alone (no file I/O) cannot tell. The program
headers can: this says, from their bytes, how many bytes of bss the object has after
its data. ``vmtop.procfs.bss_sizes`` reads them (a few hundred bytes, through the safe
routes of ``vmtop.procfs.mapped_file``).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

PAGE = 4096
# The widest unmapped hole between a RELRO segment and the data segment after it: lld
# puts the data's first page a page above where RELRO's ends (a max-page-size at most).
RELRO_HOLE_MAX = 64 * 1024
_PT_LOAD = 1
_PT_GNU_RELRO = 0x6474E552
_PF_W = 2


def _page_up(value: int) -> int:
    return -(-value // PAGE) * PAGE


class ProgramHeader(NamedTuple):
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


def bss_pages_after_data(headers: bytes) -> int | None:
    """Bytes of anonymous bss the loader maps after the writable segment's file pages,
    from the start of an ELF file (ELF header and program headers); None if it is not
    ELF or the program headers are not in ``headers``."""
    segments = program_headers(headers)
    return None if segments is None else bss_after(segments)


def bss_after(segments: list[ProgramHeader]) -> int:
    """Bytes of anonymous bss after the highest writable segment's file pages."""
    best: tuple[int, int] | None = None  # (vaddr, bss bytes) of the highest writable segment
    for s in segments:
        if s.type != _PT_LOAD or not s.flags & _PF_W:
            continue
        bss = max(0, _page_up(s.vaddr + s.memsz) - _page_up(s.vaddr + s.filesz))
        if best is None or s.vaddr > best[0]:
            best = (s.vaddr, bss)
    return best[1] if best is not None else 0


def in_relro(
    segments: list[ProgramHeader], below: tuple[int, int], data: tuple[int, int]
) -> bool | None:
    """Whether the read-only region ``below`` (start, end, as mapped) lies in the part
    of the object the loader makes read-only once relocated: PT_GNU_RELRO, from its
    start to its end each rounded down to a page, as glibc's _dl_protect_relro does.
    ``data`` (start, file offset) is a region of its writable segment, which gives the
    load bias. False where it has no RELRO (Go's linker) or the region is not in it (a
    static binary with no loader, whose read-only data shares the data's first file
    page); None where the headers do not place ``data``."""
    relro = [s for s in segments if s.type == _PT_GNU_RELRO]
    if not relro:
        return False
    start, offset = data
    # The writable segment mapped there: of two that share the file page (lld's RELRO
    # segment and the data's), the one that starts on it.
    holding = [
        s for s in segments
        if s.type == _PT_LOAD and s.flags & _PF_W
        and s.offset - s.offset % PAGE <= offset < s.offset + s.filesz
    ]  # fmt: skip
    if not holding:
        return None
    s = max(holding, key=lambda s: s.offset)
    first = s.offset - s.offset % PAGE
    bias = start - (s.vaddr - s.vaddr % PAGE + offset - first)
    lo = relro[0].vaddr - relro[0].vaddr % PAGE
    hi = relro[0].vaddr + relro[0].memsz
    hi -= hi % PAGE
    return lo < hi and lo <= below[0] - bias and below[1] - bias <= hi


def program_headers(headers: bytes) -> list[ProgramHeader] | None:
    """Each program header in ``headers`` (the start of an ELF file); None if it is not
    ELF or they are not all in ``headers``."""
    if len(headers) < 52 or headers[:4] != b"\x7fELF" or headers[4] not in (1, 2):
        return None
    elf64 = headers[4] == 2
    order = {1: "<", 2: ">"}.get(headers[5])
    if order is None:
        return None
    if elf64:
        if len(headers) < 64:
            return None
        phoff, phentsize, phnum = (
            struct.unpack_from(order + "Q", headers, 32)[0],
            *struct.unpack_from(order + "HH", headers, 54),
        )
        entry = struct.Struct(
            order + "IIQQQQQQ"
        )  # type, flags, offset, vaddr, paddr, filesz, memsz
    else:
        phoff, phentsize, phnum = (
            struct.unpack_from(order + "I", headers, 28)[0],
            *struct.unpack_from(order + "HH", headers, 42),
        )
        entry = struct.Struct(
            order + "IIIIIIII"
        )  # type, offset, vaddr, paddr, filesz, memsz, flags
    if phentsize < entry.size or phoff + phnum * phentsize > len(headers):
        return None
    out = []
    for i in range(phnum):
        fields = entry.unpack_from(headers, phoff + i * phentsize)
        if elf64:
            p_type, p_flags, offset, vaddr, _, filesz, memsz = fields[:7]
        else:
            p_type, offset, vaddr, _, filesz, memsz, p_flags = fields[:7]
        out.append(ProgramHeader(p_type, p_flags, offset, vaddr, filesz, memsz))
    return out
