"""A library loaded (or unloaded) whole in one sample, as one line of the event log.

The loader maps an ELF object in one go: its text, rodata, relro and data from the file,
and its .bss past the file's last page as anonymous memory whose object names the file.
They are ``mapped`` events of different kinds, so regions alike (``event_runs``) never
fold them: a library loaded at run time was five lines in one sample; Python importing
json, ssl, decimal, sqlite3, ctypes, hashlib, lzma and bz2 was 123 lines, and a
PostgreSQL backend's first JIT query (libLLVM and its dependencies) about 45. Here the
regions of one object mapped in one sample are one line, "dlopen: text 4.0 KiB, rodata
264.0 KiB, ...", and so are those unmapped in one (dlclose).

Several objects loaded whole in one sample are one line too (``sample_loads``): a
dlopen maps the library and each library it needs that is not loaded yet (a library
built in the tests that needs two others: three lines in one sample; Python's imports
were 30), and dlclose unmaps them together. Which of them was dlopened, and which came
because it needs them, the events do not say: the line names them all, "dlopen (a
library and those it needs, or several): libfoo.so 28.0 KiB, libbar.so 20.0 KiB, ...",
the largest first. Their files do (DT_NEEDED, DT_SONAME), where they are handed in
(``Needs``, read by ``vmtop.procfs.needed_libraries`` while the process runs; a replay
has no files): the one no other of them needs, and which needs the others, is named,
"dlopen of libfoo.so 20.0 KiB with the 2 libraries it needs: libbar.so 28.0 KiB, ...".

The object: a file, by its path (events carry no inode), with its text and its relro or
data among the regions, and each anonymous region (.bss, the loader's alignment gap)
whose object names the file and which starts where one of its regions ends. Only a whole
load: where anything else of that object happened in the sample (one of its regions
grew, its pages were faulted in, it was unmapped and mapped anew), or a read of /proc
saw half of it (a dlclose between reading its text and its data), its lines stay apart.
Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

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


class Needs(NamedTuple):
    """What an ELF object's dynamic section says of its place among libraries: the name
    others need it by (DT_SONAME, "" where it has none: then its file's name, as the
    linker wrote it into theirs) and the names of those it needs (DT_NEEDED)."""

    soname: str
    needed: tuple[str, ...]


def files_to_ask(events: Sequence[Event]) -> list[Event]:
    """Of ``events``, one (its text's) for each object loaded (unloaded) whole in a
    sample with others: the files whose ``Needs`` say which of them needs which."""
    loads = object_loads(events)
    asked = []
    for together in sample_loads(loads):
        if len(together) > 1:
            asked += [next(e for e in load if e.kind == kinds.TEXT) for load in together]
    return asked


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


def sample_loads(loads: Sequence[list[Event]]) -> list[list[list[Event]]]:
    """``loads`` (of ``object_loads``) of one sample and one way together, each group in
    the order of the loads given: the objects one dlopen (dlclose), or several, mapped
    (unmapped) in that sample."""
    together: dict[tuple[float, str], list[list[Event]]] = {}
    for load in loads:
        together.setdefault((load[0].time, load[0].event), []).append(load)
    return list(together.values())


def loads_event(
    loads: Sequence[Sequence[Event]], needs: Mapping[str, Needs] | None = None
) -> Event:
    """One event for the objects loaded (unloaded) whole in one sample: one object's
    (``load_event``), or for several their span, bytes and resident bytes summed, no
    kind of their own; named by the one the others came with where ``needs`` (by
    file) says one needs them all (``needed_words``), else "3 libraries" with each
    one's file and bytes, the largest first (``libraries_words``)."""
    if len(loads) == 1:
        return load_event(loads[0])
    every = [e for load in loads for e in load]
    rss = _resident_bytes(every)
    paths = [next(e.path for e in load if e.path) for load in loads]
    known = _opened(paths, needs or {})
    name = known[0][0] if known is not None and len(known[0]) == 1 else ""
    if known is None:
        words = libraries_words(loads, rss)
    else:
        words = needed_words(loads, *known, rss)
    return _spanning(every, name, rss, words, object=name or f"{len(loads)} libraries", tid=None)


def _resident_bytes(events: Sequence[Event]) -> int | None:
    """The resident bytes summed where smaps gave every region's; else none said."""
    return None if any(e.rss is None for e in events) else sum(e.rss or 0 for e in events)


def _spanning(events: Sequence[Event], name: str, rss: int | None, words: str, **more) -> Event:
    """One event for ``events`` together: their span, bytes and change summed, no one
    kind, named ``name`` (``more``: other fields)."""
    lowest = min(events, key=lambda e: e.start)
    return lowest._replace(
        end=max(e.end for e in events),
        kind="",
        size=sum(e.size for e in events),
        delta=sum(e.delta for e in events),
        path=name,
        rss=rss,
        detail=words,
        **{"object": name, **more},
    )


def _opened(
    paths: list[str], needs: Mapping[str, Needs]
) -> tuple[list[str], dict[str, set[str]]] | None:
    """Of the files of objects loaded together, those none of the others needs, and
    which of the others each file needs; where every file's ``Needs`` is known and each
    of the others is needed by one of them, or by one they need (the libraries a dlopen
    brought); None otherwise."""
    if not all(path in needs for path in paths):
        return None
    by_name: dict[str, str] = {}
    for path in paths:
        by_name.setdefault(path.rsplit("/", 1)[-1], path)
    for path in paths:  # (the name it is needed by: its soname before its file's)
        if needs[path].soname:
            by_name[needs[path].soname] = path
    brings = {
        path: {by_name[n] for n in needs[path].needed if by_name.get(n, path) != path}
        for path in paths
    }
    needed = set().union(*brings.values())
    opened = [path for path in paths if path not in needed]
    reached, todo = set(opened), list(opened)
    while todo:
        for more in brings[todo.pop()] - reached:
            reached.add(more)
            todo.append(more)
    if len(opened) == len(paths) or len(reached) < len(paths):
        return None  # none of them needs another, or some in a cycle none of them needs
    return opened, brings


def _sizes(loads: Sequence[Sequence[Event]]) -> dict[str, int]:
    """Each object's bytes by its file."""
    sizes: dict[str, int] = {}
    for load in loads:
        name = next(e.path for e in load if e.path)
        sizes[name] = sizes.get(name, 0) + sum(e.size for e in load)
    return sizes


def _listed(sizes: Mapping[str, int], shown: Mapping[str, str], paths: Sequence[str]) -> str:
    """ "libz.so.1 108.0 KiB, libedit.so.2 216.0 KiB": the largest first."""
    biggest = sorted(paths, key=lambda path: -sizes[path])  # (stable: ties as loaded)
    return ", ".join(f"{shown[path]} {size_text(sizes[path])}" for path in biggest)


def _shown(paths: Sequence[str]) -> dict[str, str]:
    """A file by its name where no other of them has that name, else by its path."""
    names = [path.rsplit("/", 1)[-1] for path in paths]
    return {
        path: name if names.count(name) == 1 else path
        for path, name in zip(paths, names, strict=True)
    }


def _resident(words: str, rss: int | None, *, gone: bool) -> str:
    if not rss:  # (as a region's own words say it: vmtop.model.diff)
        return words
    return f"{words}; {size_text(rss)} {'was resident' if gone else 'resident'}"


def libraries_words(loads: Sequence[Sequence[Event]], rss: int | None) -> str:
    """ "dlopen (a library and those it needs, or several): libLLVM.so.15 118.6 MiB,
    libz.so.1 108.0 KiB; 41.2 MiB resident"."""
    gone = loads[0][0].event == ev.UNMAPPED
    sizes = _sizes(loads)
    listed = _listed(sizes, _shown(list(sizes)), list(sizes))
    why = "those it needed, or several" if gone else "those it needs, or several"
    return _resident(f"{LOADS[loads[0][0].event]} (a library and {why}): {listed}", rss, gone=gone)


def needed_words(
    loads: Sequence[Sequence[Event]],
    opened: list[str],
    brings: Mapping[str, set[str]],
    rss: int | None,
) -> str:
    """ "dlopen of libLLVM-15.so.1 118.6 MiB with the 8 libraries it needs: libz.so.1
    108.0 KiB, ...; 41.2 MiB resident". Of several none of the others needs, each with
    those it needs (``brings``: by file, those it needs of them; one two of them need
    is said with the first, the largest): "dlopen of 4 libraries and 2 they need:
    _ssl….so 220.0 KiB (with libcrypto.so.3 4.5 MiB, libssl.so.3 676.0 KiB it needs),
    _socket….so 104.0 KiB, ..."."""
    gone = loads[0][0].event == ev.UNMAPPED
    sizes = _sizes(loads)
    shown = _shown(list(sizes))
    need = "needed" if gone else "needs"
    how = LOADS[loads[0][0].event]
    if len(opened) == 1:
        brought = [path for path in sizes if path not in opened]
        libraries = "library" if len(brought) == 1 else f"{len(brought)} libraries"
        words = (
            f"{how} of {_listed(sizes, shown, opened)} with the {libraries} it {need}: "
            f"{_listed(sizes, shown, brought)}"
        )
        return _resident(words, rss, gone=gone)
    said = set(opened)
    parts = []
    for path in sorted(opened, key=lambda path: -sizes[path]):
        theirs = []
        todo = [path]
        while todo:
            wanted = brings[todo.pop()]
            for more in [other for other in sizes if other in wanted and other not in said]:
                said.add(more)
                theirs.append(more)
                todo.append(more)
        part = _listed(sizes, shown, [path])
        if theirs:
            part += f" (with {_listed(sizes, shown, theirs)} it {need})"
        parts.append(part)
    they = "they needed" if gone else "they need"
    words = f"{how} of {len(opened)} libraries and {len(sizes) - len(opened)} {they}: "
    return _resident(words + ", ".join(parts), rss, gone=gone)


def load_event(group: Sequence[Event]) -> Event:
    """One event for an object's regions loaded (unloaded) together: their span, their
    bytes and resident bytes summed, the file's name, no one kind; its words each
    kind's share ("dlopen: text 28.0 MiB, rodata 9.1 MiB, relro 4.0 KiB, ...")."""
    name = next(e.path for e in group if e.path)
    rss = _resident_bytes(group)
    return _spanning(group, name, rss, load_words(group, rss))


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
