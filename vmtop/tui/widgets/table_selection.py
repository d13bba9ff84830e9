"""Where the region table's cursor goes after its rows are rebuilt: it follows a
region, not a row number (re-sorted rows, regions mapped or unmapped, a stack whose
start moved). Pure: rows and what was selected in, a row index out."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region
from vmtop.tui.widgets.table_model import (
    GroupedRows,
    GroupRow,
    Row,
    RowsOf,
    group_key,
    row_key,
    row_region,
)


class Selected(NamedTuple):
    """What the cursor was on: its row's key (``row_key``), and for a region row the
    address range, kind and object it had (to find it again, or its group)."""

    key: tuple | None
    lo: int
    hi: int
    kind: str = kinds.ANON
    obj: str | None = None


def group_of(selected: Selected) -> str:
    """The group key of the selected region (a region row's ``key``)."""
    _, dev, inode, path, _ = selected.key
    probe = Region(
        selected.lo, selected.hi, "", 0, dev, inode, path, kind=selected.kind, object=selected.obj
    )
    return group_key(probe)[0]


def find_row(rows: Sequence[Row], selected: Selected, cur: int, grouped: bool) -> int:
    """The row to put the cursor on after the rows were rebuilt (``cur``: where it
    was): the selected region's (same identity and start; else one of the same
    mapping overlapping where it was), or its group's, or the row that took its place.
    Of columns, looked up (bisected, indexed), never a pass over the rows."""
    if not rows:
        return 0
    key = selected.key
    if key is None:
        return min(cur, len(rows) - 1)
    if 0 <= cur < len(rows) and row_key(rows[cur]) == key:
        return cur
    if key[0] == "group":
        if isinstance(rows, GroupedRows):
            i = rows.row_of_group(key[1])
            return min(cur, len(rows) - 1) if i is None else i
        if isinstance(rows, (RegionColumns, RowsOf)):  # (regions only: no group row)
            return min(cur, len(rows) - 1)
        for i, row in enumerate(rows):
            if isinstance(row, GroupRow) and row.key == key[1]:
                return i
        return min(cur, len(rows) - 1)
    _, dev, inode, path, start = key
    lo, hi = selected.lo, selected.hi
    if isinstance(rows, RegionColumns):  # address order: look it up, not a pass
        return _find_in_columns(rows, key, lo, hi, cur)
    if isinstance(rows, RowsOf):  # filtered or sorted columns
        i = rows.row_of_start(start)
        if i is not None:
            r = rows[i]
            if r.path == path and r.inode == inode and r.dev == dev:
                return i
        return min(cur, len(rows) - 1)
    if isinstance(rows, GroupedRows):  # grouped columns: members looked up, not walked
        i = rows.row_of_start(start)
        if i is not None:
            r = rows[i].region
            if r.path == path and r.inode == inode and r.dev == dev:
                return i
        i = rows.row_of_group(group_of(selected))  # its group is closed
        return min(cur, len(rows) - 1) if i is None else i
    overlap = -1
    for i, row in enumerate(rows):
        r = row_region(row)
        if r is None:
            continue
        if r.start == start and r.path == path and r.inode == inode and r.dev == dev:
            return i
        if overlap < 0 and r.start < hi and r.end > lo and r.path == path and r.inode == inode:
            overlap = i
    if overlap >= 0:
        return overlap
    if grouped:
        # Its group is closed: stay on the group.
        group = group_of(selected)
        for i, row in enumerate(rows):
            if isinstance(row, GroupRow) and row.key == group:
                return i
    # The region is gone: stay on the row that took its place.
    return min(cur, len(rows) - 1)


def _find_in_columns(rows: RegionColumns, key: tuple, lo: int, hi: int, cur: int) -> int:
    """find_row in regions held as columns (in address order): the same region at
    the same start, else one of the same mapping overlapping where it was, else the row
    that took its place."""
    _, dev, inode, path, start = key
    i = rows.index_at(start)
    if i is not None:
        r = rows[i]
        if r.path == path and r.inode == inode and r.dev == dev:
            return i
    first = max(0, bisect_right(rows.starts, lo) - 1)
    for j in range(first, len(rows)):
        r = rows[j]
        if r.start >= hi:
            break
        if r.end > lo and r.path == path and r.inode == inode:
            return j
    return min(cur, len(rows) - 1)
