"""A SysV segment's shmid, key, creator and attachments in JSON and CSV, checked against
the /proc/sysvipc/shm recorded beside the postgres fixture (read here by hand)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

TREE = Path(__file__).parent / "fixtures" / "real" / "postgres"
PID = "10031"


def _table_row() -> dict[str, int]:
    lines = (TREE / "sysvipc" / "shm").read_text().splitlines()
    names = lines[0].split()
    return dict(zip(names, map(int, lines[1].split()), strict=False))


def _snapshot(fmt: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "vmtop", "snapshot", "--proc-root", str(TREE), PID,
         "--format", fmt],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_json_gives_the_segment_as_the_table_lists_it():
    row = _table_row()
    regions = json.loads(_snapshot("json"))["regions"]
    (segment,) = [r for r in regions if r["path"].startswith("/SYSV")]
    assert segment["sysv_shmid"] == row["shmid"] == segment["inode"]
    assert int(segment["sysv_key"], 16) == row["key"]
    assert segment["sysv_creator_pid"] == row["cpid"]
    assert segment["sysv_attached"] == row["nattch"]
    assert segment["sysv_removed"] is False
    others = [r for r in regions if not r["path"].startswith("/SYSV")]
    assert not any(k.startswith("sysv_") for r in others for k in r)


def test_csv_has_the_same_columns():
    row = _table_row()
    rows = list(csv.DictReader(io.StringIO(_snapshot("csv"))))
    (segment,) = [r for r in rows if r["path"].startswith("/SYSV")]
    assert int(segment["sysv_shmid"]) == row["shmid"]
    assert int(segment["sysv_key"], 16) == row["key"]
    assert int(segment["sysv_attached"]) == row["nattch"]
    # IPC_RMID sets SHM_DEST (01000) in the table's perms (printed in octal); CSV says
    # 0/1, as for THP.
    removed = int(str(row["perms"]), 8) & 0o1000
    assert segment["sysv_removed"] == str(int(bool(removed)))


def test_a_fifo_as_the_sysv_table_is_not_opened(tmp_path):
    """The table is a file of the copied tree like any other: a FIFO there must not
    block (before, it was opened with a plain open() and hung)."""
    import os
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(TREE / PID, tree / PID)
    (tree / "sysvipc").mkdir()
    os.mkfifo(tree / "sysvipc" / "shm")
    result = subprocess.run(
        [sys.executable, "-m", "vmtop", "snapshot", "--proc-root", str(tree), PID,
         "--format", "json"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (segment,) = [r for r in json.loads(result.stdout)["regions"] if r["path"].startswith("/SYSV")]
    assert segment["sysv_shmid"] == 32791 and "sysv_attached" not in segment


def test_csv_columns_do_not_depend_on_what_the_process_maps():
    """The tid and sysv_ columns were there only for a process with thread stacks or
    SysV segments: CSVs of a postmaster and of a backend (or any two processes) did not
    line up. Here the postgres fixture (a SysV segment, no threads) against the python
    one (no SysV segment), up to the smaps fields (the kernels that recorded them may
    differ there)."""
    python = Path(__file__).parent / "fixtures" / "real" / "python"
    other = subprocess.run(
        [sys.executable, "-m", "vmtop", "snapshot", "--proc-root", str(python), "12857",
         "--format", "csv"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    headers = [next(csv.reader(io.StringIO(text))) for text in (_snapshot("csv"), other)]
    ends = [h.index("sysv_removed") for h in headers]
    assert ends[0] == ends[1] and headers[0][: ends[0] + 1] == headers[1][: ends[1] + 1]
    assert headers[0][: ends[0] + 1][-6:] == [
        "tid", "sysv_shmid", "sysv_key", "sysv_creator_pid", "sysv_attached", "sysv_removed"
    ]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(other)))
    assert all(r["sysv_shmid"] == "" for r in rows)
