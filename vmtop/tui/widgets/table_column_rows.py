"""The region table's rows of a huge map held as columns: filtered, sorted and
grouped by indexes and runs in C, a Region made for the rows on screen only."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import compress, repeat
from operator import ge, ne, sub

from vmtop.model.column_steps import chunked_extend, where_pair
from vmtop.model.columns import FIGURES as COLUMN_FIGURES
from vmtop.model.columns import ColumnRows, RegionColumns
from vmtop.tui.sampler import RegionChange
from vmtop.tui.widgets.table_rows import (
    FIGURES,
    GroupRow,
    Member,
    group_key_of,
    group_kind,
    group_sort_value,
    is_hex_term,
    key_verdict,
    matches,
    sort_value,
)


class RowsOf(ColumnRows):
    """Rows that are regions of columns picked by index (filtered, sorted): a Region
    is made for the rows on screen only."""

    def row_of_start(self, start: int) -> int | None:
        """The row showing the region that starts at ``start``, if shown."""
        k = self.regions.index_at(start)
        if k is None:
            return None
        try:
            return self.order.index(k)  # (in C)
        except ValueError:
            return None


def column_rows(
    regions: RegionColumns,
    changes: dict[int, RegionChange],
    sort: str,
    descending: bool,
    filter_text: str,
) -> RowsOf:
    """build_rows for columns, not grouped: indexes of the regions shown, filtered by
    what each distinct name decides (a Region made only where an address decides),
    and sorted by a column's values (the Regions made for the rows on screen only)."""
    order = _shown_indexes(regions, filter_text)
    if order is None:
        order = array("q", range(len(regions)))
    if sort == "start" and not descending:
        return RowsOf(regions, order)
    return RowsOf(regions, _sorted_indexes(regions, order, changes, sort, descending))


def _shown_indexes(regions: RegionColumns, filter_text: str) -> array | None:
    """The indexes of the regions that ``filter_text`` shows, in address order (None:
    every region), decided once per distinct name (a Region made only where an address
    decides)."""
    terms = filter_text.lower().split()
    if not terms:
        return None
    hex_terms = {t for t in terms if is_hex_term(t)}
    decided: dict[tuple, bool | None] = {}
    keys = zip(
        regions.column("path"),
        regions.column("object"),
        regions.column("kind"),
        regions.column("perms"),
        strict=True,
    )
    order = array("q")
    append = order.append
    for i, key in enumerate(keys):
        verdict = decided.get(key, 0)
        if verdict == 0:
            verdict = decided[key] = key_verdict(key, terms, hex_terms)
        if verdict or (verdict is None and matches(regions[i], terms)):
            append(i)
    return order


def _sorted_indexes(
    regions: RegionColumns, order: Sequence[int], changes, sort: str, descending: bool
) -> array:
    """``order`` (region indexes) sorted as build_rows sorts Regions (stable)."""
    values = _column_sort_values(regions, sort, changes)
    if values is None:  # (a sort the columns cannot answer: by Region, row by row)
        get = changes.get
        rows = [regions[i] for i in order]
        ranked = sorted(
            range(len(rows)),
            key=lambda k: sort_value(sort, rows[k], get(rows[k].start)),
            reverse=descending,
        )
        return array("q", (order[k] for k in ranked))
    return array("q", sorted(order, key=values.__getitem__, reverse=descending))


def _column_sort_values(regions: RegionColumns, sort: str, changes) -> list | None:
    """Per region, the value build_rows sorts by, from the columns (None: not one of
    those)."""
    if sort == "start":
        return regions.starts
    if sort == "size":
        return list(map(sub, regions.ends, regions.starts))
    if sort in FIGURES and sort != "dirty":
        return [v or 0 for v in regions.column(FIGURES[sort][0])]
    if sort == "delta":
        values = [0] * len(regions)
        for start, c in changes.items():
            i = regions.index_at(start)
            if i is not None:
                values[i] = abs(c.size_delta) + abs(c.rss_delta)
        return values
    return None


class GroupedRows(Sequence):
    """Group rows of columns (``build_rows`` grouped), each expanded group followed by
    its members: a Member, and its Region, is made for the rows looked at only (the
    "[anonymous]" group of a huge map can hold a million)."""

    def __init__(self, regions: RegionColumns, parts: list[tuple[GroupRow, array | None]]):
        self.regions = regions
        self.groups = [group for group, _ in parts]
        self.members = [members for _, members in parts]  # region indexes, when expanded
        self.offsets = []  # the row of each group
        at = 0
        for members in self.members:
            self.offsets.append(at)
            at += 1 + (len(members) if members is not None else 0)
        self._len = at

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError("row index out of range")
        k = bisect_right(self.offsets, i) - 1
        at = i - self.offsets[k]
        if at == 0:
            return self.groups[k]
        return Member(self.regions[self.members[k][at - 1]])

    def __iter__(self):
        for group, members in zip(self.groups, self.members, strict=True):
            yield group
            if members is not None:
                yield from (Member(self.regions[i]) for i in members)

    def row_of_start(self, start: int) -> int | None:
        """The row of the member that starts at ``start``, if its group is open."""
        k = self.regions.index_at(start)
        if k is None:
            return None
        for offset, members in zip(self.offsets, self.members, strict=True):
            if members is not None:
                try:
                    return offset + 1 + members.index(k)  # (in C)
                except ValueError:
                    continue
        return None

    def row_of_group(self, key: str) -> int | None:
        for offset, group in zip(self.offsets, self.groups, strict=True):
            if group.key == key:
                return offset
        return None


class _GroupSums:
    """One group's figures, added up run by run."""

    def __init__(self, key: str, label: str, start: int) -> None:
        self.key, self.label, self.start = key, label, start
        self.count = self.size = self.size_delta = self.rss_delta = 0
        self.by_kind: dict[str, int] = {}
        self.figures = dict.fromkeys(_GROUP_FIGURES, 0)
        self.seen: set[str] = set()
        self.runs: list[tuple[int, int]] = []  # (positions among those shown)


# GroupRow's figures, and the Region fields they add up ("dirty": both dirty ones).
_GROUP_FIGURES = {
    "rss": ("rss",),
    "pss": ("pss",),
    "dirty": ("shared_dirty", "private_dirty"),
    "swap": ("swap",),
    "shared_clean": ("shared_clean",),
    "shared_dirty": ("shared_dirty",),
    "private_clean": ("private_clean",),
    "private_dirty": ("private_dirty",),
    "anonymous": ("anonymous",),
}


def column_groups(
    regions: RegionColumns,
    changes: dict[int, RegionChange],
    sort: str,
    descending: bool,
    filter_text: str,
    expanded: frozenset[str] | set[str],
) -> GroupedRows:
    """build_rows grouped, for columns: the regions shown go by runs of one (object,
    kind, name), each run added up in C (a million anonymous regions in a row are one
    run), and no Region is made but for the members of open groups on screen."""
    order = _shown_indexes(regions, filter_text)

    def shown(column: Sequence) -> Sequence:
        if order is None:
            return column
        return chunked_extend(array(column.typecode), map(column.__getitem__, order))

    names = ("object", "kind", "path")
    tables = [regions.distinct(name) for name in names]
    combos: dict[tuple, int] = {}
    numbered = _Numbered(combos)
    codes = zip(*(shown(regions.codes(name)) for name in names), strict=True)
    combo = chunked_extend(array("I"), map(numbered.__getitem__, codes))
    labels = [tuple(t[c] for t, c in zip(tables, key, strict=True)) for key in combos]
    n = len(combo)
    starts, ends = shown(regions.starts), shown(regions.ends)
    figures = {name: shown(column) for name, column in _figure_columns(regions).items()}
    groups: dict[str, _GroupSums] = {}
    bounds = [0, *where_pair(ne, combo, combo, n - 1, shift=1, first=1), n] if n else [0]
    for p, q in zip(bounds, bounds[1:], strict=False):
        obj, kind, path = labels[combo[p]]
        key, label = group_key_of(obj, kind, path)
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = _GroupSums(key, label, starts[p])
        size = sum(ends[p:q]) - sum(starts[p:q])
        sums.count += q - p
        sums.size += size
        sums.by_kind[kind] = sums.by_kind.get(kind, 0) + size
        for name, fields in _GROUP_FIGURES.items():
            for field in fields:
                column = figures.get(field)
                if column is None:
                    continue
                values = column[p:q]
                if regions.mixed:  # (None is held as -1)
                    values = list(compress(values, map(ge, values, repeat(0))))
                if values:
                    sums.figures[name] += sum(values)
                    sums.seen.add(name)
        if key in expanded:
            sums.runs.append((p, q))
    for start, change in changes.items():
        i = regions.index_at(start)
        if i is None:
            continue
        if order is not None:
            i = bisect_left(order, i)
            if i == len(order) or regions.starts[order[i]] != start:
                continue
        obj, kind, path = labels[combo[i]]
        sums = groups[group_key_of(obj, kind, path)[0]]
        sums.size_delta += change.size_delta
        sums.rss_delta += change.rss_delta
    parts = [(_group_row(sums, key in expanded), sums) for key, sums in groups.items()]
    parts.sort(key=lambda part: group_sort_value(sort, part[0]), reverse=descending)
    return GroupedRows(
        regions,
        [
            (group, _members(regions, order, sums.runs, changes, sort, descending))
            if group.expanded
            else (group, None)
            for group, sums in parts
        ],
    )


class _Numbered(dict):
    """value -> a small int, numbered as values come (in C, by map(__getitem__))."""

    def __init__(self, numbers: dict) -> None:
        super().__init__()
        self.numbers = numbers

    def __missing__(self, value) -> int:
        self[value] = self.numbers[value] = len(self.numbers)
        return self[value]


def _figure_columns(regions: RegionColumns) -> dict[str, Sequence[int]]:
    """The figure columns by Region field (none: a maps-only look)."""
    if regions.figures is None:
        return {}
    return dict(zip(COLUMN_FIGURES, regions.figures, strict=True))


def _group_row(sums: _GroupSums, expanded: bool) -> GroupRow:
    kind = group_kind(sums.by_kind)
    figures = {k: (v if k in sums.seen else None) for k, v in sums.figures.items()}
    return GroupRow(
        key=sums.key,
        label=sums.label,
        kind=kind,
        count=sums.count,
        start=sums.start,
        size=sums.size,
        size_delta=sums.size_delta,
        rss_delta=sums.rss_delta,
        expanded=expanded,
        **figures,
    )


def _members(
    regions: RegionColumns,
    order: array | None,
    runs: list[tuple[int, int]],
    changes,
    sort: str,
    descending: bool,
) -> array:
    """The region indexes of an open group's members, in the order build_rows gives."""
    members = array("q")
    for p, q in runs:
        members.extend(range(p, q) if order is None else order[p:q])
    if sort == "start" and not descending:
        return members
    return _sorted_indexes(regions, members, changes, sort, descending)
