"""Private memory shared with another process, and copied on write: where the Rss is flat.

After a fork, parent and child share every page of their private mappings until one of
them writes it: the kernel then gives the writer a copy (copy-on-write). Neither Rss
moves: a page shared is counted in both, and a copy replaces the shared page in the
writer's Rss while the other's page becomes its own. What moves is smaps' split of the
Rss: a private mapping's ``Shared_Dirty`` (and ``Shared_Clean``, for its clean pages:
freed with MADV_FREE, or read back from swap) rises in the parent at the fork (its pages
are the child's too), and falls in both as either writes (or as the other exits or
unmaps them). A child writing 50 MiB it shares shows no ``rss_changed`` at all;
``SharingDrift`` reports a region's shared memory once its change adds up to the
threshold since it was last reported: a ``shared_changed``.

KSM (Kernel Samepage Merging) does the same with no fork: identical pages of
``MADV_MERGEABLE`` memory merged into one shared page, unmerged when one is written.
The process's KSM counts (``Snapshot.ksm``, /proc/PID/ksm_stat) say which it was; where
they are not known, the words name both.

Only anonymous memory of private mappings: a ``MAP_SHARED`` mapping's pages are meant to
be shared (SysV, ``/dev/shm``), and its shared figure moves whenever another process
touches them. A private file mapping's pages are the file's page cache until written:
dirtied through another mapping of the file, they are shared dirty, and clean again once
written back to disk, with nothing copied; dirtied by another process's write while the
mapping holds copies of its own, likewise. Its anonymous pages (the copies it wrote)
are what a fork shares: for a file, those of them not its own alone, ``Anonymous`` less
``Private_Dirty`` (as low as 0 where its own dirty page cache is counted there too).
Making those copies (this process writing the file's pages) is a ``copied_on_write``
(``file_copies``): Anonymous rises, what is shared does not move.

Bounded: one number per region with private memory shared (``figure_drift``); a
process that never forked has none. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vmtop.model import events as ev
from vmtop.model.event_words import size_text
from vmtop.model.events import Event
from vmtop.model.facts import KsmStat
from vmtop.model.figure_drift import FigureDrift, summed, with_figure
from vmtop.model.region import Region, Snapshot

FORK_SHARED = (
    "pages now shared with another process: after a fork, parent and child share each "
    "private page until one of them writes it (copy-on-write)"
)
FORK_COPIED = (
    "pages shared with another process are this one's alone now: a write copied them "
    "(copy-on-write, by this process or the other, the writer getting new memory for "
    "its copies), or the other process exited or unmapped them"
)
KSM_MERGED = (
    "KSM merged identical pages (MADV_MERGEABLE): one shared page for each set, the others freed"
)
KSM_UNMERGED = (
    "KSM unmerged pages: a write to a merged page gave it a copy of its own, or KSM "
    "was stopped (new memory for each page)"
)
EITHER_SHARED = f"{FORK_SHARED}; or {KSM_MERGED}"
EITHER_COPIED = f"{FORK_COPIED}; or KSM unmerged them"


def shared_anonymous(r: Region) -> int | None:
    """The anonymous memory of a private mapping shared with another process (a fork's
    until copied, or KSM's); None where not known, or for a shared mapping."""
    if r.perms[3:] != "p" or r.shared_dirty is None:
        return None
    if not r.inode:  # (clean too: pages freed with MADV_FREE, or read back from swap)
        return r.shared_dirty + (r.shared_clean or 0)
    # A file's: its dirty page cache is no fork's (see the module's note). Its copies
    # (Anonymous) that are not its own alone (Private_Dirty) are what a fork shares;
    # low where the mapping also holds page cache dirtied only here.
    if r.anonymous is None or r.private_dirty is None:
        return None
    return min(r.shared_dirty, max(0, r.anonymous - r.private_dirty))


def shared_of(rows: Iterable[Region]) -> int | None:
    """``shared_anonymous`` of these lines of one mapping together."""
    return summed(rows, shared_anonymous)


def shared_private_figures(snapshot: Snapshot) -> list[tuple[int, int]] | None:
    """(start, shared anonymous memory) of each private mapping that has some; None
    where the snapshot has no smaps figures."""
    # (None in a process that never forked, a few hundred in one that did.)
    dirty, clean = with_figure(snapshot, "shared_dirty"), with_figure(snapshot, "shared_clean")
    if dirty is None or clean is None:
        return None
    # Anonymous memory shared clean only (all of it freed with MADV_FREE before the
    # fork) has no Shared_Dirty: its regions are found by their Shared_Clean.
    found = {r.start: r for r in dirty}
    found.update((r.start, r) for r in clean if not r.inode and r.start not in found)
    return [
        (start, figure) for start, r in sorted(found.items()) if (figure := shared_anonymous(r))
    ]


def sharing_words(delta: int, before: KsmStat | None, after: KsmStat | None) -> str:
    """Why a private mapping's shared memory moved by ``delta``: a fork's copy-on-write,
    or KSM where the process's merged pages moved the same way; both where not known."""
    if before is None or after is None:
        return EITHER_SHARED if delta > 0 else EITHER_COPIED
    merged = after.merging - before.merging
    if merged and (merged > 0) == (delta > 0) and 2 * abs(merged) >= abs(delta):
        return KSM_MERGED if delta > 0 else KSM_UNMERGED
    return FORK_SHARED if delta > 0 else FORK_COPIED


class SharingDrift(FigureDrift):
    """Changes of each private mapping's shared anonymous memory since last reported."""

    def __init__(self, threshold: int) -> None:
        super().__init__(threshold)
        # The process's KSM counts when this last reported (or first read), and now: a
        # change adds up over samples, and so does KSM's merging (ksmd scans slowly).
        self._ksm_base: KsmStat | None = None
        self._ksm_now: KsmStat | None = None

    def figures(self, snapshot: Snapshot) -> Sequence[tuple[int, int]] | None:
        return shared_private_figures(snapshot)

    def update(
        self, snapshot: Snapshot, skip: frozenset[int] | set[int] = frozenset()
    ) -> list[Event]:
        self._ksm_now = snapshot.ksm
        out = super().update(snapshot, skip)
        if out or self._ksm_base is None or snapshot.ksm is None:
            self._ksm_base = snapshot.ksm
        return out

    def event(self, when: float, region: Region, delta: int, now: int, since: str) -> Event:
        ksm = (self._ksm_base, self._ksm_now)
        return shared_event(when, region, region.start, region.end, delta, now, since, ksm)


def shared_event(
    when: float,
    region: Region,
    start: int,
    end: int,
    delta: int,
    now: int,
    since: str = "",
    ksm: tuple[KsmStat | None, KsmStat | None] = (None, None),
) -> Event:
    """A shared_changed of [start, end) of ``region``: ``delta`` bytes of its private
    memory became shared with another process (or stopped being), ``now`` shared;
    ``ksm``: the process's KSM counts before and now."""
    why = sharing_words(delta, *ksm)
    detail = f"{why}{since}: now {size_text(now)} shared, the Rss unchanged by it"
    return Event(
        when, ev.SHARED_CHANGED, start, end, region.kind, abs(delta), delta, region.path,
        region.tid, detail, object=region.object,
    )  # fmt: skip
