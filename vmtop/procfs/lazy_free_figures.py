"""A region's memory freed with MADV_FREE, by the kernel's own figure (smaps' LazyFree).

LazyFree is not among the figures the parser keeps per region (a million regions'
worth each read): the model names the few regions that may hold such memory by the
figures it has (``lazy_free.clean_anonymous``: private anonymous memory that is clean),
and their LazyFree is read here from the smaps text their snapshot kept. Where the text
was not kept (a huge map) nothing is said: clean memory alone is no proof (pages read
back from swap are clean too). The words are the model's (``vmtop.model.lazy_free``).
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model import events as ev
from vmtop.model.events import Event
from vmtop.model.lazy_free import (
    PRIVATE_CLEAN,
    as_measured,
    clean_anonymous,
    clean_anonymous_regions,
    is_measured,
    said_reclaimed,
)
from vmtop.model.region import Region, Snapshot
from vmtop.procfs.smaps_blocks import regions_blocks

_FIELD = "LazyFree"


def _lazy_free_in(text, regions: Sequence[Region]) -> list[int | None]:
    """smaps' LazyFree of each of ``regions`` in ``text``; None where its block or the
    field (a kernel before 4.12) is not there."""
    blocks = regions_blocks(text, regions)
    return [None if block is None else _lazy_free_of(block) for block in blocks]


_LINE = b"\n" + _FIELD.encode() + b":"


def _lazy_free_of(block: bytes) -> int | None:
    """The block's LazyFree in bytes, read from its one line: thousands of regions each
    read, where every field of each parsed cost 30 ms a sample (review)."""
    at = block.find(_LINE)
    if at < 0:
        return None
    end = block.find(b"\n", at + 1)
    words = block[at + len(_LINE) : end if end >= 0 else len(block)].split()
    if len(words) != 2 or words[1] != b"kB" or not words[0].isdigit():
        return None
    return int(words[0]) * 1024


def lazy_free_at(snapshot: Snapshot | None, starts: Sequence[int]) -> list[int | None]:
    """smaps' LazyFree of the regions starting at ``starts``, in the text ``snapshot``
    kept: 0 where it has no region there (not mapped yet); None where it kept no text,
    or the region does not start there."""
    if snapshot is None or snapshot.raw_smaps is None:
        return [None] * len(starts)
    found = [snapshot.region_at(start) for start in starts]
    regions = [
        r for r, start in zip(found, starts, strict=True) if r is not None and r.start == start
    ]
    figures = iter(_lazy_free_in(snapshot.raw_smaps, regions))
    out: list[int | None] = []
    for r, start in zip(found, starts, strict=True):
        if r is None:
            out.append(0)
        elif r.start != start:
            out.append(None)  # (part of a region: its figure is the whole region's)
        else:
            out.append(next(figures))
    return out


def lazy_free_figures(snapshot: Snapshot) -> list[tuple[int, int]] | None:
    """(start, LazyFree) of the regions of ``snapshot`` holding memory freed with
    MADV_FREE, read from its kept text for the regions whose clean anonymous memory
    says they may; None where it kept no text (``RssDrift.update``'s ``lazy_free``)."""
    if snapshot.raw_smaps is None:
        return None
    regions = clean_anonymous_regions(snapshot)
    if regions is None:
        return None
    out = []
    for r, figure in zip(regions, _lazy_free_in(snapshot.raw_smaps, regions), strict=True):
        if figure is None:  # (a block torn away: its clean memory, as close as known)
            figure = r[PRIVATE_CLEAN]
        if figure:
            out.append((r.start, figure))
    return out


def said_with_lazy_free(
    events: Sequence[Event], before: Snapshot | None, now: Snapshot
) -> list[Event]:
    """``events`` told by the kernel's LazyFree of their regions in ``before`` (the last
    snapshot whose smaps was read) and ``now``: each lazyfree_changed the diff told by
    clean memory measured by it, or left out where it was not read or does not bear it
    out; each resident fall of a region that held clean memory said as pages freed with
    MADV_FREE going, where LazyFree fell by as much."""
    wanted = [
        k for k, e in enumerate(events)
        if e.event == ev.LAZYFREE_CHANGED and not is_measured(e)
        or e.event == ev.RSS_CHANGED and e.delta < 0 and _held_clean(before, e.start)
    ]  # fmt: skip
    if not wanted:
        return list(events)
    starts = [events[k].start for k in wanted]
    after = dict(zip(wanted, lazy_free_at(now, starts), strict=True))
    was = dict(zip(wanted, lazy_free_at(before, starts), strict=True))
    out: list[Event] = []
    for k, e in enumerate(events):
        if k not in after:
            out.append(e)
        elif e.event == ev.RSS_CHANGED:
            out.append(said_reclaimed(e, was[k], after[k]))
        elif (told := as_measured(e, was[k], after[k])) is not None:
            out.append(told)
    return out


def _held_clean(snapshot: Snapshot | None, start: int) -> bool:
    """Whether the region at ``start`` held clean anonymous memory (none: none of it
    was freed with MADV_FREE, and its text need not be read)."""
    region = snapshot.region_at(start) if snapshot is not None else None
    return region is not None and bool(clean_anonymous(region))
