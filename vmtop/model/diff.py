"""What changed between two snapshots of one process, as events.

Work in address ranges, not in lines of ``maps``: the kernel merges a new anonymous
mapping into an adjacent anonymous region with the same permissions (so a big
``malloc`` often extends a line instead of adding one), ``mprotect`` of part of a
region splits it into several lines, and a stack's start moves down as it grows.

The sweep of ``vmtop.model.sweep`` pairs the two snapshots' regions: runs of the same
regions, regions whose resident size alone changed (compared against the threshold),
and clusters of overlapping regions cut into kept, mapped and unmapped segments. Runs
of those segments become the events.

``vmtop.model.region_changes`` answers the same question per region of the newer
snapshot, for the views' "changed since the baseline" column, and gives what
disappeared, so a view can draw a trace of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.cached_stacks import is_cached_stack
from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.event_words import (
    BIG_ANON_FREED,
    BIG_ANON_MAPPED,
    HEAP_GREW_BIG,
    HEAP_NAME,
    MALLOC_MMAP_THRESHOLD,
    MOVED_AWAY,
    MOVED_HERE,
    STACK_NAME,
    THREAD_EXIT,
    THREAD_EXIT_CACHED,
    mapped_detail,
    merge_cause,
    protection_change,
    regions_text,
    renamed_words,
    resident_change_words,
    says_swap_moved,
    size_text,
    split_cause,
    unmapped_detail,
)
from vmtop.model.events import Event
from vmtop.model.file_copies import ANONYMOUS, copies_moved, copies_of, fold_resident
from vmtop.model.hugetlb_events import hugetlb_events, hugetlb_unmapped_said
from vmtop.model.lazy_free import PRIVATE_CLEAN, clean_anonymous, clean_of
from vmtop.model.mapping_figures import (
    certain_rss_change,
    cut_resident,
    lazy_moved,
    lost_bytes,
    resident_range,
    shared_moved,
    swap_moved,
    swap_of,
)
from vmtop.model.postgres_events import said_in_postgres
from vmtop.model.process_events import exec_event, pid_reused_event, state_event
from vmtop.model.region import Region, Snapshot
from vmtop.model.sharing_events import shared_of
from vmtop.model.sweep import (
    _GONE,
    _NEW,
    _REPLACED,
    _SAME,
    _Cluster,
    _Groups,
    _Resized,
    _Run,
    _Segment,
    _segments,
    _sweep_items,
)
from vmtop.model.valgrind import is_main_stack

DEFAULT_RSS_THRESHOLD = 64 * 1024
_SHARED_DIRTY = Region._fields.index("shared_dirty")


# -- events ------------------------------------------------------------------------------


def diff_snapshots(
    prev: Snapshot, cur: Snapshot, *, rss_threshold: int = DEFAULT_RSS_THRESHOLD
) -> list[Event]:
    """Events that take ``prev`` to ``cur`` (two snapshots of one process).

    A different process (PID reused: other start time) gives one ``pid_reused`` event
    and a new program in the same process one ``exec`` event: regions of two different
    address spaces are never compared. A process stopped by a signal since ``prev``, or
    continued, starts the list with a ``stopped`` or ``continued`` event. Resident-size changes are reported per region
    when both snapshots have smaps and the change is at least ``rss_threshold`` bytes.
    """
    when = cur.taken_at
    if prev.info.pid != cur.info.pid or prev.info.start_time != cur.info.start_time:
        return [pid_reused_event(prev, cur)]
    new_program = exec_event(prev, cur)
    if new_program is not None:
        return [new_program]
    with_rss = prev.has_smaps and cur.has_smaps
    threshold = max(1, rss_threshold)
    stopped_or_continued = state_event(prev, cur)
    out: list[Event] = [stopped_or_continued] if stopped_or_continued is not None else []
    P, C = prev.regions, cur.regions
    for item in _sweep_items(P, C, with_rss):
        kind = type(item)
        if kind is _Run:
            continue
        if kind is _Resized:
            p, c = P[item.i], C[item.j]
            delta = (c.rss or 0) - (p.rss or 0)
            said = False
            if delta >= threshold or -delta >= threshold:
                event = _rss_event(c, c.start, c.end, delta, c.rss, when, (p.swap, c.swap))
                out.append(event)
                said = says_swap_moved(event.detail)
            swapped = None if p.swap is None or c.swap is None else c.swap - p.swap
            if not said and swapped is not None:
                swap_moved(c, c.start, c.end, swapped, c.swap, threshold, when, out)
            # (Shared pages freed: the rss_changed said it. Most regions resized have the
            # same shared figures: not looked at further.)
            if delta > -threshold and p[_SHARED_DIRTY] != c[_SHARED_DIRTY]:
                shared_moved(c, c.start, c.end, (shared_of((p,)), shared_of((c,))),
                              threshold, when, out, (prev.ksm, cur.ksm))  # fmt: skip
            # (Most regions resized keep their clean memory: MADV_FREE moves it.)
            if p[PRIVATE_CLEAN] != c[PRIVATE_CLEAN]:
                lazy_moved(c, c.start, c.end, (clean_anonymous(p), clean_anonymous(c)), delta,
                           swapped, threshold, when, out)  # fmt: skip
            if p[ANONYMOUS] != c[ANONYMOUS]:  # (a private file mapping's pages written)
                copies_moved((c,), (copies_of((p,)), copies_of((c,))), threshold, when, out)
            continue
        _cluster_events(item, prev, with_rss, threshold, when, out, (prev.ksm, cur.ksm))
    exited = _threads_gone_with_stacks_kept(prev, cur, out)
    if exited:
        out = _freed_after_their_exit(out, exited)
    _say_moved_blocks(out)
    if with_rss:
        out += hugetlb_events(prev, cur, threshold)
    # (An Rss that moved with a private file mapping's copies was the copies.)
    out = fold_resident(hugetlb_unmapped_said(out, prev), threshold)
    return said_in_postgres(out, cur)  # (its shared memory, memory contexts, JIT)


def _thread_stacks(regions) -> dict[int, Region]:
    """The regions known to hold a thread's stack, by thread id (of columns, only those
    rows are made into Regions)."""
    if isinstance(regions, RegionColumns):
        rows = (regions[i] for i in where(regions.name_mask("kind", kinds.THREAD_STACK)))
    else:
        rows = (r for r in regions if r.kind == kinds.THREAD_STACK)
    return {r.tid: r for r in rows if r.tid is not None}


def _threads_gone_with_stacks_kept(prev: Snapshot, cur: Snapshot, out: list[Event]) -> list[Event]:
    """Threads that exited while their stack stays mapped: glibc keeps a few finished
    threads' stacks for the next thread, so nothing is unmapped (the region is no
    thread's now: plain anonymous memory to classification, a cached stack once
    ``cached_stacks.keep_cached_stacks`` has seen it). Told from a busy thread whose
    stack pointer could not be read this time by the thread count: never more exits
    than the count says went."""
    before = _thread_stacks(prev.regions)
    if not before:
        return []
    after = _thread_stacks(cur.regions)
    told = {e.tid for e in out if e.event == ev.THREAD_EXITED}
    gone = [r for tid, r in sorted(before.items()) if tid not in after and tid not in told]
    if not gone or prev.info.threads is None or cur.info.threads is None:
        return []
    exits = prev.info.threads - cur.info.threads + len(after.keys() - before.keys())
    events = []
    for r in gone[: max(0, exits)]:
        now = cur.region_at(r.start)
        if now is None or now.kind == kinds.THREAD_STACK and not is_cached_stack(now):
            continue  # unmapped (said above), or still a thread's stack
        events.append(
            Event(
                cur.taken_at,
                ev.THREAD_EXITED,
                r.start,
                r.end,
                r.kind,
                0,
                0,
                r.path,
                r.tid,
                THREAD_EXIT_CACHED,
                object=r.object,
            )
        )
    return events


def _freed_after_their_exit(out: list[Event], exited: list[Event]) -> list[Event]:
    """``out`` with the exits of threads whose stacks glibc keeps added, each followed
    by the rss_changed of its stack in the same sample (glibc gives most of its pages
    back as the thread exits), named with the thread's id as the exit is: not a
    nameless thread stack said before the exit that explains it."""
    freed: dict[int, list[Event]] = {e.start: [] for e in exited}
    kept = []
    for e in out:
        owner = e.event == ev.RSS_CHANGED and e.tid is None and _exit_holding(exited, e.start)
        if owner:
            freed[owner.start].append(e._replace(tid=owner.tid))
        else:
            kept.append(e)
    for e in exited:
        kept.append(e)
        kept += freed[e.start]
    return kept


def _say_moved_blocks(out: list[Event]) -> None:
    """A big anonymous block that went while a block at least as big appeared holding at
    least its resident pages (all its bytes, where it was cut from a region the kernel
    had merged it into: its own resident size is not known), in one sample: what
    realloc's mremap does when it moves a block (a Rust Vec or a CPython list growing).
    Both events say so (in place), with the other address, and keep the other cause."""
    gone = [k for k, e in enumerate(out) if e.event == ev.UNMAPPED and BIG_ANON_FREED in e.detail]
    if not gone:
        return
    new = [
        k for k, e in enumerate(out)
        if e.event == ev.MAPPED and e.rss and e.detail.startswith(BIG_ANON_MAPPED)
    ]  # fmt: skip
    for g in gone:
        away = out[g]
        held = away.rss if away.rss is not None else away.size
        if not held:
            continue  # nothing resident went: nothing to tell a move by
        here = next((k for k in new if out[k].size >= away.size and out[k].rss >= held), None)
        if here is None:
            continue
        new.remove(here)
        to = out[here]
        out[g] = away._replace(
            detail=away.detail.replace(BIG_ANON_FREED, MOVED_AWAY.format(to=to.start), 1)
        )
        out[here] = to._replace(
            detail=to.detail.replace(BIG_ANON_MAPPED, MOVED_HERE.format(frm=away.start), 1)
        )


def _exit_holding(exited: list[Event], address: int) -> Event | None:
    return next((e for e in exited if e.start <= address < e.end), None)


def _event(
    when: float, name: str, region: Region, start: int, end: int, delta: int, detail: str
) -> Event:
    """An event about the range [start, end) of ``region``; size is the range's size."""
    return Event(
        when, name, start, end, region.kind, end - start, delta, region.path, region.tid, detail,
        object=region.object,
    )  # fmt: skip


def _rss_event(
    region: Region,
    start: int,
    end: int,
    delta: int,
    now: int | None,
    when: float,
    swap: tuple[int | None, int | None] = (None, None),
) -> Event:
    """An rss_changed (``swap``: the range's swap before and now, where known)."""
    detail = resident_change_words(delta, now or 0, swap[1], swap[0])
    # size is the resident change, not the range: what moved is the resident memory.
    return _event(when, ev.RSS_CHANGED, region, start, end, delta, detail)._replace(size=abs(delta))


def _cluster_events(
    cluster: _Cluster,
    prev: Snapshot,
    with_rss: bool,
    threshold: int,
    when: float,
    out: list[Event],
    ksm: tuple = (None, None),
) -> None:
    cp, cc = cluster.prev, cluster.cur
    segs = _segments(cluster)
    groups = _Groups(segs)
    kept_ends = {(s.c, s.end) for s in segs if s.state == _SAME}
    kept_starts = {(s.c, s.start) for s in segs if s.state == _SAME}

    # Ranges that went away: unmapped, or the heap/stack getting smaller.
    cuts: dict[int, list[int]] = {}  # old line -> where its parts cut off are in out
    for start, end, pi, replaced in _runs(segs, side=0):
        p = cp[pi]
        linked = groups.linked(0, pi)
        event = _gone_event(p, start, end, replaced, linked, when)
        whole = not linked and (start, end) == (p.start, p.end)
        if whole:
            event = event._replace(rss=p.rss)  # what it held went with it
        elif linked and not replaced:
            cuts.setdefault(pi, []).append(len(out))  # what it held: from the rest's
        if (
            p.kind == kinds.THREAD_STACK
            and event.event == ev.UNMAPPED
            and not replaced
            and whole
            and not is_cached_stack(p)
        ):
            event = _thread_exit(event, out)
        out.append(_resident_said(event, gone=True))
    # Ranges that appeared: mapped (maybe merged into a neighbour), heap/stack growth.
    for start, end, ci, replaced in _runs(segs, side=1):
        c = cc[ci]
        below = (ci, start) in kept_ends
        above = (ci, end) in kept_starts
        linked = groups.linked(1, ci)
        if c.path == HEAP_NAME and not below and not linked and not replaced:
            below = _heap_ends_at(prev, start)
        event = _new_event(c, start, end, replaced, below, above, linked, when)
        if not linked and (start, end) == (c.start, c.end):
            # A region of its own, new: its resident memory (known when smaps was read)
            # arrived with it, and no rss_changed will say so (there is nothing to
            # compare it with). Merged into a neighbour, that one's rss_changed does.
            event = _resident_said(event._replace(rss=c.rss), gone=False)
        out.append(event)
    # Same mapping, other lines or other permissions.
    _structure_events(cp, cc, segs, when, out)
    if with_rss:
        for prev_idx, cur_idx in groups.groups():
            if not cur_idx:
                continue
            now = sum(cc[k].rss or 0 for k in cur_idx)
            was = sum(cp[k].rss or 0 for k in prev_idx)
            lost = lost_bytes([cp[k] for k in prev_idx], [cc[k] for k in cur_idx])
            delta = certain_rss_change(now - was, was, lost)
            cut = [i for k in prev_idx for i in cuts.get(k, ())]
            cut_resident(out, cut, delta - (now - was), min(lost, was))
            rows = [cc[k] for k in cur_idx]
            swap = (swap_of(cp[k] for k in prev_idx), swap_of(rows))
            said_swap = False
            if delta >= threshold or -delta >= threshold:
                old = [cp[k] for k in prev_idx]
                said, start, end = resident_range(
                    rows, [r.rss or 0 for r in rows], old, [r.rss or 0 for r in old], delta
                )
                held = sum(r.rss or 0 for r in rows if start <= r.start and r.end <= end)
                event = _rss_event(said, start, end, delta, held, when, swap)
                out.append(event)
                said_swap = says_swap_moved(event.detail)
            swapped = None if swap[0] is None or swap[1] is None else swap[1] - swap[0]
            if not said_swap and swapped is not None:
                biggest = max(rows, key=lambda r: r.swap or 0)
                swap_moved(biggest, rows[0].start, rows[-1].end, swapped, swap[1],
                            threshold, when, out)  # fmt: skip
            if delta > -threshold:  # (shared pages freed: the rss_changed said it)
                shared = (shared_of(cp[k] for k in prev_idx), shared_of(rows))
                shared_moved(rows[0], rows[0].start, rows[-1].end, shared, threshold, when,
                              out, ksm)  # fmt: skip
            if not lost:  # (what the parts cut off held is no change of the rest)
                clean = (clean_of(cp[k] for k in prev_idx), clean_of(rows))
                lazy_moved(rows[0], rows[0].start, rows[-1].end, clean, delta, swapped,
                           threshold, when, out)  # fmt: skip
                copies = (copies_of(cp[k] for k in prev_idx), copies_of(rows))
                copies_moved(rows, copies, threshold, when, out)


def _thread_exit(stack: Event, out: list[Event]) -> Event:
    """A whole thread stack unmapped: the thread exited. The guard page below it, just
    unmapped too, becomes part of the same event."""
    start = stack.start
    rss = stack.rss
    if out:
        last = out[-1]
        if last.event == ev.UNMAPPED and last.kind == kinds.GUARD and last.end == start:
            out.pop()
            start = last.start
            if rss is not None and last.rss is not None:
                rss += last.rss
    size = stack.end - start
    return stack._replace(
        event=ev.THREAD_EXITED, start=start, size=size, delta=-size, detail=THREAD_EXIT, rss=rss
    )


def _resident_said(event: Event, *, gone: bool) -> Event:
    """The event with its resident size (``rss``: of a whole region that appeared, or
    went) said in its detail too, where there was any."""
    if not event.rss:
        return event
    said = f"{size_text(event.rss)} {'was resident' if gone else 'resident'}"
    if event.event == ev.THREAD_EXITED:
        said = f"{size_text(event.rss)} was resident in its stack"
    detail = f"{event.detail}; {said}" if event.detail else said
    return event._replace(detail=detail)


def told_resident(events: Iterable[Event]) -> set[int]:
    """The starts of the regions that these events say appeared with their resident
    size (a new region's ``rss``): no rss_changed is to count that memory again."""
    return {e.start for e in events if e.rss is not None and e.delta > 0}


def resident_since_mapped(event: Event) -> Event:
    """For a region mapped when its resident size was not read (a tick that read maps
    only), whose size the next smaps read gives (``event``: the new region's event of
    a diff from the smaps read before it, carrying ``rss``): what it brought, as the
    rss_changed no diff of two snapshots has for it."""
    rss = event.rss or 0
    detail = f"pages faulted in since it was mapped: now {size_text(rss)} resident"
    return event._replace(event=ev.RSS_CHANGED, size=rss, delta=rss, detail=detail, rss=None)


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


def _heap_ends_at(prev: Snapshot, address: int) -> bool:
    """``prev`` had a heap line ending at ``address``: a heap line starting there is the
    heap growing, not a first brk. A forked child (every PostgreSQL backend) inherits
    its parent's heap, and its first brk maps a second [heap] line after it (the
    inherited one belongs to another anon_vma), a region of its own."""
    before = prev.region_at(address - 1) if address else None
    return before is not None and before.path == HEAP_NAME and before.end == address


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
    if is_main_stack(c) and not replaced and above and start == c.start:
        detail = "the stack's start moved down: deeper calls or large locals"
        return _event(when, ev.STACK_GREW, c, start, end, size, detail)
    detail = mapped_detail(c, start, size, replaced, below, above)
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
    detail = unmapped_detail(p, start, end, size, replaced, linked)
    return _event(when, ev.UNMAPPED, p, start, end, -size, detail)


def _structure_events(
    cp: list[Region], cc: list[Region], segs: list[_Segment], when: float, out: list[Event]
) -> None:
    """split / merged for kept ranges now cut into other lines; protection_changed."""
    for run in _kept_runs(segs):
        first, last = run[0], run[-1]
        n_before = len({s.p for s in run})
        n_now = len({s.c for s in run})
        # Said as the biggest of its lines: a few MiB committed at the start of a
        # 1.3 TiB reservation (V8's cage) split a "reserved" range, not 1.3 TiB of "anon".
        region = max((cc[s.c] for s in run), key=lambda r: r[1] - r[0])
        if n_now > n_before:
            why = split_cause(cc[s.c].perms for s in run)
            detail = f"{regions_text(n_before)} became {n_now}: {why}"
            out.append(_event(when, ev.SPLIT, region, first.start, last.end, 0, detail))
        elif n_before > n_now:
            why = merge_cause(cp[s.p].perms for s in run)
            detail = f"{n_before} regions became {regions_text(n_now)}: {why}"
            out.append(_event(when, ev.MERGED, region, first.start, last.end, 0, detail))
        changed: Event | None = None
        for s in run:
            p, c = cp[s.p], cc[s.c]
            if p.perms == c.perms:
                continue
            name, detail = protection_change(p, c)
            if changed is not None and changed.end == s.start and changed.detail == detail:
                changed = changed._replace(end=s.end, size=s.end - changed.start)
                continue
            if changed is not None:
                out.append(changed)
            changed = _event(when, name, c, s.start, s.end, 0, detail)
        if changed is not None:
            out.append(changed)
        _renamed_events(cp, cc, run, when, out)


def _renamed_events(
    cp: list[Region], cc: list[Region], run: list[_Segment], when: float, out: list[Event]
) -> None:
    """file_renamed for the lines of a kept run whose file has another name now (the
    same mapping: same device and inode), one event for the lines next to each other
    that say the same, and for lines of the same mapping just before (the regions of a
    library are clusters of their own)."""
    for s in run:
        p, c = cp[s.p], cc[s.c]
        if p.path == c.path:
            continue
        event = _event(when, ev.FILE_RENAMED, c, s.start, s.end, 0, renamed_words(p, c))
        last = out[-1] if out else None
        if (
            last is not None
            and last.event == ev.FILE_RENAMED
            and last.end == s.start
            and (last.path, last.detail) == (event.path, event.detail)
        ):
            out[-1] = last._replace(end=s.end, size=s.end - last.start)
        else:
            out.append(event)


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
