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

from vmtop.model.column_masks import byte_at

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


# A value's field in ``in_address_order``'s big integer: its 8 bytes and a guard byte.
_FIELD_BYTES = 9
_FIELD_BITS = 8 * _FIELD_BYTES
_GUARD = b"\x00" * 8 + b"\xff"


def in_address_order(starts: array, ends: array) -> bool:
    """Whether start <= end in every region and end <= start of the next: the
    sequence start0, end0, start1, end1, ... never goes down. In a few passes in C,
    not a comparison a value (two ``all(map(le, ...))`` passes cost 0.13 s of the
    parse of a million regions).

    The values are laid out as one big integer, ``_FIELD_BYTES`` bytes each (a zero
    guard byte above each 64-bit value); that integer shifted down by one field, less
    the integer without its top field, is the sum of every difference d (next less
    this) times its field's weight. Computed from the lowest field up, a d >= 0 leaves
    its field's guard byte 0 and borrows nothing; the first d < 0 (a borrow from the
    one below makes it at most 1 lower, never below -2**64) leaves 2**72 + d there,
    whose guard byte is not 0. So the sequence never goes down exactly when the
    difference is >= 0 with every guard byte 0."""
    n = len(starts)
    if len(ends) != n or starts.itemsize != 8 or ends.itemsize != 8:
        raise ValueError("starts and ends: two arrays of 64-bit words, alike in length")
    if not n:
        return True
    packed = bytearray(2 * _FIELD_BYTES * n)
    for column, first in ((starts, 0), (ends, _FIELD_BYTES)):
        raw = column.tobytes()
        for k in range(8):
            packed[first + k :: 2 * _FIELD_BYTES] = raw[byte_at(8, k) :: 8]
    whole = int.from_bytes(packed, "little")
    fields = 2 * n - 1  # differences
    below_top = whole & ((1 << (_FIELD_BITS * fields)) - 1)
    differences = (whole >> _FIELD_BITS) - below_top
    return differences >= 0 and not differences & int.from_bytes(_GUARD * fields, "little")


# Words of at most this many hex digits leave their top two bytes 0: the guard that
# ``words_in_order`` needs.
WORD_IN_ORDER_DIGITS = 12
_WORD = 8
_WORD_GUARD = b"\xff\xff" + b"\x00" * 6


def words_in_order(raw: bytes) -> bool:
    """Whether the big-endian 64-bit words of ``raw``, each under 2**48 (their top two
    bytes 0), never go down: ``in_address_order`` on the bytes that bytes.fromhex
    gave, before they are split into starts and ends (no bytes to lay out again).

    The words read as one big integer, the first one on top. That integer less its
    top word, minus the integer shifted down by one word, has in each word the
    difference d (next less this). From the lowest word up, a d >= 0 is under 2**48
    and borrows nothing; the first d < 0 leaves 2**64 + d there, whose top two bytes
    are not 0. So the words never go down exactly when that difference is >= 0 with
    the top two bytes of every word 0."""
    words = len(raw) // _WORD
    if len(raw) % _WORD:
        raise ValueError("not a run of 64-bit words")
    if words < 2:
        return True
    whole = int.from_bytes(raw, "big")
    differences = int.from_bytes(raw[_WORD:], "big") - (whole >> 64)
    if differences < 0:
        return False
    return not differences & int.from_bytes(_WORD_GUARD * (words - 1), "big")
