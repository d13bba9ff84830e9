"""A mapped file deleted, renamed over (a package upgrade), renamed, or whose mount went
is the same mapping under another name: one file_renamed event, never the unmapped +
mapped pair of a MAP_FIXED that did not happen.

Unit tests on hand-made snapshots (tuples and columns, the diff of two samples and the
comparison of two moments), then live: a C program maps a library-like file and a data
file, and the test renames and replaces them on disk while `vmtop watch --json` runs;
ground truth is /proc/PID/maps (same range, device and inode, another name).
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from helpers_diff import PAGE, MiB, WatchProcess, base_regions, region, snapshot

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.model.moments import net_change

LIB = "/usr/lib/libupgraded.so.1"
BASE = 0x7F20_0000_0000


def lib_regions(name: str, *, inode: int = 777, rss: int = 8192) -> list:
    perms = ["r--p", "r-xp", "r--p", "rw-p"]
    return [
        region(
            BASE + k * PAGE * 4,
            BASE + (k + 1) * PAGE * 4,
            perm,
            name,
            inode=inode,
            dev="fe:00",
            offset=k * PAGE * 4,
            rss=rss,
        )
        for k, perm in enumerate(perms)
    ]


def pair(before: str, after: str, held_as, **after_kw):
    a = held_as(snapshot(base_regions() + lib_regions(before), taken_at=1.0))
    b = held_as(snapshot(base_regions() + lib_regions(after, **after_kw), taken_at=2.0))
    return a, b


def test_a_deleted_file_is_one_file_renamed_event_not_unmapped_and_mapped(held_as):
    a, b = pair(LIB, LIB + " (deleted)", held_as)
    events = diff_snapshots(a, b)
    assert [(e.event, e.start, e.end, e.path) for e in events] == [
        (ev.FILE_RENAMED, BASE, BASE + 16 * PAGE, LIB + " (deleted)")
    ]
    assert "deleted, or replaced on disk" in events[0].detail
    assert events[0].delta == 0


def test_a_renamed_file_says_its_old_name(held_as):
    a, b = pair(LIB, "/usr/lib/libupgraded.so.1.old", held_as)
    (event,) = diff_snapshots(a, b)
    assert event.event == ev.FILE_RENAMED and f"renamed from {LIB}" in event.detail


def test_another_file_at_the_same_range_is_still_a_replacement(held_as):
    # Another inode: the file was mapped again (dlclose + dlopen of the new one).
    a, b = pair(LIB, LIB, held_as, inode=778)
    names = {e.event for e in diff_snapshots(a, b)}
    assert names == {ev.UNMAPPED, ev.MAPPED}


def test_anonymous_memory_named_otherwise_is_still_another_mapping():
    a = snapshot([region(BASE, BASE + MiB, "rw-p", "[anon:one]")], taken_at=1.0)
    b = snapshot([region(BASE, BASE + MiB, "rw-p", "[anon:two]")], taken_at=2.0)
    assert ev.FILE_RENAMED not in {e.event for e in diff_snapshots(a, b)}


def test_comparing_two_moments_says_the_rename_too():
    a = snapshot(base_regions() + lib_regions(LIB), taken_at=1.0)
    b = snapshot(base_regions() + lib_regions(LIB + " (deleted)"), taken_at=2.0)
    events = net_change(a, b)
    # One for the library's four lines, as the events of a recording say it.
    assert [(e.event, e.start, e.end, e.size) for e in events] == [
        (ev.FILE_RENAMED, BASE, BASE + 16 * PAGE, 16 * PAGE)
    ]
    assert "deleted, or replaced on disk" in events[0].detail


def test_comparing_two_moments_keeps_apart_the_renames_that_differ():
    # Two files renamed, side by side: one event each.
    other = [r._replace(start=r.start + 16 * PAGE, end=r.end + 16 * PAGE, inode=778,
                        path="/usr/lib/libother.so") for r in lib_regions(LIB)]  # fmt: skip
    a = snapshot(base_regions() + lib_regions(LIB) + other, taken_at=1.0)
    renamed = [r._replace(path=r.path + " (deleted)") for r in other]
    b = snapshot(base_regions() + lib_regions(LIB + ".old") + renamed, taken_at=2.0)
    assert [(e.start, e.end, e.path) for e in net_change(a, b)] == [
        (BASE, BASE + 16 * PAGE, LIB + ".old"),
        (BASE + 16 * PAGE, BASE + 32 * PAGE, "/usr/lib/libother.so (deleted)"),
    ]


# -- live ----------------------------------------------------------------------------------

MAPPER = r"""
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) return 2;
    char *p = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return 3;
    volatile char c = p[0] + p[4096] + p[8192];
    (void)c;
    printf("MAPPED %lx\n", (unsigned long)p);
    fflush(stdout);
    for (;;) pause();
}
"""


def maps_line(pid: int, address: int) -> list[str]:
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            if int(line.split("-")[0], 16) == address:
                return line.split(maxsplit=5)
    raise AssertionError(f"{address:#x} not in the maps of {pid}")


@pytest.mark.live
def test_watch_says_a_file_renamed_then_deleted_and_nothing_unmapped(tmp_path, compile_c):
    source = tmp_path / "mapper.c"
    source.write_text(MAPPER)
    exe = compile_c(source)
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(4 * 4096))
    child = subprocess.Popen([str(exe), str(data)], stdout=subprocess.PIPE, text=True)
    watch = None
    try:
        address = int(child.stdout.readline().split()[1], 16)
        before = maps_line(child.pid, address)
        watch = WatchProcess(child.pid)
        watch.wait_ready()
        time.sleep(0.5)
        renamed = tmp_path / "renamed.bin"
        os.rename(data, renamed)
        time.sleep(0.5)
        # As an upgrade does: a new file renamed over the mapped one's (new) name.
        fresh = tmp_path / "fresh.bin"
        fresh.write_bytes(b"new")
        os.rename(fresh, renamed)
        deadline = time.monotonic() + 10
        while not maps_line(child.pid, address)[5].endswith("(deleted)\n"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.6)
        after = maps_line(child.pid, address)
        # Ground truth: the same range, offset, device and inode; only the name moved.
        assert after[:5] == before[:5]
        assert after[5].strip() == f"{renamed} (deleted)"
    finally:
        if watch is not None:
            watch.stop()
        child.kill()
        child.wait()
    events = watch.events
    mine = [e for e in events if e.get("start") == f"{address:#x}"]
    assert [e["event"] for e in mine] == [ev.FILE_RENAMED, ev.FILE_RENAMED]
    assert mine[0]["path"] == str(renamed) and f"renamed from {data}" in mine[0]["detail"]
    assert mine[1]["path"] == f"{renamed} (deleted)"
    assert "deleted, or replaced on disk" in mine[1]["detail"]


def test_a_deleted_file_whose_inode_a_new_file_got_is_a_new_mapping(held_as):
    # unlink, munmap, a new file at the same name and an mmap at the same address: ext4
    # gives the new file the freed inode number at once. A deleted file gets no name
    # back, so "(deleted)" gone again is the new file: unmapped and mapped, no rename.
    a, b = pair(LIB + " (deleted)", LIB, held_as)
    names = {e.event for e in diff_snapshots(a, b)}
    assert ev.FILE_RENAMED not in names and {ev.UNMAPPED, ev.MAPPED} <= names


def test_a_renamed_file_with_pages_on_swap_moved_none_to_swap():
    # The drift of swap the TUI and recordings keep: a rename is no new region.
    from vmtop.model.swap_events import SwapDrift

    swapped = [r._replace(swap=16 * PAGE) for r in lib_regions(LIB)]
    drift = SwapDrift(PAGE)
    drift.update(snapshot(base_regions() + swapped, taken_at=1.0))
    renamed = [r._replace(path=LIB + ".old") for r in swapped]
    assert drift.update(snapshot(base_regions() + renamed, taken_at=2.0)) == []
