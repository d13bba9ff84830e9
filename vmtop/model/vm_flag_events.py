"""A whole region's VmFlags changed, its maps line the same: flags_changed.

mlock, munlock, mseal or madvise (MADV_DONTDUMP, MADV_HUGEPAGE, ...) of all of a
mapping leaves its line in ``maps`` as it was: only the VmFlags of its smaps block
change, which the diff (``vmtop.model.diff``) never sees. ``procfs.vm_flag_changes``
reads them from the smaps texts of two samples and hands the regions whose flags
changed in (``FlagChange``); here they become events, said by the call that sets or
clears each flag (``event_words.flags_change_words``). A region that appeared already
locked or sealed (mlockall(MCL_FUTURE) locks every later mapping) says so in its words.
Pure: the flags are read by procfs.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from vmtop.model import events as ev
from vmtop.model.event_words import flags_change_words, new_region_flags_words, size_text
from vmtop.model.events import Event
from vmtop.model.region import Region

# Events that say the range was mapped, unmapped, cut or given other permissions in the
# sample: a line with the same text there is no proof of the same mapping (one
# unmapped and mapped again in its place), so no flags_changed is said about it.
_SAID_OTHERWISE = frozenset(
    (
        ev.MAPPED,
        ev.UNMAPPED,
        ev.HEAP_GREW,
        ev.HEAP_SHRANK,
        ev.STACK_GREW,
        ev.STACK_SHRANK,
        ev.PROTECTION_CHANGED,
        ev.FILE_RENAMED,
        ev.THREAD_EXITED,
        ev.RESERVE_COMMITTED,
        ev.RESERVE_RELEASED,
        ev.SPLIT,
        ev.MERGED,
    )
)
# The flags whose change moves the region's Locked figure: the event's delta.
_LOCK_FLAGS = frozenset(("lo", "lf"))


class FlagChange(NamedTuple):
    """A region of the newer sample whose line (range, permissions, offset, device,
    inode, name) is the older one's and whose VmFlags are not."""

    region: Region  # as in the newer snapshot
    was: frozenset[str]
    now: frozenset[str]
    # smaps' Locked of the region before and now, in bytes (None where not read).
    locked_was: int | None = None
    locked_now: int | None = None


def flags_changed_events(
    changes: Iterable[FlagChange], events: Sequence[Event], when: float
) -> list[Event]:
    """A flags_changed for each change, but of regions ``events`` (of the same sample)
    say were mapped, unmapped or cut: its size the region's bytes, its delta the change
    of its Locked memory where lo (lf) was set or cleared, else 0."""
    if any(e.event in (ev.EXEC, ev.PID_REUSED) for e in events):
        return []  # (another program's map: nothing of it is the same)
    touched = _Ranges((e.start, e.end) for e in events if e.event in _SAID_OTHERWISE)
    out = []
    for change in changes:
        r = change.region
        if touched.overlaps(r.start, r.end):
            continue
        words = flags_change_words(change.was, change.now)
        if words is None:
            continue
        delta = 0
        if (change.was ^ change.now) & _LOCK_FLAGS:
            if change.locked_was is not None and change.locked_now is not None:
                delta = change.locked_now - change.locked_was
        event = Event(
            when, ev.FLAGS_CHANGED, r.start, r.end, r.kind, r.size, delta, r.path, r.tid, words,
            object=r.object,
        )  # fmt: skip
        out.append(event)
    return out


def flags_changed_starts(events: Iterable[Event]) -> frozenset[int]:
    """The starts of the regions ``events`` say changed their VmFlags (flags_changed):
    said only where smaps was read at both samples, so the views mark the same regions
    changed that the log names."""
    return frozenset(e.start for e in events if e.event == ev.FLAGS_CHANGED)


class _Ranges:
    """Address ranges, merged, asked whether any overlaps a range (mlockall changes
    every region of a sample: not each against every event)."""

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self.starts = [lo for lo, _ in merged]
        self.ends = [hi for _, hi in merged]

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_right(self.starts, start) - 1  # the last range starting at or below
        if i >= 0 and self.ends[i] > start:
            return True
        return i + 1 < len(self.starts) and self.starts[i + 1] < end


def with_new_region_flags(event: Event, flags: frozenset[str]) -> Event:
    """A mapped event of a whole region told by the flags it appeared with (locked,
    sealed), said before the resident size its words end in (which folds of regions
    alike take off); the event as it is where none of them is set."""
    words = new_region_flags_words(flags)
    if words is None or event.event != ev.MAPPED:
        return event
    detail = event.detail
    resident = f"{size_text(event.rss)} resident" if event.rss else None
    if resident and detail == resident:
        return event._replace(detail=f"{words}; {resident}")
    if resident and detail.endswith("; " + resident):
        cause = detail[: -len(resident) - 2]
        return event._replace(detail=f"{cause}; {words}; {resident}")
    return event._replace(detail=f"{detail}; {words}" if detail else words)
