"""pagemap: the parser on hand-made entries, and the reader on a live child whose
resident pages the test controls (it maps N pages, touches some, prints addresses)."""

from __future__ import annotations

import struct

import pytest

from vmtop.procfs import pagemap as pm
from vmtop.procfs.reader import ProcFS

PRESENT, SWAPPED, FILE, EXCL = 1 << 63, 1 << 62, 1 << 61, 1 << 56


def test_parse_entries_little_endian_and_drops_partial_entry():
    data = struct.pack("<3Q", PRESENT | 5, SWAPPED, 0) + b"\x01\x02"
    assert pm.parse_entries(data) == [PRESENT | 5, SWAPPED, 0]
    assert pm.parse_entries(b"") == []


def test_page_state_and_counts():
    entries = [
        PRESENT | EXCL,
        PRESENT | EXCL,
        PRESENT,
        PRESENT | FILE,
        PRESENT | FILE | EXCL,
        SWAPPED,
        SWAPPED | FILE,
        0,
        0,
        0,
    ]
    states = [pm.page_state(e) for e in entries]
    assert states == [
        pm.EXCL,
        pm.EXCL,
        pm.RESIDENT,
        pm.FILE,
        pm.FILE,
        pm.SWAP,
        pm.SWAP,
        pm.NOT_PRESENT,
        pm.NOT_PRESENT,
        pm.NOT_PRESENT,
    ]
    counts = pm.count_pages(entries)
    assert counts == pm.PageCounts(pages=10, present=5, swapped=2, file_shared=3, exclusive=3)
    assert counts.not_present == 3
    tally = pm.tally_states(entries)
    assert tally == {
        pm.EXCL: 2, pm.RESIDENT: 1, pm.FILE: 2, pm.SWAP: 2, pm.GUARD: 0, pm.NOT_PRESENT: 3
    }  # fmt: skip


def test_bucket_one_cell_per_page_when_it_fits():
    entries = [PRESENT | EXCL, 0, SWAPPED]
    strip = pm.bucket(entries, 10)
    assert [c.state for c in strip] == [pm.EXCL, pm.NOT_PRESENT, pm.SWAP]
    assert [c.pages for c in strip] == [1, 1, 1]


def test_bucket_big_region_keeps_sparse_resident_pages_visible():
    entries = [0] * 1000
    entries[10] = PRESENT | EXCL  # one resident page in the first tenth
    strip = pm.bucket(entries, 10)
    assert len(strip) == 10
    assert sum(c.pages for c in strip) == 1000
    assert strip[0].state == pm.EXCL and strip[0].present == 1
    assert all(c.state == pm.NOT_PRESENT for c in strip[1:])


def test_missing_pagemap_in_a_copied_tree(tmp_path):
    (tmp_path / "77").mkdir()
    with pytest.raises(pm.PagemapUnavailable):
        pm.read_pagemap(ProcFS(str(tmp_path)), 77, 0x1000, 0x3000)


CHILD = r"""
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    /* 64 private anonymous pages; touch 0, 3, 10..19 and 63: 13 resident. */
    char *anon = mmap(NULL, 64 * page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    anon[0] = 1;
    anon[3 * page] = 1;
    for (int i = 10; i < 20; i++) anon[i * page] = 1;
    anon[63 * page] = 1;
    /* 16 shared anonymous pages; touch 5 of them. */
    char *shared = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 5; i++) shared[i * page] = 1;
    printf("%lx %lx %ld\n", (unsigned long)anon, (unsigned long)shared, page);
    fflush(stdout);
    pause();
    return 0;
}
"""


@pytest.mark.live
def test_live_child_resident_pages_counted_exactly(compile_c, spawn):
    exe = compile_c(CHILD)
    child = spawn([exe])
    anon_hex, shared_hex, page_text = child.read_line().split()
    anon, shared, page = int(anon_hex, 16), int(shared_hex, 16), int(page_text)
    procfs = ProcFS()

    entries = pm.read_pagemap(procfs, child.pid, anon, anon + 64 * page, page_size=page)
    assert len(entries) == 64
    resident = [i for i, e in enumerate(entries) if e & PRESENT]
    assert resident == [0, 3, *range(10, 20), 63]
    counts = pm.count_pages(entries)
    assert counts.present == 13
    assert counts.exclusive == 13  # private pages this process alone maps
    assert counts.file_shared == 0
    assert counts.swapped == 0
    assert counts.not_present == 51

    shared_entries = pm.read_pagemap(procfs, child.pid, shared, shared + 16 * page, page_size=page)
    shared_counts = pm.count_pages(shared_entries)
    assert shared_counts.present == 5
    assert shared_counts.file_shared == 5  # bit 61: shared anonymous (shmem) pages
    assert [i for i, e in enumerate(shared_entries) if e & PRESENT] == [0, 1, 2, 3, 4]


@pytest.mark.live
def test_reading_a_range_in_the_middle_uses_the_right_offset(compile_c, spawn):
    exe = compile_c(CHILD)
    child = spawn([exe])
    anon = int(child.read_line().split()[0], 16)
    page = pm.PAGE_SIZE
    # Pages 8..23 of the anonymous mapping: 10..19 are resident.
    entries = pm.read_pagemap(ProcFS(), child.pid, anon + 8 * page, anon + 24 * page)
    assert [i + 8 for i, e in enumerate(entries) if e & PRESENT] == list(range(10, 20))


HUGE_CHILD = r"""
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    long pages = 2L * 1024 * 1024;  /* 8 GiB of 4 KiB pages: past MAX_PAGES_READ */
    char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    long share = pages / 64;  /* the pages each of 64 cells stands for */
    p[0] = 1;                               /* cell 0, in its window */
    p[(48 * share + 5) * page] = 1;         /* cell 48, in its window */
    p[(40 * share + share - 1) * page] = 1; /* cell 40, past its window: not read */
    printf("%lx %ld\n", (unsigned long)p, pages);
    fflush(stdout);
    pause();
    return 0;
}
"""


@pytest.mark.live
def test_a_huge_region_is_sampled_a_window_per_cell(compile_c, spawn):
    if pm.PAGE_SIZE != 4096:
        pytest.skip("the child's arithmetic assumes 4 KiB pages")
    exe = compile_c(HUGE_CHILD)
    child = spawn([exe])
    start_hex, pages_text = child.read_line().split()
    start, pages = int(start_hex, 16), int(pages_text)
    strip = pm.read_page_strip(ProcFS(), child.pid, start, start + pages * 4096, 64)
    assert strip.how == "sampled" and strip.pages == pages
    # MAX_PAGES_READ entries in all, a window at the start of each cell's share...
    assert len(strip.entries) == pm.MAX_PAGES_READ
    # ...and the cells tile the region, each standing for all of its share.
    assert [c.first_page for c in strip.cells] == [i * pages // 64 for i in range(64)]
    assert sum(c.pages for c in strip.cells) == pages
    present = {i: c.state for i, c in enumerate(strip.cells) if c.present}
    assert present == {0: pm.EXCL, 48: pm.EXCL}  # cell 40's page lies past its window


@pytest.mark.live
def test_a_small_region_is_read_whole(compile_c, spawn):
    exe = compile_c(CHILD)
    child = spawn([exe])
    anon = int(child.read_line().split()[0], 16)
    strip = pm.read_page_strip(ProcFS(), child.pid, anon, anon + 64 * pm.PAGE_SIZE, 8)
    assert strip.how == "full" and strip.pages == 64 and len(strip.entries) == 64
    # 8 cells of 8 pages: 0 and 3 in the first, 10..15 in the second, ...
    assert [c.present for c in strip.cells] == [2, 6, 4, 0, 0, 0, 0, 1]
