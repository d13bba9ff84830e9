"""`vmtop diff REC FROM TO` with a recording's name mistyped (no such file) says so,
and two snapshots given newest first say B is before A.

Before, a file that is not there was taken for "not a recording": `diff rec.gz 2m 8m`
answered "'8m': a time TO follows a recording, not two snapshots (rec.gz is not a
recording)", and `diff rec.gz` how to call diff, both as usage errors, where the
trouble was the name. The truth is the file system's: the path does not exist."""

from __future__ import annotations

import json
import os

import pytest
from conftest import run_vmtop


@pytest.mark.parametrize("times", [(), ("2m",), ("2m", "8m")])
def test_a_recording_that_is_not_there_is_said_so(tmp_path, times):
    missing = tmp_path / "rec.jsonl.gz"
    assert not missing.exists()
    out = run_vmtop("diff", missing, *times)
    err = out.stderr.decode()
    assert (out.returncode, out.stdout) == (2, b""), err
    assert err == f"vmtop: {missing}: no such file\n"


def test_a_directory_given_as_a_recording_is_said_so(tmp_path):
    out = run_vmtop("diff", tmp_path, "2m", "8m")
    err = out.stderr.decode()
    assert out.returncode == 2
    assert err.startswith(f"vmtop: {tmp_path}") and "directory" in err
    assert "a time TO follows a recording" not in err


def test_snapshots_given_newest_first_say_b_is_before_a(tmp_path):
    """Two snapshots of this test's own process, taken in an order the test knows: given
    newest first, B is so long before A (it said "-0.2s after A")."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    for path in (first, second):
        out = run_vmtop("snapshot", os.getpid(), "--format", "json")
        assert out.returncode == 0, out.stderr
        path.write_bytes(out.stdout)
    taken = [json.loads(p.read_bytes())["taken_at"] for p in (first, second)]
    assert taken[0] < taken[1]
    lines = run_vmtop("diff", second, first).stdout.decode().splitlines()
    (b_line,) = [line for line in lines if line.startswith("B  ")]
    assert b_line.endswith(" before A") and "after A" not in b_line, b_line
    lines = run_vmtop("diff", first, second).stdout.decode().splitlines()
    (b_line,) = [line for line in lines if line.startswith("B  ")]
    assert b_line.endswith(" after A") and ", +" in b_line, b_line
