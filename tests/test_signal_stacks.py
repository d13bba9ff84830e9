"""A Rust program's threads each map a signal stack (std's stack-overflow handler:
mmap of 16 048 bytes, its first page made no-access): 12 KiB of rw- above a guard page,
glibc's thread-stack shape in small. With threads running (no stack pointer to read),
vmtop took the lowest of those shapes for thread stacks: a 12 KiB signal stack became a
thread_stack and a real 4 MiB stack plain anon. A pthread stack's rw part is at least
PTHREAD_STACK_MIN (16 KiB on x86-64): anything smaller is no thread's stack.

The layout is the one strace showed for a Rust program with two busy named threads."""

from __future__ import annotations

from helpers_diff import MiB, region

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts

KiB = 1024
PAGE = 4 * KiB
BASE = 0x7F50_4E19_0000


def rust_threads() -> list:
    """Two sigaltstacks (guard + 12 KiB) below two 4 MiB thread stacks (guard + 4 MiB)."""
    out, at = [], BASE
    for rw in (12 * KiB, 12 * KiB, 4 * MiB, 4 * MiB):
        out.append(region(at, at + PAGE, "---p"))
        out.append(region(at + PAGE, at + PAGE + rw, "rw-p", rss=8 * KiB))
        at += PAGE + rw
    return out


def test_running_threads_get_their_real_stacks_not_signal_stacks():
    facts = ClassifyFacts(stack_pointers={101: None, 102: None})  # both running
    regions = classify_regions(rust_threads(), facts)
    stacks = [r.end - r.start for r in regions if r.kind == kinds.THREAD_STACK]
    assert stacks == [4 * MiB, 4 * MiB]
    small = [r for r in regions if r.end - r.start == 12 * KiB]
    assert [r.kind for r in small] == [kinds.ANON, kinds.ANON]


def test_a_signal_stack_is_no_stack_shape_either():
    facts = ClassifyFacts(stack_pointers={})
    regions = classify_regions(rust_threads(), facts)
    guards_of_small = [regions[i - 1] for i, r in enumerate(regions) if r.end - r.start == 12 * KiB]
    assert all(g.kind != kinds.GUARD for g in guards_of_small), guards_of_small
