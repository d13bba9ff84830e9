"""A throwaway PostgreSQL server for live tests: initdb in a temporary directory, the
postmaster on a Unix socket there (no TCP), run as nobody when the tests run as root
(PostgreSQL refuses root); and ``Session``, a psql session on it whose backend's PID is
known, for a test to watch that backend while it runs queries.

(tests/fixtures/postgres_load/record.py records its fixtures with these too.)"""

from __future__ import annotations

import contextlib
import glob
import os
import selectors
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return found[-1] if found else None


@contextlib.contextmanager
def running_postgres(*settings: str, log: str | None = None):
    """Yield (postmaster Popen, data directory, the user keywords for subprocess) of a
    server started with ``-c`` ``settings``; skip the test where that cannot be done.
    ``log``: a file that gets the server's log (what pg_log_backend_memory_contexts
    writes), else it goes nowhere."""
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
        with open(log or os.devnull, "ab") as log_file:
            server = subprocess.Popen(
                [postgres, "-D", pgdata, "-k", data, *options],
                stdout=log_file,
                stderr=log_file,
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


class Session:
    """One psql session on a server of ``running_postgres`` (``pgdata``, ``user``: what
    it yields): ``pid`` is its backend's. ``run`` sends SQL and waits for it to end;
    ``send`` does not wait (``wait`` does), so a test can look at the backend while a
    query runs."""

    DONE = "vmtop-session-done"

    def __init__(self, pgdata: str, user: dict, *settings: str) -> None:
        psql = os.path.join(os.path.dirname(postgres_bin()), "psql")
        sockets = os.path.dirname(pgdata)
        self.proc = subprocess.Popen(
            [psql, "-X", "-q", "-A", "-t", "-h", sockets, "-d", "postgres"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            **user,
        )
        self._buffer = ""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        for setting in settings:
            self.run(f"set {setting}")
        self.pid = int(self.run("select pg_backend_pid()")[0])

    def send(self, sql: str) -> None:
        self.proc.stdin.write(f"{sql.rstrip(';')};\n\\echo {self.DONE}\n".encode())
        self.proc.stdin.flush()

    def wait(self, timeout: float = 60) -> list[str]:
        """The lines the last SQL sent printed, once it ended."""
        deadline = time.monotonic() + timeout
        while f"{self.DONE}\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                raise AssertionError(f"psql: no answer in {timeout}s after {self._buffer!r}")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"psql ended after {self._buffer!r}")
            self._buffer += chunk.decode(errors="replace")
        said, _, self._buffer = self._buffer.partition(f"{self.DONE}\n")
        return said.splitlines()

    def run(self, sql: str, timeout: float = 60) -> list[str]:
        self.send(sql)
        return self.wait(timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._selector.close()
        self.proc.stdout.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# PGShmemHeader (src/include/storage/pg_shmem.h): int32 magic, pid_t creatorPID, Size
# totalsize, Size freeoffset, dsm_handle dsm_control, ...
_SHMEM_MAGIC = 679834894
_HEADER = struct.Struct("=iiQQI")


def dsm_control_handle(postmaster: int) -> int | None:
    """The handle of the DSM control segment as PostgreSQL keeps it: ``dsm_control`` in
    the header of the shared memory segment it handed to ``dsm_postmaster_startup``
    (the SysV one: the interlock with shared_memory_type=mmap), read from the
    postmaster's memory; the segment's file is /dev/shm/PostgreSQL.<handle>. None where
    that memory cannot be read (needs ptrace access: root, or the same user)."""
    try:
        with open(f"/proc/{postmaster}/maps") as maps, open(f"/proc/{postmaster}/mem", "rb") as mem:
            for line in maps:
                fields = line.split()
                if fields[1] != "rw-s" or len(fields) < 6 or not fields[5].startswith("/SYSV"):
                    continue
                mem.seek(int(fields[0].split("-")[0], 16))
                magic, _, _, _, handle = _HEADER.unpack(mem.read(_HEADER.size))
                if magic == _SHMEM_MAGIC and handle:
                    return handle
    except OSError:
        return None
    return None
