"""One region's block in an smaps text and its fields, both found on demand.

Parsing all fields of every region costs more than the kernel's own read, so
``parse_smaps`` parses only the resident figures the views use on every tick; the rest
comes from the region's block when asked for: ``smaps_block`` finds it (regions do not
carry their block's position), ``parse_smaps_fields`` parses its ``Key: value [kB]``
lines. No I/O here, like parse_maps.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from operator import methodcaller

from vmtop.model.region import Region, Snapshot
from vmtop.procfs.parse_addresses import _addresses
from vmtop.procfs.parse_maps import _learn_layout, _Memo

# One block: its header (the address range captured) and every line up to the next
# line that starts like a header (field lines start with a capital).
_BLOCK_AT = re.compile(rb"([0-9a-f]+)-([0-9a-f]+) [^\n]*(?:\n(?![0-9a-f])[^\n]*)*\n?")


class SmapsBlocks:
    """Where each region's block lies in an smaps text; found in one pass, on demand.

    Regions do not carry their block's position (working it out for 60 000 regions on
    every read would cost a tenth of the parse), so the first lookup in a text indexes
    it. A region printed twice (a torn read) gets its newest block; a piece of a region
    that a newer one cut (see dedupe_regions) gets the block it was cut from.
    """

    def __init__(self, text) -> None:
        self.text = text
        self.by_range: dict[tuple[int, int], tuple[int, int]] = {}
        self.printed: list[tuple[int, int, int, int]] = []  # start, end, block span
        self.torn = False  # some block starts before the one printed before it ends
        previous_end = 0
        for start, end, a, b in self._blocks():
            self.by_range[start, end] = (a, b)
            self.printed.append((start, end, a, b))
            self.torn = self.torn or start < previous_end
            previous_end = end

    def _blocks(self) -> Iterator[tuple[int, int, int, int]]:
        """(start, end, block start, block end) of each block, in the order printed."""
        text = self.text
        # The first block teaches the layout (a buffer has no find(): learn on bytes).
        layout = _learn_layout(bytes(text[: 1 << 16]))
        if layout is not None:  # usually every block has the first one's layout: fast
            matches = list(layout.pattern.finditer(text))
            if matches and all(map(_matched_a_block, matches)):
                ranges = list(map(_RANGE_GROUP, matches))
                try:
                    starts, ends = _addresses(ranges, list(map(len, ranges)))
                except ValueError:
                    pass
                else:
                    spans = map(_SPAN_OF, matches)
                    return (
                        (start, end, *span)
                        for start, end, span in zip(starts, ends, spans, strict=True)
                    )
        return (
            (int(m.group(1), 16), int(m.group(2), 16), *m.span()) for m in _BLOCK_AT.finditer(text)
        )

    def block(self, start: int, end: int) -> bytes | None:
        """The text of the block of the region ``start``-``end``, or None."""
        span = self.by_range.get((start, end))
        if span is None:
            if not self.torn:
                return None
            for lo, hi, a, b in reversed(self.printed):  # newest first
                if lo <= start and end <= hi:
                    span = a, b
                    break
            else:
                return None
        return bytes(self.text[span[0] : span[1]])


def _matched_a_block(m: re.Match) -> bool:
    return m.group(4) is None  # not the any-line alternative of _Layout.pattern


_RANGE_GROUP = methodcaller("group", 1)
_SPAN_OF = methodcaller("span")
_BLOCKS_CACHE: list[SmapsBlocks] = []


def smaps_block(text, start: int, end: int) -> bytes | None:
    """The smaps block (header line to VmFlags) of the region ``start``-``end`` in
    ``text`` (bytes or a buffer). The index of the last text asked about is kept, so
    asking for every region of one text costs one pass over it."""
    cached = _BLOCKS_CACHE[0] if _BLOCKS_CACHE else None
    if cached is None or cached.text is not text:
        cached = SmapsBlocks(text)
        _BLOCKS_CACHE[:] = [cached]  # one reference to one text at a time
    return cached.block(start, end)


# Up to this many regions are found by a search of the text each; more, by indexing
# every block of it once (smaps_block, cached for the last text). Measured in a kept text
# of 7.6 MiB (about the most the TUI keeps): 0.3 ms a region searched (after a copy of
# the buffer, 0.7 ms), 10 ms for the index; with 9 800 such regions in 7.0 MB, 5 ms a
# sample once indexed. The few regions asked about sample after sample (memory freed
# with MADV_FREE, the arenas' candidates) are each looked up so.
_SEARCHED_UP_TO = 24


def regions_blocks(text, regions: Sequence[Region]) -> list[bytes | None]:
    """The smaps block of each of ``regions`` in ``text`` (None where it is not there),
    by a search each for a few, by ``smaps_block``'s index for more."""
    if len(regions) > _SEARCHED_UP_TO:
        return [smaps_block(text, r.start, r.end) for r in regions]
    data = text if isinstance(text, bytes) else bytes(text)
    return [_searched_block(data, r) for r in regions]


def _searched_block(data: bytes, region: Region) -> bytes | None:
    """The block of ``region`` in ``data``, its header found by a search: the last one
    printed where a torn read printed it twice (the newest)."""
    header = b"%08x-%08x " % (region.start, region.end)
    at = data.rfind(b"\n" + header) + 1
    if not at and not data.startswith(header):
        return None
    end = data.find(b"\nVmFlags:", at)
    end = data.find(b"\n", end + 1) if end >= 0 else -1
    return data[at:] if end < 0 else data[at:end]


def vm_flags_of(block: bytes) -> frozenset[str] | None:
    """The VmFlags codes of one smaps block, read from its one line; None without it."""
    at = block.rfind(b"\nVmFlags:")
    if at < 0:
        return None
    end = block.find(b"\n", at + 1)
    words = block[at + len(b"\nVmFlags:") : end if end >= 0 else len(block)].split()
    return frozenset(w.decode("ascii", "replace") for w in words)


_FIELD_LINE = re.compile(rb"^([A-Z][^ :\n]*):([^\n]*)", re.M)


def _parse_fields_text(text: bytes) -> dict[str, int | str]:
    fields: dict[str, int | str] = {}
    for key, raw in _FIELD_LINE.findall(text):
        name = key.decode("ascii", "replace")
        value = raw.strip()
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


# Field texts repeat between regions (same size, same figures): parse each once. Small,
# because each entry holds a whole block's text and its dict.
_FIELD_TEXTS = _Memo(_parse_fields_text, 4_000)


def parse_smaps_fields(block: bytes) -> dict[str, int | str]:
    """Every field of one smaps block (the header line, if present, is skipped).

    ``kB`` values become bytes; other numeric values stay ints in their own unit
    (``THPeligible: 1``, ``ProtectionKey: 0``); anything else is kept as text.
    Unknown fields are kept under their own names. The dict is the caller's own.
    """
    if block[:1].isalnum() and not block[:1].isupper():  # a header line: skip it
        newline = block.find(b"\n")
        block = block[newline + 1 :] if newline >= 0 else b""
    _FIELD_TEXTS.trim()
    return dict(_FIELD_TEXTS[block])


# -- a snapshot's regions ----------------------------------------------------------------


def region_block(snapshot: Snapshot, region: Region) -> bytes | None:
    """The region's smaps text (header line to VmFlags) in the text the snapshot kept,
    or None (no smaps read, or its text not kept: a huge map)."""
    if snapshot.raw_smaps is None:
        return None
    return smaps_block(snapshot.raw_smaps, region.start, region.end)


def region_fields(snapshot: Snapshot, region: Region) -> dict[str, int | str]:
    """Every smaps field of one region of the snapshot (names as the kernel prints
    them; see parse_smaps_fields). Empty when the snapshot has no smaps text."""
    block = region_block(snapshot, region)
    return {} if block is None else parse_smaps_fields(block)


def region_flags(snapshot: Snapshot, region: Region) -> list[str]:
    """The region's VmFlags codes ([] without smaps text)."""
    return str(region_fields(snapshot, region).get("VmFlags", "")).split()
