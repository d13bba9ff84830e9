"""Following one region across snapshots (vmtop.tui.region_follow), on hand-made maps.

The scenario a reviewer ran on a live C program: region A (64 MiB anonymous, 32 MiB
touched) is opened; B (100 MiB) is mapped just below it and the kernel merges them;
mprotect of A's first 64 KiB splits the merged region into B | A[0:64K] | A[64K:]; then A
is unmapped, then B.
"""

from __future__ import annotations

from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
from vmtop.tui.region_follow import (
    CHANGED,
    CONTINUES,
    GONE,
    GREW,
    REPLACED,
    RESTARTS,
    SAME,
    find_again,
)

KiB = 1024
MiB = 1024 * KiB
A_START = 0x7F00_0640_0000
B_START = A_START - 100 * MiB
A_END = A_START + 64 * MiB


def anon(start: int, end: int, perms: str = "rw-p", rss: int = 0, kind: str = "anon") -> Region:
    return Region(start, end, perms, 0, "00:00", 0, "", rss=rss, kind=kind)


def snap(*regions: Region) -> Snapshot:
    info = ProcessInfo(4242, 1, "prog", "prog", "S", 1, 1000, 1, None)
    totals = Totals(sum(r.size for r in regions), None, None, None, None, None)
    return Snapshot(info, 0.0, tuple(regions), totals, True, {})


A = anon(A_START, A_END, rss=32 * MiB)
OPENED = (A.start, A.end)
MERGED = anon(B_START, A_END, rss=132 * MiB)
B = anon(B_START, A_START, rss=100 * MiB)
A_HEAD = anon(A_START, A_START + 64 * KiB, perms="r--p", rss=64 * KiB)
A_TAIL = anon(A_START + 64 * KiB, A_END, rss=32 * MiB - 64 * KiB)


def test_unchanged_region_is_the_same_and_its_history_continues():
    found = find_again(snap(B, A), A, OPENED)
    assert (found.status, found.region, found.history) == (SAME, A, CONTINUES)


def test_merge_follows_the_merged_region_and_says_its_history_grew():
    found = find_again(snap(MERGED), A, OPENED)
    assert (found.status, found.region) == (CHANGED, MERGED)
    # The history goes on, but from now on it is of the larger region: said so.
    assert found.history == GREW
    assert f"{A_START:#x}–{A_END:#x} → {B_START:#x}–{A_END:#x}" in found.note
    assert "grew" in found.note


def test_split_after_a_merge_follows_the_opened_memory_not_the_piece_keeping_the_start():
    found = find_again(snap(B, A_HEAD, A_TAIL), MERGED, OPENED)
    # B keeps the merged region's start, but holds none of the memory opened: the
    # piece with most of A is followed, and the history of the merged region restarts.
    assert (found.status, found.region) == (CHANGED, A_TAIL)
    assert found.history == RESTARTS
    assert "split" in found.note and f"{A_TAIL.start:#x}–{A_TAIL.end:#x}" in found.note


def test_split_of_the_opened_region_prefers_the_largest_overlap():
    found = find_again(snap(A_HEAD, A_TAIL), A, OPENED)
    assert found.region == A_TAIL and found.history == RESTARTS
    # With the larger piece first, it is still the larger piece.
    big_head = anon(A_START, A_END - 64 * KiB)
    small_tail = anon(A_END - 64 * KiB, A_END, perms="r--p")
    found = find_again(snap(big_head, small_tail), A, OPENED)
    assert found.region == big_head and found.history == RESTARTS


def test_unmapping_the_opened_memory_is_said_even_when_its_merged_neighbour_stays():
    found = find_again(snap(B), A_TAIL, OPENED)
    assert (found.status, found.region) == (GONE, None)
    assert "unmapped" in found.note and f"{A_START:#x}–{A_END:#x}" in found.note


def test_what_is_left_of_the_opened_memory_is_followed_when_the_followed_piece_goes():
    found = find_again(snap(B, A_HEAD), A_TAIL, OPENED)
    assert (found.status, found.region, found.history) == (CHANGED, A_HEAD, RESTARTS)


def test_another_mapping_in_its_place_is_a_replacement():
    file_map = Region(A_START, A_END, "r--p", 0, "fe:00", 1234, "/data/file", kind="file")
    found = find_again(snap(file_map), A, OPENED)
    assert (found.status, found.region) == (REPLACED, file_map)
    assert "/data/file" in found.note


def test_brk_and_stack_growth_keep_their_history():
    heap = anon(0x5555_0000_0000, 0x5555_0002_1000, kind="heap")._replace(path="[heap]")
    grown = heap._replace(end=0x5555_0004_2000)
    found = find_again(snap(grown), heap, (heap.start, heap.end))
    assert (found.status, found.region, found.history) == (CHANGED, grown, CONTINUES)
    shrunk = heap._replace(end=0x5555_0001_0000)
    found = find_again(snap(shrunk), grown, (heap.start, heap.end))
    assert (found.region, found.history) == (shrunk, CONTINUES)
    stack = anon(0x7FFF_0000_0000, 0x7FFF_0002_1000, kind="stack")._replace(path="[stack]")
    deeper = stack._replace(start=0x7FFE_FFFF_0000)
    found = find_again(snap(deeper), stack, (stack.start, stack.end))
    assert (found.region, found.history) == (deeper, CONTINUES)


def test_protection_change_of_the_whole_region_keeps_its_history():
    read_only = A._replace(perms="r--p")
    found = find_again(snap(read_only), A, OPENED)
    assert (found.status, found.history) == (CHANGED, CONTINUES)
    assert "perms rw-p → r--p" in found.note


def test_part_unmapped_restarts_the_history():
    tail_cut = anon(A_START, A_START + 16 * MiB)
    found = find_again(snap(tail_cut), A, OPENED)
    assert (found.status, found.region, found.history) == (CHANGED, tail_cut, RESTARTS)
