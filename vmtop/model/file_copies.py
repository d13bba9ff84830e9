"""Pages of a private file mapping written: copied on write, this process's own memory now.

A file mapped ``MAP_PRIVATE`` (a library's ``.data`` and relocations, a data file mapped
``PROT_WRITE``, code a JIT or a debugger patches) shares the file's page cache until a
page is written: the kernel then gives the process a copy of its own (copy-on-write),
anonymous memory in a file's mapping. Only smaps' ``Anonymous`` of the mapping says so.
Measured on Linux 6.18 (one 8 MiB private mapping of a file, ext4):

- reading 4 MiB: Rss +4 MiB (page cache), Anonymous 0;
- writing 2 MiB of the pages read: Rss flat, Anonymous +2 MiB (each copy took the place
  of the file's page in the mapping): no ``rss_changed`` at all;
- writing 2 MiB never read here: Rss +2 MiB and Anonymous +2 MiB (the copy is made at
  the first fault; the file's page is not mapped): ``rss_changed`` said "pages faulted
  in", as if it were file cache;
- ``MADV_DONTNEED`` of 2 MiB of copies: Rss -2 MiB and Anonymous -2 MiB (the file's
  pages come back when touched, what was written is lost).

A ``copied_on_write`` says such a change of the copies by the threshold (``delta``: of
Anonymous). Where the Rss moved the same way with them and by no more than them
(give or take less than the threshold), the Rss change was the copies: its
``rss_changed`` is folded into this event (``fold_resident``), which says the Rss moved,
so no words call new private memory file cache. A rise in the Rss of more than the
copies keeps its ``rss_changed`` (file pages were read too). Copies that went to swap
or came back from it are the ``rss_changed``'s (its words say swap): no copies were
made or dropped. A fork shares the copies (``shared_changed``), and a write by either
process copies them again: Anonymous does not move then.

Only private mappings of files: not of a device or ``/dev/zero`` (its pages are zeroes,
new memory, no file's), nor shared ones (writes go to the file). Where several lines
are one mapping (mprotect split it), their copies count together: a JIT patching code a
page at a time splits the mapping at each page, and no line alone moves by the
threshold. The diff of two samples sums the lines it compares (its groups); the TUI's
drift (``CopyDrift``) sums the lines that map the file at the same place, one number
per mapping that holds copies. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from itertools import compress
from operator import itemgetter

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.column_fields import FIGURES
from vmtop.model.column_masks import mask_not, zero_mask
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.event_words import says_swap_moved, size_text
from vmtop.model.events import Event
from vmtop.model.figure_drift import regions_at, summed
from vmtop.model.region import Region, Snapshot

ANONYMOUS = Region._fields.index("anonymous")
# A private mapping of these is no file's page cache: /dev/zero's pages are zeroes (new
# memory from the first fault), a device's are the driver's.
_NOT_A_FILE = frozenset((kinds.SHM, kinds.DEVICE))

COPIED = "copied on write"
COPIED_WHAT = (
    "pages are this process's own now (written: private copies of the file, no longer page cache)"
)
DROPPED = "copies dropped"
DROPPED_WHAT = (
    "private copies went (MADV_DONTNEED, or the file truncated under it): what was "
    "written there is lost, and the file's pages are read again where touched"
)
# What the Rss did meanwhile (``fold_resident`` puts the right one in).
FLAT_RISE = (
    "the Rss unchanged by it: each copy took the place of the file's page, resident here before"
)
FLAT_FALL = "the Rss unchanged by it: the file's pages were mapped back in their place"
ROSE_WITH = "the Rss rose by {rss} with them"
NOT_RESIDENT = ": the file's pages were not resident here, each write made new memory"
PART_RESIDENT = ": the others took the place of the file's pages, resident here before"
FELL_WITH = "the Rss fell by {rss} with them"
MORE_TOO = "the Rss rose by more: its rss_changed counts the file's pages read besides"
LESS_TOO = "the Rss fell by more: its rss_changed counts the file's pages let go besides"


def file_copies(r: Region) -> int | None:
    """The memory a private file mapping holds of its own (smaps' Anonymous: pages
    written, copied on write); None for other mappings, or where not known."""
    if not r.inode or r.perms[3:] != "p" or r.kind in _NOT_A_FILE:
        return None
    return r[ANONYMOUS]


def copies_of(rows: Iterable[Region]) -> int | None:
    """``file_copies`` of these lines of one mapping together."""
    return summed(rows, file_copies)


def file_name(path: str) -> str:
    """The file's name, as the words give it: ``libfoo.so`` of ``/usr/lib/libfoo.so``."""
    name = path.removesuffix(" (deleted)").rstrip("/").rpartition("/")[2]
    return name or path


def copy_words(delta: int, now: int, path: str, since: str = "") -> str:
    """What a copied_on_write says: ``delta`` bytes of the file's pages copied (falling:
    copies dropped), ``now`` copied; the Rss said unchanged (``fold_resident`` says
    otherwise where it moved)."""
    name = file_name(path)
    if delta > 0:
        text = f"{COPIED}: +{size_text(delta)} of {name}'s {COPIED_WHAT}{since}; {FLAT_RISE}"
    else:
        text = f"{DROPPED}: {size_text(delta)} of {name}'s {DROPPED_WHAT}; {FLAT_FALL}"
    return f"{text}; now {size_text(now)} copied"


def copy_event(
    when: float,
    region: Region,
    start: int,
    end: int,
    delta: int,
    now: int,
    since: str = "",
) -> Event:
    """A copied_on_write of [start, end) of ``region``."""
    detail = copy_words(delta, now, region.path, since)
    return Event(
        when, ev.COPIED_ON_WRITE, start, end, region.kind, abs(delta), delta, region.path,
        region.tid, detail, object=region.object,
    )  # fmt: skip


def copies_moved(
    rows: Sequence[Region],
    copies: tuple[int | None, int | None],
    threshold: int,
    when: float,
    out: list[Event],
) -> None:
    """A copied_on_write where the lines ``rows`` of one private file mapping (address
    order) changed their copies (``copies``: before and now, where known) by the
    threshold; said of the line holding the most."""
    was, now = copies
    if was is None or now is None:
        return
    if now - was >= threshold or was - now >= threshold:
        said = max(rows, key=lambda r: r[ANONYMOUS] or 0)
        out.append(copy_event(when, said, rows[0].start, rows[-1].end, now - was, now))


def fold_resident(events: list[Event], threshold: int) -> list[Event]:
    """``events`` with each copied_on_write told by the rss_changed of its range (the
    same file) among them: where the Rss moved the same way by no more than the copies
    (less than the threshold more), it was the copies, and its rss_changed goes into
    this event's words; where it moved more, both are said. A copied_on_write whose
    range's rss_changed says swap is none (copies swapped out or in: none made or
    dropped). Others as they are."""
    copies = [k for k, e in enumerate(events) if e.event == ev.COPIED_ON_WRITE]
    if not copies:
        return events
    gone: set[int] = set()
    for k in copies:
        c = events[k]
        resident = [
            j for j, e in enumerate(events)
            if e.event == ev.RSS_CHANGED and e.path == c.path and e.start < c.end
            and c.start < e.end
        ]  # fmt: skip
        if any(says_swap_moved(events[j].detail) for j in resident):
            gone.add(k)
            continue
        same_way = [j for j in resident if (events[j].delta > 0) == (c.delta > 0)]
        moved = sum(events[j].delta for j in same_way)
        if not same_way:
            if resident:  # (the other way: nothing to say of it here)
                events[k] = c._replace(detail=_without_rss(c.detail))
            continue
        if abs(moved) - abs(c.delta) >= threshold:
            more = c.detail.replace(FLAT_RISE, MORE_TOO).replace(FLAT_FALL, LESS_TOO)
            events[k] = c._replace(detail=more)
            continue
        gone.update(same_way)
        events[k] = c._replace(detail=_with_rss(c.detail, c.delta, moved))
    return [e for k, e in enumerate(events) if k not in gone]


def _with_rss(detail: str, delta: int, moved: int) -> str:
    if delta < 0:
        return detail.replace(FLAT_FALL, FELL_WITH.format(rss=size_text(-moved)))
    why = NOT_RESIDENT if moved >= delta else PART_RESIDENT
    return detail.replace(FLAT_RISE, ROSE_WITH.format(rss=size_text(moved)) + why)


def _without_rss(detail: str) -> str:
    return detail.replace(f"; {FLAT_RISE}", "").replace(f"; {FLAT_FALL}", "")


# -- many lines of one sample alike (event_runs) -------------------------------------------


def rss_said(detail: str) -> str:
    """What a copied_on_write's words say the Rss did: "flat", "with" (moved with the
    copies), "more" (moved more), or "" (nothing said)."""
    if FLAT_RISE in detail or FLAT_FALL in detail:
        return "flat"
    if MORE_TOO in detail or LESS_TOO in detail:
        return "more"
    if "; the Rss rose by " in detail or "; the Rss fell by " in detail:
        return "with"
    return ""


def copies_together(events: Sequence[Event]) -> str:
    """The words of one line for the copied_on_write of several lines of one file in one
    sample, alike (one way, the Rss said alike): their copies summed."""
    last = events[-1]
    delta = sum(e.delta for e in events)
    name = file_name(last.path)
    n = len(events)
    said = rss_said(last.detail)
    if delta > 0:
        text = f"{COPIED}: +{size_text(delta)} of {name}'s {COPIED_WHAT}, in {n} regions"
        rss = {"flat": FLAT_RISE, "more": MORE_TOO, "with": "the Rss rose with them"}
    else:
        text = f"{DROPPED}: {size_text(delta)} of {name}'s {DROPPED_WHAT}, in {n} regions"
        rss = {"flat": FLAT_FALL, "more": LESS_TOO, "with": "the Rss fell with them"}
    return f"{text}; {rss[said]}" if said in rss else text


# -- the TUI's drift ---------------------------------------------------------------------------

# A mapping by its file and where it maps it: the lines mprotect cut one mapping into
# map the file at the same place (start - offset), so they count together.
_Mapping = tuple[str, int, int]
_INODE = itemgetter(5)
_PERMS, _DEV, _KIND = 0, 1, 3  # (RegionColumns' name columns: perms, dev, path, kind, object)


def _mapping(r: Region) -> _Mapping:
    return (r[4], r[5], r[0] - r[3])


def file_rows(regions: RegionColumns) -> list[int]:
    """The rows of columns that map a file (inode not 0), found in C."""
    return list(where(mask_not(zero_mask(regions.numbers[3]))))


def copy_rows(
    snapshot: Snapshot, files: Callable[[RegionColumns], list[int]] = file_rows
) -> list[tuple[int, int, _Mapping, int]] | None:
    """(row, start, mapping, copies) of each line of a private file mapping holding
    copies, in address order; None where the snapshot has no smaps figures. Of columns,
    the rows of files (``files``) are read field by field: no Region is made."""
    if not snapshot.has_smaps:
        return None
    regions = snapshot.regions
    if not isinstance(regions, RegionColumns):
        lines = compress(range(len(regions)), map(_INODE, regions))  # (in C: files)
        return [
            (i, r[0], _mapping(r), r[ANONYMOUS])
            for i in lines
            if (r := regions[i])[ANONYMOUS] and file_copies(r)
        ]
    if regions.figures is None:
        return None
    anonymous = regions.figures[FIGURES.index("anonymous")]
    start, _, offset, inode = regions.numbers
    perms, dev, kind = (regions.names[k] for k in (_PERMS, _DEV, _KIND))
    perms_of, dev_of, kind_of = (regions.tables[k] for k in (_PERMS, _DEV, _KIND))
    out = []
    for i in files(regions):
        copies = anonymous[i]  # (-1: not read)
        if copies > 0 and perms_of[perms[i]][3:] == "p" and kind_of[kind[i]] not in _NOT_A_FILE:
            out.append((i, start[i], (dev_of[dev[i]], inode[i], start[i] - offset[i]), copies))
    return out


class CopyDrift:
    """Changes of each private file mapping's copies since they were last reported (as
    ``FigureDrift`` does for one figure of a region), its lines counted together.

    Bounded: for each mapping holding copies, their amount when last reported and where
    its first line holding them starts; mappings unmapped since are forgotten."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self._reported: dict[_Mapping, tuple[int, int]] = {}
        self._started = False
        self._previous: Sequence[Region] | None = None
        # The rows of columns that map a file, and the inode column they were found in:
        # the next read's columns share it where the map's lines did not change.
        self._files: tuple[object, list[int]] = (None, [])

    def __len__(self) -> int:
        return len(self._reported)

    def _file_rows(self, regions: RegionColumns) -> list[int]:
        inode = regions.numbers[3]
        if self._files[0] is not inode:
            self._files = (inode, file_rows(regions))
        return self._files[1]

    def update(self, snapshot: Snapshot, announced: Collection[int] | None = None) -> list[Event]:
        """copied_on_write events for the mappings whose copies moved by the threshold
        since last reported. A snapshot without smaps figures changes nothing; the first
        one only starts the count. A mapping new since the last snapshot counts from
        nothing (" since it was mapped"), but where its first line holding copies
        starts at one of ``announced`` (regions whose mapped event said their resident
        size): from its first figure."""
        rows = copy_rows(snapshot, self._file_rows)
        if rows is None:
            return []
        if not rows and not self._reported:
            self._started, self._previous = True, snapshot.regions
            return []
        regions = snapshot.regions
        # Each mapping's copies, its first and last line holding them, the biggest.
        now: dict[_Mapping, list[int]] = {}
        for i, start, key, copies in rows:
            entry = now.get(key)
            if entry is None:
                now[key] = [copies, i, i, i, copies, start]
            else:
                entry[0] += copies
                entry[2] = i
                if copies > entry[4]:
                    entry[3], entry[4] = i, copies
        out: list[Event] = []
        kept: dict[_Mapping, tuple[int, int]] = {}
        told = announced or ()
        when = snapshot.taken_at
        for key, (was, first) in self._reported.items():
            if key in now:
                continue
            line = regions_at(regions, (first,)).get(first)  # still mapped, no copies left?
            if line is None or _mapping(line) != key or file_copies(line) is None:
                continue  # gone (what it held went with it: its unmapped event)
            if was >= self.threshold:
                out.append(copy_event(when, line, line.start, line.end, -was, 0))
            elif was:
                kept[key] = (was, first)
        for key, (amount, _, high, biggest, _, first) in now.items():
            reported = self._reported.get(key)
            since = ""
            if reported is not None:
                was = reported[0]
            elif not self._started or first in told:
                kept[key] = (amount, first)  # first seen: counting starts
                continue
            else:
                was = 0
                if not self._was_there(key, first):
                    since = " since it was mapped"
            delta = amount - was
            if delta >= self.threshold or -delta >= self.threshold:
                end = regions[high].end
                out.append(copy_event(when, regions[biggest], first, end, delta, amount, since))
                was = amount
            kept[key] = (was, first)
        self._reported = kept
        self._started, self._previous = True, regions
        return out

    def _was_there(self, key: _Mapping, start: int) -> bool:
        if self._previous is None:
            return False
        line = regions_at(self._previous, (start,)).get(start)
        return line is not None and _mapping(line) == key
