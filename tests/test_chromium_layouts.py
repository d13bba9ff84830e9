"""Shapes of a Chromium renderer's map that vmtop took for glibc's.

- A running thread's stack pointer cannot be read, and its stack was guessed from the
  shape "rw-p above a small no-access region": the lowest such region won, a 2 MiB
  PartitionAlloc super page (its guard is 4 KiB, as glibc's), while the thread's real
  8 MiB stack was left anonymous; the row flapped between the two as the thread ran
  and slept.
- A 64 MiB WebAssembly.Memory at a 4 GiB boundary was "arena heap 1", and the 8 GiB of
  guard after it the arena's reserve.

Hand-made maps with the renderer's addresses (/tmp/rev_chrome's review), classified
with no facts of a process that runs V8: the generic rules. In a Chromium process's
map the super pages, the WebAssembly memory and the V8 cage are named by their layout
instead (vmtop.model.chromium_heaps, tests/test_chromium_heaps.py).
"""

from __future__ import annotations

from helpers_diff import MiB, region

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts

KiB = 1024
SUPER_PAGE = 0x103C_0000_0000  # PartitionAlloc: metadata, guard, slot spans
STACKS = 0x7FCD_8000_0000


def super_page(at: int) -> list:
    return [
        region(at + 0x2000, at + 0x3000, "rw-p"),  # metadata
        region(at + 0x3000, at + 0x4000, "---p"),  # guard partition page
        region(at + 0x4000, at + 0x1FC000, "rw-p"),  # slot spans (2016 KiB)
        region(at + 0x1FC000, at + 0x202000, "---p"),
    ]


def thread_stack(at: int) -> list:
    """glibc's layout: a 4 KiB guard, then 8 MiB of stack."""
    return [region(at, at + 4 * KiB, "---p"), region(at + 4 * KiB, at + 4 * KiB + 8 * MiB, "rw-p")]


def renderer() -> list:
    return [
        *super_page(SUPER_PAGE),
        *super_page(SUPER_PAGE + 2 * MiB),
        *thread_stack(STACKS),  # the running worker's: no stack pointer
        *thread_stack(STACKS + 16 * MiB),  # a sleeping thread's
    ]


SLEEPING_SP = STACKS + 16 * MiB + 4 * KiB + 8 * MiB - 0x400


def kinds_at(regions) -> dict[int, str]:
    return {r.start: r.kind for r in regions}


def test_a_running_thread_s_stack_is_the_one_of_its_siblings_size():
    facts = ClassifyFacts(stack_pointers={101: SLEEPING_SP, 102: None})
    got = kinds_at(classify_regions(renderer(), facts))
    assert got[STACKS + 16 * MiB + 4 * KiB] == kinds.THREAD_STACK  # by its stack pointer
    assert got[STACKS + 4 * KiB] == kinds.THREAD_STACK  # the running one's: its size
    for at in (SUPER_PAGE, SUPER_PAGE + 2 * MiB):
        assert got[at + 0x4000] == kinds.ANON  # malloc memory, not a stack


def test_with_no_region_of_a_sibling_s_size_none_is_guessed():
    # The running thread's stack is of a size of its own: the super pages are no
    # likelier, and none is called a stack.
    regions = [*super_page(SUPER_PAGE), *super_page(SUPER_PAGE + 2 * MiB),
               *thread_stack(STACKS + 16 * MiB)]  # fmt: skip
    facts = ClassifyFacts(stack_pointers={101: SLEEPING_SP, 102: None})
    got = kinds_at(classify_regions(regions, facts))
    assert [got[at + 0x4000] for at in (SUPER_PAGE, SUPER_PAGE + 2 * MiB)] == [kinds.ANON] * 2


def test_with_no_stack_known_the_highest_of_the_smallest_guards_is_taken():
    facts = ClassifyFacts(stack_pointers={102: None})
    got = kinds_at(classify_regions(renderer()[:-2], facts))
    assert got[STACKS + 4 * KiB] == kinds.THREAD_STACK
    assert got[SUPER_PAGE + 0x4000] == kinds.ANON


WASM = 0x2F5C_0000_0000  # 4 GiB aligned


def test_a_64_mib_webassembly_memory_with_its_guard_is_no_arena():
    regions = classify_regions([
        region(WASM, WASM + 64 * MiB, "rw-p"),
        region(WASM + 64 * MiB, WASM + 8 * 1024 * MiB, "---p"),
    ])  # fmt: skip
    assert [(r.kind, r.object) for r in regions] == [(kinds.ANON, None), (kinds.RESERVED, None)]


def test_glibc_arenas_are_still_arenas():
    whole = WASM + 64 * MiB
    regions = classify_regions([
        region(WASM, WASM + 132 * KiB, "rw-p"),  # a heap 132 KiB in
        region(WASM + 132 * KiB, WASM + 64 * MiB, "---p"),
        region(whole, whole + 64 * MiB, "rw-p"),  # a whole one, a thread stack's guard above
        region(whole + 64 * MiB, whole + 64 * MiB + 4 * KiB, "---p"),
    ])  # fmt: skip
    assert [r.kind for r in regions[:3]] == [kinds.ARENA, kinds.RESERVED, kinds.ARENA]
    assert regions[1].object == regions[0].object
    assert regions[3].object != regions[2].object  # (the guard is no part of the arena)


def test_a_commit_inside_a_huge_reservation_splits_a_reserved_range():
    """V8 committing a few MiB in its 1.3 TiB cage: watch said "split 1.3 TiB ... anon",
    as if 1.3 TiB of anonymous memory had split."""
    from helpers_diff import base_regions, snapshot

    from vmtop.model import events as ev
    from vmtop.model.diff import diff_snapshots

    cage, tera = 0x129E_0100_0000, 1 << 40
    before = [region(cage, cage + 4 * MiB, "rw-p"), region(cage + 4 * MiB, cage + tera, "---p")]
    after = [
        region(cage, cage + 6 * MiB, "rw-p"),  # (grew into the reserve, as the heap does)
        region(cage + 6 * MiB, cage + 8 * MiB, "---p"),
        region(cage + 8 * MiB, cage + 12 * MiB, "rw-p"),
        region(cage + 12 * MiB, cage + tera, "---p"),
    ]
    said = diff_snapshots(snapshot(base_regions() + before, taken_at=1.0),
                          snapshot(base_regions() + after, taken_at=2.0))  # fmt: skip
    (split,) = [e for e in said if e.event == ev.SPLIT]
    assert split.kind == kinds.RESERVED
    # (what was committed is said by its own event, as anonymous memory)
    committed = [(e.kind, e.size) for e in said if e.event == ev.RESERVE_COMMITTED]
    assert committed == [(kinds.ANON, 2 * MiB), (kinds.ANON, 4 * MiB)]
