"""Changes only VmFlags show: splits and merges of lines with the same permissions,
and whole regions whose flags changed (flags_changed), read from the smaps texts kept.

mlock, mseal or madvise of part of a mapping cuts it into lines that differ only in a
flag smaps' VmFlags shows (``lo``, ``sl``, ``dd``...); the diff, which has no VmFlags
(the parser keeps none: a million regions' worth each read), says "a VmFlag differs".
Here the pieces' flags are read from the smaps texts the two snapshots kept (the split
lines from the newer, the merged ones from the older), and the event says which flag
and what call sets it (``vmtop.model.event_words``). Where a text was not kept (a huge
map, a read of maps alone) the event stays as the diff said it.

mlock, munlock, mseal or madvise of a whole mapping changes no line at all: the lines
of the two texts that are the same but for their VmFlags are the regions whose flags
changed, which ``vmtop.model.vm_flag_events`` makes events of; and a region mapped
already locked (after mlockall(MCL_FUTURE)) or sealed says so. Nothing is said where
either text is not there, or ``now``'s is the older one's carried (no smaps read).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vmtop.model import events as ev
from vmtop.model.event_words import (
    FLAGS_MERGE_CAUSE,
    FLAGS_SPLIT_CAUSE,
    flags_merge_cause,
    flags_split_cause,
)
from vmtop.model.events import Event
from vmtop.model.region import Region, Snapshot, region_starting_at
from vmtop.model.vm_flag_events import FlagChange, flags_changed_events, with_new_region_flags
from vmtop.procfs.smaps_blocks import regions_blocks, vm_flags_of

# A split into more lines than this is said as the diff said it (each line's block is
# looked up in the text).
PIECES_MAX = 64


def said_with_vm_flags(
    events: Sequence[Event], before: Snapshot | None, now: Snapshot
) -> list[Event]:
    """``events``, each split or merge of lines with the same permissions told by the
    flags that differ: the split lines' in ``now``, the merged lines' in ``before``
    (the last snapshot whose smaps was read) against the one line in ``now``; with a
    flags_changed for each whole region whose VmFlags changed from ``before`` to
    ``now``, and each region mapped locked or sealed said so."""
    out = _splits_and_merges_said(events, before, now)
    out += flags_changed_events(_flag_changes(before, now), out, now.taken_at)
    return _new_regions_said(out, now)


def _splits_and_merges_said(
    events: Sequence[Event], before: Snapshot | None, now: Snapshot
) -> list[Event]:
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


# Each block's VmFlags line (its last) and the line after it, the next block's header:
# a search for a literal is a fast pass over the text (a regex anchored at every line
# start, ^ with re.M, took 40 ms a MiB: 300 ms a sample of a text the TUI keeps).
_FLAGS_THEN_HEADER = re.compile(rb"VmFlags:([^\n]*)\n([^\n]*)")
_FIRST_LINE = re.compile(rb"[^\n]*")
_LOCKED = re.compile(rb"\nLocked: *(\d+) kB")
# The last text read and its flags by line: the next sample's ``before`` (read once).
_LAST_READ: list[tuple[object, dict[bytes, bytes]]] = []


def _flags_by_line(text) -> dict[bytes, bytes] | None:
    """The VmFlags of each header line of an smaps text (a region printed twice by a
    torn read: its last); None where there are none."""
    for known, flags_by_line in _LAST_READ:
        if known is text:
            return flags_by_line
    pairs = _FLAGS_THEN_HEADER.findall(text)
    if not pairs:
        return None
    flags, after = zip(*pairs, strict=True)
    headers = (_FIRST_LINE.match(text).group(), *after[:-1])
    return dict(zip(headers, flags, strict=True))


def _flag_changes(before: Snapshot | None, now: Snapshot) -> list[FlagChange]:
    """The regions of ``now`` whose line is in ``before``'s text the same (range,
    permissions, offset, device, inode, name) with other VmFlags; [] where the two
    texts are not two reads of one process's smaps."""
    if (
        before is None
        or before.raw_smaps is None
        or now.raw_smaps is None
        or before.raw_smaps is now.raw_smaps
        or now.smaps_read_at is not None  # (carried from the last read: no read)
        or before.identity != now.identity
    ):
        return []
    was, is_ = _flags_by_line(before.raw_smaps), _flags_by_line(now.raw_smaps)
    _LAST_READ[:] = [(now.raw_smaps, is_)] if is_ is not None else []
    if not was or not is_ or was == is_:
        return []
    changed: list[tuple[Region, frozenset[str], frozenset[str]]] = []
    # (Lines new or with other flags, by a set operation: not a loop over every line.)
    for header, flags in sorted(is_.items() - was.items()):
        old = was.get(header)
        if old is None:
            continue  # a line that is new: a mapping, or cut (said by the diff)
        start, _, rest = header.partition(b"-")
        r = region_starting_at(now.regions, int(start, 16))
        if r is None or r.end != int(rest.split(b" ", 1)[0], 16):
            continue
        changed.append((r, _flag_set(old), _flag_set(flags)))
    locking = [r for r, a, b in changed if (a ^ b) & {"lo", "lf"}]
    locked_was = _locked_of(before.raw_smaps, locking)
    locked_now = _locked_of(now.raw_smaps, locking)
    return [
        FlagChange(r, a, b, locked_was.get(r.start), locked_now.get(r.start)) for r, a, b in changed
    ]


def _flag_set(line: bytes) -> frozenset[str]:
    return frozenset(w.decode("ascii", "replace") for w in line.split())


def _locked_of(text, regions: Sequence[Region]) -> dict[int, int]:
    """smaps' Locked of each of ``regions`` in ``text``, in bytes, by start."""
    out = {}
    for r, block in zip(regions, regions_blocks(text, regions), strict=True):
        m = _LOCKED.search(block) if block is not None else None
        if m is not None:
            out[r.start] = int(m.group(1)) * 1024
    return out


def _new_regions_said(events: list[Event], now: Snapshot) -> list[Event]:
    """``events``, each region mapped whole told by the flags it came with (locked,
    sealed), read from ``now``'s text where it is a read of this sample's."""
    if now.raw_smaps is None or now.smaps_read_at is not None:
        return events
    new = [
        (k, r)
        for k, e in enumerate(events)
        if e.event == ev.MAPPED
        and (r := region_starting_at(now.regions, e.start)) is not None
        and (r.start, r.end) == (e.start, e.end)
    ]
    if not new:
        return events
    blocks = regions_blocks(now.raw_smaps, [r for _, r in new])
    out = list(events)
    for (k, _), block in zip(new, blocks, strict=True):
        flags = vm_flags_of(block) if block is not None else None
        if flags:
            out[k] = with_new_region_flags(out[k], flags)
    return out
