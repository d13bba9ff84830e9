"""Field names for machine-readable output: smaps keys in snake_case, values in bytes."""

from __future__ import annotations

import re
from operator import attrgetter

from vmtop.model.column_fields import FIGURES
from vmtop.model.region import Region, Snapshot
from vmtop.model.sysv import SYSV_PREFIX
from vmtop.procfs.smaps_blocks import region_block

# Names whose capitals don't split cleanly by rule.
_SPECIAL = {
    "THPeligible": "thp_eligible",
    "MMUPageSize": "mmu_page_size",
    "KSM": "ksm",
    "VmFlags": "vm_flags",
}
_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_cache: dict[str, str] = {}


def snake_case(name: str) -> str:
    """`Shared_Clean` -> shared_clean, `KernelPageSize` -> kernel_page_size."""
    cached = _cache.get(name)
    if cached is None:
        cached = _SPECIAL.get(name) or _BOUNDARY.sub("_", name).replace("__", "_").lower()
        _cache[name] = cached
    return cached


def hex_address(value: int) -> str:
    return f"0x{value:x}"


def region_record(
    snapshot: Snapshot, region: Region, sections: list[str] | None = None, sysv=None
) -> dict:
    """One region as a flat dict: maps fields, classification, ELF section names (when
    given), a SysV segment's figures (``sysv``: /proc/sysvipc/shm by shmid), every
    smaps field."""
    record: dict = {
        "start": hex_address(region.start),
        "end": hex_address(region.end),
        "size": region.end - region.start,
        "perms": region.perms,
        "offset": region.offset,
        "dev": region.dev,
        "inode": region.inode,
        "path": region.path,
        "kind": region.kind,
        "object": region.object,
    }
    if sections is not None:
        record["sections"] = sections
    if region.tid is not None:
        record["tid"] = region.tid
    record.update(sysv_fields(region, sysv))
    record.update(smaps_record_part(snapshot, region))
    return record


def sysv_table(procfs, pid: int, regions) -> dict:
    """/proc/sysvipc/shm by shmid when a region is a SysV segment (else not read)."""
    if procfs is None or not any(r.path.startswith(SYSV_PREFIX) for r in regions):
        return {}
    from vmtop.procfs.facts import read_sysv_table

    return read_sysv_table(procfs, pid)


def sysv_fields(region: Region, table) -> dict:
    """A SysV segment's shmid and key (from its maps line: the inode is the shmid, the
    name ``/SYSV%08x`` the key) and, where /proc/sysvipc/shm lists it, its creator,
    how many attach it, and whether it is marked for removal (IPC_RMID)."""
    if not region.path.startswith(SYSV_PREFIX):
        return {}
    out: dict = {"sysv_shmid": region.inode}
    key = region.path[len(SYSV_PREFIX) :].split(" ", 1)[0]
    if key:
        out["sysv_key"] = "0x" + key.lower()
    segment = (table or {}).get(region.inode)
    if segment is not None:
        out["sysv_creator_pid"] = segment.cpid
        out["sysv_attached"] = segment.nattch
        out["sysv_removed"] = segment.marked_for_removal
    return out


# smaps field text (a block without its header line) -> its snake_case fields. Regions
# with the same size and figures share one text: parse and rename it once.
_PARTS: dict[bytes, dict] = {}


# The smaps fields a Region holds itself, named as smaps_record_part names them: all a
# snapshot without its smaps text knows, such as one rebuilt from a recording.
RESIDENT_FIELDS = FIGURES
_resident_figures = attrgetter(*RESIDENT_FIELDS)
# A region's resident figures -> those that are known, by name. Many regions share
# their figures (all zero, say): one dict each, so the JSON writer serialises it once.
_RESIDENT_PARTS: dict[tuple, dict] = {}


def smaps_record_part(snapshot: Snapshot, region: Region) -> dict:
    """Every smaps field of a region under its snake_case name; do not modify it.

    Without the smaps text (a replayed recording keeps only the figures of a Region, a
    huge map does not keep its text) those figures alone, where known: a figure that
    was not read is left out, never 0, and so are all of them when smaps was not read."""
    block = region_block(snapshot, region)
    if block is None:
        return resident_record_part(region) if snapshot.has_smaps else {}
    body = block[block.find(b"\n") + 1 :]
    part = _PARTS.get(body)
    if part is None:
        from vmtop.procfs.smaps_blocks import parse_smaps_fields

        fields = parse_smaps_fields(body)
        flags = fields.pop("VmFlags", None)
        part = {snake_case(key): value for key, value in fields.items()}
        if flags is not None:
            part["vm_flags"] = str(flags).split()
        if len(_PARTS) > 4000:
            _PARTS.clear()
        _PARTS[body] = part
    return part


def resident_record_part(region: Region) -> dict:
    """The resident figures the region holds, under their smaps names, the unknown
    (None) ones left out; do not modify it."""
    figures = _resident_figures(region)
    part = _RESIDENT_PARTS.get(figures)
    if part is None:
        part = {
            name: value
            for name, value in zip(RESIDENT_FIELDS, figures, strict=True)
            if value is not None
        }
        if len(_RESIDENT_PARTS) > 4000:
            _RESIDENT_PARTS.clear()
        _RESIDENT_PARTS[figures] = part
    return part


def section_names(snapshot: Snapshot, procfs, cache=None) -> list[list[str]]:
    """The ELF section names of each region of the snapshot ([] outside ELF objects).

    Only regions of ELF objects are looked at, so no data file is opened; each object
    is parsed once (``vmtop.procfs.elf_files.ElfCache``).
    """
    from vmtop.model.elf import region_sections
    from vmtop.procfs.elf_files import ProcessElfFiles

    elf_files = ProcessElfFiles(procfs, cache)
    names: list[list[str]] = []
    for region in snapshot.regions:
        if procfs is None or not region.object:
            names.append([])
            continue
        sections, _reason = region_sections(snapshot, region, elf_files)
        names.append([s.name for s in sections])
    return names


def live_procfs_for(snapshot: Snapshot, procfs=None):
    """The ProcFS to open the snapshot's files through: ``procfs`` when given, else
    this machine's /proc if the process the snapshot was taken of still runs there
    (same PID and start time), else None (a snapshot of a copied tree)."""
    if procfs is not None:
        return procfs
    from vmtop.procfs.errors import ProcError
    from vmtop.procfs.reader import ProcFS

    live = ProcFS()
    try:
        stat = live.read_stat(snapshot.pid)
    except ProcError:
        return None
    if snapshot.info.start_time and stat.start_time == snapshot.info.start_time:
        return live
    return None


def totals_record(snapshot: Snapshot) -> dict:
    return totals_fields(snapshot.totals, snapshot.status)


def totals_fields(totals, status: dict) -> dict:
    """The totals, top's SHR (worked out from two of them: kept for people who look for
    it by that name), and the memory in hugetlb pages (status: HugetlbPages), which is
    in no RSS: a database on huge pages seemed to use none of its shared buffers."""
    hugetlb = status.get("HugetlbPages")
    return {
        **totals._asdict(),
        "shr": totals.shr,
        "hugetlb": hugetlb if isinstance(hugetlb, int) else None,
    }
