"""What changed between two snapshots, as events. Produced by vmtop.model.diff."""

from __future__ import annotations

from typing import NamedTuple

MAPPED = "mapped"
UNMAPPED = "unmapped"
HEAP_GREW = "heap_grew"
HEAP_SHRANK = "heap_shrank"
STACK_GREW = "stack_grew"
STACK_SHRANK = "stack_shrank"
PROTECTION_CHANGED = "protection_changed"
FILE_RENAMED = "file_renamed"  # the same mapping, the file under another name now
THREAD_EXITED = "thread_exited"
RESERVE_COMMITTED = "reserve_committed"
RESERVE_RELEASED = "reserve_released"
SPLIT = "split"
MERGED = "merged"
# The VmFlags of a whole region changed, its maps line the same: mlock, munlock, mseal,
# madvise of all of it (of part of it, the line splits: a split says so).
FLAGS_CHANGED = "flags_changed"
RSS_CHANGED = "rss_changed"
SWAP_CHANGED = "swap_changed"  # memory of a region went to swap or came back
SHARED_CHANGED = "shared_changed"  # private pages shared after a fork, or copied on write
LAZYFREE_CHANGED = "lazyfree_changed"  # memory freed with MADV_FREE, or reused since
COPIED_ON_WRITE = "copied_on_write"  # a private file mapping's pages written: its own copies
EXEC = "exec"
EXITED = "exited"
PID_REUSED = "pid_reused"
STOPPED = "stopped"  # a signal stopped it (state T): its map cannot change until SIGCONT
CONTINUED = "continued"
NOTE = "note"  # narration from a demo workload, interleaved in the event log
# About the whole process (or the log), not one address range: no start, end or kind.
WHOLE_PROCESS = frozenset((EXEC, EXITED, PID_REUSED, STOPPED, CONTINUED, NOTE))

EVENT_DESCRIPTIONS = {
    # What every mapped event is; what this one is (a malloc, a reserve, a library...)
    # is in its own detail, so none is named here.
    MAPPED: "a range became mapped: a new region (mmap, a library, a thread's stack), or "
    "one merged into a neighbour",
    UNMAPPED: "a range is no longer mapped: munmap, or cut from a neighbour",
    THREAD_EXITED: "a thread exited: its stack stays mapped, cached by glibc for the next "
    "thread (most of its pages given back), or it and its guard were unmapped together "
    "(glibc unmaps the oldest cached stacks past 40 MiB)",
    RESERVE_COMMITTED: "part of a reserved (no-access) range became usable: an arena, "
    "a JIT code cache or a runtime heap grew into address space kept for it",
    RESERVE_RELEASED: "part of a usable range went back to no-access reserve: a runtime "
    "heap shrank (glibc's arenas only with vm.overcommit_memory=2; otherwise they give "
    "pages back in place, an rss_changed)",
    HEAP_GREW: "the [heap] end moved up: brk, for mallocs below the mmap threshold",
    HEAP_SHRANK: "the [heap] end moved down: brk gave memory back (malloc_trim, free)",
    STACK_GREW: "the [stack] start moved down: deeper calls or large locals",
    STACK_SHRANK: "the [stack] region got smaller",
    PROTECTION_CHANGED: "the same range now has other permissions (mprotect)",
    FILE_RENAMED: "a mapped file has another name now, nothing mapped or unmapped: "
    "deleted or replaced on disk (a package upgrade; the process keeps the old file), "
    "renamed, or its mount moved",
    SPLIT: "one region became several with the same range: mprotect, or with the same "
    "permissions mlock, mseal or madvise (the VmFlag and the call are named where smaps "
    "was read on both samples)",
    MERGED: "several regions became one with the same range (permissions or VmFlags "
    "match again: munlock, madvise)",
    FLAGS_CHANGED: "a whole region's VmFlags changed, its line the same: mlock (lo; its "
    "Locked moved), munlock, mseal (sl: it can no longer be unmapped or changed), "
    "madvise (MADV_DONTDUMP: dd, MADV_HUGEPAGE: hg...); said where smaps was read on "
    "both samples",
    RSS_CHANGED: "resident memory of a region rose or fell (pages faulted in, freed, swapped)",
    SWAP_CHANGED: "memory of a region went to swap or came back, where its resident size "
    "does not say it (memory pressure swaps old pages out as new ones come in)",
    SHARED_CHANGED: "private memory of a region became shared with another process "
    "(a fork) or merged by KSM, or this process's alone again (copy-on-write: a write by "
    "either copied the pages, or the other exited; or KSM unmerged them); the Rss does "
    "not move",
    LAZYFREE_CHANGED: "memory freed with MADV_FREE (jemalloc, mimalloc, Go before 1.16): "
    "resident and in the RSS until the kernel needs memory (an rss_changed says it "
    "reclaimed it) or the program writes it again (reused: it falls); the Rss does not "
    "move",
    COPIED_ON_WRITE: "pages of a file mapped MAP_PRIVATE written (a library's .data, a "
    "data file, code a JIT or debugger patched): the process's own copies now, no page "
    "cache; or copies dropped (MADV_DONTNEED). Writing a page resident as page cache "
    "leaves the Rss flat",
    EXEC: "the process ran a new program (same PID, new image)",
    EXITED: "the process exited",
    PID_REUSED: "the PID now belongs to another process (different start time)",
    STOPPED: "the process was stopped by a signal (SIGSTOP, Ctrl-Z): its own code cannot "
    "change its map until it is continued (its resident memory can still be reclaimed "
    "or swapped)",
    CONTINUED: "the stopped process was continued (SIGCONT, fg, bg)",
    NOTE: "what the demo workload says it is doing",
}

# What help says about the cause vmtop gives for anonymous mappings and heap growth.
MALLOC_THRESHOLD_NOTE = (
    "malloc and mmap: glibc's malloc serves a request of M_MMAP_THRESHOLD (128 KiB at "
    "start) or more with an mmap of its own, and free() unmaps it; smaller ones come from "
    "the heap (brk) or, in other threads, from their arena. The threshold is dynamic: "
    "when such an mmapped block is freed, glibc raises the threshold to its size (up to "
    "32 MiB), so the next blocks of that size come from the heap: a 256 KiB malloc after "
    "a 256 KiB free grows the heap instead of adding a mapping. Setting M_MMAP_THRESHOLD, "
    "M_TRIM_THRESHOLD, M_TOP_PAD or M_MMAP_MAX (mallopt, or the glibc.malloc.* tunables) "
    "turns this off. A big request is also served from the heap, with no new mapping, "
    "when a free block there is large enough: glibc compares it with the threshold only "
    "when the heap has no room. A new anonymous mapping of 128 KiB or more is therefore "
    "'malloc above its mmap threshold, or a direct mmap': the map cannot tell which. "
    "realloc of such a block is mremap: it grows or shrinks in place, or moves with its "
    "pages (a block going as one holding its pages appears: 'or realloc moving the "
    "block'). A "
    "finished thread's stack is cached for the next thread, most of its pages given "
    "back; glibc unmaps the oldest cached stacks, guard and all, once the cache is over "
    "40 MiB."
)


class Event(NamedTuple):
    time: float  # time.time() of the snapshot that showed the change
    event: str  # one of the names above
    start: int
    end: int
    kind: str  # kind of the region the range belongs to (vmtop.model.kinds)
    size: int  # bytes of the range that changed (>= 0)
    delta: int  # signed byte change (size grew/shrank, rss rose/fell)
    path: str = ""
    tid: int | None = None
    detail: str = ""  # one human line: "merged into the region below", "malloc > mmap threshold"
    # Resident bytes of a whole region that appeared (mapped, the heap's first brk) or
    # went (unmapped, a thread's exit), when smaps gave them: the memory that came or
    # left with it, which no rss_changed says. None when not known, or not such a region.
    rss: int | None = None
    # The region's object where it has one (an ELF file, "Java heap", "V8 heap page",
    # an arena, a thread's name): what scripts ask "what is it" of, beside ``kind``.
    object: str | None = None
