"""What changed between two samples' maps, as a recording's delta line says it: the
regions gone, those put (new, or changed in more than their resident figures), and
the resident figures of those changed only in those; and the Regions gone and come,
from which the RSS by kind moves (``moved_kinds``). ``RecordingWriter`` writes it.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import compress, islice, repeat
from operator import add, eq, gt, itemgetter, lt, ne, or_
from typing import NamedTuple

from vmtop.model.columns import ColumnRows, RegionColumns, as_columns, matching_rows
from vmtop.model.sweep import key_pair
from vmtop.record import format as fmt

_START = itemgetter(0)


def _sorted_unique(regions) -> bool:
    starts = regions.starts if isinstance(regions, RegionColumns) else list(map(_START, regions))
    return all(map(lt, starts, islice(starts, 1, None)))


class RegionDelta(NamedTuple):
    removed: list  # starts of old regions gone (unmapped, or replaced by a put)
    put: list  # full rows: regions that are new or changed in more than resident figures
    resident: list  # [start, *resident figures] of regions changed only in those
    gone: Sequence  # the old Region objects that are not in the new map as they were
    came: Sequence  # the new Region objects that were not in the old map as they are
    # RSS by kind that moved (what ``gone`` and ``came`` add up to), where the delta
    # found it without making their Regions (``_same_mappings_delta``); else None.
    kinds_moved: dict | None = None


def region_delta(old_regions, new_regions) -> RegionDelta | None:
    """What changed from ``old_regions`` to ``new_regions``; None when a delta cannot
    describe it (the new map is not sorted by start with unique starts: then write a
    keyframe).

    Regions carried from one sample to the next are the very same objects (the sampler
    reuses them while smaps is not read again): those are set aside by identity, in C,
    and only the rest is compared field by field.
    """
    if not _sorted_unique(new_regions):
        return None
    if old_regions == new_regions:  # in C, by identity first: an idle process
        return RegionDelta([], [], [], [], [])
    if isinstance(old_regions, RegionColumns) and isinstance(new_regions, RegionColumns):
        same = _same_mappings_delta(old_regions, new_regions)
        if same is not None:
            return same
    if isinstance(old_regions, RegionColumns) or isinstance(new_regions, RegionColumns):
        # Columns make a new Region at every access: no identity to go by (and the id of
        # one dropped can be the next one's). The rows whose whole region is the same
        # as one of the old map at the same start are set aside by their hashes.
        old_regions, new_regions = _changed_rows(as_columns(old_regions), as_columns(new_regions))
    old_ids = set(map(id, old_regions))
    new_ids = set(map(id, new_regions))
    came = [
        r
        for r, same in zip(
            new_regions, map(old_ids.__contains__, map(id, new_regions)), strict=True
        )
        if not same
    ]
    left = {
        o.start: o
        for o, same in zip(
            old_regions, map(new_ids.__contains__, map(id, old_regions)), strict=True
        )
        if not same
    }
    put: list = []
    resident: list = []
    gone: list = []
    kept: list = []
    for r in came:
        o = left.pop(r.start, None)
        if o is None:
            put.append(fmt.region_row(r))
        elif o == r:
            kept.append(r)
            continue
        elif o[fmt.MAP_PART] == r[fmt.MAP_PART] and o[fmt.CLASS_PART] == r[fmt.CLASS_PART]:
            resident.append([r.start, *r[fmt.RESIDENT_PART]])
            gone.append(o)
        else:
            put.append(fmt.region_row(r))
            gone.append(o)
    if kept:
        kept_ids = set(map(id, kept))
        came = [r for r in came if id(r) not in kept_ids]
    gone.extend(left.values())
    return RegionDelta(list(left), put, resident, gone, came)


_CLASS_FIELDS = fmt.REGION_FIELDS[fmt.CLASS_PART]


def _rows_differing(new: RegionColumns, old: RegionColumns, names) -> bytes:
    """1 for each row whose value of any of ``names`` differs between the two (the
    same regions, row for row), else 0: compared column by column, in C."""
    mask = bytes(len(new))
    for name in names:
        mask = bytes(map(or_, mask, map(ne, new.column(name), old.column(name))))
    return mask


def _same_mappings_delta(old: RegionColumns, new: RegionColumns) -> RegionDelta | None:
    """The delta of two maps of the same mappings row for row (the usual case: the
    resident figures of some regions moved, a smaps read after maps alone moved every
    one), found column by column; None where the mappings differ. The general way made
    a Region of every changed row of each map and held them: at a million regions
    whose figures all moved, 21 s and 1.2 GB to write one sample."""
    if len(old) != len(new) or old.starts != new.starts:
        return None
    if matching_rows(new, old, *key_pair(new, old, whole=False)) is not None:
        return None  # a mapping differs: the general way
    moved = _rows_differing(new, old, fmt.RESIDENT_FIELDS)
    reclassed = _rows_differing(new, old, _CLASS_FIELDS)
    either = bytes(map(or_, moved, reclassed))
    changed = array("q", compress(range(len(new)), either))
    only_figures = bytes(map(gt, moved, reclassed))
    figures = (compress(new.column(name), only_figures) for name in fmt.RESIDENT_FIELDS)
    resident = list(map(list, zip(compress(new.starts, only_figures), *figures, strict=True)))
    put = [fmt.region_row(new[k]) for k in compress(range(len(new)), reclassed)]
    # RSS by kind, as moved_kinds would find it from the Regions gone and come.
    moved_kinds: dict = {}
    for rows, sign in ((old, -1), (new, 1)):
        kinds = compress(rows.column("kind"), either)
        for kind, rss in zip(kinds, compress(rows.column("rss"), either), strict=True):
            if rss:
                moved_kinds[kind] = moved_kinds.get(kind, 0) + sign * rss
    return RegionDelta(
        [], put, resident, ColumnRows(old, changed), ColumnRows(new, changed), moved_kinds
    )


def _changed_rows(old: RegionColumns, new: RegionColumns) -> tuple[list, list]:
    """The regions of each map that the other does not have, as they are (lists of
    Regions that stay alive meanwhile, so their ids are theirs)."""
    rows = matching_rows(new, old, *key_pair(new, old, whole=True))
    if rows is None:
        return [], []
    came = [new[k] for k in compress(range(len(new)), map(eq, rows, repeat(-1)))]
    # The old rows kept, in increasing order; the others are the gaps between them.
    kept = array("q", compress(rows, map(ne, rows, repeat(-1))))
    if not kept:
        return list(old), came
    left = [old[j] for j in range(kept[0])]
    steps = map(ne, islice(kept, 1, None), map(add, kept, repeat(1)))
    for p in compress(range(len(kept) - 1), steps):
        left.extend(old[j] for j in range(kept[p] + 1, kept[p + 1]))
    left.extend(old[j] for j in range(kept[-1] + 1, len(old)))
    return left, came


def moved_kinds(kinds: dict, gone, came, moved: dict | None = None) -> dict:
    """Resident bytes per kind after ``gone`` regions left and ``came`` ones arrived
    (or, given ``moved``, after what they add up to by kind)."""
    out = dict(kinds)
    if moved is not None:
        for kind, change in moved.items():
            out[kind] = out.get(kind, 0) + change
        return {k: v for k, v in out.items() if v}
    for r in gone:
        if r.rss:
            out[r.kind] = out.get(r.kind, 0) - r.rss
    for r in came:
        if r.rss:
            out[r.kind] = out.get(r.kind, 0) + r.rss
    return {k: v for k, v in out.items() if v}
