"""The region table's columns: every column it can show (``CATALOGUE``), which fit a
terminal's width (``columns_for``), the marks and backgrounds of changed rows, and what
a region's name cell says. No widget here: the column chooser reads it too."""

from __future__ import annotations

import os
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.cached_stacks import is_cached_stack
from vmtop.model.memory_files import shown_name
from vmtop.model.names import display_name
from vmtop.model.region import Region
from vmtop.model.stacks import MAIN_STACK_OWNER, STACK_SHAPE
from vmtop.tui import sampler


class Column(NamedTuple):
    id: str
    key: str  # sort key it maps to ("" when not sortable)
    title: str
    width: int  # 0: takes the rest of the line
    right: bool  # right-aligned
    priority: int = 50  # on a narrow terminal, the lowest go first
    meaning: str = ""  # what the figure is (the column chooser says it)


# smaps fields shown as columns that a Region does not carry: read from the snapshot's
# smaps text for the rows on screen only (so they are not sortable).
# Figures no region carries, read from its smaps text for the rows on screen: the rest
# of what `pmap -X` shows.
FIELD_COLUMNS = {
    "locked": "Locked",
    "referenced": "Referenced",
    "pss_dirty": "Pss_Dirty",
    "swap_pss": "SwapPss",
    "anon_huge": "AnonHugePages",
    "lazyfree": "LazyFree",
    # hugetlb pages are in neither Rss nor Pss: the only figure of them. (Read from the
    # snapshot's figures of them, Snapshot.hugetlb, where it has them: then summed for
    # groups and sortable; from the text only where status does not say.)
    "hugetlb": ("Shared_Hugetlb", "Private_Hugetlb"),
}
# Every column the table can show, in the order they appear. Figures are named for the
# smaps field they come from, as `pmap -X` names them.
CATALOGUE = (
    Column("start", "start", "Start", 12, False, 100, "first address"),
    Column("end", "", "End", 12, False, 10, "one past the last address"),
    Column("size", "size", "Size", 5, True, 90, "mapped size (virtual)"),
    Column("rss", "rss", "RSS", 5, True, 85, "Rss: in RAM and mapped by this process"),
    Column("pss", "pss", "PSS", 5, True, 60, "Pss: resident, shared pages divided by sharers"),
    Column("shared_clean", "shared_clean", "ShClean", 7, True, 24, "Shared_Clean"),
    Column("shared_dirty", "shared_dirty", "ShDirty", 7, True, 24, "Shared_Dirty"),
    Column("private_clean", "private_clean", "PrClean", 7, True, 24, "Private_Clean"),
    Column(
        "private_dirty",
        "private_dirty",
        "PrDirty",
        7,
        True,
        40,
        "Private_Dirty: modified, mapped only here now",
    ),
    Column(
        "dirty",
        "dirty",
        "Dirty",
        5,
        True,
        26,
        "Shared_ + Private_Dirty (pmap -x's Dirty)",
    ),
    Column("anonymous", "anonymous", "Anon", 5, True, 28, "Anonymous: not backed by a file"),
    Column("swap", "swap", "Swap", 5, True, 55, "Swap: swapped out"),
    Column("locked", "", "Locked", 6, True, 22, "Locked: mlock()ed, kept in RAM (rows on screen)"),
    Column("referenced", "", "Refd", 5, True, 21, "Referenced: accessed lately (rows on screen)"),
    Column(
        "pss_dirty", "", "PssDty", 6, True, 21, "Pss_Dirty: the dirty part of Pss (rows on screen)"
    ),
    Column(
        "swap_pss",
        "",
        "SwPss",
        5,
        True,
        21,
        "SwapPss: this process's share of Swap (rows on screen)",
    ),
    Column(
        "anon_huge",
        "",
        "THP",
        5,
        True,
        21,
        "AnonHugePages: in transparent huge pages (rows on screen)",
    ),
    Column(
        "lazyfree",
        "",
        "Lazy",
        5,
        True,
        21,
        "LazyFree: MADV_FREE'd, freed under pressure (rows on screen)",
    ),
    Column(
        "hugetlb",
        "hugetlb",
        "HugeTLB",
        7,
        True,
        21,
        "Shared_ + Private_Hugetlb: in hugetlb pages, which RSS leaves out",
    ),
    Column("perm", "", "Perm", 4, False, 20, "permissions"),
    Column("kind", "kind", "Kind", 9, False, 70, "what the region is"),
    Column("dsize", "delta", "ΔSize", 6, True, 30, "change of size (since refresh/baseline)"),
    Column(
        "drss",
        "",
        "ΔRSS",
        6,
        True,
        65,
        "change of RSS, hugetlb pages counted (since refresh/baseline; ~ estimated)",
    ),
    Column("name", "name", "Object / name", 0, False, 100, "file, object or description"),
)
# A sortable column's title has room for the sort order's ▼/▲ after it (PrDirty▼):
# cut to the column's width, the arrow was lost.
CATALOGUE = tuple(
    c._replace(width=max(c.width, len(c.title) + 1)) if c.key and c.width else c for c in CATALOGUE
)
COLUMN_IDS = tuple(c.id for c in CATALOGUE)
DEFAULT_COLUMNS = (
    "start", "end", "size", "rss", "pss", "private_dirty", "swap", "perm", "kind", "dsize",
    "drss", "name",
)  # fmt: skip
REQUIRED_COLUMNS = ("start", "name")  # what a row is: never left out
MIN_NAME = 18
FULL_ADDRESSES_FROM = 150  # table columns: from here [vsyscall]'s 16 digits are shown whole


# The priority of a column raised for this process: HugeTLB where it has memory in
# hugetlb pages (in no RSS: at 80 columns the segment read "276M RSS 0", the column the
# first to go). Above PSS and Swap, below the change of RSS.
RAISED_PRIORITY = 62


def raised_columns(hugetlb: dict[int, int] | None) -> tuple[str, ...]:
    """The columns kept ahead of their usual priority for a snapshot whose memory in
    hugetlb pages by region start is ``hugetlb``: HugeTLB where it has some."""
    return ("hugetlb",) if hugetlb and any(hugetlb.values()) else ()


# The priority of a column the person ticked in the column chooser: above the default
# columns they did not choose but Size and RSS. At 80 columns a ticked ShClean had the
# lowest priority but End's, and ticking it changed nothing (review); now it takes the
# place of the defaults of lowest priority that are on screen.
TICKED_PRIORITY = 80


def columns_for(
    addr_width: int,
    width: int = 1000,
    chosen: tuple[str, ...] = DEFAULT_COLUMNS,
    raised: tuple[str, ...] = (),
    ticked: tuple[str, ...] = (),
) -> list[Column]:
    """The chosen columns that fit ``width`` with room for the name: on a narrow
    terminal the lowest priorities go first (End and Perm long before PSS and Swap);
    ``raised`` ones at RAISED_PRIORITY; ``ticked`` ones (in the order they were ticked)
    at TICKED_PRIORITY, the last ticked kept longest."""
    want = set(chosen) | set(REQUIRED_COLUMNS)
    columns = [
        c._replace(width=addr_width) if c.id in ("start", "end") else c
        for c in CATALOGUE
        if c.id in want
    ]
    columns = [c._replace(priority=RAISED_PRIORITY) if c.id in raised else c for c in columns]

    def kept_until(c: Column) -> tuple[int, int]:
        if c.id in ticked and c.id not in REQUIRED_COLUMNS:
            return (max(c.priority, TICKED_PRIORITY), ticked.index(c.id))
        return (c.priority, -1)  # (before a ticked one of the same priority)

    for drop in sorted(columns, key=kept_until):
        if 1 + sum(c.width + 1 for c in columns if c.width) + MIN_NAME <= width:
            break
        if drop.id not in REQUIRED_COLUMNS:
            columns = [c for c in columns if c.id != drop.id]
    return columns


# Row backgrounds for regions that changed in the last few refreshes.
CHANGE_BG = {  # theme roles
    sampler.NEW: "row-new",
    sampler.GREW: "row-grew",
    sampler.SHRANK: "row-shrank",
    sampler.RSS_UP: "row-rss-up",
    sampler.RSS_DOWN: "row-rss-down",
    sampler.RESHAPED: "row-reshaped",
}
CHANGE_MARK = {
    sampler.NEW: "+",
    sampler.GREW: "▲",
    sampler.SHRANK: "▼",
    sampler.RSS_UP: "↑",
    sampler.RSS_DOWN: "↓",
    sampler.RESHAPED: "~",
}


def shorten_left(text: str, width: int) -> str:
    """The end of ``text`` (the file name matters most), with … where it was cut; the
    start of a kernel's name that is no file's path (``/SYSV0000162e (deleted)``,
    ``/anon_hugepage``, ``/memfd:…``, ``[anon:…]``): there the start says what it is,
    and a cut start read "…YSV766d41bd (deleted)"."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return "…"
    if text.startswith(_NAMES_READ_FROM_THE_START):
        return text[: width - 1] + "…"
    return "…" + text[-(width - 1) :]


def shorten_name(name: str, width: int, described: bool) -> str:
    """A region's name cut to ``width``: a description that starts with words
    ("PostgreSQL shared memory (/dev/zero)", "Java heap (anon)") keeps its start, where
    a cut start read "…ared memory (/dev/zero)" (a new user's review, 80 columns); a
    file's path, or a bracketed name ending in what tells it apart ("[guard of thread
    2916]"), its end (``shorten_left``)."""
    if described and name[:1].isalnum() and len(name) > width > 1:
        return name[: width - 1] + "…"
    return shorten_left(name, width)


# The kernel's names that are no path of a file in a directory.
_NAMES_READ_FROM_THE_START = (
    "[anon:",
    "[anon_shmem:",
    "/SYSV",
    "/anon_hugepage",
    "/memfd:",
    "/dev/zero",
    "/drm mm object",
    "anon_inode:",
)


_STACK_OF = "the stack of "  # how a guard's object starts (stacks.name_stack_guards)
# A guard's whose, short, where its object is long (the detail says it whole).
_GUARDED = {MAIN_STACK_OWNER: "the main stack"}


def region_name(region: Region) -> tuple[str, bool]:
    """(what to show in the name column, whether it is a description rather than a name)."""
    if region.path:
        shown = shown_name(region.path, region.kind, region.object)
        return display_name(shown), shown != region.path
    if region.kind == kinds.THREAD_STACK and (region.object or "").startswith("threads "):
        return f"[stacks of {region.object}]", True  # merged: every TID
    if region.kind == kinds.THREAD_STACK and region.tid is not None:
        name = f" ({display_name(region.object)})" if region.object else ""  # its name
        return f"[stack of thread {region.tid}{name}]", True
    if is_cached_stack(region):
        return f"[{region.object}]", True  # "[cached stack of exited thread 12]"
    if region.kind == kinds.GUARD and region.object:
        # "[guard of thread 2916]": whose, short, with the thread's number at the end,
        # where a cut name keeps its end ("…f thread 2916 (guard)" said neither).
        if region.object == STACK_SHAPE:
            return "[guard, stack shape]", True  # below rw- memory no thread was found in
        whose = _GUARDED.get(region.object, region.object.removeprefix(_STACK_OF))
        return f"[guard of {whose}]", True
    if region.object:
        return f"{os.path.basename(display_name(region.object))} ({region.kind})", True
    return "", True
