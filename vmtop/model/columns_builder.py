"""Building the columns of a snapshot (``RegionColumns.from_builder``) a piece at a
time, from Regions, plain rows, or the parts a no-Region parse gives."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import islice, repeat

from vmtop.model.column_fields import (
    _ALL_NONE_BYTES,
    _FIELD,
    _NAMES,
    _NONE,
    _NUMBERS,
    CHUNK,
    FIGURES,
)
from vmtop.model.column_masks import byte_at
from vmtop.model.region import Region


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

    def joined(self, like: array | memoryview | None = None) -> array | memoryview:
        """The column, in one array; ``like`` itself when it holds the same values (a
        column of the last build of the same file: on most ticks nothing in it moved),
        compared piece by piece, no copy made."""
        pieces, self.pieces = self.pieces, []
        if like is not None and _same_values(pieces, like, self.typecode):
            return like
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


def _same_values(pieces: list[array], like: array | memoryview, typecode: str) -> bool:
    """Do these pieces, one after the other, hold what ``like`` holds? (memcmp a piece
    at a time: a few ms at a million values, each step short.)"""
    view = memoryview(like)
    if view.format != typecode or sum(map(len, pieces)) != len(view):
        return False
    at = 0
    for piece in pieces:
        n = len(piece)
        if memoryview(piece) != view[at : at + n]:
            return False
        at += n
    return True


class ColumnsBuilder:
    """Appends regions, a chunk at a time; ``RegionColumns.from_builder`` makes the columns."""

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

    def parts(self, like=None) -> tuple:
        """What RegionColumns is made of, once everything is added: numbers, names,
        tables, figures (None when no region has any), thread ids (likewise), and
        whether the figures mix numbers and None. ``like``: the RegionColumns of the
        last build of the same file, whose columns are taken as they are wherever they
        hold the same values (shared: no 8 MB join per column at a million regions)."""
        figured = any(self.valued[:-1])
        for k in range(len(FIGURES) + 1):
            if figured if k < len(FIGURES) else self.valued[k]:
                self._write_pending(k)
        tables = tuple(tuple(t.values) for t in self.tables)
        none = repeat(None)
        like_numbers = like_names = like_figures = none
        like_tids = None
        if like is not None and len(like) == self.count:
            like_numbers, like_figures, like_tids = like.numbers, like.figures or none, like.tids
            # (indexes into tables mean the same only where the tables are the same)
            like_names = [
                c if t == ours else None
                for c, t, ours in zip(like.names, like.tables, tables, strict=True)
            ]
        return (
            tuple(map(_Column.joined, self.numbers, like_numbers)),
            tuple(map(_Column.joined, self.names, like_names)),
            tables,
            tuple(map(_Column.joined, self.figures, like_figures)) if figured else None,
            self.tids.joined(like_tids) if self.valued[-1] else None,
            figured and any(self.missing[:-1]),
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
            out[byte_at(size, k) :: size] = ids.translate(plane)
    column = array(typecode)
    column.frombytes(out)
    return column
