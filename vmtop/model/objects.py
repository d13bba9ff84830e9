"""Per-object text/data/bss totals, the numbers binutils ``size`` prints.

``size`` (Berkeley format, its default) sums the allocated sections of a file: code or
read-only sections (so .rodata, .eh_frame, .dynsym, notes too) are text, writable
sections with contents (.data, .got, .dynamic, .init_array) are data, and writable
sections without contents (.bss, .tbss) are bss. These are the sizes in the file, not
what is resident; see ``ElfObject.sizes`` for where they are computed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import ne
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.column_steps import where_value
from vmtop.model.columns import RegionColumns
from vmtop.model.elf import ElfFiles
from vmtop.model.region import Region, Snapshot


class ObjectSize(NamedTuple):
    path: str
    text: int | None  # None (all three) when the file could not be read: see reason
    data: int | None
    bss: int | None
    reason: str | None = None


def object_sizes(snapshot: Snapshot, elf_files: ElfFiles) -> list[ObjectSize]:
    """One entry per ELF object mapped in the process (the program, each library),
    in address order. Files that cannot be read are listed with a reason; files that
    turn out not to be ELF are left out."""
    seen: set[tuple[str, int, str]] = set()
    out: list[ObjectSize] = []
    for region in regions_of_objects(snapshot.regions):
        # (Shared memory and devices are no ELF files: a SysV segment, which only root
        # can open through map_files, was "file gone" to anyone else.)
        if not region.is_file_backed or region.kind in (kinds.DEVICE, kinds.SHM):
            continue
        key = (region.dev, region.inode, region.path)
        if key in seen:
            continue
        seen.add(key)
        elf, reason = elf_files.lookup(snapshot.pid, region)
        if elf is not None:
            text, data, bss = elf.sizes
            out.append(ObjectSize(region.path, text, data, bss))
        elif reason is not None and not reason.startswith("not an ELF"):
            out.append(ObjectSize(region.path, None, None, None, reason))
    return out


def regions_of_objects(regions: Sequence[Region]) -> Iterator[Region]:
    """The regions that belong to an object (``object`` set: the program, a library),
    in address order. Of columns, those are found in C and only they are made into
    Regions (a map of a million regions is mostly anonymous ones)."""
    if not isinstance(regions, RegionColumns):
        return (r for r in regions if r.object)
    table = regions.distinct("object")
    codes = regions.codes("object")
    if None not in table:
        return iter(regions)
    return map(regions.__getitem__, where_value(ne, codes, table.index(None)))
