"""Reading ``maps`` again, parsing and classifying only the lines that changed.

Between two reads of a big map a few lines change (one ``mmap``, a heap that grew), and
the rest of the text is byte for byte the same. So the new text is compared with the
last one (common prefix and suffix, cut at line starts, compared with ``memcmp``), only
the middle lines are parsed, and the regions of the unchanged lines are the very
objects of the last read: whatever compares them afterwards (carrying smaps figures,
the diff) finds them identical by a pointer comparison.

Classification looks at neighbours (an object's parts, a guard below a stack, an arena
and its tail), so the changed lines are classified again together with the lines they
are linked to: the window grows until it is cut, on both sides and in both texts, by a
*cut*: two regions that no rule of ``classify_regions`` links (not adjacent in
addresses, or both plain anonymous memory with access). Every rule there compares two
regions only when they touch (one's end is the other's start), but one: an object's
RELRO and its data across a small hole (``RELRO_HOLE_MAX``), which is no cut; and
none of them looks at a plain anonymous neighbour, so the regions on either side of a cut are classified
alike whatever is on the other side. What is global is checked instead, and when it
moved the whole map is classified again (never a guess): the set of ELF objects with
code, arenas (numbered in address order), SysV segments (their object names the
attach count, read anew each time), /dev/nvidia-uvm (in a CUDA process, shared memory
and reserves are the driver's: classified whole), the CPython the map runs (carried
from the last read when the window holds none of its files), and the threads' stack
pointers (each must stay in the window or in the same region outside it; while some
are unknown, classify picks their stacks among all regions of a stack's shape, so none
may be in the window).
Then the lines already parsed are classified whole, not parsed again.

Pure: text in, regions out; the facts are read by a function the caller hands in. A
hypothesis test checks the result against parse_maps + classify_regions of the whole
text for random edits of recorded maps.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import pairwise, repeat
from operator import attrgetter
from typing import NamedTuple

from vmtop.model import cuda, kinds
from vmtop.model.bss import RELRO_HOLE_MAX
from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts
from vmtop.model.python_facts import PythonFacts
from vmtop.model.region import Region
from vmtop.model.sysv import SYSV_PREFIX
from vmtop.procfs.parse_maps import parse_maps

ReadFacts = Callable[[Sequence[Region]], ClassifyFacts]

_START = attrgetter("start")
_END = attrgetter("end")
# Texts are compared this many bytes at a time (a slice copy and a memcmp in C), then
# by halves inside the first piece that differs.
_PIECE = 64 * 1024
_ARENA_OBJECT = "arena "


class MapsRead(NamedTuple):
    """One maps text and what it gave; ``regions`` one per line, in address order."""

    text: bytes
    regions: list[Region]  # parse_maps(text)
    classified: list[Region]  # classify_regions(regions, facts)
    stack_pointers: dict[int, int | None]  # the facts' stack pointers
    thread_names: dict[int, str]  # and thread names
    exec_objects: Counter  # (dev, inode) -> how many lines of code it has
    sysv: int  # how many SysV segments
    uvm: int  # how many /dev/nvidia-uvm lines (a CUDA process)
    # A JVM or V8: their heaps are named by what the whole map holds (classified whole).
    runtime: bool = False
    # The CPython the map runs (its arenas are named region by region, but the window
    # seldom holds the interpreter's files that say it runs CPython: carried).
    python: PythonFacts | None = None


class Change(NamedTuple):
    """What of the classified list is new: ``classified[lo:new_hi]`` replaces
    ``[lo:old_hi]`` of the last one; the rest are the same objects (shifted).
    ``whole``: everything was classified anew (nothing to reuse)."""

    lo: int
    old_hi: int
    new_hi: int
    whole: bool = False


def common_prefix(a: bytes, b: bytes) -> int:
    """How many leading bytes ``a`` and ``b`` share (in C: no loop over bytes)."""
    n = min(len(a), len(b))
    at = 0
    while at < n and a[at : at + _PIECE] == b[at : at + _PIECE]:
        at += _PIECE
    if at >= n:
        return n
    lo, hi = at, min(at + _PIECE, n)  # a[:lo] == b[:lo]; they differ before hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo if a[lo : lo + 1] != b[lo : lo + 1] else hi


def common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """How many trailing bytes ``a`` and ``b`` share, at most ``limit``."""
    n = min(len(a), len(b), limit)
    la, lb = len(a), len(b)
    at = 0
    while at < n:
        step = min(_PIECE, n - at)
        if a[la - at - step : la - at] != b[lb - at - step : lb - at]:
            break
        at += step
    else:
        return n
    lo, hi = at, min(at + _PIECE, n)  # the last lo bytes are equal; not the last hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[la - mid : la - lo] == b[lb - mid : lb - lo]:
            lo = mid
        else:
            hi = mid
    return lo


def _plain(r: Region) -> bool:
    """Anonymous memory with some access: no rule of classify links it to a neighbour."""
    return not r.inode and not r.path and r.perms[:3] != "---"


def _cut(regions: Sequence[Region], i: int) -> bool:
    """Is there a cut before ``regions[i]``? (The ends of the list are cuts.) Not
    across a small hole between two regions of one file: an object's RELRO may lie a
    hole below its data (lld), and classify links the two across it."""
    if i <= 0 or i >= len(regions):
        return True
    a, b = regions[i - 1], regions[i]
    if a.end < b.start:
        return not (
            a.inode and (a.dev, a.inode) == (b.dev, b.inode) and b.start - a.end <= RELRO_HOLE_MAX
        )
    return _plain(a) and _plain(b)


def _exec_objects(regions: Sequence[Region]) -> Counter:
    # As classify_objects finds them: the objects with a line of code.
    return Counter((r.dev, r.inode) for r in regions if r.kind == kinds.TEXT and r.inode)


def _sysv(regions: Sequence[Region]) -> int:
    return sum(1 for r in regions if r.path.startswith(SYSV_PREFIX))


def _uvm(regions: Sequence[Region]) -> int:
    return sum(1 for r in regions if r.path == cuda.UVM)


_RANGE = re.compile(rb"^([0-9a-f]+)-([0-9a-f]+) ", re.M)


def _one_per_line(text: bytes, regions: list[Region]) -> bool:
    """Is ``regions`` one region per line of ``text``, in the same order? Not when the
    parse left a line out or de-duplicated a torn read (which keeps the order but can
    trim or split a region, so the count alone does not say)."""
    if text and not text.endswith(b"\n") or len(regions) != text.count(b"\n"):
        return False
    ranges = _RANGE.findall(text)
    if len(ranges) != len(regions):
        return False
    starts, ends = zip(*ranges, strict=True) if ranges else ((), ())
    return list(map(int, starts, repeat(16))) == list(map(_START, regions)) and list(
        map(int, ends, repeat(16))
    ) == list(map(_END, regions))


def read_whole(text: bytes, read_facts: ReadFacts) -> tuple[MapsRead | None, list[Region]]:
    """Parse and classify all of ``text``. The MapsRead is None when the text is not
    one region per line in order (a torn read, a line that is no maps line): the next
    read is then parsed whole as well."""
    regions = parse_maps(text)
    facts = read_facts(regions)
    classified = classify_regions(regions, facts)
    if not _one_per_line(text, regions):
        return None, classified
    return MapsRead(
        text,
        regions,
        classified,
        dict(facts.stack_pointers),
        dict(facts.thread_names),
        _exec_objects(regions),
        _sysv(regions),
        _uvm(regions),
        facts.java is not None or facts.v8,
        facts.python,
    ), classified


def _whole(text: bytes, read_facts: ReadFacts) -> tuple[MapsRead | None, list[Region], Change]:
    state, classified = read_whole(text, read_facts)
    return state, classified, Change(0, 0, len(classified), whole=True)


def _classify_again(
    text: bytes, regions: list[Region], read_facts: ReadFacts
) -> tuple[MapsRead, list[Region], Change]:
    """Classify all of ``regions`` (the parse of ``text``, spliced: not parsed again)."""
    facts = read_facts(regions)
    classified = classify_regions(regions, facts)
    state = MapsRead(
        text,
        regions,
        classified,
        dict(facts.stack_pointers),
        dict(facts.thread_names),
        _exec_objects(regions),
        _sysv(regions),
        _uvm(regions),
        facts.java is not None or facts.v8,
        facts.python,
    )
    return state, classified, Change(0, 0, len(classified), whole=True)


def _place(regions: Sequence[Region], sp: int | None) -> int:
    """Index of the region holding ``sp``, -1 if none."""
    if sp is None:
        return -1
    i = bisect_right(regions, sp, key=_START) - 1
    return i if i >= 0 and regions[i].start <= sp < regions[i].end else -1


def _stack_shapes(regions: Sequence[Region]) -> bool:
    """Is there an rw-p anonymous region right above a no-access anonymous one (where
    classify looks for the stacks of threads whose stack pointer is unknown)?"""
    return any(
        a.end == b.start
        and a.perms[:3] == "---"
        and not a.inode
        and not a.path
        and b.perms == "rw-p"
        and not b.inode
        and not b.path
        for a, b in pairwise(regions)
    )


def _stacks_stay(
    old: MapsRead, new_regions: list[Region], sps: dict, lo: int, old_hi: int, new_hi: int
) -> bool:
    """Does every thread's stack stay where the old classification put it? Each known
    stack pointer in the window, or in the same region outside it (or in none); the
    same threads with unknown ones, and then no region in either window of the shape
    classify picks their stacks from (it picks among all such regions of the map)."""
    old_sps = old.stack_pointers
    unknown = {tid for tid, sp in sps.items() if sp is None}
    if unknown != {tid for tid, sp in old_sps.items() if sp is None}:
        return False
    if unknown and (_stack_shapes(old.regions[lo:old_hi]) or _stack_shapes(new_regions[lo:new_hi])):
        return False
    if sps == old_sps:
        # The same pointers: outside the window they are in the same regions.
        return True
    shift = new_hi - old_hi
    for tid in (sps.keys() | old_sps.keys()) - unknown:
        before = _place(old.regions, old_sps.get(tid))
        after = _place(new_regions, sps.get(tid))
        # In the new list's terms; -2 for either side's window.
        if lo <= before < old_hi:
            before = -2
        elif before >= old_hi:
            before += shift
        if lo <= after < new_hi:
            after = -2
        if before != after and (before >= 0 or after >= 0):
            return False
    return True


def read_again(
    old: MapsRead | None, text: bytes, read_facts: ReadFacts
) -> tuple[MapsRead | None, list[Region], Change]:
    """The classified regions of ``text``, as ``classify_regions(parse_maps(text),
    read_facts(...))`` gives them, reusing what ``old`` (the last read) parsed and
    classified; the new state, the regions, and what changed."""
    if old is None or not text.endswith(b"\n"):
        return _whole(text, read_facts)
    if old.runtime:  # (a few thousand regions: the heap's span is the map's to say)
        return _whole(text, read_facts)
    a, b = old.text, text
    # Common prefix and suffix, cut back to whole lines.
    prefix = b.rfind(b"\n", 0, common_prefix(a, b)) + 1
    suffix_len = common_suffix(a, b, min(len(a), len(b)) - prefix)
    q = len(b) - suffix_len
    q_old = len(a) - suffix_len
    line_start = (q == 0 or b[q - 1] == 10) and (q_old == 0 or a[q_old - 1] == 10)
    if q < len(b) and not line_start:
        # The common suffix starts inside a changed line: from the next line on (inside
        # the suffix a line starts at the same place in both texts).
        q = b.find(b"\n", q) + 1
        q_old = len(a) - (len(b) - q)
    head = b.count(b"\n", 0, prefix)
    tail = b.count(b"\n", q)
    middle_text = b[prefix:q]
    middle = parse_maps(middle_text) if middle_text else []
    if not _one_per_line(middle_text, middle) or a.count(b"\n", prefix, q_old) != (
        len(old.regions) - head - tail
    ):
        return _whole(text, read_facts)
    old_regions = old.regions
    regions = old_regions[:head]
    regions.extend(middle)
    regions.extend(old_regions[len(old_regions) - tail :])
    new_hi = head + len(middle)
    old_hi = len(old_regions) - tail
    # In order where the pieces meet (a torn read needs parse_maps's de-duplication).
    for i in (head, new_hi):
        if 0 < i < len(regions) and regions[i - 1].end > regions[i].start:
            return _whole(text, read_facts)
    # The window: from a cut below the change to a cut above it, in both lists.
    lo = head
    while not (_cut(regions, lo) and _cut(old_regions, lo)):
        lo -= 1
    while not (_cut(regions, new_hi) and _cut(old_regions, old_hi)):
        new_hi += 1
        old_hi += 1
    window = regions[lo:new_hi]
    if len(window) > len(regions) // 4 + 64:
        return _classify_again(text, regions, read_facts)
    # Global facts: the ELF objects with code, arenas, SysV segments.
    gone = _exec_objects(old_regions[lo:old_hi])
    came = _exec_objects(window)
    exec_objects = old.exec_objects
    if gone != came:
        exec_objects = exec_objects - gone + came
        if exec_objects.keys() != old.exec_objects.keys():
            return _classify_again(text, regions, read_facts)
    for r in window:
        if r.inode and (r.dev, r.inode) in exec_objects and (r.dev, r.inode) not in came:
            return _classify_again(text, regions, read_facts)  # its code is outside the window
    sysv = old.sysv - _sysv(old_regions[lo:old_hi]) + _sysv(window)
    if sysv:  # their objects say how many attach them: read anew each time
        return _classify_again(text, regions, read_facts)
    uvm = old.uvm - _uvm(old_regions[lo:old_hi]) + _uvm(window)
    if uvm or old.uvm:  # in a CUDA process, what shared memory is depends on the map
        return _classify_again(text, regions, read_facts)
    facts = read_facts(window)
    if facts.python is None and old.python is not None:
        facts = facts._replace(python=old.python)
    sps = dict(facts.stack_pointers)
    names = dict(facts.thread_names)
    renamed = any(old.thread_names.get(tid, name) != name for tid, name in names.items())
    if renamed or not _stacks_stay(old, regions, sps, lo, old_hi, new_hi):
        # (A thread that named itself anew: its stack's object is its name, and the
        # stack may be outside the window.)
        return _classify_again(text, regions, read_facts)
    classified_window = classify_regions(window, facts)
    for r in (*old.classified[lo:old_hi], *classified_window):
        if r.kind == kinds.ARENA or (r.object and r.object.startswith(_ARENA_OBJECT)):
            return _classify_again(text, regions, read_facts)  # arenas are numbered across the map
    classified = old.classified[:lo]
    classified.extend(classified_window)
    classified.extend(old.classified[old_hi:])
    state = MapsRead(
        text, regions, classified, sps, names, exec_objects, sysv, uvm, False, facts.python
    )
    return state, classified, Change(lo, old_hi, new_hi)
