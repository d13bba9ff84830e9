"""Torn reads: the regions of a maps or smaps text printed while the process changed
its mappings, put in order with the artefacts removed (``dedupe_regions``).

The kernel can then print a region twice, or go back to an earlier address and print
regions that overlap ones already printed; newer prints win. No I/O here.
"""

from __future__ import annotations

from itertools import islice
from operator import itemgetter, le

from vmtop.model.region import Region


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
    if len(regions) < 2:
        return regions
    # The usual case, checked in C: every region ends where or before the next starts.
    ends = map(_END, regions)
    starts = map(_START, islice(regions, 1, None))
    if all(map(le, ends, starts)):
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


_START = itemgetter(Region._fields.index("start"))
_END = itemgetter(Region._fields.index("end"))


def _start(region: Region) -> int:
    return region.start


def _piece(region: Region, start: int, end: int) -> Region:
    if start == region.start and end == region.end:
        return region
    offset = region.offset
    if region.inode or offset:
        offset += start - region.start  # a file offset follows the start address
    return region._replace(start=start, end=end, offset=offset)
