"""The regions of a huge map as columns of numbers: ``RegionColumns``.

A ``Region`` tuple costs about 264 bytes, and, being an instance of a tuple subclass, is
never untracked by the cycle collector: a million of them are 264 MB per snapshot, and
every full collection walks all of them (0.3-0.7 s at a million regions, with the GIL
held: a frozen UI). Here a region is one row of arrays:

- ``start``, ``end``, ``offset``, ``inode``: ``array('Q')``;
- ``perms``, ``dev``, ``path``, ``kind``, ``object``: ``array('I')`` of indexes into
  small tables of distinct values (a map of a million regions has a few hundred names);
- the eight resident figures: ``array('q')`` each (``-1`` for None), or no arrays at
  all when none was read (a maps-only snapshot);
- ``tid``: ``array('q')`` (``-1`` for None), or none when no region has one.

About 124 bytes a region with figures, 60 without, in a handful of objects the collector
never walks. It is a ``Sequence[Region]``: indexing makes the one ``Region`` asked for,
iterating makes them one at a time (in C: ~0.6 µs each), so every consumer works
unchanged; the ones that run on every tick read the columns instead (``column``,
``index_at``). Immutable, like the tuple it stands in for: safe to hand to a UI thread.

Long loops in C hold the GIL for their whole length, so building and converting go a
``CHUNK`` of regions at a time: a key press waits at most one chunk.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress, islice, repeat
from operator import eq, itemgetter

from vmtop.model.column_masks import equal_mask
from vmtop.model.region import Region

# Regions per step of a long loop in C (each step holds the GIL): ~10-30 ms.
CHUNK = 32_768

FIGURES = (
    "rss",
    "pss",
    "shared_clean",
    "shared_dirty",
    "private_clean",
    "private_dirty",
    "swap",
    "anonymous",
)
_NUMBERS = ("start", "end", "offset", "inode")
_NAMES = ("perms", "dev", "path", "kind", "object")
_FIELD = {name: i for i, name in enumerate(Region._fields)}
if Region._fields != (
    "start",
    "end",
    "perms",
    "offset",
    "dev",
    "inode",
    "path",
    *FIGURES,
    "kind",
    "object",
    "tid",
):
    raise ImportError("vmtop.model.region.Region changed its fields: update RegionColumns")
_NONE = -1
_TID = _FIELD["tid"]


def _none_if_negative(value: int) -> int | None:
    return None if value < 0 else value


class _Interned(dict):
    """value -> its index in ``values``, adding values as they come (in C, by
    ``map(interned.__getitem__, values)``)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list = []

    def __missing__(self, value) -> int:
        index = len(self.values)
        self.values.append(value)
        self[value] = index
        return index


class _Column:
    """A column being built: its pieces as they come, joined once by ``joined``. (An
    array extended piece by piece is copied whole whenever it grows, by a sixteenth:
    sixteen times its final size in copies, 0.3 s of the parse of a million regions.)"""

    def __init__(self, typecode: str) -> None:
        self.typecode = typecode
        self.pieces: list[array] = []

    def extend(self, values: Iterable[int]) -> None:
        if type(values) is array and values.typecode == self.typecode:
            piece = values
        else:
            piece = array(self.typecode, values)
        if piece:
            self.pieces.append(piece)

    def frombytes(self, raw: bytes) -> None:
        piece = array(self.typecode)
        piece.frombytes(raw)
        self.pieces.append(piece)

    def joined(self) -> array:
        pieces, self.pieces = self.pieces, []
        if len(pieces) == 1:
            return pieces[0]
        # Filled then copied into piece by piece: short steps in C, each letting go of
        # the GIL after (one join of a million values holds it ~30 ms).
        column = array(self.typecode, [0]) * sum(map(len, pieces))
        at = 0
        for piece in pieces:
            column[at : at + len(piece)] = piece
            at += len(piece)
        return column


class ColumnsBuilder:
    """Appends regions, a chunk at a time, and ``build()``s the columns."""

    def __init__(self) -> None:
        self.numbers = [_Column("Q") for _ in _NUMBERS]
        self.names = [_Column("I") for _ in _NAMES]
        self.tables = [_Interned() for _ in _NAMES]
        self.figures = [_Column("q") for _ in FIGURES]
        self.tids = _Column("q")
        self.count = 0
        # What the number columns that may be None held so far: a value, a None.
        self.valued = [False] * (len(FIGURES) + 1)
        self.missing = [False] * (len(FIGURES) + 1)
        # Rows of None not written to those columns yet: a maps read has no figures and
        # most maps have no thread ids, so those arrays (72 bytes a region) are written
        # only if some value comes, or the snapshot keeps the column after all.
        self.unwritten = [0] * (len(FIGURES) + 1)

    def _optional_columns(self) -> list[_Column]:
        return [*self.figures, self.tids]

    def _none_rows(self, k: int, count: int) -> None:
        self.missing[k] = True
        self.unwritten[k] += count

    def _write_pending(self, k: int) -> _Column:
        column = self._optional_columns()[k]
        if self.unwritten[k]:
            column.frombytes(_ALL_NONE_BYTES * self.unwritten[k])
            self.unwritten[k] = 0
        return column

    def extend(self, regions: Iterable[Region]) -> None:
        it = iter(regions)
        while True:
            chunk = list(islice(it, CHUNK))
            if not chunk:
                return
            self.extend_rows(chunk)

    def extend_rows(self, rows: Sequence[tuple]) -> None:
        """Add rows in Region's field order (Regions, or plain tuples laid out alike)."""
        if rows:
            self._extend_fields(list(zip(*rows, strict=True)))

    def extend_parts(
        self,
        starts: Sequence[int],
        ends: Sequence[int],
        ids: bytes | array,
        bodies: Sequence[tuple],
    ) -> None:
        """Add regions given as the parser has them, no Region made: their starts, their
        ends, and for each the index (``ids``) of its body in ``bodies``: the distinct
        tuples of the fields after end in Region's order, each some region's (a map of a
        million regions has a few hundred: every anonymous ``rw-p`` region shares one).

        Each column is spread from the bodies' values by the ids, in C: one value
        repeated when the bodies agree (most columns of a maps read), byte planes
        through ``bytes.translate`` when ``ids`` is bytes (under 256 bodies), else one
        lookup a region."""
        n = len(ids)
        if not n:
            return
        if len(starts) != n or len(ends) != n:
            raise ValueError("starts, ends and ids differ in length")
        self.numbers[0].extend(starts)
        self.numbers[1].extend(ends)
        per_body = list(zip(*bodies, strict=True))  # per field after end: a value a body

        def values(name: str) -> tuple:
            return per_body[_FIELD[name] - 2]

        for column, name in zip(self.numbers[2:], _NUMBERS[2:], strict=True):
            column.extend(_spread(values(name), ids, column.typecode))
        for column, table, name in zip(self.names, self.tables, _NAMES, strict=True):
            column.extend(_spread(list(map(table.__getitem__, values(name))), ids, "I"))
        for k, name in enumerate((*FIGURES, "tid")):
            of_body = values(name)
            nones = of_body.count(None)  # (every body is some region's)
            if nones == len(of_body):
                self._none_rows(k, n)
                continue
            if nones:
                self.missing[k] = True
                of_body = [_NONE if v is None else v for v in of_body]
            self.valued[k] = True
            self._write_pending(k).extend(_spread(of_body, ids, "q"))
        self.count += n

    def _extend_fields(self, fields: list[Sequence]) -> None:
        """``fields[k]``: the values of Region field k, one per region."""
        for column, name in zip(self.numbers, _NUMBERS, strict=True):
            column.extend(fields[_FIELD[name]])
        for column, table, name in zip(self.names, self.tables, _NAMES, strict=True):
            column.extend(map(table.__getitem__, fields[_FIELD[name]]))
        for k, name in enumerate((*FIGURES, "tid")):
            values = fields[_FIELD[name]]
            nones = values.count(None)
            if nones == len(values):  # (a maps read: no figures; no thread ids)
                self._none_rows(k, len(values))
            elif nones:
                self._write_pending(k).extend(_NONE if v is None else v for v in values)
                self.valued[k] = self.missing[k] = True
            else:
                self._write_pending(k).extend(values)
                self.valued[k] = True
        self.count += len(fields[0])

    def build(self) -> RegionColumns:
        figured = any(self.valued[:-1])
        for k in range(len(FIGURES) + 1):
            if figured if k < len(FIGURES) else self.valued[k]:
                self._write_pending(k)
        return RegionColumns(
            tuple(c.joined() for c in self.numbers),
            tuple(c.joined() for c in self.names),
            tuple(tuple(t.values) for t in self.tables),
            tuple(c.joined() for c in self.figures) if figured else None,
            self.tids.joined() if self.valued[-1] else None,
            mixed=figured and any(self.missing[:-1]),
        )


def _spread(of_body: Sequence[int], ids: bytes | array, typecode: str) -> array:
    """``array(typecode, [of_body[i] for i in ids])``, in C (``extend_parts``)."""
    n = len(ids)
    first = of_body[0]
    if of_body.count(first) == len(of_body):
        return array(typecode, [first]) * n
    if not isinstance(ids, bytes):
        return array(typecode, map(of_body.__getitem__, ids))
    # Byte k of every value, looked up by id with bytes.translate, written to every
    # itemsize-th byte of the result from byte k on.
    size = array(typecode).itemsize
    mask = (1 << (8 * size)) - 1
    wide = [v & mask for v in of_body]  # two's complement for the signed typecodes
    out = bytearray(size * n)
    padding = bytes(256 - len(wide))
    for k in range(size):
        plane = bytes([(v >> (8 * k)) & 255 for v in wide]) + padding
        if any(plane):
            at = k if sys.byteorder == "little" else size - 1 - k
            out[at::size] = ids.translate(plane)
    column = array(typecode)
    column.frombytes(out)
    return column


def _own(column: array | memoryview) -> array:
    """An array of its own (a head's memoryview cannot be pickled)."""
    return column if isinstance(column, array) else array(column.format, column)


_ALL_NONE_BYTES = array("q", [_NONE]).tobytes()


def _count_none(column: array | memoryview) -> int:
    return sum(column[lo : lo + CHUNK].tolist().count(_NONE) for lo in range(0, len(column), CHUNK))


def chunked_sum(column) -> int:
    """sum(column), a CHUNK at a time (one sum over a million values holds the GIL)."""
    return sum(sum(column[lo : lo + CHUNK]) for lo in range(0, len(column), CHUNK))


def chunked_extend(out: array, values: Iterable) -> array:
    """out.extend(values), a CHUNK at a time, for the same reason; returns ``out``."""
    values = iter(values)
    while True:
        before = len(out)
        out.extend(islice(values, CHUNK))
        if len(out) - before < CHUNK:
            return out


def _all_none(columns: Iterable[array]) -> bool:
    """Is every value of these columns -1 (None)?"""
    return all(_count_none(c) == len(c) for c in columns)


class RegionColumns(Sequence):
    """The regions of one snapshot, in address order, as columns (module docstring)."""

    __slots__ = ("numbers", "names", "tables", "figures", "tids", "_mixed", "_len")

    def __init__(
        self,
        numbers: tuple[array, ...],
        names: tuple[array, ...],
        tables: tuple[tuple, ...],
        figures: tuple[array, ...] | None,
        tids: array | None,
        *,
        mixed: bool | None = None,
    ) -> None:
        """``mixed``: whether the figures hold both numbers and None, when known (else
        the arrays are scanned, as are figures and thread ids for all None)."""
        self.numbers = numbers  # start, end, offset, inode
        self.names = names  # perms, dev, path, kind, object: indexes into tables
        self.tables = tables
        self._len = len(numbers[0])
        # One representation for one content (equality compares arrays): no arrays for
        # figures or thread ids that are all None.
        if mixed is None:
            if figures is not None and _all_none(figures):
                figures = None
            if tids is not None and _all_none((tids,)):
                tids = None
            mixed = figures is not None and any(map(_count_none, figures))
        self.figures = figures
        self.tids = tids
        # Figures with some None among numbers (a maps-only tick carrying the figures of
        # the last smaps read: the regions mapped since have none) convert value by value.
        self._mixed = mixed

    @classmethod
    def from_regions(cls, regions: Iterable[Region]) -> RegionColumns:
        builder = ColumnsBuilder()
        builder.extend(regions)
        return builder.build()

    # -- the Sequence ----------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self._rows(*index.indices(self._len)))
        n = self._len
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("region index out of range")
        (start, end, offset, inode) = (c[index] for c in self.numbers)
        perms, dev, path, kind, obj = (
            t[c[index]] for t, c in zip(self.tables, self.names, strict=True)
        )
        if self.figures is None:
            figures: tuple = (None,) * 8
        else:
            figures = tuple(_none_if_negative(c[index]) for c in self.figures)
        tid = None if self.tids is None else _none_if_negative(self.tids[index])
        return tuple.__new__(
            Region, (start, end, perms, offset, dev, inode, path, *figures, kind, obj, tid)
        )

    def __iter__(self) -> Iterator[Region]:
        # A chunk at a time: a consumer in C (list, sum) would else hold the GIL for
        # the whole map; a generator lets it go between chunks.
        n = self._len
        for lo in range(0, n, CHUNK):
            yield from self._rows(lo, min(n, lo + CHUNK), 1)

    def plain_rows(self) -> Iterator[tuple]:
        """Every region as a plain tuple of its fields (not a Region: half the cost, for
        code that reads fields by index), a chunk at a time."""
        n = self._len
        for lo in range(0, n, CHUNK):
            yield from self._zipped(lo, min(n, lo + CHUNK))

    def __reversed__(self) -> Iterator[Region]:
        for i in range(self._len - 1, -1, -1):
            yield self[i]

    def __contains__(self, region) -> bool:
        if not isinstance(region, tuple) or len(region) != len(Region._fields):
            return False
        i = self.index_at(region[0])
        return i is not None and self[i] == region

    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if isinstance(other, RegionColumns):
            if self._len != other._len or self.numbers != other.numbers:
                return False
            if self.tids != other.tids or self.figures != other.figures:
                return False
            for mine, theirs, t1, t2 in zip(
                self.names, other.names, self.tables, other.tables, strict=True
            ):
                if t1 == t2 and mine == theirs:
                    continue
                if list(map(t1.__getitem__, mine)) != list(map(t2.__getitem__, theirs)):
                    return False
            return True
        if isinstance(other, (tuple, list)):
            return len(other) == self._len and all(map(tuple.__eq__, self, other))
        return NotImplemented

    def __ne__(self, other) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<RegionColumns of {self._len} regions>"

    def __reduce__(self):
        figures = None if self.figures is None else tuple(map(_own, self.figures))
        tids = None if self.tids is None else _own(self.tids)
        numbers, names = tuple(map(_own, self.numbers)), tuple(map(_own, self.names))
        return (RegionColumns, (numbers, names, self.tables, figures, tids))

    # -- columns ---------------------------------------------------------------------

    @property
    def mixed(self) -> bool:
        """Do the figures hold both numbers and None?"""
        return self._mixed

    @property
    def starts(self) -> array:
        return self.numbers[0]

    @property
    def ends(self) -> array:
        return self.numbers[1]

    def column(self, name: str, lo: int = 0, hi: int | None = None) -> Iterable:
        """Every region's value of one field (``lo:hi``), without making Regions."""
        hi = self._len if hi is None else hi
        if name in _NUMBERS:
            return self.numbers[_NUMBERS.index(name)][lo:hi]
        if name in _NAMES:
            i = _NAMES.index(name)
            return map(self.tables[i].__getitem__, self.names[i][lo:hi])
        if name in FIGURES:
            if self.figures is None:
                return repeat(None, hi - lo)
            values = self.figures[FIGURES.index(name)][lo:hi]
            return map(_none_if_negative, values) if self._mixed else values
        if name == "tid":
            if self.tids is None:
                return repeat(None, hi - lo)
            return map(_none_if_negative, self.tids[lo:hi])
        raise KeyError(name)

    def head(self, count: int) -> RegionColumns:
        """The first ``count`` regions: a view of the same arrays (no copy)."""
        if count >= self._len:
            return self
        count = max(0, count)
        figures = self.figures
        return RegionColumns(
            tuple(memoryview(c)[:count] for c in self.numbers),
            tuple(memoryview(c)[:count] for c in self.names),
            self.tables,
            None if figures is None else tuple(memoryview(c)[:count] for c in figures),
            None if self.tids is None else memoryview(self.tids)[:count],
            mixed=self._mixed,  # (a scan of a million values would hold the GIL 0.3 s)
        )

    def codes(self, name: str, lo: int = 0, hi: int | None = None) -> Sequence[int]:
        """A name column's own numbers for ``lo:hi`` (indexes into ``distinct(name)``)."""
        return self.names[_NAMES.index(name)][lo : self._len if hi is None else hi]

    def name_mask(self, name: str, value) -> bytes:
        """A byte a region, 1 where its ``name`` field is ``value`` (see ``equal_mask``)."""
        table = self.distinct(name)
        if value not in table:
            return bytes(self._len)
        return equal_mask(self.codes(name), table.index(value), len(table))

    def distinct(self, name: str) -> tuple:
        """The values a name column can take here (may hold some no region has now)."""
        return self.tables[_NAMES.index(name)]

    def total(self, name: str) -> int:
        """The sum of a figure (None counts 0) or of a number column, in C."""
        if name in _NUMBERS:
            return chunked_sum(self.numbers[_NUMBERS.index(name)])
        if self.figures is None:
            return 0
        values = self.figures[FIGURES.index(name)]
        if not self._mixed:  # no None among them
            return chunked_sum(values)
        return chunked_sum(values) + _count_none(values)  # -1 for None: add those back

    def index_at(self, start: int) -> int | None:
        """The index of the region starting at ``start``, or None."""
        i = bisect_right(self.numbers[0], start) - 1
        if i >= 0 and self.numbers[0][i] == start:
            return i
        return None

    def index_containing(self, address: int) -> int | None:
        i = bisect_right(self.numbers[0], address) - 1
        if i >= 0 and address < self.numbers[1][i]:
            return i
        return None

    def _rows(self, lo: int, hi: int, step: int) -> Iterator[Region]:
        if step != 1:
            return (self[i] for i in range(lo, hi, step))
        if hi <= lo:
            return iter(())
        return map(tuple.__new__, repeat(Region), self._zipped(lo, hi))

    def rows_between(self, lo: int, hi: int) -> Iterator[tuple]:
        """regions[lo:hi] as plain tuples of their fields (see plain_rows)."""
        for at in range(lo, hi, CHUNK):
            yield from self._zipped(at, min(hi, at + CHUNK))

    def _zipped(self, lo: int, hi: int) -> Iterator[tuple]:
        """Plain tuples of regions[lo:hi]'s fields, in C."""
        start, end, offset, inode = (c[lo:hi] for c in self.numbers)
        perms, dev, path, kind, obj = (
            map(t.__getitem__, c[lo:hi]) for t, c in zip(self.tables, self.names, strict=True)
        )
        if self.figures is None:
            figures: list = [repeat(None)] * 8
        elif self._mixed:
            figures = [map(_none_if_negative, c[lo:hi]) for c in self.figures]
        else:
            figures = [c[lo:hi] for c in self.figures]
        tid = repeat(None) if self.tids is None else map(_none_if_negative, self.tids[lo:hi])
        return zip(
            start, end, perms, offset, dev, inode, path, *figures, kind, obj, tid, strict=False
        )

    # -- new columns from these -------------------------------------------------------

    def replaced(self, rows: dict[int, Region]) -> RegionColumns:
        """The same regions with the ones at these indexes replaced (a relabelled kind,
        carried figures; the same start and end, as order must hold). The arrays are
        copied (memcpy) and patched: no Region is made for the others."""
        if not rows:
            return self
        n = self._len
        numbers = [_copy(c, "Q") for c in self.numbers]
        names = [_copy(c, "I") for c in self.names]
        tables = [list(t) for t in self.tables]
        lookups = [{v: i for i, v in enumerate(t)} for t in tables]
        patched = rows.values()
        # Arrays for figures and thread ids only where some region has them (so that
        # equal contents keep one representation: see __init__).
        figured = self.figures is not None or any(r[7] is not None for r in patched)
        if not figured:
            figures = None
        elif self.figures is None:
            figures = [_nones(n) for _ in FIGURES]
        else:
            figures = [_copy(c, "q") for c in self.figures]
        with_tids = self.tids is not None or any(r[_TID] is not None for r in patched)
        if not with_tids:
            tids = None
        else:
            tids = _nones(n) if self.tids is None else _copy(self.tids, "q")
        mixed = self._mixed or self.figures is None
        for i, r in rows.items():
            for column, name in zip(numbers, _NUMBERS, strict=True):
                column[i] = r[_FIELD[name]]
            for column, table, lookup, name in zip(names, tables, lookups, _NAMES, strict=True):
                value = r[_FIELD[name]]
                index = lookup.get(value)
                if index is None:
                    index = lookup[value] = len(table)
                    table.append(value)
                column[i] = index
            if figures is not None:
                for column, name in zip(figures, FIGURES, strict=True):
                    value = r[_FIELD[name]]
                    if value is None:
                        mixed = True
                        value = _NONE
                    column[i] = value
            if tids is not None:
                tid = r[_TID]
                tids[i] = _NONE if tid is None else tid
        return RegionColumns(
            tuple(numbers),
            tuple(names),
            tuple(map(tuple, tables)),
            None if figures is None else tuple(figures),
            tids,
            mixed=figures is not None and mixed,
        )


def _copy(column: array | memoryview, typecode: str) -> array:
    if isinstance(column, array):
        return array(typecode, column)  # (same type: a memcpy)
    out = array(typecode)
    out.frombytes(column.tobytes())
    return out


def _nones(n: int) -> array:
    out = array("q")
    out.frombytes(_ALL_NONE_BYTES * n)
    return out


def as_columns(regions: Sequence[Region]) -> RegionColumns:
    return regions if isinstance(regions, RegionColumns) else RegionColumns.from_regions(regions)


def field_values(regions: Sequence[Region], name: str, lo: int = 0, hi: int | None = None):
    """One field of regions[lo:hi], for a tuple of Regions or columns alike (columns:
    without making a Region)."""
    if isinstance(regions, RegionColumns):
        return regions.column(name, lo, hi)
    part = regions if lo == 0 and hi is None else regions[lo:hi]
    return map(itemgetter(_FIELD[name]), part)


def starts_of(regions: Sequence[Region]) -> Sequence[int]:
    """Every region's start, to bisect: the column itself, or a new list of them."""
    if isinstance(regions, RegionColumns):
        return regions.starts
    return [r[0] for r in regions]


def row_hashes(regions: RegionColumns, mapping_only: bool) -> array:
    """``hash(region)`` of every region (with ``mapping_only``, of its first seven
    fields: start to path), as ``array('q')``, without making a Region: the hash of a
    Region is that of a plain tuple of its fields, and ``zip`` reuses its tuple. A chunk
    at a time (the GIL)."""
    n = len(regions)
    out = array("q")
    fields = Region._fields[:7] if mapping_only else Region._fields
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        columns = [regions.column(name, lo, hi) for name in fields]
        out.extend(map(hash, zip(*columns, strict=False)))
    return out


def matching_rows(new: RegionColumns, old: RegionColumns, new_keys, old_keys) -> array | None:
    """For each region of ``new``, the index in ``old`` of the region with the same key
    at the same start (keys: ``row_hashes`` of each, or any per-row numbers), or -1.
    None when every region matches the one at the same index (same count): the usual
    tick, found by two array compares (memcmp), and nothing built.

    Elsewhere, runs of equal keys are found by comparing slices, growing, and the rest
    is walked by start."""
    n, m = len(new), len(old)
    if n == m and new_keys == old_keys and new.starts == old.starts:
        return None
    out = array("q", repeat(_NONE, n))
    ns, os_ = new.starts, old.starts
    i = j = 0
    while i < n and j < m:
        run = _equal_run(new_keys, i, old_keys, j)
        if run:
            out[i : i + run] = array("q", range(j, j + run))
            i += run
            j += run
            continue
        a, b = ns[i], os_[j]
        if a == b:
            if new_keys[i] == old_keys[j]:
                out[i] = j
            i += 1
            j += 1
        elif a < b:
            i += 1
        else:
            j += 1
    return out


def _equal_run(a, i: int, b, j: int) -> int:
    """How many of a[i:] and b[j:] are equal, pairwise from the start, by slice
    compares of growing length."""
    limit = min(len(a) - i, len(b) - j)
    if limit <= 0 or a[i] != b[j]:
        return 0
    done, step = 0, 16
    while done < limit:
        k = min(step, limit - done)
        if a[i + done : i + done + k] == b[j + done : j + done + k]:
            done += k
            step *= 8
            continue
        if k <= 16:
            while done < limit and a[i + done] == b[j + done]:
                done += 1
            return done
        step = 16  # the difference is in this slice: narrow down
    return done


def take(column, rows: array, missing: int = _NONE) -> array:
    """``column[rows[k]]`` for every k (``missing`` where rows[k] is -1), in C."""
    out = array(column.typecode if isinstance(column, array) else column.format)
    if not len(column):
        out.extend(repeat(missing, len(rows)))
        return out
    out.extend(map(column.__getitem__, rows))  # -1 picks the last: put right below
    for k in compress(range(len(rows)), map(eq, rows, repeat(_NONE))):
        out[k] = missing
    return out
