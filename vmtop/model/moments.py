"""Two moments of one process compared: what happened between them, and what is
different at the second.

``vmtop.model.diff`` compares two samples in a row: a range held by the same kind of
mapping at both is the same mapping, and one held by another mapping was mapped over it
(MAP_FIXED). Between two moments far apart that reads wrong: 100 MiB freed and four
thread stacks mapped where they were reads as one anonymous region split in nine, its
guard pages as an mprotect, and a file mapped where freed memory was as MAP_FIXED. So:

- ``tally(events)``: the events recorded between the moments, counted by type with
  their sizes: what a recording saw happen;
- ``net_change(a, b, remapped)``: what is different at ``b``, region by region. A region
  of ``b`` is compared with a region of ``a`` only where both are the same mapping:
  the same device, inode and name (for a file, the same offset at the same address),
  overlapping, and, when a recording says which ranges were mapped or unmapped in
  between (``remapped_ranges``), with none of their common range among them. Every
  other region is new at ``b`` or gone since ``a``. Resident sizes are compared where
  the lines are the same, or where ``b``'s line holds ``a``'s lines whole; a line split
  since has no resident change, never one shared out by address; and not at all where
  both moments have the figures of one smaps read (``figures_read.one_read``);
- ``changes_since(a, b, remapped)``: the same, per region of ``b``, as the Δ columns
  show it (``vmtop.model.region_changes.RegionChange``).

Plain data in and out: snapshots (their regions in address order) and events.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.diff import DEFAULT_RSS_THRESHOLD
from vmtop.model.event_words import (
    HEAP_NAME,
    MALLOC_MMAP_THRESHOLD,
    renamed_words,
    size_text,
    split_cause,
    what_it_is,
)
from vmtop.model.events import Event
from vmtop.model.figures_read import resident_comparable
from vmtop.model.file_copies import copies_of
from vmtop.model.hugetlb_events import hugetlb_events, hugetlb_unmapped_said
from vmtop.model.lazy_free import clean_of
from vmtop.model.mapping_figures import certain_rss_change, resident_range
from vmtop.model.process_events import exec_event
from vmtop.model.region import Region, Snapshot, same_backing
from vmtop.model.region_changes import CHANGED, GREW, NEW, SAME, SHRANK, RegionChange
from vmtop.model.sharing_events import shared_of
from vmtop.model.valgrind import is_main_stack

# Region-level changes that are not events of two samples in a row: a region that is
# the same mapping at both moments and grew or shrank (the heap and the stack keep
# their event names: heap_grew, stack_shrank, ...).
REGION_GREW = "grew"
REGION_SHRANK = "shrank"

# Recorded events that make a range another mapping than it was: after one of them, a
# region at the second moment is not the one at the first, even where they look alike.
_REMAPPING = (ev.MAPPED, ev.UNMAPPED, ev.THREAD_EXITED)


# -- what was recorded between ------------------------------------------------------------


class Tally(NamedTuple):
    event: str
    count: int
    delta: int  # the events' signed changes, summed
    size: int  # their sizes, summed


def tally(events: Iterable[Event]) -> list[Tally]:
    """Events by type (narration left out), in the order help lists them."""
    counts: dict[str, list[int]] = {}
    for e in events:
        if e.event == ev.NOTE:
            continue
        entry = counts.setdefault(e.event, [0, 0, 0])
        entry[0] += 1
        entry[1] += e.delta
        entry[2] += e.size
    order = {n: k for k, n in enumerate((*ev.EVENT_DESCRIPTIONS, REGION_GREW, REGION_SHRANK))}
    names = sorted(counts, key=lambda name: (order.get(name, len(order)), name))
    return [Tally(name, *counts[name]) for name in names]


def remapped_ranges(events: Iterable[Event]) -> list[tuple[int, int]]:
    """The address ranges that the events mapped or unmapped (a thread's exit with its
    stack let go included), sorted and merged."""
    return merged_ranges(
        (e.start, e.end)
        for e in events
        if e.event in _REMAPPING and e.end > e.start and (e.delta or e.event != ev.THREAD_EXITED)
    )


def merged_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The address ranges sorted, and those that overlap or touch made one."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


# -- pairing the regions of two moments -------------------------------------------------


# The kernel's USER_HZ: stat's start time is in these ticks on every Linux (100).
_TICKS_A_SECOND = 100


def _after_boot(s: Snapshot) -> str:
    """When the process started, as stat's field 22 says it: "8 min 33.01 s after boot"
    (a snapshot may be of another machine: no clock time to say)."""
    seconds = s.info.start_time / _TICKS_A_SECOND
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    said = f"{seconds:.2f} s after boot"
    if minutes or hours:
        said = f"{minutes} min {said}"
    return f"{hours} h {said}" if hours else said


def comparable(a: Snapshot, b: Snapshot) -> str | None:
    """Why the regions of ``a`` and ``b`` cannot be compared (two processes, or two
    programs of one: their addresses have nothing to do with each other), or None."""
    if a.info.pid != b.info.pid or a.info.start_time != b.info.start_time:
        return (
            f"they are of two processes (PID {a.info.pid} started {_after_boot(a)}, "
            f"PID {b.info.pid} started {_after_boot(b)}): each has its own address "
            "space, laid out at random, so their regions are not compared"
        )
    if exec_event(a, b) is not None:
        return (
            f"process {b.info.pid} ran a new program in between (exec): the two maps are "
            "of two programs, so their regions are not compared"
        )
    return None


def _same_mapping(p: Region, c: Region) -> bool:
    if not same_backing(p, c):  # (a file's name may change under its mapping)
        return False
    # A file mapped twice is two mappings: the same file offset at the same address.
    return not p.inode or p.offset - p.start == c.offset - c.start


class _Hits:
    """Whether a range meets one of the remapped ranges (sorted, merged)."""

    def __init__(self, remapped: Sequence[tuple[int, int]] | None) -> None:
        self.ranges = list(remapped or ())
        self.ends = [hi for _lo, hi in self.ranges]

    def __call__(self, lo: int, hi: int) -> bool:
        k = bisect_right(self.ends, lo)
        return k < len(self.ranges) and self.ranges[k][0] < hi


class _Pairing(NamedTuple):
    mates: list[list[int]]  # for each region of b: the regions of a it is the same mapping as
    users: dict[int, list[int]]  # for each region of a so kept: the regions of b keeping it
    kept: list[int]  # for each region of b: its bytes that a's mates held too


def _pair(A: Sequence[Region], B: Sequence[Region], hits: _Hits) -> _Pairing:
    mates: list[list[int]] = [[] for _ in B]
    users: dict[int, list[int]] = {}
    kept = [0] * len(B)
    i, n = 0, len(A)
    for j, c in enumerate(B):
        while i < n and A[i].end <= c.start:
            i += 1
        k = i
        while k < n and A[k].start < c.end:
            p = A[k]
            lo, hi = max(p.start, c.start), min(p.end, c.end)
            if _same_mapping(p, c) and not hits(lo, hi):
                mates[j].append(k)
                users.setdefault(k, []).append(j)
                kept[j] += hi - lo
            k += 1
    return _Pairing(mates, users, kept)


# How a region of b stands to a: the same line, lines of a held whole, part of a line.
_NEW, _ONE, _WHOLE, _PART = "new", "one", "whole", "part"


def _shape(pairing: _Pairing, j: int) -> str:
    mates = pairing.mates[j]
    if not mates:
        return _NEW
    if all(pairing.users[k] == [j] for k in mates):
        return _ONE if len(mates) == 1 else _WHOLE
    return _PART


def _rss(regions: Iterable[Region]) -> int:
    return sum(r.rss or 0 for r in regions)


# -- per region of b: the Δ columns ---------------------------------------------------------


def changes_since(
    a: Snapshot,
    b: Snapshot,
    remapped: Sequence[tuple[int, int]] | None = None,
    *,
    rss_threshold: int = DEFAULT_RSS_THRESHOLD,
) -> dict[int, RegionChange]:
    """For each region of ``b`` that is not the same as at ``a`` (keyed by its start):
    new (not the same mapping as any region of ``a``, see the module's note), grew,
    shrank, or changed (other lines, permissions, or resident size by at least
    ``rss_threshold``). The resident change of a region split since is None: unknown."""
    with_rss = resident_comparable(a, b)  # (not the figures of one smaps read)
    B = b.regions
    if comparable(a, b) is not None:
        return {c.start: RegionChange(NEW, c.size, (c.rss or 0) if with_rss else None) for c in B}
    A = a.regions
    pairing = _pair(A, B, _Hits(remapped))
    threshold = max(1, rss_threshold)
    out: dict[int, RegionChange] = {}
    for j, c in enumerate(B):
        shape = _shape(pairing, j)
        if shape == _NEW:
            out[c.start] = RegionChange(NEW, c.size, (c.rss or 0) if with_rss else None)
            continue
        mates = [A[k] for k in pairing.mates[j]]
        if shape == _PART:
            size_delta, rss_delta = c.size - pairing.kept[j], None
            reshaped = True
        else:
            size_delta = c.size - sum(p.size for p in mates)
            rss_delta = (c.rss or 0) - _rss(mates) if with_rss else None
            p = mates[0]
            reshaped = shape == _WHOLE or p.perms != c.perms or (p.start, p.end) != (c.start, c.end)
        if size_delta > 0:
            status = GREW
        elif size_delta < 0:
            status = SHRANK
        elif reshaped or (rss_delta is not None and abs(rss_delta) >= threshold):
            status = CHANGED
        else:
            status = SAME
        if status != SAME:
            out[c.start] = RegionChange(status, size_delta, rss_delta)
    return out


# -- the net change, as region-level items -------------------------------------------------


def net_change(
    a: Snapshot,
    b: Snapshot,
    remapped: Sequence[tuple[int, int]] | None = None,
    *,
    rss_threshold: int = DEFAULT_RSS_THRESHOLD,
) -> list[Event]:
    """What is different at ``b``, region by region (see the module's note), in address
    order, as events timed at ``b``: ``mapped`` (a region new since ``a``), ``unmapped``
    (one gone since), ``grew`` / ``shrank`` (``heap_grew``, ``stack_shrank``, ... for
    the heap and the stack: the range is the part added or taken off), ``split`` /
    ``merged`` (the same mapping in other lines), ``protection_changed``, and
    ``rss_changed``, ``swap_changed``, ``shared_changed`` (a private mapping's
    dirty memory shared with another process), ``lazyfree_changed`` (its memory
    freed with MADV_FREE, told by its clean anonymous memory), ``copied_on_write`` (a
    private file mapping's pages written: its own copies) and the ``rss_changed``
    of memory in hugetlb pages (where both say it): by at least
    ``rss_threshold``, where they can be read). Empty when
    the two cannot be compared (``comparable``)."""
    if comparable(a, b) is not None:
        return []
    A, B = a.regions, b.regions
    when = b.taken_at
    # Not where both have the figures of one smaps read: each region would read the
    # same, or differ by the shares a split or merge was given of that read's.
    with_rss = resident_comparable(a, b)
    threshold = max(1, rss_threshold)
    hits = _Hits(remapped)
    pairing = _pair(A, B, hits)
    out: list[Event] = []
    for k, p in enumerate(A):
        if k not in pairing.users:
            detail = "mapped at A, not at B"
            if _big_anon(p):  # (V8's pages, CPython's arenas: said as such)
                detail += "; " + what_it_is(p, p.start, p.size, freed=True)
            out.append(_item(when, ev.UNMAPPED, p, p.start, p.end, -p.size, detail))
    for j, c in enumerate(B):
        shape = _shape(pairing, j)
        mates = [A[k] for k in pairing.mates[j]]
        if shape == _NEW:
            detail = "not mapped at A, or mapped again since"
            if _big_anon(c):
                detail += "; " + what_it_is(c, c.start, c.size, freed=False)
            out.append(_item(when, ev.MAPPED, c, c.start, c.end, c.size, detail))
            continue
        if shape == _PART:
            added = c.size - pairing.kept[j]  # (a split line that a new range joined)
            if added:
                out.append(_grown(when, c, c.start, c.end, added, "part of a region at A"))
            continue
        delta = c.size - sum(p.size for p in mates)
        if shape == _WHOLE:
            detail = f"{len(mates)} regions at A are one at B"
            out.append(_item(when, ev.MERGED, c, c.start, c.end, 0, detail))
            if delta:
                out.append(_grown(when, c, c.start, c.end, delta, detail))
        elif delta:
            out.append(_resized(when, mates[0], c, delta))
        if shape == _ONE and mates[0].path != c.path:
            out.append(
                _item(when, ev.FILE_RENAMED, c, c.start, c.end, 0, renamed_words(mates[0], c))
            )
        if shape == _ONE and mates[0].perms != c.perms:
            detail = f"{mates[0].perms} -> {c.perms}"
            out.append(_item(when, ev.PROTECTION_CHANGED, c, c.start, c.end, 0, detail))
        if with_rss:
            was, now = _rss(mates), c.rss or 0
            if abs(now - was) >= threshold:
                detail = f"resident {size_text(was)} -> {size_text(now)}"
                item = _item(when, ev.RSS_CHANGED, c, c.start, c.end, now - was, detail)
                out.append(item._replace(size=abs(now - was)))
            was, now = sum(p.swap or 0 for p in mates), c.swap or 0
            if abs(now - was) >= threshold:  # (swapped out under pressure, the Rss flat)
                detail = f"on swap {size_text(was)} -> {size_text(now)}"
                item = _item(when, ev.SWAP_CHANGED, c, c.start, c.end, now - was, detail)
                out.append(item._replace(size=abs(now - was)))
            was, now = shared_of(mates), shared_of((c,))  # (a fork, copy-on-write)
            if was is not None and now is not None and abs(now - was) >= threshold:
                detail = (
                    f"anonymous memory shared (fork or KSM) {size_text(was)} -> {size_text(now)}"
                )
                item = _item(when, ev.SHARED_CHANGED, c, c.start, c.end, now - was, detail)
                out.append(item._replace(size=abs(now - was)))
            was, now = clean_of(mates), clean_of((c,))  # (MADV_FREE, or reused)
            if was is not None and now is not None and abs(now - was) >= threshold:
                detail = (  # (no LazyFree here: a recording's regions do not keep it)
                    "clean anonymous memory (freed with MADV_FREE and still resident, or "
                    f"read back from swap) {size_text(was)} -> {size_text(now)}"
                )
                item = _item(when, ev.LAZYFREE_CHANGED, c, c.start, c.end, now - was, detail)
                out.append(item._replace(size=abs(now - was)))
            was, now = copies_of(mates), copies_of((c,))  # (a private file mapping written)
            if was is not None and now is not None and abs(now - was) >= threshold:
                detail = (
                    "private copies of the file's pages (written: copy-on-write) "
                    f"{size_text(was)} -> {size_text(now)}"
                )
                item = _item(when, ev.COPIED_ON_WRITE, c, c.start, c.end, now - was, detail)
                out.append(item._replace(size=abs(now - was)))
    out += _splits(A, B, pairing, when, hits if remapped is not None else None)
    if with_rss:
        out += _split_resident(A, B, pairing, when, threshold)
    if with_rss:  # memory in hugetlb pages, which no Rss counts (where both know it)
        out += hugetlb_events(a, b, threshold)
    out.sort(key=lambda e: (e.start, e.end))
    return _renames_joined(hugetlb_unmapped_said(out, a))


def _renames_joined(items: list[Event]) -> list[Event]:
    """One file_renamed for the lines of a file next to each other that say the same
    (a library's text, data and rodata), as the events of a recording say it."""
    out: list[Event] = []
    last = None  # where the last file_renamed is in out
    for item in items:
        if item.event == ev.FILE_RENAMED and last is not None:
            was = out[last]
            if was.end == item.start and (was.path, was.detail) == (item.path, item.detail):
                out[last] = was._replace(end=item.end, size=item.end - was.start)
                continue
        if item.event == ev.FILE_RENAMED:
            last = len(out)
        out.append(item)
    return out


def _splits(A, B, pairing: _Pairing, when: float, hits: _Hits | None) -> list[Event]:
    """A ``split`` for each line of ``a`` kept in several lines of ``b`` (and the bytes
    of it that none of them keeps: ``shrank``). ``hits``: the ranges mapped and unmapped
    in between, when a recording says (else None: two maps cannot tell an mprotect of
    part of a region from parts of it unmapped and mapped again)."""
    out = []
    for k, users in pairing.users.items():
        if len(users) < 2:
            continue
        p = A[k]
        first, last = B[users[0]], B[users[-1]]
        parts: dict[str, int] = {}
        for j in users:
            parts[B[j].kind] = parts.get(B[j].kind, 0) + 1
        said = ", ".join(f"{n} {kind}" for kind, n in parts.items())
        detail = f"one region at A ({p.kind}) is {len(users)} at B ({said}): "
        if hits is None:
            detail += (
                "mprotect or madvise of part of it, or parts of it unmapped and mapped "
                "again (two maps cannot tell)"
            )
        elif hits(p.start, p.end):
            detail += "parts of it were unmapped or mapped over in between"
        else:
            detail += split_cause(B[j].perms for j in users)
        out.append(_item(when, ev.SPLIT, p, first.start, last.end, 0, detail))
        kept = sum(min(p.end, B[j].end) - max(p.start, B[j].start) for j in users)
        if kept < p.size:
            lost = f"{size_text(p.size - kept)} of it is no longer mapped"
            out.append(_grown(when, p, p.start, p.end, kept - p.size, lost))
    return out


def _split_resident(A, B, pairing: _Pairing, when: float, threshold: int) -> list[Event]:
    """An ``rss_changed`` for each line of ``a`` kept whole in several lines of ``b``
    whose resident memory moved by ``threshold`` or more, said over the lines it moved
    in (``resident_range``): a runtime's uncommit (mprotect PROT_NONE and
    MADV_DONTNEED of a region's top) fell 6 MiB, and the split's lines were never
    compared (review). What left with a part no longer mapped is not counted."""
    out = []
    for k, users in pairing.users.items():
        if len(users) < 2 or any(pairing.mates[j] != [k] for j in users):
            continue  # (lines of b that hold parts of other lines of a too: not one's)
        p, rows = A[k], [B[j] for j in users]
        figures = [r.rss or 0 for r in rows]
        was, now = p.rss or 0, sum(figures)
        kept = sum(min(p.end, r.end) - max(p.start, r.start) for r in rows)
        delta = certain_rss_change(now - was, was, p.size - kept)
        if abs(delta) < threshold:
            continue
        said, lo, hi = resident_range(rows, figures, [p], [was], delta)
        detail = f"resident {size_text(was)} -> {size_text(now)} (in its {len(rows)} lines at B)"
        out.append(
            _item(when, ev.RSS_CHANGED, said, lo, hi, delta, detail)._replace(size=abs(delta))
        )
    return out


def _resized(when: float, p: Region, c: Region, delta: int) -> Event:
    """``grew`` / ``shrank`` (heap_*, stack_*) of ``p`` now ``c``: the range added (or
    taken off) at one end where it is one, else the whole region."""
    lo, hi = c.start, c.end
    if delta > 0:
        if c.start == p.start:
            lo = p.end
        elif c.end == p.end:
            hi = p.start
    elif c.start == p.start:
        lo, hi = c.end, p.end
    elif c.end == p.end:
        lo, hi = p.start, c.start
    detail = f"{size_text(p.size)} at A, {size_text(c.size)} at B"
    return _grown(when, c, lo, hi, delta, detail)


def _grown(when: float, c: Region, lo: int, hi: int, delta: int, detail: str) -> Event:
    grew = delta > 0
    if c.path == HEAP_NAME:
        name = ev.HEAP_GREW if grew else ev.HEAP_SHRANK
    elif is_main_stack(c):
        name = ev.STACK_GREW if grew else ev.STACK_SHRANK
    else:
        name = REGION_GREW if grew else REGION_SHRANK
    return _item(when, name, c, lo, hi, delta, detail)._replace(size=abs(delta))


def _item(when: float, name: str, r: Region, lo: int, hi: int, delta: int, detail: str) -> Event:
    return Event(when, name, lo, hi, r.kind, hi - lo, delta, r.path, r.tid, detail, object=r.object)


def _big_anon(r: Region) -> bool:
    """Private anonymous memory as a big malloc block is (its kind says a thread's
    stack or an arena is not one)."""
    return (
        r.kind == kinds.ANON
        and not r.inode
        and not r.path
        and r.perms == "rw-p"
        and r.size >= MALLOC_MMAP_THRESHOLD
    )
