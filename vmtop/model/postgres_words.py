"""What the region detail says of PostgreSQL's shared memory (``model.postgres_memory``
names it)."""

from __future__ import annotations

from vmtop.model.postgres_memory import POSTGRES_DSM, POSTGRES_INTERLOCK, POSTGRES_SHARED
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
            "them out."
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
    if obj == POSTGRES_DSM:
        return (
            f"PostgreSQL's dynamic shared memory, {size} (dynamic_shared_memory_type="
            "posix, a file in /dev/shm): made for a parallel query's workers and other "
            "short-lived sharing, and removed when done."
        )
    return None
