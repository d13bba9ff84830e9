"""Pure parsers for /proc/PID/maps and /proc/PID/smaps: bytes in, Regions out.

No I/O here, so the parsers are fuzzed with hypothesis and fed recorded fixtures.

What the kernel prints (fs/proc/task_mmu.c, show_map_vma):
``start-end perms offset major:minor inode`` then, when the region has a name, spaces
up to a fixed column and the name. The name is the rest of the line, byte for byte: it
can hold spaces, a trailing space, ESC, CR and invalid UTF-8 (a newline is printed as
``\\012``). Only the padding before it is removed; the name itself is never stripped.

``smaps`` repeats each header followed by ``Key: value [kB]`` lines and ``VmFlags``.
Parsing all fields of every region costs more than the kernel's own read, so only the
resident figures the views use on every tick are parsed eagerly; the byte span of each
region's block is kept so the rest is parsed on demand (``parse_smaps_fields``).
"""

from __future__ import annotations

from vmtop.model.kinds import kind_from_name
from vmtop.model.region import Region


class ParseError(ValueError):
    """A line that is not a maps header."""


_HEX = frozenset(b"0123456789abcdefABCDEF")
_HEX_BYTES = bytes(sorted(_HEX))


def parse_maps_header(line: bytes) -> Region:
    """One maps line (without its newline) into a Region without smaps figures."""
    parts = line.split(b" ", 5)
    if len(parts) < 5:
        raise ParseError(f"not a maps line: {line[:80]!r}")
    rng, perms, offset, dev, inode = parts[0], parts[1], parts[2], parts[3], parts[4]
    name = parts[5].lstrip(b" ") if len(parts) == 6 else b""
    lo, sep, hi = rng.partition(b"-")
    if not sep or len(perms) != 4 or b":" not in dev:
        raise ParseError(f"not a maps line: {line[:80]!r}")
    if not (_all_hex(lo) and _all_hex(hi) and _all_hex(offset) and inode.isdigit()):
        raise ParseError(f"not a maps line: {line[:80]!r}")
    major, _, minor = dev.partition(b":")
    if not (_all_hex(major) and _all_hex(minor)):
        raise ParseError(f"not a maps line: {line[:80]!r}")
    start = int(lo, 16)
    end = int(hi, 16)
    if end < start:
        raise ParseError(f"region ends before it starts: {line[:80]!r}")
    path = name.decode("utf-8", "surrogateescape")
    inode_n = int(inode)
    perms_s = perms.decode("ascii", "replace")
    return Region(
        start,
        end,
        perms_s,
        int(offset, 16),
        dev.decode("ascii"),
        inode_n,
        path,
        kind=kind_from_name(path, perms_s, inode_n),
    )


def _all_hex(token: bytes) -> bool:
    # int(x, 16) alone would also accept "+1", "0x1f", " 1" and "1_0".
    # translate() deletes every hex digit in C: all hex when nothing is left.
    return bool(token) and not token.translate(None, _HEX_BYTES)


def parse_maps(data: bytes) -> list[Region]:
    """All regions of a maps file. Lines that are not maps lines are skipped."""
    regions = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            regions.append(parse_maps_header(line))
        except ParseError:
            continue
    return dedupe_regions(regions)


# The eager smaps fields, in the order the kernel prints them, with the Region field
# each one fills.
_EAGER = (
    (b"\nRss:", "rss"),
    (b"\nPss:", "pss"),
    (b"\nShared_Clean:", "shared_clean"),
    (b"\nShared_Dirty:", "shared_dirty"),
    (b"\nPrivate_Clean:", "private_clean"),
    (b"\nPrivate_Dirty:", "private_dirty"),
    (b"\nAnonymous:", "anonymous"),
    (b"\nSwap:", "swap"),
)
_EAGER_INDEX = {name: i for i, (_, name) in enumerate(_EAGER)}


def _is_header_start(data: bytes, pos: int) -> bool:
    return pos < len(data) and data[pos] in _HEX and not (65 <= data[pos] <= 90)


def parse_smaps(data: bytes) -> list[Region]:
    """All regions of an smaps file, with the eager resident figures in bytes.

    Each region's ``smaps_span`` is the (start, end) of its block in ``data``.
    Tolerates missing fields, unknown fields, missing VmFlags, garbage lines and the
    same region printed twice (torn reads): duplicates are removed.
    """
    regions: list[Region] = []
    find = data.find
    n = len(data)
    pos = 0
    # Lines per block, learnt from the first well-formed block. Every block of one read
    # has the same fields, so a block with another count holds something unusual
    # (a missing VmFlags, a torn read) and goes through the line-by-line path.
    expected_lines = -1
    while pos < n:
        if not _is_header_start(data, pos):
            # Not a header where one should be: resynchronise on the next header line.
            pos = _next_header(data, pos)
            continue
        vf = find(b"\nVmFlags:", pos)
        if vf < 0:
            regions.extend(_parse_smaps_lines(data, pos, n))
            break
        block_end = find(b"\n", vf + 1)
        block_end = n if block_end < 0 else block_end + 1
        lines = data.count(b"\n", pos, block_end)
        if expected_lines < 0:
            if _single_header(data, pos, block_end):
                expected_lines = lines
            else:
                regions.extend(_parse_smaps_lines(data, pos, block_end))
                pos = block_end
                continue
        if lines != expected_lines:
            regions.extend(_parse_smaps_lines(data, pos, block_end))
            pos = block_end
            continue
        region = _smaps_block(data, pos, block_end)
        if region is not None:
            regions.append(region)
        pos = block_end
    return dedupe_regions(regions)


def _next_header(data: bytes, pos: int) -> int:
    n = len(data)
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return n
        pos = nl + 1
        if _is_header_start(data, pos):
            return pos


def _single_header(data: bytes, start: int, end: int) -> bool:
    """True when only the first line of data[start:end] looks like a maps header."""
    pos = data.find(b"\n", start, end)
    while 0 <= pos < end - 1:
        if _is_header_start(data, pos + 1):
            return False
        pos = data.find(b"\n", pos + 1, end)
    return True


def _smaps_block(data: bytes, start: int, end: int) -> Region | None:
    """One region's block: header line plus field lines, eager fields parsed."""
    find = data.find
    nl = find(b"\n", start, end)
    if nl < 0:
        nl = end
    try:
        region = parse_maps_header(data[start:nl])
    except ParseError:
        return None
    values: list[int | None] = [None] * len(_EAGER)
    lo = nl
    for idx, (key, _) in enumerate(_EAGER):
        i = find(key, lo, end)
        if i < 0:
            i = find(key, nl, end)  # fields in another order on this kernel
            if i < 0:
                continue
        j = find(b"\n", i + 1, end)
        if j < 0:
            j = end
        raw = data[i + len(key) : j]
        if raw.endswith(b" kB"):
            raw = raw[:-3]
        try:
            values[idx] = int(raw) * 1024
        except ValueError:
            continue
        lo = j
    return region._replace(
        rss=values[0],
        pss=values[1],
        shared_clean=values[2],
        shared_dirty=values[3],
        private_clean=values[4],
        private_dirty=values[5],
        anonymous=values[6],
        swap=values[7],
        smaps_span=(start, end),
    )


def _parse_smaps_lines(data: bytes, start: int, end: int) -> list[Region]:
    """The careful path: split data[start:end] into blocks at every header line."""
    regions = []
    block_start = None
    pos = start
    while pos < end:
        nl = data.find(b"\n", pos, end)
        line_end = end if nl < 0 else nl
        if _is_header_start(data, pos):
            try:
                parse_maps_header(data[pos:line_end])
                is_header = True
            except ParseError:
                is_header = False
            if is_header:
                if block_start is not None:
                    region = _smaps_block(data, block_start, pos)
                    if region is not None:
                        regions.append(region)
                block_start = pos
        pos = line_end + 1
    if block_start is not None:
        region = _smaps_block(data, block_start, end)
        if region is not None:
            regions.append(region)
    return regions


def parse_smaps_fields(block: bytes) -> dict[str, int | str]:
    """Every field of one smaps block (the header line, if present, is skipped).

    ``kB`` values become bytes; other numeric values stay ints in their own unit
    (``THPeligible: 1``, ``ProtectionKey: 0``); anything else is kept as text.
    Unknown fields are kept under their own names.
    """
    fields: dict[str, int | str] = {}
    for line in block.split(b"\n"):
        key, sep, rest = line.partition(b":")
        if not sep or not key or not (65 <= key[0] <= 90) or b" " in key:
            continue
        name = key.decode("ascii", "replace")
        value = rest.strip()
        if name == "VmFlags":
            fields[name] = value.decode("ascii", "replace")
            continue
        if value.endswith(b" kB"):
            number = value[:-3].strip()
            if number.isdigit():
                fields[name] = int(number) * 1024
                continue
        if value.isdigit():
            fields[name] = int(value)
            continue
        fields[name] = value.decode("utf-8", "surrogateescape")
    return fields


def dedupe_regions(regions: list[Region]) -> list[Region]:
    """Sorted by start, with torn-read artefacts removed; newer prints win.

    When the process changes its mappings while maps/smaps is read, the kernel can
    print a region twice, or go back to an earlier address and print regions that
    overlap ones already printed. The print order is then a series of ascending runs,
    each newer than the one before. Where two runs disagree about an address range the
    newer one is kept; an older region keeps only the parts no newer region covers (its
    file offset moved with its start; its smaps figures are still those of the whole
    region as it was printed). Nothing else is dropped.
    """
    if not regions:
        return regions
    runs: list[list[Region]] = []
    run_start = 0
    prev_end = regions[0].end
    for i in range(1, len(regions)):
        region = regions[i]
        if region.start < prev_end:
            runs.append(regions[run_start:i])
            run_start = i
        prev_end = region.end
    if not runs:
        return regions  # the usual case: one ascending run, nothing to do
    runs.append(regions[run_start:])
    merged = runs[-1]
    for older in reversed(runs[:-1]):
        merged = _merge_runs(merged, older)
    return merged


def _merge_runs(newer: list[Region], older: list[Region]) -> list[Region]:
    """Both ascending without overlaps; the result too, with newer regions whole."""
    pieces: list[Region] = []
    j = 0
    n = len(newer)
    for region in older:
        while j < n and newer[j].end <= region.start:
            j += 1
        cursor = region.start
        k = j
        while k < n and newer[k].start < region.end:
            if newer[k].start > cursor:
                pieces.append(_piece(region, cursor, newer[k].start))
            cursor = max(cursor, newer[k].end)
            k += 1
        if cursor < region.end:
            pieces.append(_piece(region, cursor, region.end))
    if not pieces:
        return newer
    return sorted(newer + pieces, key=_start)


def _start(region: Region) -> int:
    return region.start


def _piece(region: Region, start: int, end: int) -> Region:
    if start == region.start and end == region.end:
        return region
    offset = region.offset
    if region.inode or offset:
        offset += start - region.start  # a file offset follows the start address
    return region._replace(start=start, end=end, offset=offset)
