"""Field names for machine-readable output: smaps keys in snake_case, values in bytes."""

from __future__ import annotations

import re

from vmtop.model.region import Region, Snapshot

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


def region_record(snapshot: Snapshot, region: Region) -> dict:
    """One region as a flat dict: maps fields, classification, every smaps field."""
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
    if region.tid is not None:
        record["tid"] = region.tid
    fields = snapshot.smaps_fields(region)
    flags = fields.pop("VmFlags", None)
    for key, value in fields.items():
        record[snake_case(key)] = value
    if flags is not None:
        record["vm_flags"] = str(flags).split()
    return record


def totals_record(snapshot: Snapshot) -> dict:
    return {key: value for key, value in snapshot.totals._asdict().items()}
