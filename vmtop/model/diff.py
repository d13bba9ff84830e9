"""What changed between two snapshots of one process, as events.

Work in address ranges, not in lines of ``maps``: the kernel merges a new anonymous
mapping into an adjacent anonymous region with the same permissions (so a big
``malloc`` often extends a line instead of adding one), ``mprotect`` of part of a
region splits it into several lines, and a stack's start moves down as it grows.

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
  A segment covered in both snapshots by the *same* mapping (same device, inode and
  name, and for a file the same file offset at that address) was kept; one covered
  only now was mapped; one covered only before was unmapped. Runs of those segments
  become the events.

``region_changes`` answers the same question per region of the newer snapshot, for
the views' "changed since the baseline" column, and ``unmapped_ranges`` gives what
disappeared, so a view can draw a trace of it.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from itertools import compress, count, pairwise
from operator import itemgetter, ne
from typing import NamedTuple

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.column_keys import ColumnKeys
from vmtop.model.columns import RegionColumns, row_hashes, starts_of
from vmtop.model.events import Event
from vmtop.model.region import Region, Snapshot

DEFAULT_RSS_THRESHOLD = 64 * 1024
# glibc malloc serves a request of at least this size with its own mmap (M_MMAP_THRESHOLD
# default; glibc raises it at run time after freeing such a block, unless it was set).
MALLOC_MMAP_THRESHOLD = 128 * 1024

# What a brk growth bigger than glibc's 128 KiB top pad plus 128 KiB means.
HEAP_GREW_BIG = (
    "brk moved the end of the heap up by more than 256 KiB: a block of 128 KiB or more "
    "came from the heap, not from mmap. glibc's mmap threshold is dynamic: freeing an "
    "mmapped block raises it to that block's size, so later blocks that big use the heap"
)

HEAP_NAME = "[heap]"
STACK_NAME = "[stack]"

# Region fields 0..6: start, end, perms, offset, dev, inode, path. Two regions with
# equal keys are the same mapping; only their resident figures can differ. With smaps
# on both sides the whole region is the key (see _keys): equal, nothing to report.
_KEY = itemgetter(0, 1, 2, 3, 4, 5, 6)
_START = itemgetter(0)


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

    Compares slices in growing chunks (C-level list compares), and finds the first
    difference inside a chunk that differs with one pass of C-level iterators.
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
        return done + next(compress(count(), map(ne, before, after)))
    return done


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

    Same device, inode and name, same sharing, and for a file the same file offset at
    the same address (a file mapped again elsewhere in the file is another mapping).
    Anonymous regions print offset 0, so their offset says nothing.
    """
    if p.dev != c.dev or p.inode != c.inode or p.path != c.path:
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


# -- events ------------------------------------------------------------------------------


def diff_snapshots(
    prev: Snapshot, cur: Snapshot, *, rss_threshold: int = DEFAULT_RSS_THRESHOLD
) -> list[Event]:
    """Events that take ``prev`` to ``cur`` (two snapshots of one process).

    A different process (PID reused: other start time) gives one ``pid_reused`` event
    and a new program in the same process one ``exec`` event: regions of two different
    address spaces are never compared. Resident-size changes are reported per region
    when both snapshots have smaps and the change is at least ``rss_threshold`` bytes.
    """
    when = cur.taken_at
    if prev.info.pid != cur.info.pid or prev.info.start_time != cur.info.start_time:
        return [_pid_reused_event(prev, cur)]
    exec_event = _exec_event(prev, cur)
    if exec_event is not None:
        return [exec_event]
    with_rss = prev.has_smaps and cur.has_smaps
    threshold = max(1, rss_threshold)
    out: list[Event] = []
    P, C = prev.regions, cur.regions
    for item in _sweep_items(P, C, with_rss):
        kind = type(item)
        if kind is _Run:
            continue
        if kind is _Resized:
            p, c = P[item.i], C[item.j]
            delta = (c.rss or 0) - (p.rss or 0)
            if delta >= threshold or -delta >= threshold:
                out.append(_rss_event(c, c.start, c.end, delta, c.rss, when))
            continue
        _cluster_events(item, with_rss, threshold, when, out)
    return out


def _event(
    when: float, name: str, region: Region, start: int, end: int, delta: int, detail: str
) -> Event:
    """An event about the range [start, end) of ``region``; size is the range's size."""
    return Event(
        when, name, start, end, region.kind, end - start, delta, region.path, region.tid, detail
    )


def _rss_event(
    region: Region, start: int, end: int, delta: int, now: int | None, when: float
) -> Event:
    why = "pages faulted in" if delta > 0 else "pages freed, reclaimed or swapped out"
    detail = f"{why}: now {_size_text(now or 0)} resident"
    # size is the resident change, not the range: what moved is the resident memory.
    return _event(when, ev.RSS_CHANGED, region, start, end, delta, detail)._replace(size=abs(delta))


def _cluster_events(
    cluster: _Cluster, with_rss: bool, threshold: int, when: float, out: list[Event]
) -> None:
    cp, cc = cluster.prev, cluster.cur
    segs = _segments(cluster)
    groups = _Groups(segs)
    kept_ends = {(s.c, s.end) for s in segs if s.state == _SAME}
    kept_starts = {(s.c, s.start) for s in segs if s.state == _SAME}

    # Ranges that went away: unmapped, or the heap/stack getting smaller.
    for start, end, pi, replaced in _runs(segs, side=0):
        event = _gone_event(cp[pi], start, end, replaced, groups.linked(0, pi), when)
        p = cp[pi]
        if (
            p.kind == kinds.THREAD_STACK
            and event.event == ev.UNMAPPED
            and not replaced
            and (start, end) == (p.start, p.end)
        ):
            event = _thread_exit(event, out)
        out.append(event)
    # Ranges that appeared: mapped (maybe merged into a neighbour), heap/stack growth.
    for start, end, ci, replaced in _runs(segs, side=1):
        below = (ci, start) in kept_ends
        above = (ci, end) in kept_starts
        linked = groups.linked(1, ci)
        out.append(_new_event(cc[ci], start, end, replaced, below, above, linked, when))
    # Same mapping, other lines or other permissions.
    _structure_events(cp, cc, segs, when, out)
    if with_rss:
        for prev_idx, cur_idx in groups.groups():
            if not cur_idx:
                continue
            now = sum(cc[k].rss or 0 for k in cur_idx)
            delta = now - sum(cp[k].rss or 0 for k in prev_idx)
            if delta >= threshold or -delta >= threshold:
                first, last = cc[cur_idx[0]], cc[cur_idx[-1]]
                out.append(_rss_event(first, first.start, last.end, delta, now, when))


def _thread_exit(stack: Event, out: list[Event]) -> Event:
    """A whole thread stack unmapped: the thread exited. The guard page below it, just
    unmapped too, becomes part of the same event."""
    start = stack.start
    if out:
        last = out[-1]
        if last.event == ev.UNMAPPED and last.kind == kinds.GUARD and last.end == start:
            out.pop()
            start = last.start
    size = stack.end - start
    return stack._replace(
        event=ev.THREAD_EXITED, start=start, size=size, delta=-size, detail=THREAD_EXIT
    )


def _runs(segs: list[_Segment], side: int) -> Iterator[tuple[int, int, int, bool]]:
    """Contiguous ranges that were (side 0) or are (side 1) mapped by one region and
    are not the same mapping on the other side: (start, end, region index, replaced)."""
    want = _GONE if side == 0 else _NEW
    run: list = []
    for s in segs:
        if s.state != want and s.state != _REPLACED:
            continue
        idx = s.p if side == 0 else s.c
        replaced = s.state == _REPLACED
        if run and run[1] == s.start and run[2] == idx:
            run[1] = s.end
            run[3] = run[3] or replaced
            continue
        if run:
            yield run[0], run[1], run[2], run[3]
        run = [s.start, s.end, idx, replaced]
    if run:
        yield run[0], run[1], run[2], run[3]


def _new_event(
    c: Region,
    start: int,
    end: int,
    replaced: bool,
    below: bool,
    above: bool,
    linked: bool,
    when: float,
) -> Event:
    size = end - start
    if c.path == HEAP_NAME and not replaced and (below or not linked):
        if below and size > 2 * MALLOC_MMAP_THRESHOLD:
            detail = HEAP_GREW_BIG
        elif below:
            detail = "brk moved the end of the heap up"
        else:
            detail = "the heap appeared: the program's first brk"
        return _event(when, ev.HEAP_GREW, c, start, end, size, detail)
    if c.path == STACK_NAME and not replaced and above and start == c.start:
        detail = "the stack's start moved down: deeper calls or large locals"
        return _event(when, ev.STACK_GREW, c, start, end, size, detail)
    detail = _mapped_detail(c, size, replaced, below, above)
    return _event(when, ev.MAPPED, c, start, end, size, detail)


def _gone_event(
    p: Region, start: int, end: int, replaced: bool, linked: bool, when: float
) -> Event:
    size = end - start
    if p.path == HEAP_NAME and linked and end == p.end and not replaced:
        detail = "brk moved the end of the heap down: free or malloc_trim gave memory back"
        return _event(when, ev.HEAP_SHRANK, p, start, end, -size, detail)
    if p.path == STACK_NAME and linked and start == p.start and not replaced:
        detail = "the bottom of the stack was given back"
        return _event(when, ev.STACK_SHRANK, p, start, end, -size, detail)
    detail = _unmapped_detail(p, start, end, size, replaced, linked)
    return _event(when, ev.UNMAPPED, p, start, end, -size, detail)


def _is_private_anon_rw(r: Region) -> bool:
    return not r.inode and not r.path and r.perms == "rw-p"


# glibc gives each thread arena a heap of its own, aligned to (and reserving) 64 MiB on
# 64-bit (HEAP_MAX_SIZE): the usable part is rw-, the rest ---p until it grows.
ARENA_RESERVE = 64 << 20

BIG_ANON_MAPPED = (
    "anonymous memory of 128 KiB or more: malloc above its mmap threshold, or a direct "
    "mmap (the map cannot tell which)"
)
BIG_ANON_FREED = (
    "anonymous memory of 128 KiB or more: free() of a malloc block above its mmap "
    "threshold, or a direct munmap (the map cannot tell which)"
)
THREAD_EXIT = (
    "a thread exited: its stack and the guard page below it were unmapped together "
    "(glibc keeps a few finished threads' stacks cached for reuse; this one was let go)"
)


def _what_it_is(r: Region, start: int, size: int, *, freed: bool) -> str:
    """What a range that appeared (or went) most likely is, from its region."""
    kind = r.kind
    if kind == kinds.THREAD_STACK:
        if freed:
            return "a thread's stack: its thread exited, or glibc let a cached stack go"
        return "a thread's stack: pthread_create maps it with a guard page below"
    if kind == kinds.ARENA:
        if freed:
            return f"a glibc malloc arena heap given back ({r.object}): it was empty"
        return (
            f"a new glibc malloc arena ({r.object}): a thread's malloc got a 64 MiB-aligned "
            "heap of its own; this is its usable part, the rest is reserved for it"
        )
    if kind == kinds.RESERVED:
        if r.object:
            return f"the rest of {r.object}'s 64 MiB heap, reserved for it to grow into"
        return (
            "no-access address space reserved for later (a runtime's heap or code "
            "reserve, a GPU address range): it costs no memory until made accessible"
        )
    if kind == kinds.GUARD:
        text = f"no-access guard of {r.object}" if r.object else "no-access guard pages"
        if freed and r.object and "stack" in r.object:
            text += ": unmapped with its stack when the thread went"
        return text
    if kind == kinds.GAP:
        return f"a no-access hole in {r.object}'s span: the loader's alignment gap"
    if kind == kinds.JIT:
        if freed:
            return "executable anonymous memory: JIT-compiled code given back"
        return (
            "executable anonymous memory: JIT-compiled code appeared (JVM code cache, V8, "
            "PCRE2 JIT, libffi trampolines)"
        )
    if kind == kinds.DEVICE:
        return f"a device mapping: {r.object}" if r.object else "a device mapping"
    # A range merged into an object's .bss region is no .bss: that never grows. (A .bss
    # going away is its object unloaded: dlclose.)
    if _is_private_anon_rw(r) and (kind == kinds.ANON or kind == kinds.BSS and not freed):
        if size >= MALLOC_MMAP_THRESHOLD:
            return BIG_ANON_FREED if freed else BIG_ANON_MAPPED
        return "anonymous memory"
    if kind == kinds.BSS:
        return f"the .bss of {r.object}: unmapped with its object (dlclose)"
    if kind == kinds.SHM:
        return f"shared memory: {r.object}" if r.object else "shared memory"
    if r.path.startswith("/"):
        return "a file"
    return ""


def _mapped_detail(c: Region, size: int, replaced: bool, below: bool, above: bool) -> str:
    parts = []
    if replaced:
        parts.append("mapped over what was there before (MAP_FIXED)")
    if below and above:
        parts.append("joined the regions below and above into one")
    elif below:
        parts.append(
            "merged into the region below: the kernel extended it instead of adding a line"
        )
    elif above:
        parts.append(
            "merged into the region above: the kernel extended it instead of adding a line"
        )
    what = _what_it_is(c, c.start, size, freed=False)
    if what:
        parts.append(what)
    return "; ".join(parts)


def _unmapped_detail(
    p: Region, start: int, end: int, size: int, replaced: bool, linked: bool
) -> str:
    parts = []
    if replaced:
        parts.append("replaced by another mapping (MAP_FIXED)")
    elif linked:
        if start == p.start:
            parts.append("cut from the bottom of the region above")
        elif end == p.end:
            parts.append("cut from the top of the region below")
        else:
            parts.append("punched a hole in the region")
    else:
        parts.append("munmap")
    what = _what_it_is(p, start, size, freed=True)
    if what:
        parts.append(what)
    return "; ".join(parts)


def _structure_events(
    cp: list[Region], cc: list[Region], segs: list[_Segment], when: float, out: list[Event]
) -> None:
    """split / merged for kept ranges now cut into other lines; protection_changed."""
    for run in _kept_runs(segs):
        first, last = run[0], run[-1]
        n_before = len({s.p for s in run})
        n_now = len({s.c for s in run})
        region = cc[first.c]
        if n_now > n_before:
            detail = f"{_regions_text(n_before)} became {n_now}: mprotect or madvise of part of it"
            out.append(_event(when, ev.SPLIT, region, first.start, last.end, 0, detail))
        elif n_before > n_now:
            detail = f"{n_before} regions became {_regions_text(n_now)}: permissions match again"
            out.append(_event(when, ev.MERGED, region, first.start, last.end, 0, detail))
        changed: Event | None = None
        for s in run:
            p, c = cp[s.p], cc[s.c]
            if p.perms == c.perms:
                continue
            name, detail = _protection_change(p, c)
            if changed is not None and changed.end == s.start and changed.detail == detail:
                changed = changed._replace(end=s.end, size=s.end - changed.start)
                continue
            if changed is not None:
                out.append(changed)
            changed = _event(when, name, c, s.start, s.end, 0, detail)
        if changed is not None:
            out.append(changed)


def _protection_change(p: Region, c: Region) -> tuple[str, str]:
    """The event for the same mapping with other permissions: a reserve committed or
    given back, code made executable, or a plain mprotect."""
    change = f"{p.perms} -> {c.perms}"
    was_none, now_none = p.perms[:3] == "---", c.perms[:3] == "---"
    if was_none and not now_none and p.kind in (kinds.RESERVED, kinds.GUARD):
        if c.kind == kinds.ARENA:
            why = f"{c.object} grew into its reserve"
        elif c.kind == kinds.JIT:
            why = "the JIT's code cache grew into its reserve"
        else:
            why = "the program committed address space it had reserved (a runtime's heap "
            why += "growing, e.g. the Java heap)"
        return ev.RESERVE_COMMITTED, f"{change}: {why} (mprotect or mmap over it)"
    if now_none and not was_none and c.kind == kinds.RESERVED:
        why = f"{c.object} shrank" if c.object else "a runtime gave memory back"
        return ev.RESERVE_RELEASED, f"{change}: back to reserve, its pages freed ({why})"
    if "x" in c.perms[:3] and "x" not in p.perms[:3] and not c.inode:
        return (
            ev.PROTECTION_CHANGED,
            f"{change} (mprotect): code written here made executable (JIT)",
        )
    return ev.PROTECTION_CHANGED, f"{change} (mprotect)"


def _kept_runs(segs: list[_Segment]) -> Iterator[list[_Segment]]:
    """Contiguous kept segments linked by a shared region on either side."""
    run: list[_Segment] = []
    for s in segs:
        if s.state != _SAME:
            continue
        if run and run[-1].end == s.start and (run[-1].p == s.p or run[-1].c == s.c):
            run.append(s)
            continue
        if run:
            yield run
        run = [s]
    if run:
        yield run


def _regions_text(n: int) -> str:
    return "one region" if n == 1 else f"{n} regions"


def _main_image(snapshot: Snapshot) -> Region | None:
    """The program's first file-backed region: where its executable is mapped."""
    for r in snapshot.regions:
        if r.inode and r.path.startswith("/"):
            return r
    return None


def _named_start(snapshot: Snapshot, name: str) -> int | None:
    # The kernel's own mappings ([vdso], [vvar]) sit at the top of the list.
    for r in reversed(snapshot.regions):
        if r.path == name:
            return r.start
    return None


def _exec_event(prev: Snapshot, cur: Snapshot) -> Event | None:
    """An exec event when ``cur`` is a new program in the same process, else None.

    exec replaces the whole address space, and the vDSO, which never moves within one
    address space, gets a new random address; the executable mapped first changes too
    (or, for the same program, moves). A changed ``comm`` alone is not enough: a
    program can rename itself with prctl(PR_SET_NAME) without exec.
    """
    before, after = _main_image(prev), _main_image(cur)
    vdso_before, vdso_after = _named_start(prev, "[vdso]"), _named_start(cur, "[vdso]")
    vdso_known = vdso_before is not None and vdso_after is not None
    if vdso_known and vdso_before != vdso_after:
        changed = True
    elif before is not None and after is not None:
        # Without address randomisation the vDSO stays put: the program's file tells.
        changed = before.identity != after.identity or (
            not vdso_known and before.start != after.start
        )
    else:
        changed = prev.info.comm != cur.info.comm
    if not changed:
        return None
    path = after.path if after is not None else ""
    old, new = prev.info.comm or "?", cur.info.comm or "?"
    return Event(
        cur.taken_at,
        ev.EXEC,
        0,
        0,
        "",
        cur.totals.size,
        cur.totals.size - prev.totals.size,
        path,
        None,
        f"process {cur.info.pid} ran a new program: {old} -> {new} ({cur.info.command})",
    )


def _pid_reused_event(prev: Snapshot, cur: Snapshot) -> Event:
    return Event(
        cur.taken_at,
        ev.PID_REUSED,
        0,
        0,
        "",
        0,
        0,
        "",
        None,
        f"PID {cur.info.pid} now belongs to another process ({cur.info.command}); "
        f"the one watched ({prev.info.command}) exited",
    )


def exited_event(last: Snapshot, when: float) -> Event:
    """The event for a process that exited after its last snapshot ``last``."""
    info = last.info
    return Event(
        when,
        ev.EXITED,
        0,
        0,
        "",
        last.totals.size,
        -last.totals.size,
        "",
        None,
        f"process {info.pid} ({info.comm or info.command}) exited",
    )


# -- changed since a baseline ------------------------------------------------------------


class RegionChange(NamedTuple):
    status: str  # "new", "grew", "shrank", "changed", "same"
    size_delta: int  # bytes, signed
    rss_delta: int | None  # bytes, signed; None when either snapshot has no smaps


NEW, GREW, SHRANK, CHANGED, SAME = "new", "grew", "shrank", "changed", "same"


def region_changes(
    base: Snapshot,
    cur: Snapshot,
    *,
    rss_threshold: int = DEFAULT_RSS_THRESHOLD,
    changed_only: bool = False,
) -> dict[int, RegionChange]:
    """For each region of ``cur`` (keyed by its start): what changed since ``base``
    (with ``changed_only``, regions left out are ``same``: at a million regions, a
    dict of every one is 100 MB).

    - new: no part of it was mapped in ``base`` by the same mapping;
    - grew / shrank: it is the same mapping with another size (``size_delta``);
    - changed: same size, but other lines or permissions, or the resident size moved by
      at least ``rss_threshold``;
    - same: nothing worth showing.

    Snapshots of different processes, or across an exec, make every region ``new``.
    """
    with_rss = base.has_smaps and cur.has_smaps
    C = cur.regions
    if (
        base.info.pid != cur.info.pid
        or base.info.start_time != cur.info.start_time
        or _exec_event(base, cur) is not None
    ):
        return {r.start: RegionChange(NEW, r.size, (r.rss or 0) if with_rss else None) for r in C}
    threshold = max(1, rss_threshold)
    P = base.regions
    # Every region starts as unchanged (one C-level pass); the sweep overwrites the rest.
    unchanged = RegionChange(SAME, 0, 0 if with_rss else None)
    result: dict[int, RegionChange] = {} if changed_only else dict.fromkeys(starts_of(C), unchanged)
    for item in _sweep_items(P, C, with_rss):
        kind = type(item)
        if kind is _Run:
            continue
        if kind is _Resized:
            c = C[item.j]
            d = (c.rss or 0) - (P[item.i].rss or 0)
            status = CHANGED if (d >= threshold or -d >= threshold) else SAME
            result[c.start] = RegionChange(status, 0, d)
            continue
        _cluster_changes(item, with_rss, threshold, result)
    return result


def _cluster_changes(
    cluster: _Cluster, with_rss: bool, threshold: int, result: dict[int, RegionChange]
) -> None:
    cp, cc = cluster.prev, cluster.cur
    segs = _segments(cluster)
    covered = [0] * len(cc)  # bytes of each cur region kept from base
    perms_changed = [False] * len(cc)
    partners: list[set[int]] = [set() for _ in cc]  # base regions each cur region keeps
    users: dict[int, set[int]] = {}  # cur regions keeping part of each base region
    for s in segs:
        if s.state != _SAME:
            continue
        covered[s.c] += s.end - s.start
        partners[s.c].add(s.p)
        users.setdefault(s.p, set()).add(s.c)
        if cp[s.p].perms != cc[s.c].perms:
            perms_changed[s.c] = True
    for k, c in enumerate(cc):
        rss_now = c.rss or 0
        if not covered[k]:
            result[c.start] = RegionChange(NEW, c.size, rss_now if with_rss else None)
            continue
        mates = partners[k]
        one_to_one = len(mates) == 1 and users[next(iter(mates))] == {k}
        if one_to_one:
            p = cp[next(iter(mates))]
            size_delta = c.size - p.size
            rss_delta = rss_now - (p.rss or 0) if with_rss else None
            reshaped = (p.start, p.end) != (c.start, c.end)
        else:
            # Split or merged: compare with the share of each base region it keeps.
            size_delta = c.size - covered[k]
            rss_delta = None
            if with_rss:
                before = 0.0
                for pi in mates:
                    p = cp[pi]
                    kept = sum(
                        s.end - s.start for s in segs if s.state == _SAME and s.p == pi and s.c == k
                    )
                    before += (p.rss or 0) * kept / max(1, p.size)
                rss_delta = rss_now - int(before)
            reshaped = True
        if size_delta > 0:
            status = GREW
        elif size_delta < 0:
            status = SHRANK
        elif (
            reshaped
            or perms_changed[k]
            or (rss_delta is not None and (rss_delta >= threshold or -rss_delta >= threshold))
        ):
            status = CHANGED
        else:
            status = SAME
        result[c.start] = RegionChange(status, size_delta, rss_delta)


def unmapped_ranges(base: Snapshot, cur: Snapshot) -> list[tuple[int, int]]:
    """Address ranges mapped in ``base`` and not mapped in ``cur``, merged, sorted."""
    with_rss = base.has_smaps and cur.has_smaps  # the key lists the other calls cached
    out: list[tuple[int, int]] = []
    for item in _sweep_items(base.regions, cur.regions, with_rss):
        if type(item) is not _Cluster:
            continue  # the same ranges on both sides
        for lo, hi in _uncovered(item.prev, item.cur):
            _append_range(out, lo, hi)
    return out


def _uncovered(before: list[Region], after: list[Region]) -> Iterator[tuple[int, int]]:
    """Parts of the ranges in ``before`` that no range in ``after`` covers."""
    j = 0
    n = len(after)
    for r in before:
        lo, hi = r.start, r.end
        while j < n and after[j].end <= lo:
            j += 1
        k = j
        while lo < hi:
            if k >= n or after[k].start >= hi:
                yield lo, hi
                break
            c = after[k]
            if c.start > lo:
                yield lo, c.start
            lo = max(lo, c.end)
            k += 1


def _append_range(out: list[tuple[int, int]], lo: int, hi: int) -> None:
    if out and out[-1][1] == lo:
        out[-1] = (out[-1][0], hi)
    else:
        out.append((lo, hi))


def _size_text(n: int) -> str:
    value = float(abs(n))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            text = f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
            return ("-" if n < 0 else "") + text
        value /= 1024
    return str(n)
