"""What the region table shows, as plain data: filtered, sorted, optionally grouped rows.

Kept apart from the widget so it can be tested without a terminal, and so a refresh
of 60 000 regions costs one pass of filtering and one sort, never per-row widgets.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import compress, repeat
from operator import ge, ne, sub
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.column_steps import chunked_extend, where_pair
from vmtop.model.columns import FIGURES as COLUMN_FIGURES
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region
from vmtop.tui.sampler import RegionChange

# The smaps figures a row can show, by sort key: (Region attribute, smaps field name).
# "dirty" is shared + private dirty (pmap -x's Dirty); "private_dirty" is the memory
# only this process has written (the header's "private dirty").
FIGURES = {
    "rss": ("rss", "Rss"),
    "pss": ("pss", "Pss"),
    "shared_clean": ("shared_clean", "Shared_Clean"),
    "shared_dirty": ("shared_dirty", "Shared_Dirty"),
    "private_clean": ("private_clean", "Private_Clean"),
    "private_dirty": ("private_dirty", "Private_Dirty"),
    "dirty": ("dirty", "Shared_Dirty + Private_Dirty"),
    "anonymous": ("anonymous", "Anonymous"),
    "swap": ("swap", "Swap"),
}
# Sort columns, in the order `s` cycles through them. Sizes sort largest first.
SORT_COLUMNS = ("start", "size", *FIGURES, "delta", "kind", "name")
DESCENDING_FIRST = {"size", *FIGURES, "delta"}


class GroupRow(NamedTuple):
    """One object's regions summed (group-by-object mode)."""

    key: str  # what the group is: an object path, "[heap]", "[anonymous]", ...
    label: str
    kind: str  # the kind that colours it (the kind holding most bytes)
    count: int
    start: int  # lowest address
    size: int
    rss: int | None
    pss: int | None
    dirty: int | None
    swap: int | None
    size_delta: int
    rss_delta: int
    expanded: bool
    shared_clean: int | None = None
    shared_dirty: int | None = None
    private_clean: int | None = None
    private_dirty: int | None = None
    anonymous: int | None = None


class Member(NamedTuple):
    """A region shown under its expanded group (indented)."""

    region: Region


# A row is a Region (ungrouped: the region itself, so 60 000 rows cost no allocation),
# a GroupRow, or a Member of an expanded group.
Row = Region | GroupRow | Member


def row_region(row: Row) -> Region | None:
    if isinstance(row, Region):
        return row
    if isinstance(row, Member):
        return row.region
    return None


def group_key(region: Region) -> tuple[str, str]:
    """(key, label) of the group a region belongs to in group-by-object mode."""
    return _group_key_of(region.object, region.kind, region.path)


def _group_key_of(obj: str | None, kind: str, path: str) -> tuple[str, str]:
    if obj:
        return obj, obj
    if kind == kinds.HEAP:
        return "[heap]", "[heap]"
    if kind == kinds.STACK:
        return "[stack]", "[stack]"
    if kind == kinds.THREAD_STACK:
        return "[thread stacks]", "[thread stacks]"
    if kind in (kinds.ANON, kinds.BSS):
        return "[anonymous]", "[anonymous]"
    if kind == kinds.GUARD and not path:
        return "[guard pages]", "[guard pages]"
    if path:
        return path, path
    return f"[{kind}]", f"[{kind}]"


def _sum_opt(values: Sequence[int | None]) -> int | None:
    total = 0
    seen = False
    for v in values:
        if v is not None:
            total += v
            seen = True
    return total if seen else None


def _matches(region: Region, terms: Sequence[str]) -> bool:
    return all(
        _text_match(region.path, region.object, region.kind, region.perms, term)
        or _address_match(region, term)
        for term in terms
    )


def _text_match(path: str, obj: str | None, kind: str, perms: str, term: str) -> bool:
    """Does a term match the name or object (substring, any case), the kind (prefix)
    or the permissions?"""
    if term in path.lower() or term in (obj or "").lower():
        return True
    if kind.startswith(term) or term == kind:
        return True
    return term in perms


def _is_hex_term(term: str) -> bool:
    hexpart = term[2:] if term.startswith("0x") else term
    return bool(hexpart) and all(c in "0123456789abcdef_" for c in hexpart)


def _address_match(region: Region, term: str) -> bool:
    if not _is_hex_term(term):
        return False
    hexpart = (term[2:] if term.startswith("0x") else term).replace("_", "")
    if term.startswith("0x"):
        try:
            if region.contains(int(hexpart, 16)):
                return True
        except ValueError:
            pass
    return f"{region.start:x}".startswith(hexpart) or f"{region.end:x}".startswith(hexpart)


def filter_regions(regions: Sequence[Region], text: str) -> list[Region]:
    """Regions matching every whitespace-separated term of ``text`` (a new list).

    A term matches the name or object (substring, any case), the kind (prefix), the
    permissions (``rw``, ``r-x``, ``s``), or an address: ``0x7f12…`` matches the region
    containing that address, and bare hex matches the start or end address prefix.

    Regions share a few names, kinds and permissions (a million regions may have a
    few hundred distinct ones): the text part is decided once per distinct one, and
    only regions it does not settle are looked at by address.
    """
    terms = text.lower().split()
    if not terms:
        return list(regions)
    hex_terms = {t for t in terms if _is_hex_term(t)}
    decided: dict[tuple, bool | None] = {}  # True: all match; False: cannot; None: by address

    def decide(key: tuple) -> bool | None:
        unmatched = [t for t in terms if not _text_match(*key, t)]
        if not unmatched:
            return True
        return None if all(t in hex_terms for t in unmatched) else False

    out = []
    append = out.append
    for r in regions:
        key = (r.path, r.object, r.kind, r.perms)
        verdict = decided.get(key, 0)
        if verdict == 0:
            if len(decided) > 100_000:
                decided.clear()
            verdict = decided[key] = decide(key)
        if verdict or (verdict is None and _matches(r, terms)):
            append(r)
    return out


class RowsOf(Sequence):
    """Rows that are regions of columns picked by index (filtered, sorted): a Region
    is made for the rows on screen only."""

    def __init__(self, regions: RegionColumns, order: array) -> None:
        self.regions = regions
        self.order = order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.regions[k] for k in self.order[i]]
        return self.regions[self.order[i]]

    def __iter__(self):
        regions = self.regions
        return (regions[k] for k in self.order)

    def row_of_start(self, start: int) -> int | None:
        """The row showing the region that starts at ``start``, if shown."""
        k = self.regions.index_at(start)
        if k is None:
            return None
        try:
            return self.order.index(k)  # (in C)
        except ValueError:
            return None


def _column_rows(
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
    hex_terms = {t for t in terms if _is_hex_term(t)}
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
            unmatched = [t for t in terms if not _text_match(*key, t)]
            if not unmatched:
                verdict = True
            elif all(t in hex_terms for t in unmatched):
                verdict = None
            else:
                verdict = False
            decided[key] = verdict
        if verdict or (verdict is None and _matches(regions[i], terms)):
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
            key=lambda k: _sort_value(sort, rows[k], get(rows[k].start)),
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


def _sort_value(column: str, region: Region, change: RegionChange | None):
    if column == "start":
        return region.start
    if column == "size":
        return region.size
    if column in FIGURES:
        return getattr(region, FIGURES[column][0]) or 0
    if column == "delta":
        if change is None:
            return 0
        return abs(change.size_delta) + abs(change.rss_delta)
    if column == "kind":
        return (
            kinds.ALL_KINDS.index(region.kind) if region.kind in kinds.ALL_KINDS else 99,
            region.start,
        )
    if column == "name":
        return (region.path, region.start)
    return region.start


class TableState(NamedTuple):
    """What the rows depend on besides the regions and changes: taken on the UI thread
    and handed to the sampling worker, which builds the rows of a huge map for it."""

    sort: str = "start"
    descending: bool = False
    filter_text: str = ""
    grouped: bool = False
    expanded: frozenset = frozenset()

    @property
    def by_address(self) -> bool:
        """Every region in address order: rows that cost nothing to make (columns)."""
        return not (self.filter_text.split() or self.grouped) and (
            self.sort == "start" and not self.descending
        )


def build_rows(
    regions: Sequence[Region],
    changes: dict[int, RegionChange],
    *,
    sort: str = "start",
    descending: bool = False,
    filter_text: str = "",
    grouped: bool = False,
    expanded: frozenset[str] | set[str] = frozenset(),
) -> Sequence[Row]:
    """The rows to show, in order. ``changes`` is keyed by region start.

    Regions held as columns, in address order, unfiltered, are their own rows (a
    Sequence: the table makes a Region for the rows on screen only)."""
    if isinstance(regions, RegionColumns):
        if grouped:
            return _column_groups(regions, changes, sort, descending, filter_text, expanded)
        if not filter_text.split() and sort == "start" and not descending:
            return regions
        return _column_rows(regions, changes, sort, descending, filter_text)
    shown = filter_regions(regions, filter_text)
    get = changes.get
    if not grouped:
        if sort != "start" or descending:
            shown.sort(key=lambda r: _sort_value(sort, r, get(r.start)), reverse=descending)
        return shown

    members: dict[str, list[Region]] = {}
    labels: dict[str, str] = {}
    for r in shown:
        key, label = group_key(r)
        members.setdefault(key, []).append(r)
        labels[key] = label
    groups: list[tuple[GroupRow, list[Region]]] = []
    for key, regs in members.items():
        by_kind: dict[str, int] = {}
        size_delta = rss_delta = 0
        for r in regs:
            by_kind[r.kind] = by_kind.get(r.kind, 0) + r.size
            c = get(r.start)
            if c is not None:
                size_delta += c.size_delta
                rss_delta += c.rss_delta
        kind = max(by_kind.items(), key=lambda kv: kv[1])[0]
        if kinds.TEXT in by_kind:
            kind = kinds.TEXT  # an ELF object: colour it as code
        group = GroupRow(
            key=key,
            label=labels[key],
            kind=kind,
            count=len(regs),
            start=regs[0].start,
            size=sum(r.size for r in regs),
            rss=_sum_opt([r.rss for r in regs]),
            pss=_sum_opt([r.pss for r in regs]),
            dirty=_sum_opt([r.dirty for r in regs]),
            swap=_sum_opt([r.swap for r in regs]),
            size_delta=size_delta,
            rss_delta=rss_delta,
            expanded=key in expanded,
            shared_clean=_sum_opt([r.shared_clean for r in regs]),
            shared_dirty=_sum_opt([r.shared_dirty for r in regs]),
            private_clean=_sum_opt([r.private_clean for r in regs]),
            private_dirty=_sum_opt([r.private_dirty for r in regs]),
            anonymous=_sum_opt([r.anonymous for r in regs]),
        )
        groups.append((group, regs))
    groups.sort(key=lambda gr: _group_sort_value(sort, gr[0]), reverse=descending)
    rows: list[Row] = []
    for group, regs in groups:
        rows.append(group)
        if group.expanded:
            if sort != "start" or descending:
                regs = sorted(
                    regs, key=lambda r: _sort_value(sort, r, get(r.start)), reverse=descending
                )
            rows.extend(Member(r) for r in regs)
    return rows


def regions_in(rows: Sequence[Row]) -> int:
    """How many regions the rows stand for: each region row, or each group's count
    (open or not). In C or per group, never a pass over a million rows."""
    if isinstance(rows, (RegionColumns, RowsOf)):
        return len(rows)
    if isinstance(rows, GroupedRows):
        return sum(group.count for group in rows.groups)
    groups = [row.count for row in rows if isinstance(row, GroupRow)]
    return sum(groups) if groups else len(rows)


def _group_sort_value(column: str, g: GroupRow):
    if column == "start":
        return g.start
    if column == "size" or column in FIGURES:
        return getattr(g, FIGURES[column][0] if column in FIGURES else column) or 0
    if column == "delta":
        return abs(g.size_delta) + abs(g.rss_delta)
    if column == "kind":
        return (kinds.ALL_KINDS.index(g.kind) if g.kind in kinds.ALL_KINDS else 99, g.start)
    return (g.label, g.start)


def row_key(row: Row) -> tuple:
    """What identifies a row across refreshes (selection follows it)."""
    if isinstance(row, GroupRow):
        return ("group", row.key)
    r = row if isinstance(row, Region) else row.region
    return ("region", r.dev, r.inode, r.path, r.start)


# -- columns, grouped -------------------------------------------------------------------


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


def _column_groups(
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
        key, label = _group_key_of(obj, kind, path)
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
        sums = groups[_group_key_of(obj, kind, path)[0]]
        sums.size_delta += change.size_delta
        sums.rss_delta += change.rss_delta
    parts = [(_group_row(sums, key in expanded), sums) for key, sums in groups.items()]
    parts.sort(key=lambda part: _group_sort_value(sort, part[0]), reverse=descending)
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
    kind = max(sums.by_kind.items(), key=lambda kv: kv[1])[0]
    if kinds.TEXT in sums.by_kind:
        kind = kinds.TEXT  # an ELF object: colour it as code
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
