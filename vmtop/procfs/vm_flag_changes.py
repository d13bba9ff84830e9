"""Splits and merges of lines with the same permissions, said by their VmFlags.

mlock, mseal or madvise of part of a mapping cuts it into lines that differ only in a
flag smaps' VmFlags shows (``lo``, ``sl``, ``dd``...); the diff, which has no VmFlags
(the parser keeps none: a million regions' worth each read), says "a VmFlag differs".
Here the pieces' flags are read from the smaps texts the two snapshots kept (the split
lines from the newer, the merged ones from the older), and the event says which flag
and what call sets it (``vmtop.model.event_words``). Where a text was not kept (a huge
map, a read of maps alone) the event stays as the diff said it.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model import events as ev
from vmtop.model.event_words import (
    FLAGS_MERGE_CAUSE,
    FLAGS_SPLIT_CAUSE,
    flags_merge_cause,
    flags_split_cause,
)
from vmtop.model.events import Event
from vmtop.model.region import Region, Snapshot
from vmtop.procfs.smaps_blocks import regions_blocks, vm_flags_of

# A split into more lines than this is said as the diff said it (each line's block is
# looked up in the text).
PIECES_MAX = 64


def said_with_vm_flags(
    events: Sequence[Event], before: Snapshot | None, now: Snapshot
) -> list[Event]:
    """``events``, each split or merge of lines with the same permissions told by the
    flags that differ: the split lines' in ``now``, the merged lines' in ``before``
    (the last snapshot whose smaps was read) against the one line in ``now``."""
    out = list(events)
    for k, e in enumerate(out):
        if e.event == ev.SPLIT and e.detail.endswith(FLAGS_SPLIT_CAUSE):
            pieces = _flags_between(now, e.start, e.end)
            cause = flags_split_cause(pieces) if pieces else None
            if cause:
                out[k] = e._replace(detail=e.detail[: -len(FLAGS_SPLIT_CAUSE)] + cause)
        elif e.event == ev.MERGED and e.detail.endswith(FLAGS_MERGE_CAUSE):
            pieces = _flags_between(before, e.start, e.end)
            merged = _flags_between(now, e.start, e.end)
            if not pieces or not merged or len(merged) != 1:
                continue
            cause = flags_merge_cause(pieces, merged[0])
            if cause:
                out[k] = e._replace(detail=e.detail[: -len(FLAGS_MERGE_CAUSE)] + cause)
    return out


def _flags_between(snapshot: Snapshot | None, start: int, end: int) -> list[frozenset[str]]:
    """The VmFlags of each line of ``snapshot`` from ``start`` to ``end``, read from its
    kept text; [] where any is not known (no text, a line not there or cut)."""
    if snapshot is None or snapshot.raw_smaps is None:
        return []
    lines: list[Region] = []
    r = snapshot.region_at(start)
    while r is not None and r.start >= start and r.end <= end and len(lines) <= PIECES_MAX:
        lines.append(r)
        if r.end == end:
            break
        r = snapshot.region_at(r.end)
    if not lines or lines[0].start != start or lines[-1].end != end or len(lines) > PIECES_MAX:
        return []
    flags = [vm_flags_of(block) for block in regions_blocks(snapshot.raw_smaps, lines)]
    return [] if any(f is None for f in flags) else flags  # type: ignore[return-value]
