"""A library loaded (or unloaded) whole in one sample is one line (vmtop.model.object_loads
through vmtop.model.event_runs): its text, rodata, relro, data and .bss together, the
line's words each kind's share; a library whose regions did anything else in the sample
stays a line a region. Events as vmtop.model.diff gives them for a dlopen (measured:
tests/c/dlopen_dlclose.c, `vmtop watch --json`)."""

from __future__ import annotations

import sys

from vmtop.commands.watch import human_lines
from vmtop.model import event_runs, object_loads
from vmtop.model import events as ev
from vmtop.model.events import Event
from vmtop.tui.screens.event_detail import event_text

KiB, MiB = 1024, 1024 * 1024
LIB = "/usr/lib/x86_64-linux-gnu/libdemo.so.1"
BASE = 0x7F00_0000_0000
T = 1000.0


def region(event, kind, start, size, *, path=LIB, rss=0, detail="a file", time=T):
    delta = size if event == ev.MAPPED else -size
    obj = LIB if path == LIB or kind == "bss" else None
    return Event(time, event, start, start + size, kind, size, delta, path, None, detail,
                 rss, obj)  # fmt: skip


def library(event=ev.MAPPED, base=BASE, path=LIB, time=T) -> list[Event]:
    """A library's regions as the loader lays them: rodata, text, rodata, relro, data,
    and the .bss past the file's last page (anonymous, its object the library)."""
    parts = [("rodata", 4 * KiB, 4 * KiB), ("text", 4 * KiB, 4 * KiB),
             ("rodata", 260 * KiB, 0), ("relro", 4 * KiB, 4 * KiB),
             ("data", 260 * KiB, 120 * KiB)]  # fmt: skip
    out, at = [], base
    for kind, size, rss in parts:
        out.append(region(event, kind, at, size, path=path, rss=rss, time=time))
        at += size
    words = "mapped with its object (dlopen)" if event == ev.MAPPED else "unmapped ..."
    out.append(region(event, "bss", at, 4 * MiB, path="", detail=f"the .bss: {words}", time=time))
    if path != LIB:  # (the .bss names its own object)
        out[-1] = out[-1]._replace(object=path)
    return out


def test_a_library_loaded_in_a_sample_is_one_line_with_each_kinds_share():
    load = library()
    lines = event_runs.sample_lines(load)
    assert len(lines) == 1
    line = lines[0]
    e = line.event
    assert line.regions == line.count == 6 and line.object_load
    assert e.event == ev.MAPPED and e.path == LIB and e.kind == ""
    assert e.size == e.delta == sum(r.size for r in load) == 4 * MiB + 532 * KiB
    assert (e.start, e.end) == (BASE, load[-1].end)
    assert e.rss == 132 * KiB
    assert e.detail == (
        "dlopen: text 4.0 KiB, rodata 264.0 KiB, relro 4.0 KiB, data 260.0 KiB, "
        "bss 4.0 MiB; 132.0 KiB resident"
    )
    assert line.first == load[0]  # the lowest region


def test_a_library_unloaded_in_a_sample_is_one_line():
    (line,) = event_runs.sample_lines(library(ev.UNMAPPED))
    assert line.event.delta == -(4 * MiB + 532 * KiB) and line.regions == 6
    assert line.event.detail.startswith("dlclose: text 4.0 KiB, rodata 264.0 KiB")
    assert line.event.detail.endswith("; 132.0 KiB was resident")


def test_watch_text_says_the_load_in_one_line():
    (text,) = human_lines(library())
    assert "+4.5 MiB in 6 regions" in text and LIB in text
    assert "(dlopen: text 4.0 KiB, rodata 264.0 KiB" in text


def test_resident_bytes_unknown_for_one_region_are_not_said():
    load = library()
    load[2] = load[2]._replace(rss=None)
    (line,) = event_runs.sample_lines(load)
    assert line.event.rss is None and "resident" not in line.event.detail


def test_a_library_with_something_else_in_the_sample_stays_apart():
    """One of its regions' pages faulted in, in the same sample: not all new."""
    load = library()
    text = load[1]
    grew = Event(T, ev.RSS_CHANGED, text.start, text.end, "text", 4 * KiB, 4 * KiB, LIB,
                 None, "pages faulted in", None, LIB)  # fmt: skip
    lines = event_runs.sample_lines([*load, grew])
    assert len(lines) == 7 and not any(line.object_load for line in lines)


def test_regions_over_two_samples_are_no_load():
    load = library()
    first, second = load[:2], [e._replace(time=T + 1) for e in load[2:]]
    lines = event_runs.sample_lines(first + second)
    assert len(lines) == 6 and not any(line.object_load for line in lines)


def test_anonymous_memory_of_the_object_not_right_after_it_is_none_of_it():
    load = library()
    far = load[-1]._replace(start=load[-1].start + MiB, end=load[-1].end + MiB)
    lines = event_runs.sample_lines([*load[:-1], far])
    assert len(lines) == 6


def test_a_file_mapped_in_several_regions_is_no_load():
    """No text: a data file (kind ``file``) mapped three times folds as regions alike."""
    maps = [region(ev.MAPPED, "file", BASE + i * MiB, 64 * KiB, path="/data/db") for i in range(3)]
    (line,) = event_runs.sample_lines(maps)
    assert not line.object_load and line.regions == 3 and line.event.kind == "file"


def test_libraries_loaded_in_a_sample_are_one_line_naming_each():
    """A dlopen of a library that needs two others maps the three in one call (three
    lines in a sample before): one line, each file named with its bytes, the largest
    first; which one was opened the events do not say, so the line does not either."""
    other, third = "/usr/lib/libother.so", "/usr/lib/libthird.so"
    small = [e for e in library(base=BASE + 128 * MiB, path=third) if e.kind != "bss"]
    events = library() + library(base=BASE + 64 * MiB, path=other) + small
    lines = event_runs.sample_lines(events)
    assert len(lines) == 1
    (line,) = lines
    e = line.event
    assert line.object_load and line.objects == 3 and line.regions == line.count == 17
    assert e.event == ev.MAPPED and e.path == "" and e.object == "3 libraries"
    assert e.size == e.delta == sum(r.size for r in events)
    assert (e.start, e.end) == (BASE, small[-1].end) and line.first == events[0]
    assert e.rss == 3 * 132 * KiB
    assert e.detail == (
        "dlopen (a library and those it needs, or several): libdemo.so.1 4.5 MiB, "
        "libother.so 4.5 MiB, libthird.so 532.0 KiB; 396.0 KiB resident"
    )
    (text,) = human_lines(events)
    assert "+9.6 MiB in 17 regions" in text and "  3 libraries  (dlopen (a library" in text


def test_libraries_unloaded_in_a_sample_are_one_line_and_each_way_its_own():
    other = "/usr/lib/libother.so"
    closed = library(ev.UNMAPPED) + library(ev.UNMAPPED, base=BASE + 64 * MiB, path=other)
    opened = [e._replace(time=T + 1) for e in library(base=BASE + 256 * MiB, path="/l/a.so")]
    opened += [e._replace(time=T + 1) for e in library(base=BASE + 320 * MiB, path="/l/b.so")]
    lines = event_runs.sample_lines(closed + opened)
    assert [(line.event.event, line.objects, line.regions) for line in lines] == [
        (ev.UNMAPPED, 2, 12),
        (ev.MAPPED, 2, 12),
    ]
    assert lines[0].event.detail.startswith(
        "dlclose (a library and those it needed, or several): libdemo.so.1 4.5 MiB, "
        "libother.so 4.5 MiB;"
    )
    assert lines[0].event.detail.endswith("; 264.0 KiB was resident")


def test_libraries_of_one_name_are_named_by_their_paths():
    a, b = "/opt/one/libx.so", "/opt/two/libx.so"
    events = library(path=a) + library(base=BASE + 64 * MiB, path=b)
    (line,) = event_runs.sample_lines(events)
    assert f"): {a} 4.5 MiB, {b} 4.5 MiB;" in line.event.detail


def test_a_library_reloaded_in_one_sample_stays_apart():
    """Unmapped and mapped anew between two reads: not one load."""
    events = library(ev.UNMAPPED) + library(base=BASE + 64 * MiB)
    assert len(event_runs.sample_lines(events)) == 12
    assert object_loads.object_loads(events) == []


def test_the_log_keeps_a_load_as_one_line_and_its_detail_says_so():
    runs: list[event_runs.EventRun] = []
    event_runs.add_events(runs, library(), 100)
    event_runs.add_events(runs, library(ev.UNMAPPED, time=T + 1), 100)
    assert [(r.event.event, r.regions) for r in runs] == [(ev.MAPPED, 6), (ev.UNMAPPED, 6)]
    text = event_text(runs[0].event, runs[0]).plain
    assert "6 regions mapped together in this sample: one object's, of every kind" in text
    assert "dlopen: text 4.0 KiB" in text


def test_half_a_load_read_in_the_middle_of_a_dlopen_is_no_load():
    """Its text and rodata but none of its writable part yet: lines of their own."""
    lines = event_runs.sample_lines(library()[:3])
    assert len(lines) == 3 and not any(line.object_load for line in lines)


def gapped(*, anonymous: bool) -> list[Event]:
    """A library with a no-access hole after its text: glibc's mprotect of its own
    mapping of the file (file-backed), or a reservation of the span (anonymous, its
    object the library: vmtop.model.classify)."""
    load = library()
    hole = region(ev.MAPPED, "gap", load[1].end, 2 * MiB, path="" if anonymous else LIB)
    if anonymous:
        hole = hole._replace(object=LIB)
    rest = [e._replace(start=e.start + 2 * MiB, end=e.end + 2 * MiB) for e in load[2:]]
    return [*load[:2], hole, *rest]


def test_a_library_with_an_alignment_gap_is_one_line_either_way():
    for anonymous in (False, True):
        (line,) = event_runs.sample_lines(gapped(anonymous=anonymous))
        assert line.regions == 7
        assert line.event.detail.startswith("dlopen: text 4.0 KiB, rodata 264.0 KiB")
        assert ", bss 4.0 MiB, gap 2.0 MiB;" in line.event.detail


# -- which of them needs which: their files' DT_NEEDED, where handed in -----------------

TOP, A, B = "/opt/x/libtop.so", "/opt/x/liba.so.1.2", "/opt/x/libb.so"


def three(event=ev.MAPPED) -> list[Event]:
    """libtop.so (4.5 MiB) and the two it needs (liba.so.1.2, without its .bss: 532
    KiB; libb.so 4.5 MiB), mapped by one dlopen: the two first, libtop.so last."""
    small = [e for e in library(event, base=BASE + 64 * MiB, path=A) if e.kind != "bss"]
    return small + library(event, base=BASE + 128 * MiB, path=B) + library(event, path=TOP)


# As `readelf -d` shows them: libtop.so's DT_NEEDED names liba by its soname (liba.so.1,
# not its file's name) and libb.so by its file's name (it has no soname).
NEEDS = {
    TOP: object_loads.Needs("libtop.so", ("liba.so.1", "libb.so", "libc.so.6")),
    A: object_loads.Needs("liba.so.1", ("libc.so.6",)),
    B: object_loads.Needs("", ("libc.so.6",)),
}


def test_the_library_the_others_came_with_is_named_where_their_needs_are_known():
    events = three()
    (line,) = event_runs.sample_lines(events, NEEDS)
    e = line.event
    assert line.objects == 3 and line.regions == 17
    assert e.path == e.object == TOP and e.size == sum(r.size for r in events)
    assert e.detail == (
        "dlopen of libtop.so 4.5 MiB with the 2 libraries it needs: libb.so 4.5 MiB, "
        "liba.so.1.2 532.0 KiB; 396.0 KiB resident"
    )
    (text,) = human_lines(events, NEEDS)
    assert f"  {TOP}  (dlopen of libtop.so 4.5 MiB with the 2" in text
    gone = [e._replace(time=T + 1) for e in three(ev.UNMAPPED)]
    (line,) = event_runs.sample_lines(gone, NEEDS)
    assert line.event.detail.startswith(
        "dlclose of libtop.so 4.5 MiB with the 2 libraries it needed"
    )
    # The log, handed them too.
    runs: list[event_runs.EventRun] = []
    event_runs.add_events(runs, events, 100, NEEDS)
    assert [r.event.path for r in runs] == [TOP]


def test_several_opened_are_each_said_with_those_they_need():
    """Python importing ssl: _ssl with libssl and libcrypto, _socket and select alone."""
    ssl, crypto = "/usr/lib/libssl.so.3", "/usr/lib/libcrypto.so.3"
    mod, sock = "/py/_ssl.so", "/py/_socket.so"
    events = (library(path=mod) + library(base=BASE + 64 * MiB, path=sock)
              + library(base=BASE + 128 * MiB, path=ssl)
              + library(base=BASE + 192 * MiB, path=crypto))  # fmt: skip
    needs = {
        mod: object_loads.Needs("", ("libssl.so.3", "libcrypto.so.3")),
        sock: object_loads.Needs("", ("libc.so.6",)),
        ssl: object_loads.Needs("libssl.so.3", ("libcrypto.so.3",)),
        crypto: object_loads.Needs("libcrypto.so.3", ()),
    }
    (line,) = event_runs.sample_lines(events, needs)
    assert line.event.path == "" and line.event.object == "4 libraries"
    assert line.event.detail.startswith(
        "dlopen of 2 libraries and 2 they need: _ssl.so 4.5 MiB (with libssl.so.3 4.5 MiB, "
        "libcrypto.so.3 4.5 MiB it needs), _socket.so 4.5 MiB;"
    )


def test_without_every_ones_needs_or_with_none_needing_another_they_are_listed():
    events = three()
    generic = "dlopen (a library and those it needs, or several): "
    partial = {path: needs for path, needs in NEEDS.items() if path != B}
    unrelated = {path: object_loads.Needs("", ()) for path in NEEDS}
    for needs in (None, partial, unrelated):
        (line,) = event_runs.sample_lines(events, needs)
        assert line.event.object == "3 libraries" and line.event.detail.startswith(generic)
    # Needing each other round, none of them opened alone: no one named either.
    cycle = {
        TOP: object_loads.Needs("libtop.so", ("liba.so.1",)),
        A: object_loads.Needs("liba.so.1", ("libb.so",)),
        B: object_loads.Needs("", ("libtop.so",)),
    }
    (line,) = event_runs.sample_lines(events, cycle)
    assert line.event.detail.startswith(generic)


def test_only_the_files_of_objects_loaded_with_others_are_asked():
    alone = library(time=T + 5)
    asked = object_loads.files_to_ask([*three(), *alone])
    assert sorted(e.path for e in asked) == sorted([TOP, A, B])
    assert all(e.kind == "text" for e in asked)


def test_a_file_that_is_no_elf_object_or_is_cut_short_has_no_needs():
    """(vmtop.procfs.needed_libraries: what cannot be read says nothing, raises nothing.)"""
    import io

    from vmtop.procfs.needed_libraries import dynamic_needs

    with open(sys.executable, "rb") as f:
        head = f.read(4096)  # an ELF header whose sections lie past the end
    for data in (b"", b"#!/bin/sh\n", b"\x7fELF" + bytes(60), head):
        assert dynamic_needs(io.BytesIO(data)) is None
