"""What the region table shows, as plain data: filtered, sorted, optionally grouped rows.

Kept apart from the widget so it can be tested without a terminal, and so a refresh
of 60 000 regions costs one pass of filtering and one sort, never per-row widgets.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region, region_starting_at
from vmtop.tui.sampler import RegionChange
from vmtop.tui.widgets.table_column_rows import GroupedRows, RowsOf, column_groups, column_rows
from vmtop.tui.widgets.table_rows import (
    DESCENDING_FIRST,
    FIGURES,
    SORT_COLUMNS,
    GroupRow,
    Member,
    Row,
    TableState,
    filter_regions,
    group_key,
    group_kind,
    group_sort_value,
    row_key,
    row_region,
    sort_value,
)

__all__ = [
    "DESCENDING_FIRST",
    "FIGURES",
    "SORT_COLUMNS",
    "GroupRow",
    "GroupedRows",
    "Member",
    "Row",
    "RowsOf",
    "TableState",
    "build_rows",
    "filter_regions",
    "group_key",
    "regions_in",
    "row_key",
    "row_region",
]


def build_rows(
    regions: Sequence[Region],
    changes: dict[int, RegionChange],
    *,
    sort: str = "start",
    descending: bool = False,
    filter_text: str = "",
    grouped: bool = False,
    expanded: frozenset[str] | set[str] = frozenset(),
    hugetlb: dict[int, int] | None = None,
) -> Sequence[Row]:
    """The rows to show, in order. ``changes`` is keyed by region start; ``hugetlb``
    (Snapshot.hugetlb as a dict by start; None: not known) sorts and sums the HugeTLB
    column.

    Regions held as columns, in address order, unfiltered, are their own rows (a
    Sequence: the table makes a Region for the rows on screen only)."""
    if isinstance(regions, RegionColumns):
        if grouped:
            return column_groups(regions, changes, sort, descending, filter_text, expanded)
        if not filter_text.split() and sort == "start" and not descending:
            return regions
        return column_rows(regions, changes, sort, descending, filter_text)
    shown = filter_regions(regions, filter_text)
    get = changes.get
    if not grouped:
        if sort != "start" or descending:
            shown.sort(key=lambda r: sort_value(sort, r, get(r.start), hugetlb), reverse=descending)
        return shown
    in_hugetlb = _grouped_hugetlb(shown, hugetlb)

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
        kind = group_kind(by_kind)
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
            hugetlb=None if hugetlb is None else in_hugetlb.get(key, 0),
        )
        groups.append((group, regs))
    groups.sort(key=lambda gr: group_sort_value(sort, gr[0]), reverse=descending)
    rows: list[Row] = []
    for group, regs in groups:
        rows.append(group)
        if group.expanded:
            if sort != "start" or descending:
                regs = sorted(
                    regs,
                    key=lambda r: sort_value(sort, r, get(r.start), hugetlb),
                    reverse=descending,
                )
            rows.extend(Member(r) for r in regs)
    return rows


def _grouped_hugetlb(shown: list[Region], hugetlb: dict[int, int] | None) -> dict[str, int]:
    """Memory in hugetlb pages by the group of its region (regions with some are few:
    each found by its start)."""
    out: dict[str, int] = {}
    for start, size in (hugetlb or {}).items():
        r = region_starting_at(shown, start)
        if r is not None:
            key = group_key(r)[0]
            out[key] = out.get(key, 0) + size
    return out


def regions_in(rows: Sequence[Row]) -> int:
    """How many regions the rows stand for: each region row, or each group's count
    (open or not). In C or per group, never a pass over a million rows."""
    if isinstance(rows, (RegionColumns, RowsOf)):
        return len(rows)
    if isinstance(rows, GroupedRows):
        return sum(group.count for group in rows.groups)
    groups = [row.count for row in rows if isinstance(row, GroupRow)]
    return sum(groups) if groups else len(rows)


def _sum_opt(values: Sequence[int | None]) -> int | None:
    total = 0
    seen = False
    for v in values:
        if v is not None:
            total += v
            seen = True
    return total if seen else None
