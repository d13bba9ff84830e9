"""Passes over a million values, a ``CHUNK`` at a time.

A loop in C (``list(compress(...))``, ``set(column)``, ``sum``) holds the GIL from its
first value to its last: 20-90 ms at a million regions, while the UI thread waits with
a key press (issue 10: key → repaint p95 while sampling). These do the same work in C,
a chunk per step; between steps a Python frame runs, where the interpreter lets another
thread in. Each step holds the GIL ~1-3 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, islice, repeat

from vmtop.model.column_fields import CHUNK


def steps(n: int, lo: int = 0) -> Iterator[tuple[int, int]]:
    """(lo, hi) of each step over range(lo, n)."""
    for at in range(lo, n, CHUNK):
        yield at, min(n, at + CHUNK)


def where(mask: bytes) -> Iterator[int]:
    """The indexes where ``mask`` (a byte a row) is nonzero, in order."""
    for lo, hi in steps(len(mask)):
        part = mask[lo:hi]
        if part.count(0) != len(part):
            yield from compress(range(lo, hi), part)


def where_pair(
    test: Callable[[int, int], bool],
    left: Sequence[int],
    right: Sequence[int],
    n: int,
    *,
    shift: int = 0,
    first: int = 0,
) -> Iterator[int]:
    """``first + k`` for each k in range(n) where ``test(left[k], right[k + shift])``."""
    for lo, hi in steps(n):
        found = map(test, left[lo:hi], right[lo + shift : hi + shift])
        yield from compress(range(first + lo, first + hi), found)


def where_value(test: Callable[[int, int], bool], column: Sequence[int], value) -> Iterator[int]:
    """The indexes k where ``test(column[k], value)``."""
    for lo, hi in steps(len(column)):
        yield from compress(range(lo, hi), map(test, column[lo:hi], repeat(value)))


def distinct(column: Sequence, lo: int = 0, hi: int | None = None) -> set:
    """set(column[lo:hi])."""
    out: set = set()
    for a, b in steps(len(column) if hi is None else hi, lo):
        out.update(column[a:b])
    return out


def chunked_sum(column) -> int:
    """sum(column)."""
    return sum(sum(column[lo:hi]) for lo, hi in steps(len(column)))


def chunked_extend(out, values: Iterable):
    """out.extend(values); returns ``out``."""
    values = iter(values)
    while True:
        before = len(out)
        out.extend(islice(values, CHUNK))
        if len(out) - before < CHUNK:
            return out
