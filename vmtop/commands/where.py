"""`vmtop where PID ADDRESS...`: one line per address, or a JSON document with --json.

Every name here comes from the target: region paths, and the section and symbol names
inside the ELF files it loads. Text lines show each through ``display_name``; JSON keeps
the exact value (surrogate escapes, ``ensure_ascii``), as everywhere in vmtop.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from vmtop.model.names import display_name
from vmtop.model.region import Region
from vmtop.model.where import WhereResult, hex_instead, on_guard_page, where
from vmtop.output.demangle import demangle
from vmtop.procfs.elf_files import ProcessElfFiles
from vmtop.procfs.pagemap import guard_pages


def cmd_where(procfs, args: argparse.Namespace, out: TextIO | None = None) -> int:
    from vmtop.procfs.snapshot import take_snapshot

    out = out if out is not None else sys.stdout
    # maps is enough (no resident figures needed) and far cheaper than smaps. A live
    # one is read in pieces into columns (a Region made only for the rows looked at):
    # a million regions held as Regions and their whole text were 600 MB. A copied
    # tree's is read whole, for its check of malformed lines.
    snapshot = take_snapshot(procfs, args.pid, smaps=False, keep_text=not procfs.is_live)
    elf_files = ProcessElfFiles(procfs)
    results = [where(snapshot, address, elf_files) for address in args.addresses]
    # A guard region's page is mapped, with the region's permissions: only pagemap says.
    guards = guard_pages(procfs, args.pid, [r.address for r in results if r.mapped])
    results = [on_guard_page(r) if r.address in guards else r for r in results]
    for address, result in zip(args.addresses, results, strict=True):
        hint = decimal_hint(snapshot, getattr(address, "text", ""), result)
        if hint:
            print(f"vmtop: {hint}", file=sys.stderr)
    if getattr(args, "json", False):
        json.dump(where_document(results, snapshot.info), out, ensure_ascii=True)
        out.write("\n")
    else:
        for line in format_where_lines(results):
            out.write(line + "\n")
    out.flush()
    return 0


def decimal_hint(snapshot, text: str, result: WhereResult) -> str | None:
    """What to say when digits alone, read as decimal, are not mapped but would be as
    hex (``model.where.hex_instead``)."""
    as_hex = hex_instead(snapshot, text)
    if as_hex is None:
        return None
    return (
        f"{text} was read as decimal ({result.address:#x}), which is not mapped; as hex, "
        f"{as_hex:#x} is mapped: write 0x{text} for it"
    )


WHERE_FORMAT = "vmtop-where"
WHERE_FORMAT_VERSION = 1


def where_document(results: list[WhereResult], info) -> dict:
    """What `where --json` prints: the format's name and version, the process (PID and
    start time: which process, as in `snapshot --format json`), then the results."""
    return {
        "format": WHERE_FORMAT,
        "format_version": WHERE_FORMAT_VERSION,
        "pid": info.pid,
        "start_time": info.start_time,
        "results": [where_record(r) for r in results],
    }


def _hex(value: int) -> str:
    return f"0x{value:x}"


def _region_record(region: Region | None) -> dict | None:
    if region is None:
        return None
    record = {
        "start": _hex(region.start),
        "end": _hex(region.end),
        "perms": region.perms,
        "path": region.path,
        "kind": region.kind,
    }
    if region.tid is not None:
        record["tid"] = region.tid
    return record


def where_record(result: WhereResult) -> dict:
    """One address as a JSON object (addresses as 0x strings, as everywhere in vmtop)."""
    record = {
        "address": _hex(result.address),
        "mapped": result.mapped,
        "region": _region_record(result.region),
        "kind": result.kind,
        "object": result.object,
        "section": result.section,
        "symbol": result.symbol,
        "symbol_offset": result.symbol_offset,
    }
    # Left out where they do not apply, as the README's conventions say (not null).
    if result.mapped and result.region is not None:
        # How far into its region, and where in the file (pwndbg's xinfo): the offset
        # to give a hexdump or a debugger of the file, for a mapping of one.
        record["region_offset"] = _hex(result.address - result.region.start)
        if result.region.inode:
            record["file_offset"] = _hex(_file_offset(result))
    if result.region is not None and result.region.tid is not None:
        record["tid"] = result.region.tid
    if result.reason is not None:
        record["reason"] = result.reason
    if result.symbol is not None and demangle(result.symbol) != result.symbol:
        record["symbol_demangled"] = demangle(result.symbol)  # C++: as gdb shows it
    if not result.mapped:
        record["below"] = _region_record(result.below)
        record["above"] = _region_record(result.above)
    return record


def _file_offset(result: WhereResult) -> int:
    return result.region.offset + (result.address - result.region.start)


def _describe_region(region: Region | None, *, with_kind: bool = True) -> str:
    if region is None:
        return "(none)"
    name = display_name(region.path) if region.path else "[anon]"
    text = f"{region.start:x}-{region.end:x} {region.perms} {name}"
    return f"{text} ({display_name(region.kind)})" if with_kind else text


def format_where_lines(results: list[WhereResult]) -> list[str]:
    """Human output: one line per address, columns aligned across lines."""
    rows: list[list[str]] = []
    tails: list[str] = []
    for r in results:
        address = _hex(r.address)
        if not r.mapped:
            rows.append([address, "not mapped", "", "", ""])
            tails.append(f"below: {_describe_region(r.below)}; above: {_describe_region(r.above)}")
            continue
        kind = r.kind or ""
        if r.region is not None and r.region.tid is not None:
            kind += f" tid={r.region.tid}"
        symbol = ""
        if r.symbol is not None:
            symbol = f"{display_name(demangle(r.symbol))}+0x{r.symbol_offset or 0:x}"
        obj = display_name(r.object) if r.object else "-"
        tail = "in " + _describe_region(r.region, with_kind=False)
        if r.region is not None:
            tail += f" +{r.address - r.region.start:#x}"
            if r.region.inode:
                tail += f" (file offset {_file_offset(r):#x})"
        if r.reason:
            tail += f"  ({display_name(r.reason)})"
        section = display_name(r.section) if r.section else "-"
        rows.append([address, display_name(kind), section, symbol or "-", obj])
        tails.append(tail)
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(5)]
    lines = []
    for row, tail in zip(rows, tails, strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True) if width]
        lines.append("  ".join(cells + [tail]))
    return lines
