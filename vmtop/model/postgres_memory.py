"""PostgreSQL's shared memory, named in the map of a postmaster or a backend.

The postmaster makes one shared mapping at start for everything its processes share
(shared buffers, WAL buffers, the lock table, ...), of ``SHOW shared_memory_size``, and
every backend inherits it through fork. How it maps it depends on its settings:

- ``shared_memory_type = mmap`` (the default): a shared anonymous mapping, which maps
  prints as ``/dev/zero (deleted)``; with ``huge_pages = on`` (or ``try``, where the pool
  has the pages) in hugetlb pages, ``/anon_hugepage (deleted)``. Beside it, a SysV
  segment of a few bytes that only serves as an interlock: a new postmaster on the same
  data directory looks at how many processes still have it attached.
- ``shared_memory_type = sysv``: the SysV segment is the shared memory itself.

Parallel queries and other dynamic shared memory (``dynamic_shared_memory_type =
posix``) come and go as files ``/dev/shm/PostgreSQL.N``. One of them lives as long as
the server: the DSM control segment, which the postmaster makes at start and every
backend inherits; its name is random, so which one it is is a fact read from the
postmaster's map (``ClassifyFacts.postgres_dsm_control``, ``procfs.postgres_dsm``).

So in a process running the ``postgres`` executable (``ClassifyFacts.postgres``), the
biggest of those shared mappings is the shared memory, a SysV segment that is not it the
interlock, and the ``/dev/shm/PostgreSQL.`` files its dynamic shared memory (the one the
fact names its control segment). Kinds stay ``shm``; only the objects are named. Pure:
regions in, in place.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence

from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.model.region_rows import END, KIND, OBJECT, PATH, PERMS, START, TID, relabel
from vmtop.model.sysv import SYSV_PREFIX

POSTGRES_SHARED = "PostgreSQL shared memory"
POSTGRES_INTERLOCK = "PostgreSQL interlock"
POSTGRES_DSM = "PostgreSQL dynamic shared memory"
POSTGRES_DSM_CONTROL = "PostgreSQL DSM control segment"
POSTGRES_PROGRAM = "postgres"

# How maps prints a shared anonymous mapping, in base pages and in hugetlb pages.
_ANONYMOUS_SHARED = ("/dev/zero (deleted)", "/anon_hugepage (deleted)")
DSM_PREFIX = "/dev/shm/PostgreSQL."


def runs_postgres(paths: Iterable[str]) -> bool:
    """Does a map with these paths run PostgreSQL's server (its ``postgres``
    executable: the postmaster and every backend, whatever their titles say)?"""
    return any(p.startswith("/") and p.rpartition("/")[2] == POSTGRES_PROGRAM for p in paths)


def _main_candidate(r) -> bool:
    path = r[PATH]
    return r[PERMS] == "rw-s" and (path in _ANONYMOUS_SHARED or path.startswith(SYSV_PREFIX))


def mark_postgres_memory(regions: MutableSequence[Region], dsm_control: str = "") -> None:
    """In place: the objects of a PostgreSQL process's shared memory, its interlock
    segment and its dynamic shared memory (see the module's note); ``dsm_control``:
    the path of its DSM control segment's file ("": not known)."""
    candidates = [i for i in range(len(regions)) if _main_candidate(regions[i])]
    dsm = [i for i in range(len(regions)) if regions[i][PATH].startswith(DSM_PREFIX)]
    main = max(candidates, key=lambda i: regions[i][END] - regions[i][START], default=None)
    for i in candidates:
        r = regions[i]
        name = POSTGRES_SHARED if i == main else POSTGRES_INTERLOCK
        if not r[PATH].startswith(SYSV_PREFIX):
            if i == main:
                regions[i] = relabel(r, kinds.SHM, name, r[TID])
            continue
        # SysV: its shmid, key, creator and attach count stay said after the name.
        said = r[OBJECT] or ""
        if not said.startswith(name):
            regions[i] = relabel(r, kinds.SHM, f"{name} ({said})" if said else name, r[TID])
    for i in dsm:
        r = regions[i]
        name = POSTGRES_DSM_CONTROL if dsm_control and r[PATH] == dsm_control else POSTGRES_DSM
        if r[KIND] == kinds.SHM and r[OBJECT] != name:
            regions[i] = relabel(r, kinds.SHM, name, r[TID])
