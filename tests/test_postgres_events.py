"""A PostgreSQL backend at work, said in PostgreSQL's words (``model.postgres_events``,
``postgres_words``), on the moments of one backend recorded by
tests/fixtures/postgres_load/record.py: pgbench's accounts read through shared buffers
another session had read first, a sort of 3 million rows at work_mem 256MB, a parallel
hash join with four workers, and the same read with huge_pages=on.

Ground truth: the kernel's text in each tree (maps and smaps lines, parsed here line by
line, never by vmtop's parser) and what PostgreSQL said (ground_truth.json: the sum of
pg_shmem_allocations, the memory contexts pg_log_backend_memory_contexts logged in the
middle of the sort, EXPLAIN ANALYZE)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import FIXTURES

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.diff import diff_snapshots
from vmtop.model.event_words import BIG_ANON_FREED, BIG_ANON_MAPPED, FAULTED_IN, size_text
from vmtop.model.explain import why_kind
from vmtop.model.hugetlb_events import HUGETLB_WORDS
from vmtop.model.postgres_events import (
    CONTEXT_BLOCKS_FREED,
    CONTEXT_BLOCKS_MAPPED,
    CONTEXT_BLOCKS_ON_HEAP,
    SHARED_TOUCHED,
    SHARED_TOUCHED_HUGETLB,
)
from vmtop.model.postgres_memory import POSTGRES_DSM, POSTGRES_SHARED
from vmtop.model.postgres_words import DSM_ATTACHED, DSM_DETACHED
from vmtop.model.rss_drift import RssDrift
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

ROOT = FIXTURES / "postgres_load"
TRUTH = json.loads((ROOT / "ground_truth.json").read_text())
SHARED_NAMES = ("/dev/zero (deleted)", "/anon_hugepage (deleted)")
DSM_PREFIX = "/dev/shm/PostgreSQL."
MiB = 1 << 20


def pid_of(moment: str) -> int:
    return TRUTH["huge_backend"] if moment.startswith("huge") else TRUTH["backend"]


def snap(moment: str, pid: int | None = None):
    return take_snapshot(ProcFS(str(ROOT / moment)), pid or pid_of(moment))


def events(before: str, after: str) -> list:
    return diff_snapshots(snap(before), snap(after))


def kernel_lines(moment: str, pid: int | None = None, file: str = "maps") -> list[dict]:
    """The regions of the tree's maps (or smaps, with its kB fields in bytes), read
    line by line: start, end, perms, name, and the fields."""
    out: list[dict] = []
    text = (ROOT / moment / str(pid or pid_of(moment)) / file).read_text()
    for line in text.splitlines():
        head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+ *(.*)$", line)
        if head:
            start, end = int(head[1], 16), int(head[2], 16)
            out.append({"start": start, "end": end, "perms": head[3], "name": head[4]})
            continue
        field = re.match(r"^(\w+):\s+(\d+) kB$", line)
        if field and out:
            out[-1][field[1]] = int(field[2]) << 10
    return out


def kernel_region(moment: str, name: str) -> dict:
    (found,) = [r for r in kernel_lines(moment, file="smaps") if r["name"] == name]
    return found


def private_anonymous(moment: str) -> dict[tuple[int, int], dict]:
    return {
        (r["start"], r["end"]): r
        for r in kernel_lines(moment, file="smaps")
        if r["perms"] == "rw-p" and not r["name"]
    }


# -- shared buffers touched --------------------------------------------------------------


def test_shared_buffers_touched_are_postgres_shared_memory_another_process_had():
    (e,) = [e for e in events("idle", "scanned") if e.path in SHARED_NAMES]
    before = kernel_region("idle", "/dev/zero (deleted)")
    after = kernel_region("scanned", "/dev/zero (deleted)")
    # The region is what PostgreSQL allocated in its main shared memory, to the byte.
    assert e.end - e.start == TRUTH["shmem_allocations_sum"] == after["end"] - after["start"]
    assert e.event == ev.RSS_CHANGED and e.object == POSTGRES_SHARED
    assert e.delta == after["Rss"] - before["Rss"] > 60 * MiB  # pgbench_accounts: 64 MiB
    # Said as PostgreSQL's pages touched, not as memory the backend faulted in, with how
    # much of it other processes map too (the session that read the table first).
    assert e.detail.startswith(SHARED_TOUCHED[0]) and FAULTED_IN not in e.detail
    assert "PSS shares them out" in e.detail
    others = after["Shared_Clean"] + after["Shared_Dirty"]
    assert others > 60 * MiB
    assert e.detail.endswith(
        f"now {size_text(after['Rss'])} resident, {size_text(others)} of it mapped by other "
        "processes too"
    )


def test_the_drift_of_the_process_screen_says_it_too():
    drift = RssDrift(64 * 1024)
    drift.update(snap("idle"))
    (e,) = [e for e in drift.update(snap("scanned")) if e.object == POSTGRES_SHARED]
    assert e.detail.startswith(SHARED_TOUCHED[0]) and FAULTED_IN not in e.detail


def test_in_hugetlb_pages_the_pool_set_them_aside():
    (e,) = [e for e in events("huge_idle", "huge_scanned") if e.path in SHARED_NAMES]
    fields = ("Shared_Hugetlb", "Private_Hugetlb")
    name = "/anon_hugepage (deleted)"
    before = sum(kernel_region("huge_idle", name)[f] for f in fields)
    after = sum(kernel_region("huge_scanned", name)[f] for f in fields)
    assert e.object == POSTGRES_SHARED and e.delta == after - before > 60 * MiB
    assert e.detail.startswith(SHARED_TOUCHED_HUGETLB[0]) and "HugePages_Rsvd" in e.detail
    # (still said as hugetlb memory: watch calls the figure "hugetlb", not RSS)
    assert HUGETLB_WORDS in e.detail and "faulted in" not in e.detail
    pages = TRUTH["shared_memory_size_in_huge_pages"]
    assert e.end - e.start == pages * 2 * MiB


# -- a big sort: memory contexts ---------------------------------------------------------


def test_a_sorts_blocks_are_said_as_memory_contexts_and_its_end_gives_them_back():
    came = events("scanned", "sorting")
    mapped = [e for e in came if e.event == ev.MAPPED and e.kind == kinds.ANON]
    assert mapped and all(CONTEXT_BLOCKS_MAPPED in e.detail for e in mapped)
    assert not any(w in e.detail for e in came for w in ("JVM", "CPython", "Node"))
    # What they say came is what the kernel's maps added of private anonymous memory.
    before, during = private_anonymous("scanned"), private_anonymous("sorting")
    grown = sum(e - s for s, e in during) - sum(e - s for s, e in before)
    assert sum(e.size for e in mapped) == grown
    # And it is PostgreSQL's memory contexts: their total, as logged in the middle of
    # the sort, lies between what of it was resident and what was mapped.
    resident = sum(r["Rss"] for r in during.values()) - sum(r["Rss"] for r in before.values())
    contexts = TRUTH["sorting_memory_contexts"]["bytes"]
    assert resident < contexts < grown, (resident, contexts, grown)
    (heap,) = [e for e in came if e.event == ev.HEAP_GREW]
    assert CONTEXT_BLOCKS_ON_HEAP in heap.detail

    went = events("sorting", "sorted")
    unmapped = [e for e in went if e.event == ev.UNMAPPED and e.kind == kinds.ANON]
    assert unmapped and all(CONTEXT_BLOCKS_FREED in e.detail for e in unmapped)
    assert sum(e.size for e in unmapped) == grown  # all of it, at the end of the query


def test_in_a_process_that_runs_no_postgresql_the_words_stay_generic():
    def not_postgres(s):
        return s._replace(regions=tuple(r._replace(object=None) for r in s.regions))

    came = diff_snapshots(not_postgres(snap("scanned")), not_postgres(snap("sorting")))
    mapped = [e for e in came if e.event == ev.MAPPED and e.kind == kinds.ANON]
    assert mapped and all(BIG_ANON_MAPPED in e.detail for e in mapped)
    went = diff_snapshots(not_postgres(snap("sorting")), not_postgres(snap("sorted")))
    assert any(BIG_ANON_FREED in e.detail for e in went)


# -- a parallel query: dynamic shared memory ---------------------------------------------


def dsm_names(moment: str, pid: int | None = None) -> set[str]:
    return {r["name"] for r in kernel_lines(moment, pid) if r["name"].startswith(DSM_PREFIX)}


def test_a_parallel_querys_segments_are_attached_in_leader_and_worker_and_detached():
    came = events("sorted", "parallel")
    attached = {e.path for e in came if e.event == ev.MAPPED and e.object == POSTGRES_DSM}
    assert attached == dsm_names("parallel") - dsm_names("sorted") and len(attached) >= 4
    assert all(e.detail.startswith(DSM_ATTACHED) for e in came if e.path in attached)
    # The worker (a process of its own) maps the query's segments too.
    worker = dsm_names("parallel", TRUTH["parallel_worker"])
    query = dsm_names("parallel") - dsm_names("parallel_done")
    assert query and query <= worker
    went = events("parallel", "parallel_done")
    detached = {e.path for e in went if e.event == ev.UNMAPPED}
    assert detached == query
    assert all(DSM_DETACHED in e.detail for e in went if e.event == ev.UNMAPPED)


def test_the_control_segment_is_not_said_to_go_when_done():
    """The postmaster maps one segment, the control segment, which every process maps
    (the backend too, at every moment) as long as the server runs: the region detail
    does not say it goes when a query is done."""
    postmaster = TRUTH["postmaster"]
    (control,) = dsm_names("postmaster", postmaster)
    for moment in ("idle", "scanned", "sorting", "sorted", "parallel", "parallel_done"):
        assert control in dsm_names(moment)
    (region,) = [r for r in snap("postmaster", postmaster).regions if r.path == control]
    words = why_kind(region)
    assert region.object == POSTGRES_DSM
    assert "control segment" in words and "as long as the server" in words
    assert "cannot tell which" in words


@pytest.mark.parametrize("moment", ["idle", "sorting", "parallel"])
def test_the_shared_memory_region_is_named_in_every_moment(moment):
    (shared,) = [r for r in snap(moment).regions if r.path == "/dev/zero (deleted)"]
    assert shared.object == POSTGRES_SHARED and shared.size == TRUTH["shmem_allocations_sum"]
