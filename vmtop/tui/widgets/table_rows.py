"""The region table's rows as plain data: a region, a group of an object's regions,
a member of an open group; what identifies a row, how one sorts, what a filter term
matches. Row by row: the columns of a huge map have their own (table_column_rows)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.cached_stacks import CACHED
from vmtop.model.region import Region
from vmtop.model.stacks import MAIN_STACK_OWNER, THREAD_STACK_OWNERS
from vmtop.tui.sampler import RegionChange
from vmtop.tui.theme import kind_label
from vmtop.tui.widgets.table_columns import region_name

# The smaps figures a row can show, by sort key: (Region attribute, smaps field name).
# "dirty" is shared + private dirty (pmap -x's Dirty); "private_dirty" is the modified
# pages mapped by this process alone (the header's "private dirty").
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
SORT_COLUMNS = ("start", "size", *FIGURES, "hugetlb", "delta", "kind", "name")


DESCENDING_FIRST = {"size", *FIGURES, "hugetlb", "delta"}


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
    hugetlb: int | None = None  # memory in hugetlb pages (in no RSS); None: not known


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


# Address space set aside, not memory: a group is what its other regions are (a malloc
# arena of 132K in use and 64M reserved is an arena, not a reservation).
_SET_ASIDE = frozenset({kinds.RESERVED, kinds.GUARD})


def group_kind(by_kind: dict[str, int]) -> str:
    """The kind that colours a group: the one with most bytes in it, leaving out
    reserved space and guard pages unless that is all it has; text when the group is an
    ELF object (its code)."""
    if kinds.TEXT in by_kind:
        return kinds.TEXT
    used = {k: v for k, v in by_kind.items() if k not in _SET_ASIDE} or by_kind
    return max(used.items(), key=lambda kv: kv[1])[0]


def group_key(region: Region) -> tuple[str, str]:
    """(key, label) of the group a region belongs to in group-by-object mode."""
    return group_key_of(region.object, region.kind, region.path)


def group_key_of(obj: str | None, kind: str, path: str) -> tuple[str, str]:
    if kind == kinds.GUARD and not path:
        # An anonymous guard's object says what it guards, which is no object: a
        # stack's goes with the stacks, the rest together.
        if obj == MAIN_STACK_OWNER:
            return "[stack]", "[stack]"
        if obj and obj.startswith(THREAD_STACK_OWNERS):
            return "[thread stacks]", "[thread stacks]"
        return "[guard pages]", "[guard pages]"
    if kind == kinds.THREAD_STACK and not (obj or "").startswith(CACHED):
        return "[thread stacks]", "[thread stacks]"  # (a thread's name is no object)
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
    if path:
        return path, path
    return f"[{kind}]", f"[{kind}]"


def matches(region: Region, terms: Sequence[str]) -> bool:
    return all(
        text_match(region.path, region.object, region.kind, region.perms, term)
        or _address_match(region, term)
        or _shown_name_match(region, term)
        for term in terms
    )


def text_match(path: str, obj: str | None, kind: str, perms: str, term: str) -> bool:
    """Does a term match the name or object (substring, any case), the kind (prefix
    of its name or of the label the table shows: ``tstack`` for thread_stack) or the
    permissions?"""
    if term in path.lower() or term in (obj or "").lower():
        return True
    if kind.startswith(term) or kind_label(kind).lower().startswith(term):
        return True
    return term in perms


def key_verdict(key: tuple, terms: Sequence[str], hex_terms: set[str]) -> bool | None:
    """What ``text_match`` settles for every region of one (path, object, kind, perms):
    True, all match; False, none can; None, each region decides (an address term, or
    a thread stack, whose shown name holds its thread id)."""
    unmatched = [t for t in terms if not text_match(*key, t)]
    if not unmatched:
        return True
    if key[2] == kinds.THREAD_STACK or all(t in hex_terms for t in unmatched):
        return None
    return False


def _shown_name_match(region: Region, term: str) -> bool:
    """The name column's description of an unnamed region: ``[stack of thread 812]``."""
    name, described = region_name(region)
    return described and term in name.lower()


def is_hex_term(term: str) -> bool:
    hexpart = term[2:] if term.startswith("0x") else term
    return bool(hexpart) and all(c in "0123456789abcdef_" for c in hexpart)


def _address_match(region: Region, term: str) -> bool:
    if not is_hex_term(term):
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

    A term matches the name or object (substring, any case; for a thread's stack, the
    name shown: ``stack of thread 812``), the kind (prefix of its name or label), the
    permissions (``rw``, ``r-x``, ``s``), or an address: ``0x7f12…`` matches the region
    containing that address, and bare hex matches the start or end address prefix.

    Regions share a few names, kinds and permissions (a million regions may have a
    few hundred distinct ones): the text part is decided once per distinct one, and
    only regions it does not settle are looked at by address.
    """
    terms = text.lower().split()
    if not terms:
        return list(regions)
    hex_terms = {t for t in terms if is_hex_term(t)}
    decided: dict[tuple, bool | None] = {}  # key_verdict's, by key
    out = []
    append = out.append
    for r in regions:
        key = (r.path, r.object, r.kind, r.perms)
        verdict = decided.get(key, 0)
        if verdict == 0:
            if len(decided) > 100_000:
                decided.clear()
            verdict = decided[key] = key_verdict(key, terms, hex_terms)
        if verdict or (verdict is None and matches(r, terms)):
            append(r)
    return out


def sort_value(column: str, region: Region, change: RegionChange | None, hugetlb=None):
    """What ``region`` sorts by (``hugetlb``: Snapshot.hugetlb as a dict by start)."""
    if column == "start":
        return region.start
    if column == "size":
        return region.size
    if column in FIGURES:
        return getattr(region, FIGURES[column][0]) or 0
    if column == "hugetlb":
        return hugetlb.get(region.start, 0) if hugetlb else 0
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


def group_sort_value(column: str, g: GroupRow):
    if column == "start":
        return g.start
    if column in ("size", "hugetlb") or column in FIGURES:
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
