"""What is at an address of a process: region, kind, ELF object, section, symbol+offset.

What pwndbg's ``xinfo`` says inside a debugger, from /proc and the ELF files alone.
The ``kind`` answered is the kind of the address, which can be finer than its
region's: an uninitialised global in the last file-backed page of an object is ``bss``
although its region, which also holds .data, is ``data``.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.address_text import hex_reading, parse_address_text
from vmtop.model.elf import NOT_ELF, ElfFiles, loaded_object, region_containing
from vmtop.model.file_facts import NOT_FILE_BACKED
from vmtop.model.region import Region, Snapshot

NOT_MAPPED = "not mapped"
NOT_IN_A_SECTION = "not in any section (ELF headers or padding)"
GUARD_PAGE = "a guard page (MADV_GUARD_INSTALL): touching it raises SIGSEGV"

# Regions whose file would not be an ELF object anyway: no file to open for them.
_NO_ELF_KINDS = frozenset(
    (kinds.SHM, kinds.HEAP, kinds.STACK, kinds.THREAD_STACK, kinds.DEVICE, kinds.ARENA)
)


class WhereResult(NamedTuple):
    address: int
    mapped: bool
    region: Region | None
    kind: str | None
    object: str | None
    section: str | None
    symbol: str | None
    symbol_offset: int | None
    below: Region | None  # for an unmapped address: the nearest region below it
    above: Region | None  # ... and above it
    reason: str | None  # why section or symbol is missing, when that tells something


def neighbours(snapshot: Snapshot, address: int) -> tuple[Region | None, Region | None]:
    """The nearest regions ending at or below ``address`` and starting above it."""
    regions = snapshot.regions
    i = bisect.bisect_right(regions, address, key=_start)
    below = regions[i - 1] if i > 0 else None
    if below is not None and below.contains(address):
        below = regions[i - 2] if i > 1 else None
    above = regions[i] if i < len(regions) else None
    return below, above


def _start(region: Region) -> int:
    return region.start


def where(snapshot: Snapshot, address: int, elf_files: ElfFiles) -> WhereResult:
    """Describe one address of the process the snapshot was taken of; its ELF files
    come from ``elf_files`` (``elf.NO_FILES`` when there is no live process)."""
    region = region_containing(snapshot, address)
    if region is None:
        below, above = neighbours(snapshot, address)
        return WhereResult(
            address, False, None, None, None, None, None, None, below, above, NOT_MAPPED
        )
    kind = region.kind
    result = WhereResult(
        address, True, region, kind, region.object, None, None, None, None, None, None
    )
    if region.kind in _NO_ELF_KINDS:
        return result
    obj = loaded_object(snapshot, region, elf_files)
    if obj.elf is None or obj.reason is not None:
        if obj.reason == NOT_ELF:
            # An executable mapping of a file that is no program: no object to name.
            return result._replace(object=None, reason=NOT_ELF)
        reason = None if obj.reason == NOT_FILE_BACKED else obj.reason
        return result._replace(reason=reason)
    elf = obj.elf
    vaddr = address - obj.bias
    section = elf.section_at(vaddr)
    if section is not None and region.kind != kinds.VDSO:  # the vDSO's .text is the vDSO
        kind = section.kind
        if kind in (kinds.DATA, kinds.BSS) and "w" not in region.perms[:3]:
            kind = kinds.RELRO  # writable at link time, read-only once relocated
    found = elf.symbol_at(vaddr)
    reason = None
    if found is None:
        reason = elf.no_symbol_reason()
    if section is None:
        reason = NOT_IN_A_SECTION if reason is None else f"{NOT_IN_A_SECTION}; {reason}"
    return result._replace(
        kind=kind,
        object=region.object or obj.path,
        section=section.name if section is not None else None,
        symbol=found[0] if found else None,
        symbol_offset=found[1] if found else None,
        reason=reason,
    )


def on_guard_page(result: WhereResult) -> WhereResult:
    """``result`` for an address whose page pagemap says is a guard region's: mapped,
    its permissions say nothing of it, and an access faults all the same."""
    reason = GUARD_PAGE if result.reason is None else f"{GUARD_PAGE}; {result.reason}"
    return result._replace(reason=reason)


def hex_instead(snapshot: Snapshot, text: str) -> int | None:
    """Digits alone are read as decimal; when that address is not mapped and the same
    digits as hex are (``401000`` typed for a non-PIE program's text), the hex address,
    for saying so. None otherwise."""
    value, as_hex = parse_address_text(text), hex_reading(text)
    if value is None or as_hex is None or snapshot.region_at(value) is not None:
        return None
    return as_hex if snapshot.region_at(as_hex) is not None else None
