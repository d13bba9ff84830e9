"""A live PostgreSQL backend at work, watched: its events in PostgreSQL's words
(``model.postgres_events``, ``postgres_words``).

One server (tests/helpers_postgres.py) for the module, a table of about 20 MiB that
another session reads first; the backend watched then reads it (``vmtop watch --json``),
sorts a million rows at work_mem 128MB, runs a JIT-compiled query and a parallel hash
join. Ground truth: the backend's smaps (parsed here line by line) and what PostgreSQL
says (pg_relation_size, EXPLAIN ANALYZE, pg_jit_available). Skipped where PostgreSQL is
missing."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import VMTOP
from helpers_postgres import Session, running_postgres

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.diff import diff_snapshots
from vmtop.model.explain import why_kind
from vmtop.model.postgres_events import (
    CONTEXT_BLOCKS_FREED,
    CONTEXT_BLOCKS_MAPPED,
    JIT_CODE_FREED,
    JIT_CODE_MAPPED,
    SHARED_TOUCHED,
)
from vmtop.model.postgres_memory import POSTGRES_DSM, POSTGRES_SHARED
from vmtop.model.postgres_words import DSM_ATTACHED, DSM_DETACHED
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

MiB = 1 << 20
SERIAL = "max_parallel_workers_per_gather=0"


@pytest.fixture(scope="module")
def server():
    settings = ("shared_buffers=128MB", "huge_pages=off", "max_parallel_workers_per_gather=4")
    with running_postgres(*settings) as (postmaster, pgdata, user):
        with Session(pgdata, user, SERIAL) as other:
            other.run(
                "create table t as select g, repeat('x', 100) as x from generate_series(1, 150000) g"
            )
            other.run("vacuum analyze t")
            other.run("select sum(length(x)) from t")  # (its buffers: in shared memory)
            table = int(other.run("select pg_relation_size('t')")[0])
            yield pgdata, user, table


def smaps_field(pid: int, name: str, field: str) -> int:
    """A kB field of the region named ``name`` in the process's smaps, in bytes."""
    text = Path(f"/proc/{pid}/smaps").read_text()
    block = text.split(f" {name}\n", 1)[1].split("VmFlags:", 1)[0]
    return int(re.search(rf"^{field}:\s+(\d+) kB", block, re.M).group(1)) << 10


def status_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1)) << 10


def wait_for(what, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def snap(pid: int):
    return take_snapshot(ProcFS(), pid)


def test_watch_says_the_shared_buffers_a_backend_reads_are_postgresql_shared_memory(server):
    pgdata, user, table = server
    with Session(pgdata, user, SERIAL) as watched:
        before = smaps_field(watched.pid, "/dev/zero (deleted)", "Rss")
        argv = [*VMTOP, "watch", "--json", "--interval", "0.2", "--count", "12", str(watched.pid)]
        watch = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert json.loads(watch.stdout.readline())["format"] == "vmtop-watch"
            watched.run("select sum(length(x)) from t")
            lines = [json.loads(line) for line in watch.stdout]
        finally:
            watch.kill()
            watch.wait()
        after = smaps_field(watched.pid, "/dev/zero (deleted)", "Rss")
    rises = [e for e in lines if e["event"] == "rss_changed" and e.get("object") == POSTGRES_SHARED]
    assert rises, lines
    assert all(e["detail"].startswith(SHARED_TOUCHED[0]) for e in rises)
    assert not any("faulted in" in e["detail"] for e in rises)
    # What they add up to is what the kernel says the backend mapped of it meanwhile,
    # and that is the table PostgreSQL says it read (its pages: in shared buffers).
    assert sum(e["delta"] for e in rises) == after - before >= 0.9 * table


def test_a_sort_maps_memory_context_blocks_and_gives_them_back(server):
    pgdata, user, _ = server
    with Session(pgdata, user, SERIAL, "jit=off", "work_mem='128MB'") as watched:
        pid = watched.pid
        before = snap(pid)
        idle = status_kib(pid, "VmRSS")
        watched.send(
            "explain (analyze, costs off, timing off) select count(*) from "
            "(select g from generate_series(1, 1000000) g order by random()) s"
        )
        wait_for(lambda: status_kib(pid, "VmRSS") > idle + 40 * MiB)
        during = snap(pid)
        plan = "\n".join(watched.wait())
        after = snap(pid)
    sort = int(re.search(r"Sort Method: quicksort\s+Memory: (\d+)kB", plan).group(1)) << 10
    mapped = [e for e in diff_snapshots(before, during) if e.event == ev.MAPPED]
    blocks = [e for e in mapped if e.kind == kinds.ANON]
    assert blocks and all(CONTEXT_BLOCKS_MAPPED in e.detail for e in blocks), mapped
    freed = [e for e in diff_snapshots(during, after) if e.kind == kinds.ANON]
    assert freed and all(CONTEXT_BLOCKS_FREED in e.detail for e in freed)
    assert sum(e.size for e in freed) > sort // 2  # (the sort's, and the rows it read)


def test_jit_compiled_code_is_said_as_postgresqls_jit(server):
    pgdata, user, _ = server
    with Session(pgdata, user, SERIAL) as watched:
        if watched.run("select pg_jit_available()") != ["t"]:
            pytest.skip("PostgreSQL's JIT is not installed here (its llvmjit package)")
        for setting in ("jit=on", "jit_above_cost=0", "jit_inline_above_cost=-1",
                        "jit_optimize_above_cost=-1"):  # fmt: skip
            watched.run(f"set {setting}")
        pid = watched.pid
        before = snap(pid)

        def code() -> list[str]:
            lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
            return [ln for ln in lines if ln.split()[1].startswith("r-x") and len(ln.split()) == 5]

        known = set(code())
        watched.send("select count(*) from generate_series(1, 5000000) g where g % 7 = 3")
        wait_for(lambda: set(code()) - known)
        during = snap(pid)
        watched.wait()
        after = snap(pid)
    came = [e for e in diff_snapshots(before, during) if e.kind == kinds.JIT]
    assert came and all(e.detail.endswith(JIT_CODE_MAPPED) or JIT_CODE_MAPPED + ";" in e.detail
                        for e in came)  # fmt: skip
    went = [e for e in diff_snapshots(during, after) if e.kind == kinds.JIT]
    assert went and all(JIT_CODE_FREED in e.detail for e in went)


def test_a_parallel_query_attaches_and_detaches_dynamic_shared_memory(server):
    pgdata, user, _ = server
    parallel = ("parallel_setup_cost=0", "parallel_tuple_cost=0", "jit=off",
                "min_parallel_table_scan_size=0", "max_parallel_workers_per_gather=4")  # fmt: skip
    with Session(pgdata, user, *parallel) as watched:
        pid = watched.pid

        def segments() -> set[str]:
            lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
            return {ln.split()[-1] for ln in lines if "/dev/shm/PostgreSQL." in ln}

        known = segments()
        before = snap(pid)
        watched.send("select count(*) from t a join t b on a.g = b.g")
        wait_for(lambda: len(segments() - known) >= 2)
        during = snap(pid)
        watched.wait()
        after = snap(pid)
    attached = [e for e in diff_snapshots(before, during) if e.object == POSTGRES_DSM]
    assert attached and all(e.event == ev.MAPPED and DSM_ATTACHED in e.detail for e in attached)
    detached = [e for e in diff_snapshots(during, after) if e.object == POSTGRES_DSM]
    assert all(e.event == ev.UNMAPPED and DSM_DETACHED in e.detail for e in detached)
    # (the session's own segment, made by its first parallel query, stays)
    assert len(detached) == len(attached) - 1 or len(detached) == len(attached)


def test_shared_buffers_only_one_backend_mapped_outlive_it(server):
    """Pages of the shared memory no other process maps count as a backend's
    Private_Dirty (its USS), and the region detail says its exit frees none of them:
    PostgreSQL itself (pg_buffercache) still holds them in shared buffers after it."""
    pgdata, user, _ = server
    with Session(pgdata, user, SERIAL) as alone:
        alone.run(
            "create table u as select g, repeat('y', 100) as y from generate_series(1, 60000) g"
        )
        alone.run("select sum(length(y)) from u")
        size = int(alone.run("select pg_relation_size('u')")[0])
        private = smaps_field(alone.pid, "/dev/zero (deleted)", "Private_Dirty")
        (region,) = [r for r in snap(alone.pid).regions if r.object == POSTGRES_SHARED]
    assert private >= 0.9 * size
    assert "Private_Dirty (and in its USS), though its exit frees none" in why_kind(region)
    with Session(pgdata, user) as other:
        if other.run("create extension if not exists pg_buffercache")[-1:] != []:
            pytest.skip("no pg_buffercache here (PostgreSQL's contrib)")
        held = other.run(
            "select count(*) * current_setting('block_size')::int from pg_buffercache "
            "where relfilenode = pg_relation_filenode('u')"
        )
    assert int(held[0]) >= 0.9 * size  # (in shared buffers still: nothing was freed)
