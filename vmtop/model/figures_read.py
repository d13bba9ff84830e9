"""When two moments' resident figures were read, and what comparing them can say.

smaps is read on a budget (``procfs.smaps_budget``): a sample between two reads keeps
each region's figures from the last read (``Snapshot.smaps_read_at`` says when), while
its RSS, from ``status``, is its own. So two moments are compared region by region as
of the reads their figures come from; two moments with the figures of one read are not
compared by resident size at all (every region reads the same while the process
faulted in 24 MiB: a diff said "nothing", exit 0); and what the totals' RSS shows but
the regions' figures cannot is told apart (``unseen_rss``).

Plain data in and out: snapshots.
"""

from __future__ import annotations

from vmtop.model.region import Snapshot


def carried(s: Snapshot) -> bool:
    """Whether ``s`` holds the resident figures of an earlier smaps read."""
    return s.has_smaps and s.smaps_read_at is not None


def one_read(a: Snapshot, b: Snapshot) -> bool:
    """Whether the resident figures of ``a`` and ``b`` are those of one smaps read,
    carried to one of them or to both: the same, whatever happened in between."""
    return (
        a.has_smaps
        and b.has_smaps
        and (carried(a) or carried(b))
        and a.figures_read_at == b.figures_read_at
    )


def resident_comparable(a: Snapshot, b: Snapshot) -> bool:
    """Whether the regions' resident figures of ``a`` and ``b`` can be compared: both
    have some, from two reads."""
    return a.has_smaps and b.has_smaps and not one_read(a, b)


def regions_rss(s: Snapshot) -> int:
    return sum(r.rss or 0 for r in s.regions)


def unseen_rss(a: Snapshot, b: Snapshot) -> int:
    """The change of RSS from ``a`` to ``b`` (``status``: each sample's own) that the
    regions' resident figures do not hold, where one of them carries an earlier read's
    figures: RSS's change less the change of the regions' sum. 0 where both were read
    with their sample (the two sums then differ only by the moment each was read) or
    where a figure is missing."""
    if not (a.has_smaps and b.has_smaps) or not (carried(a) or carried(b)):
        return 0
    if a.totals.rss is None or b.totals.rss is None:
        return 0
    return (b.totals.rss - a.totals.rss) - (regions_rss(b) - regions_rss(a))
