"""What the region detail says of PostgreSQL's shared memory (``model.postgres_memory``
names it), and what an event says of a segment of its dynamic shared memory mapped or
unmapped (``event_words.what_it_is`` asks).

Measured on PostgreSQL 15 (a backend of pgbench's, a parallel hash join with four
workers): every process maps the control segment (26,976 bytes, the postmaster's only
one); every backend and the launchers map the statistics' 1 MiB segment; a backend's
first parallel query leaves a 196 KiB segment mapped until it disconnects; a parallel
hash join mapped four more (352 KiB, 1, 2, 4 MiB) in its leader and each worker, all
unmapped when it ended."""

from __future__ import annotations

from vmtop.model.postgres_memory import (
    POSTGRES_DSM,
    POSTGRES_DSM_CONTROL,
    POSTGRES_INTERLOCK,
    POSTGRES_SHARED,
)
from vmtop.model.region import Region

_HUGETLB = "/anon_hugepage"


def why_postgres(r: Region, size: str) -> str | None:
    """The words for a region of PostgreSQL's shared memory (``size`` written out);
    None for any other region."""
    obj = r.object or ""
    if obj.startswith(POSTGRES_SHARED):
        how = (
            "in hugetlb pages (huge_pages=on), which no RSS or PSS counts: the header's "
            "hugetlb figure and the HugeTLB column do"
            if r.path.startswith(_HUGETLB)
            else "a SysV segment (shared_memory_type=sysv)"
            if obj != POSTGRES_SHARED
            else "shared anonymous memory (shared_memory_type=mmap)"
        )
        counted = (
            ""  # (in no RSS or PSS at all)
            if r.path.startswith(_HUGETLB)
            else " A process's resident figure counts the pages of it this process "
            "touched, so summed over backends it counts them many times: PSS shares "
            "them out. Those no other process maps now count as this process's "
            "Private_Dirty (and in its USS), though its exit frees none of them."
        )
        return (
            f"PostgreSQL's shared memory, {size}: shared buffers (shared_buffers), WAL "
            "buffers, the lock table and the rest every PostgreSQL process shares. The "
            "postmaster maps it once at start (SHOW shared_memory_size) and every backend "
            f"inherits it; {how}.{counted}"
        )
    if obj.startswith(POSTGRES_INTERLOCK):
        return (
            "PostgreSQL's interlock: a SysV segment of a few bytes the postmaster makes "
            "beside its shared memory (mapped elsewhere), so that a new postmaster on the "
            "same data directory can tell from its attach count whether old backends "
            "still run."
        )
    if obj == POSTGRES_DSM_CONTROL:
        return (
            f"PostgreSQL's DSM control segment, {size} (dynamic_shared_memory_type=posix: "
            "a file in /dev/shm): the table of every segment of dynamic shared memory "
            "there is, a slot for each there can be (64 + 5 per process max_connections "
            "and the workers allow: 26,976 bytes at the default max_connections). The "
            "postmaster makes it at start, the one such file it maps, and every process "
            "it forks inherits it; it lives as long as the server (a new one when the "
            "postmaster restarts its children after one crashed)."
        )
    if obj == POSTGRES_DSM:
        return (
            f"PostgreSQL's dynamic shared memory, {size} (dynamic_shared_memory_type="
            "posix: a file in /dev/shm, mapped by each process that attaches it). Some "
            "segments live as long as the server: the control segment the postmaster makes "
            "at start (a slot for each segment there can be: 26,976 bytes at the default "
            "max_connections; every PostgreSQL process maps it), and the cumulative "
            "statistics' segments once their 256 KiB in the main shared memory is full "
            "(1 MiB and more; every backend maps them). A session's own segment (about "
            "196 KiB) comes with its first parallel query and stays until it disconnects. "
            "The others serve one parallel query (its state, its tuple queues, a parallel "
            "hash join's table), its leader and workers mapping them, and go when it ends. "
            "The map alone cannot tell which this is (only the control segment is told, "
            "by the postmaster's map, where it can be read)."
        )
    return None


# What an event says of a segment of dynamic shared memory mapped or unmapped: while a
# process lives, only parallel queries, the session's segment (its first parallel
# query) and new statistics segments come and go (the control segment is inherited).
DSM_ATTACHED = (
    "PostgreSQL dynamic shared memory attached: most likely for a parallel query, whose "
    "workers attach it too (its state, its tuple queues, a parallel hash join's table), "
    "or the session's own segment, which its first parallel query makes and keeps until "
    "it disconnects"
)
DSM_CONTROL_ATTACHED = (
    "PostgreSQL's DSM control segment mapped: the postmaster makes it at start, and anew "
    "when it restarts its children after one crashed (every process it forks then "
    "inherits it)"
)
DSM_CONTROL_DETACHED = (
    "PostgreSQL's DSM control segment unmapped: the server shut down, or the postmaster "
    "is restarting its children after one crashed (a new control segment takes its "
    "place); no query ended"
)
DSM_DETACHED = (
    "PostgreSQL dynamic shared memory detached: most likely a parallel query ended (the "
    "segment, and its file in /dev/shm, goes once the last process detaches)"
)


def postgres_what_it_is(r: Region, freed: bool) -> str | None:
    """What an event says a range of ``r`` that was mapped (or unmapped, ``freed``) is,
    where it is PostgreSQL's; None for any other."""
    if r.object == POSTGRES_DSM:
        return DSM_DETACHED if freed else DSM_ATTACHED
    if r.object == POSTGRES_DSM_CONTROL:
        return DSM_CONTROL_DETACHED if freed else DSM_CONTROL_ATTACHED
    return None
