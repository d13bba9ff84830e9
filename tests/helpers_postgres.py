"""A throwaway PostgreSQL server for live tests: initdb in a temporary directory, the
postmaster on a Unix socket there (no TCP), run as nobody when the tests run as root
(PostgreSQL refuses root)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return found[-1] if found else None


@contextlib.contextmanager
def running_postgres(*settings: str):
    """Yield (postmaster Popen, data directory, the user keywords for subprocess) of a
    server started with ``-c`` ``settings``; skip the test where that cannot be done."""
    postgres = postgres_bin()
    if postgres is None:
        pytest.skip("no PostgreSQL here (apt install postgresql)")
    bindir = os.path.dirname(postgres)
    user: dict = {}
    data = tempfile.mkdtemp(prefix="vmtop-pg-")
    try:
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            shutil.chown(data, "nobody")
            os.chmod(data, 0o700)
            user = {"user": "nobody", "group": "nogroup", "extra_groups": [], "cwd": data}
        pgdata = os.path.join(data, "data")
        init = subprocess.run(
            [f"{bindir}/initdb", "-D", pgdata, "--no-sync", "-A", "trust"],
            capture_output=True,
            **user,
        )
        if init.returncode != 0:
            pytest.skip(f"initdb failed: {init.stderr.decode(errors='replace')[-200:]}")
        options = [x for s in ("listen_addresses=", *settings) for x in ("-c", s)]
        server = subprocess.Popen(
            [postgres, "-D", pgdata, "-k", data, *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **user,
        )
        try:
            pid_file = Path(pgdata, "postmaster.pid")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and server.poll() is None:
                text = pid_file.read_text() if pid_file.exists() else ""
                if len(text.splitlines()) >= 8 and "ready" in text.splitlines()[7]:
                    break
                time.sleep(0.1)
            else:
                pytest.skip("the PostgreSQL server did not start")
            yield server, pgdata, user
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(data, ignore_errors=True)
