"""A guard region's pages (MADV_GUARD_INSTALL, Linux 6.13+) are guard pages, not swap.

The kernel marks a guard page with a swap-type entry: pagemap sets bit 62 (swapped)
and, since 6.15, bit 58 for the guard. vmtop read bit 62 alone, so the region detail's
page strip showed guard pages as "swapped out" on a machine with no swap (and, with
glibc 2.42+, one such page on every thread stack), and `vmtop where` called an address
that faults ordinary rw- memory. Pure tests on pagemap entries, then live: a C program
makes two guard pages, and a child it forks touching one dies of SIGSEGV.
"""

from __future__ import annotations

import signal
import subprocess

import pytest

from vmtop.procfs import pagemap as pm
from vmtop.procfs.reader import ProcFS

GUARD_ENTRY = (1 << 62) | (1 << 58) | 0x9F  # as the kernel printed one (6.18)
SWAP_ENTRY = (1 << 62) | 0x1234


def test_a_guard_entry_is_a_guard_page_not_a_swapped_one():
    assert pm.page_state(GUARD_ENTRY) == pm.GUARD
    assert pm.page_state(SWAP_ENTRY) == pm.SWAP
    counts = pm.count_pages([GUARD_ENTRY, SWAP_ENTRY, 0, pm.PRESENT])
    assert (counts.present, counts.swapped, counts.guard, counts.not_present) == (1, 1, 1, 1)
    assert [cell.state for cell in pm.bucket([GUARD_ENTRY, GUARD_ENTRY, 0], 1)] == [pm.GUARD]


def test_the_strip_legend_says_guard_pages_only_where_there_are_some():
    from vmtop.tui.widgets.page_strip import strip_text

    def legend(entries):
        result = ("full", entries, pm.bucket(entries, len(entries)), len(entries))
        return strip_text(result, 60, 0.0).plain

    with_guard = legend([pm.PRESENT | pm.EXCLUSIVE, GUARD_ENTRY, GUARD_ENTRY])
    assert "        2  guard (MADV_GUARD_INSTALL): a fault on access" in with_guard
    assert "        0  swapped out" in with_guard and "guard 2" in with_guard
    assert "guard" not in legend([pm.PRESENT | pm.EXCLUSIVE, 0])


@pytest.fixture
def guarded(compile_c):
    from helpers_elf import C_DIR

    exe = compile_c(C_DIR / "guard_pages.c")
    child = subprocess.Popen(
        [str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    try:
        address = int(child.stdout.readline().split()[1], 16)
        word, value = child.stdout.readline().split()
        if word == "UNSUPPORTED":
            pytest.skip(f"MADV_GUARD_INSTALL refused here (errno {value}: Linux 6.13+)")
        # Ground truth: touching the third page killed a forked child with SIGSEGV.
        assert (word, int(value)) == ("FAULT", signal.SIGSEGV)
        yield child.pid, address
    finally:
        child.stdin.close()
        child.kill()
        child.wait()


def guard_entries(pid: int, address: int, pages: int) -> list[int]:
    """The region's first ``pages`` pagemap entries; skipped where the kernel does not
    mark its guard pages (the third page is one)."""
    entries = pm.read_pagemap(ProcFS(), pid, address, address + pages * pm.PAGE_SIZE)
    if not entries[2] & pm.GUARD_REGION:
        pytest.skip("this kernel's pagemap has no guard bit (58: Linux 6.15+)")
    return entries


@pytest.mark.live
def test_the_page_strip_counts_two_guard_pages_and_no_swap(guarded):
    pid, address = guarded
    entries = guard_entries(pid, address, 16)
    tally = pm.tally_states(entries)
    assert (tally[pm.GUARD], tally[pm.SWAP]) == (2, 0)
    assert [pm.page_state(e) for e in entries[1:5]] == [pm.EXCL, pm.GUARD, pm.GUARD, pm.EXCL]


@pytest.mark.live
def test_where_says_an_address_on_a_guard_page_faults(guarded):
    import sys

    pid, address = guarded
    guard_entries(pid, address, 3)
    guard, plain = address + 2 * pm.PAGE_SIZE + 16, address + pm.PAGE_SIZE
    out = subprocess.run(
        [sys.executable, "-m", "vmtop", "where", str(pid), hex(guard), hex(plain)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(out) == 2
    assert "a guard page (MADV_GUARD_INSTALL): touching it raises SIGSEGV" in out[0]
    assert "guard" not in out[1]


def test_a_pfn_map_says_pagemap_leaves_it_out():
    # A perf ring buffer (VmFlags pf io): pagemap reports its pages as nothing there.
    from vmtop.tui.widgets.page_strip import PFN_MAP_LABEL, strip_text

    entries = [0] * 9
    result = ("full", entries, pm.bucket(entries, 9), 9)
    assert PFN_MAP_LABEL in strip_text(result, 80, 0.0, pfn_map=True).plain
    assert PFN_MAP_LABEL not in strip_text(result, 80, 0.0).plain
