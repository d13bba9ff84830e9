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
SPLIT = "split"
MERGED = "merged"
RSS_CHANGED = "rss_changed"
EXEC = "exec"
EXITED = "exited"
PID_REUSED = "pid_reused"
NOTE = "note"  # narration from a demo workload, interleaved in the event log

EVENT_DESCRIPTIONS = {
    MAPPED: "a range became mapped: a new region, or one merged into a neighbour",
    UNMAPPED: "a range is no longer mapped: munmap, or cut from a neighbour",
    HEAP_GREW: "the [heap] end moved up: the program called brk (small mallocs)",
    HEAP_SHRANK: "the [heap] end moved down: brk gave memory back (malloc_trim, free)",
    STACK_GREW: "the [stack] start moved down: deeper calls or large locals",
    STACK_SHRANK: "the [stack] region got smaller",
    PROTECTION_CHANGED: "the same range now has other permissions (mprotect)",
    SPLIT: "one region became several with the same range (mprotect, madvise)",
    MERGED: "several regions became one with the same range",
    RSS_CHANGED: "resident memory of a region rose or fell (pages faulted in, freed, swapped)",
    EXEC: "the process ran a new program (same PID, new image)",
    EXITED: "the process exited",
    PID_REUSED: "the PID now belongs to another process (different start time)",
    NOTE: "what the demo workload says it is doing",
}


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
