"""Address ranges of maps and smaps lines: ``start-end`` texts -> starts, ends, and
whether they are in address order. Bytes in, arrays out; no I/O.

Split from parse_maps.py, whose maps and smaps parsers both decode their ranges here.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from itertools import islice, repeat
from operator import le

from vmtop.procfs.parse_lines import WORD_IN_ORDER_DIGITS, in_address_order, words_in_order


class ParseError(ValueError):
    """Text that is not what the kernel prints where it was expected."""


_HEX_BYTES = b"0123456789abcdefABCDEF"
ADDRESS_END = 1 << 64  # an address at or above this is no address: the line is malformed


def _all_hex(token: bytes) -> bool:
    # int(x, 16) alone would also accept "+1", "0x1f", " 1" and "1_0".
    # translate() deletes every hex digit in C: all hex when nothing is left.
    return bool(token) and not token.translate(None, _HEX_BYTES)


def _addresses(ranges: list[bytes], widths: list[int]) -> tuple[Sequence[int], Sequence[int]]:
    """``start-end`` texts -> starts and ends (two arrays of 64-bit words, or lists)."""
    starts, ends, _ = _addresses_in_order(ranges, widths)
    return starts, ends


def _addresses_in_order(
    ranges: list[bytes], widths: list[int]
) -> tuple[Sequence[int], Sequence[int], bool | None]:
    """``start-end`` texts -> starts, ends (two arrays of 64-bit words, or lists) and
    True when they are known to be in address order (None: not looked at).

    The kernel prints both with ``%08lx``: in one process nearly every range has the
    same width (12 digits each on x86-64; [vsyscall] has 16). Those are decoded all at
    once with bytes.fromhex into 64-bit words; the others one by one. When every range
    has that width, the order is checked on the decoded bytes, before they are split
    into starts and ends (``words_in_order``).
    """
    n = len(ranges)
    width = widths[0]
    digits = width // 2
    if width % 2 == 0 or digits > 16 or widths.count(width) < n - 16:
        starts, ends = _addresses_one_by_one(ranges)
        return starts, ends, None
    others: list[int] = []
    for other in set(widths) - {width}:
        i = -1
        while True:
            try:
                i = widths.index(other, i + 1)
            except ValueError:
                break
            others.append(i)
    same = ranges
    if others:
        same = list(ranges)
        dummy = b"0" * digits + b"-" + b"0" * digits
        for i in others:
            same[i] = dummy
    pad = b"0" * (16 - digits)
    text = pad.join(same)
    # Each dash where a fixed-width range has it, or the words below would be shifted.
    if text[digits :: width + len(pad)] != b"-" * n:
        starts, ends = _addresses_one_by_one(ranges)
        return starts, ends, None
    text = pad + text.replace(b"-", pad)
    raw = bytes.fromhex(text.decode("ascii"))  # ValueError if not hex
    if len(raw) != 16 * n:  # fromhex skips whitespace: then some digits were not there
        raise ParseError("address range with spaces")
    in_order = None
    if not others and digits <= WORD_IN_ORDER_DIGITS and words_in_order(raw):
        in_order = True
    words = array("Q", raw)
    if sys.byteorder == "little":
        words.byteswap()
    starts = words[0::2]  # arrays, not lists: the columns take them as they are
    ends = words[1::2]
    for i in others:
        lo, _, hi = ranges[i].partition(b"-")
        if not _all_hex(lo) or not _all_hex(hi):
            raise ParseError(f"not an address range: {ranges[i]!r}")
        start, end = int(lo, 16), int(hi, 16)
        if end >= ADDRESS_END or start >= ADDRESS_END:
            raise ParseError(f"address out of range: {ranges[i][:80]!r}")
        starts[i] = start
        ends[i] = end
    return starts, ends, in_order


def _in_order(starts: Sequence[int], ends: Sequence[int], known: bool | None) -> bool:
    """``_check_order`` unless the addresses were already found in order."""
    return True if known else _check_order(starts, ends)


def _addresses_one_by_one(ranges) -> tuple[list[int], list[int]]:
    if b"".join(ranges).translate(None, b"0123456789abcdef-") or sum(
        map(bytes.count, ranges, repeat(b"-"))
    ) != len(ranges):
        raise ParseError("not an address range")
    los, _, his = zip(*map(bytes.partition, ranges, repeat(b"-")), strict=True)
    starts, ends = list(map(int, los, repeat(16))), list(map(int, his, repeat(16)))
    if max(starts, default=0) >= ADDRESS_END or max(ends, default=0) >= ADDRESS_END:
        raise ParseError("address out of range")
    return starts, ends


def _check_order(starts: Sequence[int], ends: Sequence[int]) -> bool:
    """True when every region starts at or after where the one before ended. Raises
    ParseError when a region ends before it starts."""
    if isinstance(starts, array) and isinstance(ends, array) and in_address_order(starts, ends):
        return True  # (the usual case, found in C; anything else is looked at closely)
    if not all(map(le, starts, ends)):
        raise ParseError("a region ends before it starts")
    return all(map(le, ends, islice(starts, 1, None)))
