"""Helpers of the parses that make no Region (``parse_maps_parts``,
``parse_smaps_parts``): numbering the distinct texts of lines, and reading maps lines
of the usual width without a regular expression. Bytes in, arrays out; no I/O.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from itertools import repeat
from operator import getitem

# What the no-Region parses give: the starts, the ends, each line's index into the
# bodies (bytes while there are under 256 bodies, else an array('I')), and the distinct
# bodies (a Region's fields after ``end``): ColumnsBuilder.extend_parts takes them.
Parts = tuple[Sequence[int], Sequence[int], "bytes | array", list[tuple]]


class _Ids(dict):
    """key -> a small int, numbered as keys come (in C, by map(ids.__getitem__, keys))."""

    def __init__(self) -> None:
        super().__init__()
        self.keys_in_order: list = []

    def __missing__(self, key) -> int:
        self[key] = index = len(self.keys_in_order)
        self.keys_in_order.append(key)
        return index


def numbered(keys: Sequence) -> tuple[bytes | array, list]:
    """Each key's number (bytes when under 256 distinct keys) and the distinct keys.
    ``keys`` is a sequence: past 255 keys it is read again from the start."""
    ids = _Ids()
    try:
        numbers = bytes(map(ids.__getitem__, keys))
    except ValueError:  # a 257th key: numbers too big for a byte (the dict goes on)
        numbers = array("I", map(ids.__getitem__, keys))
    return numbers, ids.keys_in_order


_RANGE = 25  # "start-end" of x86-64 user space: 12 hex digits each
_DIGITS = _RANGE - 1
_DASH_AND_SPACE = b"- "


def fixed_width_lines(data: bytes) -> tuple[array, array, list[bytes]] | None:
    """The starts, ends and rests (what follows "start-end ") of maps lines whose
    ranges all have the usual width (12 digits, a dash, 12 digits, a space); None for
    any other text. In C, without a regular expression: the lines split, the first 26
    bytes of each joined and decoded at once, the rests sliced off."""
    if not data.endswith(b"\n") or sys.byteorder != "little":
        return None
    lines = data.split(b"\n")
    lines.pop()  # the empty text after the last newline
    n = len(lines)
    heads = b"".join(map(getitem, lines, repeat(slice(0, _RANGE + 1))))
    if (
        len(heads) != (_RANGE + 1) * n  # (a shorter line took fewer bytes)
        or heads[_RANGE // 2 :: _RANGE + 1] != b"-" * n
        or heads[_RANGE :: _RANGE + 1] != b" " * n
    ):
        return None
    digits = heads.translate(None, _DASH_AND_SPACE)
    if len(digits) != _DIGITS * n or digits.translate(None, b"0123456789abcdef"):
        return None
    packed = bytes.fromhex(digits.decode("ascii"))  # 6 bytes an address, big-endian
    words = bytearray(16 * n)  # 8 bytes an address, little-endian
    for k in range(6):
        words[k::8] = packed[5 - k :: 6]
    both = array("Q")
    both.frombytes(words)
    return both[0::2], both[1::2], list(map(getitem, lines, repeat(slice(_RANGE + 1, None))))
