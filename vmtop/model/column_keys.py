"""Keys of regions held as columns, to compare two snapshots row by row: ``ColumnKeys``.

The diff (and carry, RssDrift, recording deltas) find the runs of regions that are the
same in two snapshots by comparing keys at aligned positions, slice by slice. For Region
tuples a key is the region's hash. For columns, hashing every row means making a tuple
of 18 fields per row (~1 µs: a second at a million regions, every tick); instead the
key of a row is the row itself, spread over the columns, and two slices of keys are
equal when every column's slices are (a memcmp each).

Names (perms, dev, path, kind, object) are indexes into each snapshot's own tables, so
they are put into a numbering shared by all snapshots (``_VOCABULARY``, one per name
column) first; a table numbered in its own order (the usual case) is used as it is. That
numbering is bounded: past ``VOCABULARY_MAX`` names it starts again under a new
generation, and keys of different generations are never compared (``key_pair``).
"""

from __future__ import annotations

import threading
from array import array
from operator import eq, itemgetter

from vmtop.model.columns import FIGURES, RegionColumns

VOCABULARY_MAX = 1 << 20  # names kept numbered (a churning process may invent names)
_VOCABULARY: list[dict] = [{} for _ in range(5)]  # one numbering per name column
_generation = 0
_lock = threading.Lock()

_MAPPING_NUMBERS = (0, 1, 2, 3)  # start, end, offset, inode
_MAPPING_NAMES = (0, 1, 2)  # perms, dev, path
_ALL_NAMES = (0, 1, 2, 3, 4)  # and kind, object


class ColumnKeys:
    """Per row of a snapshot's columns, its key (the mapping fields, or all of them):
    ``keys[i] == other[j]`` compares two rows, ``keys[a:b] == other[c:d]`` two runs, and
    iterating a slice gives the rows' keys one by one."""

    __slots__ = ("columns", "generation", "_len")

    def __init__(self, columns: tuple, generation: int, length: int) -> None:
        self.columns = columns
        self.generation = generation
        self._len = length

    @classmethod
    def of(cls, regions: RegionColumns, whole: bool) -> ColumnKeys:
        """Keys of every region: with ``whole``, of every field, else of its mapping
        (start, end, perms, offset, dev, inode, path)."""
        n = len(regions)
        with _lock:
            generation = _start_over_if_full(regions.tables)
            numbers = [_numbered(k, regions.tables[k]) for k in _ALL_NAMES]
        names = [
            _translated(regions.names[k], numbers[k])
            for k in (_ALL_NAMES if whole else _MAPPING_NAMES)
        ]
        columns = [regions.numbers[k] for k in _MAPPING_NUMBERS] + names
        if whole:
            nones = None  # one array of -1 for every column that is all None
            if regions.figures is not None:
                columns.extend(regions.figures)
            else:
                nones = _minus_ones(n)
                columns.extend(nones for _ in FIGURES)
            if regions.tids is not None:
                columns.append(regions.tids)
            else:
                columns.append(nones if nones is not None else _minus_ones(n))
        return cls(tuple(columns), generation, n)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index):
        if isinstance(index, slice):
            lo, hi, step = index.indices(self._len)
            if step != 1:
                raise ValueError("key slices are contiguous")
            return _Run(tuple(map(itemgetter(slice(lo, hi)), self.columns)))
        return tuple(map(itemgetter(index), self.columns))

    def __eq__(self, other) -> bool:
        if not isinstance(other, ColumnKeys):
            return NotImplemented
        return (
            self._len == other._len
            and self.generation == other.generation
            and all(a == b for a, b in zip(self.columns, other.columns, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]


class _Run:
    """A slice of keys: compared whole (every column's slice), iterated row by row."""

    __slots__ = ("columns",)

    def __init__(self, columns: tuple) -> None:
        self.columns = columns

    def __eq__(self, other) -> bool:
        if not isinstance(other, _Run):
            return NotImplemented
        return all(map(eq, self.columns, other.columns))

    def __iter__(self):
        return zip(*self.columns, strict=True)

    def __len__(self) -> int:
        return len(self.columns[0])


def _start_over_if_full(tables: tuple) -> int:
    """Start the numbering over when these tables could take it past VOCABULARY_MAX
    (call with _lock held); the generation the numbers will belong to."""
    global _generation
    if any(len(v) + len(t) > VOCABULARY_MAX for v, t in zip(_VOCABULARY, tables, strict=True)):
        for v in _VOCABULARY:
            v.clear()
        _generation += 1
    return _generation


def _numbered(column: int, table: tuple) -> list[int]:
    """The shared number of each name of a table (call with _lock held)."""
    vocabulary = _VOCABULARY[column]
    out = []
    for value in table:
        number = vocabulary.get(value)
        if number is None:
            number = vocabulary[value] = len(vocabulary)
        out.append(number)
    return out


def _translated(indexes, numbers: list[int]):
    """A name column in the shared numbering: the column itself when its table is
    numbered in its own order (usual: one process's names, met in the same order)."""
    if numbers == list(range(len(numbers))):
        return indexes
    return array("I", map(numbers.__getitem__, indexes))


def _minus_ones(n: int) -> array:
    out = array("q")
    out.frombytes(b"\xff" * (8 * n))  # -1, two's complement
    return out
