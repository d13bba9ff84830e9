"""`vmtop snapshot` as a command: options, formats, pipes, copied trees.

Runs the real command in a subprocess against the fixture proc trees (see
tests/fixtures/proc/README.md); values are checked against the recorded pmap -x and
what the recorded C programs printed about themselves.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from conftest import PROC_FIXTURES, REPO, run_vmtop

EXPECTED = PROC_FIXTURES / "expected"
ROOT = str(PROC_FIXTURES)


def recorded(suffix: str) -> int:
    (path,) = EXPECTED.glob(f"*.{suffix}")
    return int(path.name.split(".")[0])


def ok(result: subprocess.CompletedProcess) -> bytes:
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    return result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--proc-root", ROOT, "snapshot", "{pid}"],
        ["snapshot", "--proc-root", ROOT, "{pid}"],
        ["snapshot", "{pid}", "--proc-root", ROOT],
        ["snapshot", "{pid}", "--proc-root", ROOT, "--format", "pmap"],
    ],
)
def test_proc_root_anywhere_and_pmap_by_default(args):
    pid = recorded("printed")
    out = ok(run_vmtop(*[a.format(pid=pid) for a in args]))
    assert out == (EXPECTED / f"{pid}.pmap-x").read_bytes()


def test_json_is_one_object_with_the_documented_keys():
    pid = recorded("regions")
    data = json.loads(ok(run_vmtop("--proc-root", ROOT, "snapshot", pid, "--format", "json")))
    assert set(data) >= {"pid", "start_time", "command", "taken_at", "totals", "regions"}
    assert data["pid"] == pid
    stat = (PROC_FIXTURES / str(pid) / "stat").read_bytes()
    assert data["start_time"] == int(stat.rsplit(b")", 1)[1].split()[19])
    cmdline = (PROC_FIXTURES / str(pid) / "cmdline").read_bytes()
    assert data["command"] == cmdline.rstrip(b"\0").replace(b"\0", b" ").decode()
    assert set(data["totals"]) >= {"size", "rss", "pss", "swap", "private_dirty"}
    for region in data["regions"]:
        assert region["start"].startswith("0x") and region["end"].startswith("0x")
        assert region["size"] == int(region["end"], 16) - int(region["start"], 16)
        assert set(region) >= {"perms", "offset", "dev", "inode", "path", "rss", "vm_flags"}
        assert isinstance(region["vm_flags"], list)


def test_json_keeps_undecodable_bytes_and_the_kernels_escapes():
    pid = recorded("regions")
    out = ok(run_vmtop("--proc-root", ROOT, "snapshot", pid, "--format", "json"))
    assert out.isascii()  # surrogate-escaped bytes travel as \udcXX
    paths = [r["path"] for r in json.loads(out)["regions"]]
    raw = {p.encode("utf-8", "surrogateescape") for p in paths}
    assert any(p.endswith(b"/bad\xff\xfeutf8") for p in raw)
    assert any(p.endswith(b"/new\\012line") for p in raw)  # as the kernel printed it
    assert any(p.endswith(b"/esc\x1b[31mred") for p in raw)
    assert any(p.endswith(b"/trailing space ") for p in raw)


def test_csv_rows_match_pmap():
    pid = recorded("printed")
    out = ok(run_vmtop("--proc-root", ROOT, "snapshot", pid, "--format", "csv")).decode()
    rows = list(csv.DictReader(io.StringIO(out)))
    pmap_rows = (EXPECTED / f"{pid}.pmap-x").read_text().split("\n")[2:-3]
    assert len(rows) == len(pmap_rows)
    for row, line in zip(rows, pmap_rows, strict=True):
        address, kbytes, rss, dirty = line.split()[:4]
        assert int(row["start"], 16) == int(address, 16)
        assert int(row["size"]) == int(kbytes) * 1024
        assert int(row["rss"]) == int(rss) * 1024
        assert int(row["shared_dirty"]) + int(row["private_dirty"]) == int(dirty) * 1024


def test_no_smaps_on_a_tree_that_has_smaps():
    pid = recorded("printed")
    rows = ok(run_vmtop("--proc-root", ROOT, "snapshot", pid, "--no-smaps")).decode()
    rows = rows.split("\n")
    pmap_rows = (EXPECTED / f"{pid}.pmap-x").read_text().split("\n")
    assert [r[:24] for r in rows[2:-3]] == [r[:24] for r in pmap_rows[2:-3]]
    assert all(r[24:40] == "       -       -" for r in rows[2:-3])


@pytest.mark.parametrize(
    "command",
    [["snapshot"], ["where", "0x1000"], ["snapshot", "--help"], ["--version"]],
    ids=["snapshot", "where", "help", "version"],
)
def test_closed_pipe_is_not_an_error(command):
    # As a user's shell runs it: stdout buffered (no PYTHONUNBUFFERED), so the write to
    # the closed pipe fails only as Python exits (it exited 120 there).
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    pid = recorded("regions")
    reader = subprocess.Popen(
        [sys.executable, "-m", "vmtop", "--proc-root", ROOT, command[0], str(pid), *command[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    reader.stdout.close()  # like `vmtop snapshot PID | head -0`
    stderr = reader.stderr.read()
    assert reader.wait(timeout=60) == 0
    assert b"Traceback" not in stderr and b"Exception" not in stderr


@pytest.mark.parametrize(
    "pid, words",
    [
        (2, ["kernel thread"]),
        (424242, ["no such process"]),
    ],
)
def test_errors_on_copied_trees(pid, words):
    result = run_vmtop("--proc-root", ROOT, "snapshot", pid)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert all(word in stderr for word in words)


def test_zombie_in_a_copied_tree():
    for stat in PROC_FIXTURES.glob("*/stat"):
        if b") Z " in stat.read_bytes():
            result = run_vmtop("--proc-root", ROOT, "snapshot", stat.parent.name)
            assert result.returncode == 1 and b"zombie" in result.stderr
            return
    raise AssertionError("no zombie fixture")
