"""A library loaded (or unloaded) whole in one sample, as one line of the event log.

The loader maps an ELF object in one go: its text, rodata, relro and data from the file,
and its .bss past the file's last page as anonymous memory whose object names the file.
They are ``mapped`` events of different kinds, so regions alike (``event_runs``) never
fold them: a library loaded at run time was five lines in one sample; Python importing
json, ssl, decimal, sqlite3, ctypes, hashlib, lzma and bz2 was 123 lines, and a
PostgreSQL backend's first JIT query (libLLVM and its dependencies) about 45. Here the
regions of one object mapped in one sample are one line, "dlopen: text 4.0 KiB, rodata
264.0 KiB, ..." (Python's imports: 30 lines, a library each), and so are those unmapped
in one (dlclose).

The object: a file, by its path (events carry no inode), with its text and its relro or
data among the regions, and each anonymous region (.bss, the loader's alignment gap)
whose object names the file and which starts where one of its regions ends. Only a whole
load: where anything else of that object happened in the sample (one of its regions
grew, its pages were faulted in, it was unmapped and mapped anew), or a read of /proc
saw half of it (a dlclose between reading its text and its data), its lines stay apart.
Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.event_words import size_text
from vmtop.model.events import Event

# What the loader maps of an object from its file (an alignment gap too, where glibc
# made that part of the file's mapping no-access), and what past it (anonymous, named by
# the object: its .bss, a gap it reserved). A data file mapped in several regions is
# kind ``file``: none of this.
FROM_FILE = (kinds.TEXT, kinds.RODATA, kinds.RELRO, kinds.DATA, kinds.GAP)
PAST_FILE = (kinds.BSS, kinds.GAP)
# The kinds in the order the words say them: an object's image, then its hole.
ORDER = (kinds.TEXT, kinds.RODATA, kinds.RELRO, kinds.DATA, kinds.BSS, kinds.GAP)
# What a whole object has of its file besides its text: relro or data, or both.
WRITTEN = frozenset((kinds.RELRO, kinds.DATA))
LOADS = {ev.MAPPED: "dlopen", ev.UNMAPPED: "dlclose"}


def object_loads(events: Sequence[Event]) -> list[list[Event]]:
    """The events of each object loaded or unloaded whole in one sample (of
    ``events``, any samples), each group in the events' order."""
    about: dict[tuple[float, str], list[Event]] = {}
    for e in events:
        if e.event in ev.WHOLE_PROCESS:
            continue
        for name in {e.path, e.object} - {"", None}:
            about.setdefault((e.time, name), []).append(e)
    loads = []
    for (_, name), theirs in about.items():
        group = _whole_load(name, theirs)
        if group is not None:
            loads.append(group)
    return loads


def _whole_load(name: str, theirs: list[Event]) -> list[Event] | None:
    """``theirs`` (every event of a sample about ``name``) where they are the whole load
    of an object of that file, or its whole unload; None otherwise."""
    if len({e.event for e in theirs}) != 1 or theirs[0].event not in LOADS:
        return None
    members = [e for e in theirs if e.path == name and e.kind in FROM_FILE]
    # Its code and its writable part (the loader's every object has one: .dynamic, its
    # GOT): not half a load, as a read in the middle of a dlopen sees.
    laid = {e.kind for e in members}
    if kinds.TEXT not in laid or not laid & WRITTEN:
        return None
    ends = {e.end for e in members}
    # Past the file in address order: a .bss after the data, a gap after the text.
    for e in sorted(theirs, key=lambda e: e.start):
        if not e.path and e.object == name and e.kind in PAST_FILE and e.start in ends:
            members.append(e)
            ends.add(e.end)
    if len(members) != len(theirs):
        return None  # something else of it in the sample: not all new (or all gone)
    order = {id(e): i for i, e in enumerate(theirs)}
    return sorted(members, key=lambda e: order[id(e)])


def load_event(group: Sequence[Event]) -> Event:
    """One event for an object's regions loaded (unloaded) together: their span, their
    bytes and resident bytes summed, the file's name, no one kind; its words each
    kind's share ("dlopen: text 28.0 MiB, rodata 9.1 MiB, relro 4.0 KiB, ...")."""
    lowest = min(group, key=lambda e: e.start)
    name = next(e.path for e in group if e.path)
    # The resident bytes where smaps gave every region's; else none said.
    rss = None if any(e.rss is None for e in group) else sum(e.rss or 0 for e in group)
    return lowest._replace(
        start=lowest.start,
        end=max(e.end for e in group),
        kind="",
        size=sum(e.size for e in group),
        delta=sum(e.delta for e in group),
        path=name,
        object=name,
        rss=rss,
        detail=load_words(group, rss),
    )


def load_words(group: Sequence[Event], rss: int | None) -> str:
    """ "dlopen: text 4.0 KiB, rodata 264.0 KiB, bss 4.0 MiB; 128.0 KiB resident"."""
    gone = group[0].event == ev.UNMAPPED
    share: dict[str, int] = {}
    for e in group:
        share[e.kind] = share.get(e.kind, 0) + e.size
    parts = ", ".join(f"{kind} {size_text(share[kind])}" for kind in ORDER if kind in share)
    words = f"{LOADS[group[0].event]}: {parts}"
    if rss:  # (as a region's own words say it: vmtop.model.diff)
        words += f"; {size_text(rss)} {'was resident' if gone else 'resident'}"
    return words
