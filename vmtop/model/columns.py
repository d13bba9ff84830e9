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

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from operator import eq, getitem, itemgetter

from vmtop.model.column_fields import (
    _ALL_NONE_BYTES,
    _FIELD,
    _NAMES,
    _NONE,
    _NUMBERS,
    _TID,
    CHUNK,
    FIGURES,
)
from vmtop.model.column_masks import equal_mask
from vmtop.model.column_steps import chunked_extend, chunked_sum, where_value
from vmtop.model.columns_builder import ColumnsBuilder
from vmtop.model.region import Region

_NO_FIGURES = (None,) * len(FIGURES)


def _none_if_negative(value: int) -> int | None:
    return None if value < 0 else value


def _own(column: array | memoryview) -> array:
    """An array of its own (a head's memoryview cannot be pickled)."""
    return column if isinstance(column, array) else array(column.format, column)


def _count_none(column: array | memoryview) -> int:
    return sum(column[lo : lo + CHUNK].tolist().count(_NONE) for lo in range(0, len(column), CHUNK))


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
        return cls.from_builder(builder)

    @classmethod
    def from_builder(
        cls, builder: ColumnsBuilder, like: RegionColumns | None = None
    ) -> RegionColumns:
        """The built columns; ``like`` (the last build of the same file): its columns
        are shared wherever they hold the same values (ColumnsBuilder.parts)."""
        numbers, names, tables, figures, tids, mixed = builder.parts(like)
        return cls(numbers, names, tables, figures, tids, mixed=mixed)

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
        # (map and itemgetter, not generator expressions: the diff makes a Region
        # of every row that changed, and this is twice as fast)
        at = itemgetter(index)
        start, end, offset, inode = map(at, self.numbers)
        perms, dev, path, kind, obj = map(getitem, self.tables, map(at, self.names))
        if self.figures is None:
            figures: tuple = _NO_FIGURES
        elif self._mixed:
            figures = tuple(map(_none_if_negative, map(at, self.figures)))
        else:
            figures = tuple(map(at, self.figures))
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
        carried figures; the same start and end, as order must hold). Only the columns
        in which a replaced row differs are copied (memcpy) and patched, the others are
        shared (a relabelling touches two of eighteen: at a million regions each copy is
        8 MB); no Region is made for the others."""
        if not rows:
            return self
        n = self._len
        tables = [list(t) for t in self.tables]
        lookups = [{v: i for i, v in enumerate(t)} for t in tables]
        patched = rows.values()

        def field(name: str) -> dict[int, object]:
            return {i: r[_FIELD[name]] for i, r in rows.items()}

        def indexes(table: list, lookup: dict, values: dict[int, object]) -> dict[int, int]:
            out = {}
            for i, value in values.items():
                index = lookup.get(value)
                if index is None:
                    index = lookup[value] = len(table)
                    table.append(value)
                out[i] = index
            return out

        numbers = [
            _patched(c, "Q", field(name)) for c, name in zip(self.numbers, _NUMBERS, strict=True)
        ]
        names = [
            _patched(c, "I", indexes(table, lookup, field(name)))
            for c, table, lookup, name in zip(self.names, tables, lookups, _NAMES, strict=True)
        ]
        # Arrays for figures and thread ids only where some region has them (so that
        # equal contents keep one representation: see __init__).
        figured = self.figures is not None or any(r[7] is not None for r in patched)
        mixed = self._mixed or self.figures is None
        figures = None
        if figured:
            figures = []
            for k, name in enumerate(FIGURES):
                values = field(name)
                if None in values.values():
                    mixed = True
                values = {i: _NONE if v is None else v for i, v in values.items()}
                column = _nones(n) if self.figures is None else self.figures[k]
                figures.append(_patched(column, "q", values, fresh=self.figures is None))
        with_tids = self.tids is not None or any(r[_TID] is not None for r in patched)
        tids = None
        if with_tids:
            values = {i: _NONE if t is None else t for i, t in field("tid").items()}
            column = _nones(n) if self.tids is None else self.tids
            tids = _patched(column, "q", values, fresh=self.tids is None)
        return RegionColumns(
            tuple(numbers),
            tuple(names),
            tuple(map(tuple, tables)),
            None if figures is None else tuple(figures),
            tids,
            mixed=figures is not None and mixed,
        )


class ColumnRows(Sequence):
    """The regions of ``regions`` (columns) at the rows ``order`` (filtered, sorted,
    changed): a Region made for each when it is looked at, none held."""

    def __init__(self, regions: RegionColumns, order: Sequence[int]) -> None:
        self.regions = regions
        self.order = order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.regions[k] for k in self.order[i]]
        return self.regions[self.order[i]]

    def __iter__(self) -> Iterator[Region]:
        return map(self.regions.__getitem__, self.order)


def _patched(column, typecode: str, values: dict[int, int], fresh: bool = False):
    """``column`` with these values at these indexes: itself when it holds them all
    already, else a copy (``fresh``: a new array of ours, patched in place)."""
    if not fresh:
        if all(column[i] == v for i, v in values.items()):
            return column
        column = _copy(column, typecode)
    for i, v in values.items():
        column[i] = v
    return column


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
    out = array("q", [_NONE]) * n
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
    chunked_extend(out, map(column.__getitem__, rows))  # -1 picks the last: put right below
    for k in where_value(eq, rows, _NONE):
        out[k] = missing
    return out
