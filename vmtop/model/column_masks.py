"""Masks over columns: a byte a row, 1 where a test holds (the plain anonymous runs
classification skips, the file-backed rw-p regions the bss facts look at).

Built from the columns' bytes, a byte plane at a time (strided slices, ``translate``,
big-int bit operations, all in C at a few ms a million rows): a ``map`` over a million
values costs 30-100 ms each.
"""

from __future__ import annotations

import sys
from array import array
from itertools import repeat
from operator import eq

_ONE_IF_ZERO = bytes([1] + [0] * 255)
_ONE_IF_NONZERO = bytes([0] + [1] * 255)


def byte_at(size: int, k: int) -> int:
    """Where byte k (0: the lowest) of a value of ``size`` bytes is in memory."""
    return k if sys.byteorder == "little" else size - 1 - k


def _plane(raw: bytes, size: int, k: int) -> bytes:
    """Byte k of every value of ``size`` bytes in ``raw``."""
    return raw[byte_at(size, k) :: size]


def _as_int(mask: bytes) -> int:
    return int.from_bytes(mask, "little")


def _as_mask(bits: int, n: int) -> bytes:
    """Back from ``_as_int``, with any nonzero byte made 1."""
    return bits.to_bytes(n, "little").translate(_ONE_IF_NONZERO)


def mask_and(*masks: bytes) -> bytes:
    """1 where every mask has 1."""
    bits = _as_int(masks[0])
    for mask in masks[1:]:
        bits &= _as_int(mask)
    return _as_mask(bits, len(masks[0]))


def mask_not(mask: bytes) -> bytes:
    return mask.translate(_ONE_IF_ZERO)


def after_mask(mask: bytes) -> bytes:
    """1 where the row before has 1 in ``mask`` (row 0: 0)."""
    return b"\x00" + mask[:-1]


def zero_mask(column: array | memoryview, low_bits: int | None = None) -> bytes:
    """1 where the value is 0 (``low_bits``: where its lowest so many bits are 0)."""
    n = len(column)
    if low_bits is None and isinstance(column, array) and column.count(0) == n:
        return b"\x01" * n
    size = column.itemsize
    bits = size * 8 if low_bits is None else min(low_bits, size * 8)
    raw = bytes(column)
    nonzero = 0
    for k in range((bits + 7) // 8):
        plane = _plane(raw, size, k)
        if bits < 8 * (k + 1):  # a partial byte: keep its low bits
            keep = (1 << (bits - 8 * k)) - 1
            plane = plane.translate(bytes(b & keep for b in range(256)))
        nonzero |= _as_int(plane)
    return nonzero.to_bytes(n, "little").translate(_ONE_IF_ZERO)


def equal_mask(column: array | memoryview, value: int, bound: int) -> bytes:
    """1 where the value is ``value``; every value is below ``bound`` (a name column:
    its table's length), so under 256 only their lowest bytes are looked at."""
    if bound <= 256 and value < 256:
        table = bytearray(256)
        table[value] = 1
        return _plane(bytes(column), column.itemsize, 0).translate(table)
    return bytes(map(eq, column, repeat(value)))
