"""Memory freed with MADV_FREE: still resident, still in the RSS, until the kernel needs it.

jemalloc and mimalloc (and so the Rust and C++ programs built with them) give memory
back with ``madvise(MADV_FREE)``, as Go's runtime did from 1.12 to 1.15 (and does with
``GODEBUG=madvdontneed=0``; glibc's malloc never does): the pages stay mapped and
resident, so the RSS does not fall
after a big free, and the kernel takes them only when it needs memory (or the program
writes them again, and they are its own again). Someone watching an RSS that does not
fall concludes a leak. Measured on Linux 6.18 (smaps of one private anonymous region):

- MADV_FREE of 64 MiB touched: Rss and Anonymous stay 64 MiB; Private_Dirty 64 MiB ->
  0, Private_Clean 0 -> 64 MiB; LazyFree 0 -> 65 472 kB (the last pages wait in a
  per-CPU batch before the kernel counts them: up to 64 kB less than was freed);
- reading them changes nothing; writing 16 MiB of them again: Private_Dirty +16 MiB,
  Private_Clean and LazyFree -16 MiB, Rss flat;
- reclaim (a memory cgroup's limit): Rss, Anonymous, Private_Clean and LazyFree fall
  together, Private_Dirty stays (no swap: dirty anonymous pages cannot go); MADV_DONTNEED
  of them reads the same;
- on a shared or file mapping MADV_FREE is EINVAL (even a private file mapping's
  copies): only private anonymous mappings hold such memory. A whole transparent huge
  page freed stays one (AnonHugePages unmoved, LazyFree exact); part of one splits it.

Clean memory of a private anonymous mapping is what MADV_FREE leaves (KSM's merged
pages count dirty): a cheap signal, from figures the parser keeps for every region
(``clean_anonymous``). Private or shared: after a fork the pages freed so are the
child's too, Shared_Clean, and still lazily freed (LazyFree unmoved), until a write
copies them and they are private again; counted as Private_Clean alone, a fork read as
the memory reused and the child's write as a new free (review). Not proof: pages read
back from swap come clean too (in the swap cache), and turn dirty, or go, like pages
freed with MADV_FREE. So the
kernel's own figure confirms it: LazyFree, which the parser does not keep, is read from
the kept smaps text of the few regions the signal names
(``vmtop.procfs.lazy_free_figures``), and nothing is said where it cannot be.

A ``lazyfree_changed`` says memory freed with MADV_FREE, or written again (reused); the
diff of two samples makes one from the clean memory (``lazy_moved``), which LazyFree
then measures (``as_measured``), and the TUI's drift counts LazyFree itself
(``LazyFreeDrift``: one number per region holding such memory). An Rss falling because
such pages went says so in its ``rss_changed`` (``said_reclaimed``). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vmtop.model import events as ev
from vmtop.model.column_fields import FIGURES
from vmtop.model.column_masks import mask_and, mask_not, zero_mask
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.event_words import says_swap_moved, size_text
from vmtop.model.events import Event
from vmtop.model.figure_drift import FigureDrift, summed
from vmtop.model.region import Region, Snapshot

PRIVATE_CLEAN = Region._fields.index("private_clean")
SHARED_CLEAN = Region._fields.index("shared_clean")
_INODE = Region._fields.index("inode")
_PERMS = Region._fields.index("perms")

LAZY_FREED = "freed with MADV_FREE"
STILL_RESIDENT = (
    "still resident and counted in RSS until the kernel needs memory or the program "
    "reuses it (how jemalloc and mimalloc give memory back, and Go's runtime before 1.16)"
)
REUSED = (
    "of the memory freed with MADV_FREE written again: the program reused it, its own "
    "again (the kernel can no longer take it)"
)
# Both causes first: smaps cannot tell them apart, and a line cut at the terminal's
# width kept only "the kernel reclaimed them" of a program's own MADV_DONTNEED (review).
RECLAIMED = (
    "pages freed with MADV_FREE went, reclaimed by the kernel or dropped by the program "
    "(MADV_DONTNEED): the kernel takes them when it needs memory, and the program reads "
    "zeros there now"
)
# The diff's words, told by the region's clean memory, until LazyFree measures them.
NOT_MEASURED = " (told by its clean anonymous memory: smaps' LazyFree not read)"


def lazy_freeable(r: Region) -> bool:
    """Whether MADV_FREE can free memory of ``r``: a private anonymous mapping (the
    kernel refuses it for shared and file mappings)."""
    return not r[_INODE] and r[_PERMS][3:] == "p"


def clean_anonymous(r: Region) -> int | None:
    """The clean memory of a private anonymous mapping (smaps' Private_Clean and
    Shared_Clean: a fork shares it): what MADV_FREE leaves behind, until reused or
    reclaimed. None for other mappings, or where not known."""
    if not lazy_freeable(r) or r[PRIVATE_CLEAN] is None:
        return None
    return r[PRIVATE_CLEAN] + (r[SHARED_CLEAN] or 0)


def clean_of(rows: Iterable[Region]) -> int | None:
    """``clean_anonymous`` of these lines of one mapping together."""
    return summed(rows, clean_anonymous)


def clean_anonymous_regions(snapshot: Snapshot) -> list[Region] | None:
    """The private anonymous regions holding clean memory (maybe freed with MADV_FREE);
    None where the snapshot has no smaps figures. Of columns, found in C: a handful of
    Regions made, not one per file region with clean pages."""
    if not snapshot.has_smaps:
        return None
    regions = snapshot.regions
    if isinstance(regions, RegionColumns):
        if regions.figures is None:
            return None
        private = regions.figures[FIGURES.index("private_clean")]
        shared = regions.figures[FIGURES.index("shared_clean")]
        anonymous = zero_mask(regions.numbers[3])  # inode 0
        none_clean = mask_and(zero_mask(private), zero_mask(shared))
        rows = where(mask_and(mask_not(none_clean), anonymous))
        # (-1 is a figure not read)
        found = (regions[i] for i in rows if private[i] > 0 or shared[i] > 0)
        return [r for r in found if lazy_freeable(r)]
    return [r for r in regions if clean_anonymous(r)]


def lazy_free_words(delta: int, now: int, since: str = "", measured: bool = False) -> str:
    """What a lazyfree_changed says: ``delta`` bytes freed with MADV_FREE (or, falling,
    written again), ``now`` so freed; ``measured``: the figures are smaps' LazyFree."""
    if delta > 0:
        text = f"{size_text(delta)} {LAZY_FREED}{since}: {STILL_RESIDENT}"
    else:
        text = f"{size_text(-delta)} {REUSED}"
    text += f"; now {size_text(now)} lazily freed"
    return text if measured else text + NOT_MEASURED


def lazy_free_event(
    when: float,
    region: Region,
    start: int,
    end: int,
    delta: int,
    now: int,
    since: str = "",
    measured: bool = False,
) -> Event:
    """A lazyfree_changed of [start, end) of ``region``."""
    detail = lazy_free_words(delta, now, since, measured)
    return Event(
        when, ev.LAZYFREE_CHANGED, start, end, region.kind, abs(delta), delta, region.path,
        region.tid, detail, object=region.object,
    )  # fmt: skip


def as_measured(event: Event, before: int | None, now: int | None) -> Event | None:
    """A lazyfree_changed told by clean anonymous memory (the diff's), with the kernel's
    LazyFree of its region ``before`` and ``now`` instead (None: not read): its change
    where both are known, else the clean memory's. None where LazyFree was not read, or
    does not bear it out (it moved the other way, or by less than half): clean pages
    that MADV_FREE did not make (read back from swap, and freed from the swap cache)."""
    if now is None:
        return None
    delta = event.delta
    if before is not None:
        moved = now - before
        if (moved > 0) != (delta > 0) or 2 * abs(moved) < abs(delta):
            return None
        delta = moved
    elif delta > 0 and 2 * now < delta:
        return None
    detail = lazy_free_words(delta, now, measured=True)
    return event._replace(size=abs(delta), delta=delta, detail=detail)


def is_measured(event: Event) -> bool:
    """Whether a lazyfree_changed gives smaps' LazyFree (the TUI's drift reads it), not
    the clean memory the diff tells it by."""
    return not event.detail.endswith(NOT_MEASURED)


def said_reclaimed(event: Event, before: int | None, now: int | None) -> Event:
    """An rss_changed fall told by smaps' LazyFree of its region ``before`` and ``now``
    (None: not read): where that fell by half of the fall or more (and no swap took
    it), the pages that went were freed with MADV_FREE, and the words say so. Others
    as they are."""
    if event.delta >= 0 or before is None or now is None or says_swap_moved(event.detail):
        return event
    if 2 * (before - now) < -event.delta:
        return event
    _, _, rest = event.detail.partition(":")
    return event._replace(detail=RECLAIMED + ":" + rest)


class LazyFreeDrift(FigureDrift):
    """Changes of each region's memory freed with MADV_FREE (smaps' LazyFree, read by the
    caller: ``update(measured=...)``) since last reported. A snapshot whose LazyFree was
    not read changes nothing."""

    def __init__(self, threshold: int) -> None:
        super().__init__(threshold)
        self._given: Sequence[tuple[int, int]] | None = None

    def figures(self, snapshot: Snapshot) -> Sequence[tuple[int, int]] | None:
        return self._given

    def update(
        self,
        snapshot: Snapshot,
        skip: frozenset[int] | set[int] = frozenset(),
        measured: Sequence[tuple[int, int]] | None = None,
    ) -> list[Event]:
        """Events as ``FigureDrift.update``; ``measured``: (start, LazyFree) of this
        snapshot's regions that hold some, where smaps' text was read."""
        self._given = measured
        try:
            return super().update(snapshot, skip)
        finally:
            self._given = None

    def event(self, when: float, region: Region, delta: int, now: int, since: str) -> Event:
        return lazy_free_event(when, region, region.start, region.end, delta, now, since, True)
