"""PostgreSQL's DSM control segment named live (``procfs.postgres_dsm``), in the
postmaster and in a backend that also maps its session's segment and the statistics'
after a parallel query, at two max_connections (so two sizes). Ground truth: the
handle the server keeps in its shared memory header (``dsm_control``, read from the
postmaster's memory: needs ptrace access, so skipped where it cannot be read, as where
PostgreSQL is missing)."""

from __future__ import annotations

import os

import pytest
from helpers_postgres import Session, dsm_control_handle, running_postgres

from vmtop.model.postgres_memory import POSTGRES_DSM, POSTGRES_DSM_CONTROL
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

pytestmark = pytest.mark.live

DSM_PREFIX = "/dev/shm/PostgreSQL."
PARALLEL = ("force_parallel_mode=on", "parallel_setup_cost=0", "parallel_tuple_cost=0")


def dsm_objects(pid: int) -> dict[str, str | None]:
    snap = take_snapshot(ProcFS(), pid)
    return {r.path: r.object for r in snap.regions if r.path.startswith(DSM_PREFIX)}


@pytest.mark.parametrize("max_connections", [7, 100])
def test_the_control_segment_is_the_one_the_server_keeps(max_connections):
    settings = (f"max_connections={max_connections}", "shared_buffers=16MB", "huge_pages=off")
    with running_postgres(*settings) as (server, pgdata, user):
        handle = dsm_control_handle(server.pid)
        if handle is None:
            pytest.skip("the postmaster's memory cannot be read here (ptrace access)")
        control = f"{DSM_PREFIX}{handle}"
        assert dsm_objects(server.pid) == {control: POSTGRES_DSM_CONTROL}
        with Session(pgdata, user, *PARALLEL) as session:
            session.run("select count(*) from pg_class")
            named = dsm_objects(session.pid)
            # The session's segment stays mapped after its first parallel query.
            assert len(named) >= 2 and named[control] == POSTGRES_DSM_CONTROL
            others = {p: o for p, o in named.items() if p != control}
            assert set(others.values()) == {POSTGRES_DSM}
            # The control segment's file: a slot of 40 bytes for each segment there
            # can be, the server's count (dsm.c), behind a 16-byte header.
            maxitems = 64 + 5 * (max_connections + 3 + 1 + 8 + 10)
            assert os.stat(control).st_size == 16 + 40 * maxitems
