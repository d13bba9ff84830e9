"""The sweep that pairs two snapshots' regions, and the key cache it runs on.

Both region lists are sorted and non-overlapping, so one sweep over them does it:

- runs of regions that are the same mapping in both snapshots (same range, perms,
  offset, device, inode and name) and the same resident size are found by comparing
  slices of per-snapshot key lists (one int per region, C-level list compares in
  growing chunks), so 60 000 regions cost little; the keys of the last few snapshots
  are cached, since a view diffs each snapshot with the previous one and with a
  baseline, and the sweep of the last pairs too, since it asks for events, per-region
  changes and unmapped ranges of the same pair; a pair of regions that differs only
  in its resident size is compared against the threshold;
- everything else is grouped into clusters of regions whose ranges overlap (in a
  chain), and each cluster is cut at every boundary of either side into segments.
  A segment covered in both snapshots by the *same* mapping (same device and inode,
  the same name for anonymous memory, and for a file the same file offset at that
  address) was kept; one covered
  only now was mapped; one covered only before was unmapped.

``vmtop.model.diff`` turns runs of those segments into events, and
``vmtop.model.region_changes`` into per-region changes and unmapped ranges.
``key_pair`` is also what other code uses to find the regions two snapshots share.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from itertools import compress, count, pairwise
from operator import itemgetter, ne
from typing import NamedTuple

from vmtop.model.column_keys import ColumnKeys
from vmtop.model.columns import RegionColumns, row_hashes
from vmtop.model.region import Region, same_backing

# Region fields 0..6: start, end, perms, offset, dev, inode, path. Two regions with
# equal keys are the same mapping; only their resident figures can differ. With smaps
# on both sides the whole region is the key (see _keys): equal, nothing to report.
_KEY = itemgetter(0, 1, 2, 3, 4, 5, 6)


# -- keys, cached per snapshot ------------------------------------------------------------
#
# A view diffs each new snapshot with the previous one and with its baseline (and
# `watch` each one with the one before), so the same regions are keyed again and again:
# keep the keys of the last few snapshots.
# The cache holds the regions tuple itself, so its id cannot be reused while cached.

_CACHE_SIZE = 6
# Keys of at most this many distinct snapshots: each entry holds its regions (60 MB at
# 250 000 regions), and the next tick needs only the newest (and a baseline's).
_SNAPSHOTS_CACHED = 2
_cache: OrderedDict[tuple[int, bool], tuple[tuple, list]] = OrderedDict()
_cache_lock = threading.Lock()


def _keys(regions: Sequence[Region], with_rss: bool) -> array | ColumnKeys:
    slot = (id(regions), with_rss)
    with _cache_lock:
        hit = _cache.get(slot)
        if hit is not None and hit[0] is regions:
            _cache.move_to_end(slot)
            return hit[1]
    # A key is a hash, an int: with rss, of the whole region (its fields are all
    # numbers, strings and None, and hashing the Region itself makes no tuple); without,
    # of its mapping fields. A list of 60 000 tuples would be 60 000 objects for the
    # cycle collector to walk, and comparing two tuples costs a comparison per field.
    # Equal keys mean nothing changed; a region whose other figures (PSS, ...) or
    # classification changed gets another key and is compared field by field, as is
    # everything else. Two different regions with the same 64-bit hash (string hashes
    # are salted per process, so names a watched program chooses cannot aim for one)
    # would hide one change: runs of equal keys are trusted.
    if isinstance(regions, RegionColumns):
        keys = ColumnKeys.of(regions, whole=with_rss)  # the rows themselves (no hashing)
    else:
        # An array either way: keys of two snapshots compare slice by slice (an array
        # never equals a list), and it is 8 bytes a key the collector never walks.
        keys = array("q", map(hash, regions if with_rss else map(_KEY, regions)))
    with _cache_lock:
        _cache[slot] = (regions, keys)
        _cache.move_to_end(slot)
        while len(_cache) > _CACHE_SIZE or (
            len({id(entry[0]) for entry in _cache.values()}) > _SNAPSHOTS_CACHED
        ):
            _cache.popitem(last=False)
    return keys


def key_pair(a: Sequence[Region], b: Sequence[Region], whole: bool) -> tuple:
    """Keys of two snapshots' regions that compare with each other (cached, see _keys):
    with ``whole``, of every field (equal: the same region), else of the mapping
    (start to name: the same mapping). Hashes for Region tuples, ColumnKeys for
    columns; hashes for both when one of each (a map that crossed the size at which
    it is read in pieces)."""
    ka, kb = _keys(a, whole), _keys(b, whole)
    a_columns, b_columns = isinstance(ka, ColumnKeys), isinstance(kb, ColumnKeys)
    if a_columns and b_columns:
        if ka.generation != kb.generation:  # the shared numbering of names started over
            ka, kb = ColumnKeys.of(a, whole), ColumnKeys.of(b, whole)
        return ka, kb
    if a_columns:
        ka = row_hashes(a, mapping_only=not whole)
    if b_columns:
        kb = row_hashes(b, mapping_only=not whole)
    return ka, kb


def clear_cache() -> None:
    """Forget cached keys and sweeps (the benchmark times a diff with and without them)."""
    with _cache_lock:
        _cache.clear()
        _sweeps.clear()


# -- the sweep ---------------------------------------------------------------------------


def _equal_run(kp: list, i: int, kc: list, j: int) -> int:
    """How many keys are equal from kp[i] and kc[j] on.

    Compares slices in growing chunks (C-level list compares), narrows a chunk that
    differs down by halves the same way, and finds the first difference in what is left
    with one pass of C-level iterators. (Keys of columns are rows made one at a time
    when iterated: a pass over a whole chunk of 8 192 cost a diff at 60 000 regions
    two thirds of its time; halves compare slices of the columns, in C.)
    """
    limit = min(len(kp) - i, len(kc) - j)
    if limit <= 0 or kp[i] != kc[j]:
        return 0
    done = 0
    chunk = 16
    while done < limit:
        m = min(chunk, limit - done)
        before = kp[i + done : i + done + m]
        after = kc[j + done : j + done + m]
        if before == after:
            done += m
            chunk *= 8
            continue
        while m > _SCAN:  # the first difference is within kp[i + done : i + done + m]
            half = m // 2
            if kp[i + done : i + done + half] == kc[j + done : j + done + half]:
                done += half
                m -= half
            else:
                m = half
        before = kp[i + done : i + done + m]
        after = kc[j + done : j + done + m]
        return done + next(compress(count(), map(ne, before, after)))
    return done


_SCAN = 32  # keys looked at one by one once a difference is narrowed down to so many


class _Run(NamedTuple):
    """``length`` regions from prev[i] and cur[j] on that are the same mappings with the
    same resident size (or no resident sizes to compare)."""

    i: int
    j: int
    length: int


class _Resized(NamedTuple):
    """prev[i] and cur[j] are the same mapping; its resident size changed."""

    i: int
    j: int


class _Cluster(NamedTuple):
    """Regions of both sides whose ranges overlap in a chain, and that differ."""

    prev: list[Region]
    cur: list[Region]


def _sweep(
    P: tuple[Region, ...], C: tuple[Region, ...], with_rss: bool
) -> Iterator[_Run | _Resized | _Cluster]:
    kp, kc = key_pair(P, C, with_rss)
    i = j = 0
    np_, nc = len(P), len(C)
    while i < np_ or j < nc:
        if i < np_ and j < nc:
            length = _equal_run(kp, i, kc, j)
            if length:
                yield _Run(i, j, length)
                i += length
                j += length
                continue
            if with_rss and _KEY(P[i]) == _KEY(C[j]):
                yield _Resized(i, j)
                i += 1
                j += 1
                continue
        # Everything before P[i] and C[j] is done and ends at or before both.
        cp: list[Region] = []
        cc: list[Region] = []
        if j >= nc or (i < np_ and P[i][0] <= C[j][0]):
            hi = P[i][1]
            cp.append(P[i])
            i += 1
        else:
            hi = C[j][1]
            cc.append(C[j])
            j += 1
        grown = True
        while grown:
            grown = False
            while i < np_ and P[i][0] < hi:
                cp.append(P[i])
                hi = max(hi, P[i][1])
                i += 1
                grown = True
            while j < nc and C[j][0] < hi:
                cc.append(C[j])
                hi = max(hi, C[j][1])
                j += 1
                grown = True
        yield _Cluster(cp, cc)


# The process screen asks for the events, the per-region changes and the unmapped
# ranges of the same pair of snapshots, one after the other: sweep them once.
_SWEEPS_KEPT = 2  # (previous, new) and (baseline, new)
_sweeps: list[tuple[tuple, tuple, bool, list]] = []


def _sweep_items(P: tuple[Region, ...], C: tuple[Region, ...], with_rss: bool) -> list:
    with _cache_lock:
        for before, after, rss, items in _sweeps:
            if before is P and after is C and rss == with_rss:
                return items
    items = list(_sweep(P, C, with_rss))
    with _cache_lock:
        _sweeps.insert(0, (P, C, with_rss, items))
        del _sweeps[_SWEEPS_KEPT:]
    return items


def _continues(p: Region, c: Region) -> bool:
    """Whether c is (part of) the same mapping as p where they overlap.

    The same thing mapped (``same_backing``: a file's name may change under it), same
    sharing, and for a file the same file offset at the same address (a file mapped
    again elsewhere in the file is another mapping). Anonymous regions print offset 0,
    so their offset says nothing.
    """
    if not same_backing(p, c):
        return False
    if p.perms[3:4] != c.perms[3:4]:
        return False
    if p.inode:
        return p.offset - p.start == c.offset - c.start
    return True


# Segment states.
_SAME, _NEW, _GONE, _REPLACED = 0, 1, 2, 3


class _Segment(NamedTuple):
    start: int
    end: int
    p: int  # index into cluster.prev, -1 when not mapped before
    c: int  # index into cluster.cur, -1 when not mapped now
    state: int


def _segments(cluster: _Cluster) -> list[_Segment]:
    cp, cc = cluster.prev, cluster.cur
    bounds = sorted(
        {r.start for r in cp} | {r.end for r in cp} | {r.start for r in cc} | {r.end for r in cc}
    )
    out: list[_Segment] = []
    a = b = 0
    for x, y in pairwise(bounds):
        while a < len(cp) and cp[a].end <= x:
            a += 1
        while b < len(cc) and cc[b].end <= x:
            b += 1
        pi = a if a < len(cp) and cp[a].start <= x else -1
        ci = b if b < len(cc) and cc[b].start <= x else -1
        if pi < 0 and ci < 0:
            continue
        if pi < 0:
            state = _NEW
        elif ci < 0:
            state = _GONE
        elif _continues(cp[pi], cc[ci]):
            state = _SAME
        else:
            state = _REPLACED
        out.append(_Segment(x, y, pi, ci, state))
    return out


class _Groups:
    """Union-find over the regions of one cluster linked by kept (same) segments."""

    def __init__(self, segments: list[_Segment]) -> None:
        self.parent: dict[tuple[int, int], tuple[int, int]] = {}
        for s in segments:
            if s.state == _SAME:
                self._union((0, s.p), (1, s.c))

    def _find(self, x: tuple[int, int]) -> tuple[int, int]:
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def _union(self, a: tuple[int, int], b: tuple[int, int]) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self.parent[ra] = rb

    def linked(self, side: int, index: int) -> bool:
        return (side, index) in self.parent

    def groups(self) -> list[tuple[list[int], list[int]]]:
        """Each group as (prev indices, cur indices), in address order."""
        by_root: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        for node in sorted(self.parent, key=lambda n: (n[1], n[0])):
            root = self._find(node)
            entry = by_root.setdefault(root, ([], []))
            entry[node[0]].append(node[1])
        return list(by_root.values())
