"""A region's memory in transparent huge pages, for the words of its resident rise.

smaps' AnonHugePages (and ShmemPmdMapped, FilePmdMapped) is not among the figures the
parser keeps per region: only the regions whose resident memory rose by 2 MiB or more
in a sample are looked up, in the smaps text their snapshots kept (none where it was
not kept: a huge map). The words are the model's (``event_words.in_huge_pages``).
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model import events as ev
from vmtop.model.event_words import HUGE_PAGE, in_huge_pages
from vmtop.model.events import Event
from vmtop.model.region import Snapshot
from vmtop.procfs.smaps_blocks import parse_smaps_fields, smaps_block

_HUGE_FIELDS = ("AnonHugePages", "ShmemPmdMapped", "FilePmdMapped")


def huge_page_bytes(snapshot: Snapshot | None, start: int) -> int | None:
    """The memory of the region starting at ``start`` in transparent huge pages, by
    the smaps text ``snapshot`` kept: 0 where it has no region there (not mapped yet);
    None where it kept no text."""
    if snapshot is None or snapshot.raw_smaps is None:
        return None
    region = snapshot.region_at(start)
    if region is None:
        return 0
    if region.start != start:
        return None  # (part of a region: its figure is the whole region's)
    block = smaps_block(snapshot.raw_smaps, region.start, region.end)
    if block is None:
        return None
    fields = parse_smaps_fields(block)
    return sum(v for name in _HUGE_FIELDS if isinstance(v := fields.get(name, 0), int))


def said_with_huge_pages(
    events: Sequence[Event], before: Snapshot | None, now: Snapshot
) -> list[Event]:
    """``events``, each resident rise of 2 MiB or more told by the region's huge pages
    in ``before`` (the last snapshot whose smaps was read) and ``now``."""
    out = list(events)
    for k, e in enumerate(out):
        if e.event != ev.RSS_CHANGED or e.delta < HUGE_PAGE:  # (no smaller one can be)
            continue
        huge_now = huge_page_bytes(now, e.start)
        if not huge_now:
            continue
        huge_before = huge_page_bytes(before, e.start)
        if huge_before is not None:  # (not known: it may have had them all along)
            out[k] = in_huge_pages(e, huge_before, huge_now)
    return out
