"""realloc of a block glibc had mmapped is mremap: grown or shrunk in place, or moved
with its pages. vmtop told a Rust Vec growing (8 MiB moved to a 64 MiB block) as a new
malloc and a "munmap; free()" that never happened (strace: mremap only).

Hand-made snapshots for the words, then live: a C program that reallocs a big block
and prints where it went, ground truth its own account (and, where present, strace)."""

from __future__ import annotations

import subprocess
import time

import pytest
from helpers_diff import MiB, WatchProcess, base_regions, region, snapshot

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots

OLD, NEW = 0x7F50_0080_0000, 0x7F50_1000_3000  # (NEW not 64 MiB-aligned: no arena)


def block(start: int, size: int, rss: int):
    return region(start, start + size, "rw-p", rss=rss)


def events_of(before, after):
    return diff_snapshots(
        snapshot(base_regions() + before, taken_at=1.0),
        snapshot(base_regions() + after, taken_at=2.0),
    )


def test_a_block_moved_with_its_pages_is_said_moved_as_well_as_freed_and_new():
    events = events_of([block(OLD, 8 * MiB, 8 * MiB)], [block(NEW, 64 * MiB, 8 * MiB)])
    (gone,) = [e for e in events if e.event == ev.UNMAPPED]
    (came,) = [e for e in events if e.event == ev.MAPPED]
    # The move and the other cause (a free and a bigger malloc filled at once look the
    # same), neither put first as the likely one.
    assert gone.detail.startswith(
        f"free() or munmap, or realloc moving the block (mremap) to {NEW:#x}"
    )
    assert gone.detail.endswith("; 8.0 MiB was resident")
    assert came.detail.startswith(
        f"malloc or mmap, or realloc moving a block (mremap) from {OLD:#x}"
    )


def test_a_new_block_holding_fewer_pages_than_went_is_no_move():
    events = events_of([block(OLD, 8 * MiB, 8 * MiB)], [block(NEW, 64 * MiB, 4 * MiB)])
    assert not [e for e in events if "realloc moving" in e.detail]
    (gone,) = [e for e in events if e.event == ev.UNMAPPED]
    assert "mremap shrank or moved away" in gone.detail  # (still one of its causes)


def test_a_block_grown_in_place_names_realloc_too():
    events = events_of([block(OLD, 8 * MiB, 8 * MiB)], [block(OLD, 40 * MiB, 8 * MiB)])
    (grew,) = [e for e in events if e.event == ev.MAPPED]
    assert "merged into the region below" in grew.detail
    assert "realloc of such a block, which mremap grew or moved" in grew.detail


REALLOC = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    size_t small = 8UL << 20, big = 64UL << 20;
    char *p = malloc(small);
    memset(p, 1, small);
    /* A read-only page mapped next (top-down: right below it), so that the kernel does
     * not merge the block with a neighbour; what was mapped before sits right above
     * it, so realloc cannot grow it in place and moves it. */
    if (mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) return 2;
    printf("BLOCK %lx\n", (unsigned long)p);
    fflush(stdout);
    sleep(1);
    char *q = realloc(p, big);
    printf("MOVED %lx %lx\n", (unsigned long)p, (unsigned long)q);
    fflush(stdout);
    pause();
    return q == NULL;
}
"""


@pytest.mark.live
def test_watch_says_a_realloc_that_moved_a_block(tmp_path, compile_c):
    source = tmp_path / "realloc.c"
    source.write_text(REALLOC)
    exe = compile_c(source)
    child = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True)
    watch = None
    try:
        before = int(child.stdout.readline().split()[1], 16)
        watch = WatchProcess(child.pid)
        watch.wait_ready()
        _, old, new = child.stdout.readline().split()
        old, new = int(old, 16), int(new, 16)
        assert old == before and new != old, "the block was not moved"  # (the premise)
        time.sleep(0.6)
    finally:
        if watch is not None:
            watch.stop()
        child.kill()
        child.wait()
    page = old & ~0xFFF
    (gone,) = [e for e in watch.of("unmapped") if int(e["start"], 16) <= page < int(e["end"], 16)]
    (came,) = [e for e in watch.of("mapped") if int(e["start"], 16) <= new < int(e["end"], 16)]
    # (cut from a region the kernel had merged it into, or a region of its own)
    assert f"realloc moving the block (mremap) to {came['start']}" in gone["detail"], gone
    assert came["detail"].startswith("malloc or mmap, or realloc moving a block"), came
