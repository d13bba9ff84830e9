"""Regions read by index, as Regions or as plain tuples of columns' rows, and
relabelled: what the passes of classification (``classify``, ``stacks``) share.

The passes read fields by index because they read plain tuples of a columnar map's rows
(no Region made for each: ~0.5 µs a row) as well as Regions; and they relabel through
``relabel``, which makes a Region three times faster than ``Region._replace``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region

START, END, PERMS, OFFSET, DEV, INODE, PATH = range(7)
KIND = Region._fields.index("kind")
OBJECT = Region._fields.index("object")
TID = Region._fields.index("tid")
_AFTER_TID = TID + 1
assert OBJECT == KIND + 1 and TID == KIND + 2  # relabel replaces the three at once


def relabel(r: Region, kind: str, obj: str | None, tid: int | None) -> Region:
    """``r`` with this kind, object and tid (at 60 000 regions, the speed matters)."""
    return tuple.__new__(Region, r[:KIND] + (kind, obj, tid) + r[_AFTER_TID:])


class PlainRows(Sequence):
    """Columns as a sequence of plain tuples in Region's field order (iterating makes
    no Region; indexing, rare here, gives a Region)."""

    def __init__(self, base: RegionColumns) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        return self.base[i]

    def __iter__(self) -> Iterator[tuple]:
        return self.base.plain_rows()


class Patched:
    """Columns seen through the regions replaced in them (``rows``, by index): what
    mark_thread_stacks and name_stack_guards change in place in a list."""

    def __init__(self, base: RegionColumns) -> None:
        self.base = base
        self.rows: dict[int, Region] = {}

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> Region:
        if i < 0:
            i += len(self.base)
        row = self.rows.get(i)
        return row if row is not None else self.base[i]

    def __setitem__(self, i: int, region: Region) -> None:
        self.rows[i] = region

    def __iter__(self) -> Iterator[Region]:
        rows = self.rows
        for i, r in enumerate(self.base):
            yield rows.get(i, r)

    def indexes_of_kind(self, kind: str) -> list[int]:
        """The indexes of the regions of this kind, in order (in C but for the rows
        replaced)."""
        found = set(where(self.base.name_mask("kind", kind)))
        for i, r in self.rows.items():
            if r[KIND] == kind:
                found.add(i)
            else:
                found.discard(i)
        return sorted(found)
