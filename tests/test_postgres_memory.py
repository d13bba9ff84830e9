"""PostgreSQL's shared memory named in its processes' maps (``model.postgres_memory``):
on the recorded postmaster (tests/fixtures/real/postgres: its expected_kinds.tsv has the
names too), on hand-made maps, and live on a real server in both of its shared memory
types, against the size PostgreSQL itself computes (``postgres -C shared_memory_size``)."""

from __future__ import annotations

import subprocess

from helpers_postgres import postgres_bin, running_postgres

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts
from vmtop.model.postgres_memory import (
    POSTGRES_DSM,
    POSTGRES_INTERLOCK,
    POSTGRES_SHARED,
    runs_postgres,
)
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

MiB = 1 << 20
BIN = "/usr/lib/postgresql/16/bin/postgres"


# A backend's map, as /proc/PID/maps prints it (huge_pages=on).
BACKEND = f"""\
560000000000-560000200000 r-xp 00000000 fe:00 11 {BIN}
7f0000000000-7f0011400000 rw-s 00000000 00:0f 30 /anon_hugepage (deleted)
7f1000000000-7f1000200000 rw-s 00000000 00:01 31 /dev/zero (deleted)
7f2000000000-7f2000007000 rw-s 00000000 00:1a 32 /dev/shm/PostgreSQL.1804289383
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
""".encode()


def objects(regions, postgres=True):
    out = classify_regions(regions, ClassifyFacts(postgres=postgres))
    return {r.path: (r.kind, r.object) for r in out if r.perms == "rw-s"}


def test_the_biggest_shared_anonymous_mapping_is_the_shared_memory():
    regions = parse_maps(BACKEND)  # (the 2 MiB /dev/zero: an extension's)
    named = objects(regions)
    assert named["/anon_hugepage (deleted)"] == (kinds.SHM, POSTGRES_SHARED)
    assert named["/dev/zero (deleted)"][1] is None
    assert named["/dev/shm/PostgreSQL.1804289383"] == (kinds.SHM, POSTGRES_DSM)
    # Another program's shared anonymous memory is no PostgreSQL's.
    assert objects(regions, postgres=False)["/anon_hugepage (deleted)"][1] != POSTGRES_SHARED


def test_the_postgres_executable_is_what_says_postgresql():
    assert runs_postgres([BIN, "/usr/lib/x86_64-linux-gnu/libc.so.6"])
    assert runs_postgres(["/usr/local/pgsql/bin/postgres"])
    assert not runs_postgres(["/usr/bin/psql", "/usr/lib/libpq.so.5", "postgres"])
    assert not runs_postgres(["/usr/bin/postgres_exporter"])


def _shared_memory_size(pgdata: str, user: dict, *settings: str) -> int:
    """What PostgreSQL computes its main shared memory to be, in bytes, asked of a
    stopped server (it rounds up to whole MB: the mapping is within a MB below)."""
    options = [x for s in settings for x in ("-c", s)]
    out = subprocess.run(
        [postgres_bin(), "-D", pgdata, "-C", "shared_memory_size", *options],
        capture_output=True, text=True, check=True, **user,
    )  # fmt: skip
    return int(out.stdout.strip()) * MiB


def test_a_live_postmaster_in_mmap_and_in_sysv_shared_memory():
    for memory_type in ("mmap", "sysv"):
        settings = ("shared_buffers=24MB", f"shared_memory_type={memory_type}", "huge_pages=off")
        with running_postgres(*settings) as (server, pgdata, user):
            snap = take_snapshot(ProcFS(), server.pid)
            server.terminate()
            server.wait(timeout=30)
            computed = _shared_memory_size(pgdata, user, *settings)
        (main,) = [r for r in snap.regions if (r.object or "").startswith(POSTGRES_SHARED)]
        assert computed - MiB < main.size <= computed, (memory_type, main, computed)
        if memory_type == "mmap":
            assert main.path == "/dev/zero (deleted)"
            (lock,) = [r for r in snap.regions if r.path.startswith("/SYSV")]
            assert lock.object.startswith(POSTGRES_INTERLOCK) and lock.size == 4096
        else:
            assert main.path.startswith("/SYSV") and f"shmid {main.inode}" in main.object
            assert not [r for r in snap.regions if r.path == "/dev/zero (deleted)"]


def test_the_region_detail_says_what_each_one_is():
    from vmtop.model.explain import why_kind

    named = {r.path: r for r in classify_regions(parse_maps(BACKEND), ClassifyFacts(postgres=True))}
    shared = why_kind(named["/anon_hugepage (deleted)"])
    assert "shared buffers" in shared and "huge_pages=on" in shared and "276 MiB" in shared
    dsm = why_kind(named["/dev/shm/PostgreSQL.1804289383"])
    assert "parallel query" in dsm and "28 KiB" in dsm
    # In hugetlb pages no PSS counts it: the words do not send the reader to it.
    assert "PSS shares them out" not in shared
