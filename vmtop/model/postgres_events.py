"""The events of a PostgreSQL process, said in PostgreSQL's words.

The diff says what the map shows in any process's terms. In a PostgreSQL server some of
those terms mislead the person watching it:

- A backend's resident memory of the main shared memory (``postgres_memory``) rises as
  it touches shared buffers, sample after sample (pgbench at 128 MB of shared buffers:
  +65 MiB in 30 s, measured). "Pages faulted in" reads as memory the backend took; the
  pages are PostgreSQL's shared memory, mostly touched by other processes first: the
  backend's page tables now map them, no memory is new, and every process's RSS counts
  them again (PSS shares them out). The words say so, and how much of what is resident
  other processes map too (smaps' Shared_Clean + Shared_Dirty of the region now). In
  hugetlb pages (huge_pages=on) the pool set the pages aside when the postmaster
  mapped them. The same of a dynamic shared memory segment (a parallel query's leader
  and workers share it).
- Anonymous memory of 128 KiB or more mapped in a backend is, as far as the map says,
  malloc's: PostgreSQL allocates its memory contexts' blocks with malloc (a context's
  blocks double up to 8 MiB; a bigger request, a sort's tuple array, gets one of its
  own), and a sort or hash of a query takes up to work_mem of them, given back when the
  query ends (a sort of 3 million rows at work_mem 256MB: 259 blocks, 337 MB, as
  pg_log_backend_memory_contexts logged them; 20 regions, 365 MiB, 307 MiB resident). The
  generic words name the JVM, CPython and Node instead: in a PostgreSQL process they
  name the memory contexts. glibc's threshold is dynamic (freed blocks raise it to their
  size, up to 32 MiB), so a second such query in the same backend grows the heap
  instead: its words say that too.
- JIT-compiled code (jit=on) is PostgreSQL's LLVM JIT's, freed at the query's end.

``said_in_postgres`` rewrites those events' words, in place of the generic ones; any
other event, and every event of a process that runs no PostgreSQL, as it was. Pure:
events and the snapshot they end at in, events out.
"""

from __future__ import annotations

from collections.abc import Iterable

from vmtop.model import events as ev
from vmtop.model.columns import RegionColumns
from vmtop.model.event_words import (
    BIG_ANON_FREED,
    BIG_ANON_MAPPED,
    FAULTED_IN,
    HEAP_GREW_BIG,
    JIT_FREED,
    JIT_MAPPED,
    size_text,
)
from vmtop.model.events import Event
from vmtop.model.hugetlb_events import HUGETLB_WORDS
from vmtop.model.postgres_memory import POSTGRES_DSM, POSTGRES_DSM_CONTROL, POSTGRES_SHARED
from vmtop.model.region import Region, Snapshot

# Each as (what, how): what follows the first ("since it was mapped") goes between.
SHARED_TOUCHED = (
    "pages of PostgreSQL's shared memory (shared buffers, WAL buffers, locks) touched by "
    "this process",
    ", now mapped in it, no new memory where another process touched them first (each "
    "process's RSS counts the pages it maps, PSS shares them out)",
)
SHARED_TOUCHED_HUGETLB = (
    "pages of PostgreSQL's shared memory (shared buffers, WAL buffers, locks) touched by "
    "this process",
    ", now mapped in it: hugetlb pages the pool set aside for it when the postmaster "
    "mapped it (HugePages_Rsvd), no new memory",
)
DSM_TOUCHED = (
    "pages of PostgreSQL's dynamic shared memory touched by this process",
    ", now mapped in it, no new memory where another process (a parallel query's leader "
    "or one of its workers) touched them first (each process's RSS counts them, PSS "
    "shares them out)",
)
CONTEXT_BLOCKS_MAPPED = (
    "anonymous memory of 128 KiB or more: in PostgreSQL, most likely blocks of its memory "
    "contexts, which it allocates with malloc (above glibc's mmap threshold malloc maps "
    "each on its own): a context's blocks double up to 8 MiB, a bigger request gets a "
    "block of its own (a sort's tuple array, a hash table's buckets), and each sort or "
    "hash of a query may take up to work_mem (hashes hash_mem_multiplier times it); or "
    "realloc (repalloc) of such a block, which mremap grew or moved"
)
CONTEXT_BLOCKS_FREED = (
    "anonymous memory of 128 KiB or more: in PostgreSQL, most likely blocks of its memory "
    "contexts given back with free(), as a context is reset or deleted (a query's "
    "executor state, with its sorts and hashes, when the query ends); or realloc "
    "(repalloc) of such a block, which mremap shrank or moved away"
)
CONTEXT_BLOCKS_ON_HEAP = (
    "; in PostgreSQL, most likely blocks of its memory contexts (palloc's, allocated with "
    "malloc): once a query has freed such blocks (up to 32 MiB), glibc serves later "
    "queries' blocks up to that size from the heap"
)
JIT_CODE_MAPPED = (
    "executable anonymous memory: code PostgreSQL's JIT (jit=on, LLVM) compiled for a "
    "query whose cost passed jit_above_cost; freed when the query ends"
)
JIT_CODE_FREED = (
    "executable anonymous memory: code PostgreSQL's JIT compiled, freed at the end of its query"
)

# How hugetlb_events says a rise of memory in hugetlb pages.
HUGETLB_FAULTED_IN = "hugetlb pages faulted in"
# The words the diff gives a rise (what follows them, "since it was mapped", is kept),
# and PostgreSQL's for its shared memory and for a dynamic shared memory segment.
_RISES = (
    (FAULTED_IN, SHARED_TOUCHED, DSM_TOUCHED),
    (HUGETLB_FAULTED_IN, SHARED_TOUCHED_HUGETLB, None),
)


def said_in_postgres(events: list[Event], snapshot: Snapshot) -> list[Event]:
    """``events`` (of a diff, or a drift, ending at ``snapshot``) with the words of
    PostgreSQL's shared memory touched, its memory contexts' blocks and its JIT's code
    (see the module's note); the same list where none is to be said otherwise."""
    if not events:
        return events
    out = None
    postgres = None
    for k, e in enumerate(events):
        told = _shared_touched(e, snapshot)
        if told is None and _generic_words(e):
            if postgres is None:
                postgres = runs_postgres_memory(snapshot.regions)
            told = _in_postgres(e) if postgres else None
        if told is not None:
            if out is None:
                out = list(events)
            out[k] = told
    return events if out is None else out


def runs_postgres_memory(regions) -> bool:
    """Whether these regions hold PostgreSQL's shared memory (as classification named
    it: the process runs PostgreSQL's server)."""
    if isinstance(regions, RegionColumns):
        objects: Iterable = regions.distinct("object")
    else:
        objects = {r.object for r in regions}
    return any(o and o.startswith(POSTGRES_SHARED) for o in objects)


def _shared_touched(e: Event, snapshot: Snapshot) -> Event | None:
    """A rise of the memory of PostgreSQL's shared memory (or of a dynamic shared
    memory segment) resident here, said as pages of it touched; None for any other."""
    if e.event != ev.RSS_CHANGED or e.delta <= 0 or not e.object:
        return None
    main = e.object.startswith(POSTGRES_SHARED)
    if not main and e.object not in (POSTGRES_DSM, POSTGRES_DSM_CONTROL):
        return None
    cause, colon, rest = e.detail.partition(":")
    for generic, shared, dsm in _RISES:
        words = shared if main else dsm
        if words is None or not cause.startswith(generic):
            continue
        since = cause[len(generic) :]
        what, how = words
        detail = f"{what}{since}{how}{colon}{rest}"
        if HUGETLB_WORDS not in rest:
            others = _mapped_elsewhere(snapshot, e.start, e.end)
            if others is not None:
                detail += f", {size_text(others)} of it mapped by other processes too"
        return e._replace(detail=detail)
    return None


def _mapped_elsewhere(snapshot: Snapshot, start: int, end: int) -> int | None:
    """smaps' Shared_Clean + Shared_Dirty of the regions in [start, end): the resident
    memory other processes map too; None where a figure is not known."""
    total = 0
    for r in _regions_in(snapshot, start, end):
        if r.shared_clean is None or r.shared_dirty is None:
            return None
        total += r.shared_clean + r.shared_dirty
    return total


def _regions_in(snapshot: Snapshot, start: int, end: int) -> Iterable[Region]:
    r = snapshot.region_at(start)
    while r is not None and r.start < end:
        yield r
        r = snapshot.region_at(r.end)


def _generic_words(e: Event) -> bool:
    """Whether the event's words are the generic ones of a block of memory or of JIT
    code, which PostgreSQL's words replace (the process itself then asked)."""
    if e.event == ev.HEAP_GREW:
        return e.detail.startswith(HEAP_GREW_BIG)
    if e.event not in (ev.MAPPED, ev.UNMAPPED):
        return False
    detail = e.detail
    return any(w in detail for w in (BIG_ANON_MAPPED, BIG_ANON_FREED, JIT_MAPPED, JIT_FREED))


def _in_postgres(e: Event) -> Event:
    detail = e.detail
    if e.event == ev.HEAP_GREW:
        head = HEAP_GREW_BIG
        return e._replace(detail=head + CONTEXT_BLOCKS_ON_HEAP + detail[len(head) :])
    for generic, words in (
        (BIG_ANON_MAPPED, CONTEXT_BLOCKS_MAPPED),
        (BIG_ANON_FREED, CONTEXT_BLOCKS_FREED),
        (JIT_MAPPED, JIT_CODE_MAPPED),
        (JIT_FREED, JIT_CODE_FREED),
    ):
        detail = detail.replace(generic, words)
    return e._replace(detail=detail)
