"""What the region detail of a replay shows: a recorded region's figures as the smaps
fields they came from (``recorded_smaps_text``), and its RSS history over the samples
before (``region_rss_history``), its memory in hugetlb pages counted as live.

A recording holds each region's resident figures, not its smaps text nor its pages.
"""

from __future__ import annotations

from vmtop.model.classify import HUGETLB
from vmtop.record.reader import Recording
from vmtop.tui.rss_history import region_history_key

# The smaps fields a recording keeps for each region, by the names smaps gives them.
RECORDED_FIELDS = (
    ("Rss", "rss"),
    ("Pss", "pss"),
    ("Shared_Clean", "shared_clean"),
    ("Shared_Dirty", "shared_dirty"),
    ("Private_Clean", "private_clean"),
    ("Private_Dirty", "private_dirty"),
    ("Anonymous", "anonymous"),
    ("Swap", "swap"),
)


# A recording keeps a region's Shared_Hugetlb + Private_Hugetlb summed: shown as this.
RECORDED_HUGETLB = "Hugetlb"


def recorded_smaps_text(region, hugetlb: int | None = None) -> bytes | None:
    """The region's smaps block as far as the recording knows it: its header line,
    Size, the resident figures recorded (None when there are none), and its memory in
    hugetlb pages where the recording has it (``hugetlb``: None where not)."""
    if region.rss is None:
        return None
    name = region.path.encode("utf-8", "surrogateescape")
    head = (
        f"{region.start:x}-{region.end:x} {region.perms} {region.offset:08x} {region.dev} "
        f"{region.inode}"
    ).encode() + (b" " * 10 + name if name else b"")
    lines = [head, f"Size: {region.size // 1024:>14} kB".encode()]
    for label, field in RECORDED_FIELDS:
        value = getattr(region, field)
        if value is not None:
            lines.append(f"{label + ':':<15}{value // 1024:>8} kB".encode())
    if hugetlb is not None:
        lines.append(f"{RECORDED_HUGETLB + ':':<15}{hugetlb // 1024:>8} kB".encode())
    return b"\n".join(lines) + b"\n"


DETAIL_HISTORY = 300  # samples of a region's RSS history the detail shows


def region_rss_history(recording: Recording, region, index: int) -> list[tuple[float, int]]:
    """(time, resident bytes) of ``region`` over the samples up to ``index`` in which
    the same mapping (by region_history_key: its start, the stack by its end) was there;
    its memory in hugetlb pages counted resident, as live (RssHistory). A sample that
    carries an earlier smaps read's figures (a big map's budget) is that read's point,
    at its time: the line is not drawn flat through samples nothing was read in."""
    key = region_history_key(region)
    anchor = key[0]
    out: list[tuple[float, int]] = []
    for j in range(max(0, index - DETAIL_HISTORY + 1), index + 1):
        snap = recording.snapshot(j)
        when = snap.figures_read_at
        if out and out[-1][0] == when:
            continue  # (the same read's figures again)
        other = snap.region_at(anchor - 1 if region.kind == "stack" else anchor)
        if other is not None and region_history_key(other) == key and other.rss is not None:
            hugetlb = sum(size for start, size in snap.hugetlb or () if start == other.start)
            out.append((when, other.rss + hugetlb))
    return out


def recorded_hugetlb(snapshot, region) -> int | None:
    """The region's memory in hugetlb pages in a recorded sample, for a region in them
    (of the object hugetlb pages, or with some); None for the others, and where the
    recording does not say (a file written before it kept them, smaps not read)."""
    if snapshot.hugetlb is None:
        return None
    size = sum(size for start, size in snapshot.hugetlb if start == region.start)
    return size if size or region.object == HUGETLB else None
