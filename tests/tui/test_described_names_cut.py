"""At 80 columns a name too long for its column is cut. A file's path keeps its end
(the file's name); a description vmtop gave keeps its start: the postmaster's shared
memory read "…ared memory (/dev/zero)" (a new user's review), now "PostgreSQL shared…".

The process is a PostgreSQL backend recorded with its postmaster
(tests/fixtures/postgres_dsm): its main shared memory is /dev/zero (deleted), which
vmtop names from what the server maps."""

from __future__ import annotations

from conftest import FIXTURES

from vmtop.tui.widgets.region_table import RegionTable

from .test_process_screen import ScreenApp, settle, table_rows

TREE = FIXTURES / "postgres_dsm"
BACKEND = 30299
SHARED = 0x7F591C21E000  # /dev/zero (deleted): the server's shared memory
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"


async def test_a_description_keeps_its_start_and_a_path_its_end():
    app = ScreenApp(TREE, BACKEND)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RegionTable)
        snap = app.screen.snapshot
        shared = snap.region_at(SHARED)
        assert shared.object == "PostgreSQL shared memory"
        table.select_region(shared)
        await settle(pilot)
        (row,) = [r for r in table_rows(app) if f"{SHARED:012x}" in r]
        name = row.split("shm", 1)[1].strip()
        assert name.startswith("PostgreSQL shared") and name.endswith("…"), row
        libc = next(r for r in snap.regions if r.path == LIBC)
        table.select_region(libc)
        await settle(pilot)
        (row,) = [r for r in table_rows(app) if f"{libc.start:012x}" in r]
        assert row.rstrip().endswith("libc.so.6"), row
