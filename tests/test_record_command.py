"""`vmtop record` as a person runs it: an existing FILE is not overwritten without
--force, `-o -` is stdout (for a pipe), a copied /proc tree is one sample said up front
with the copy's host and kernel (or none, never this machine's), and counts are in
words ("1 sample").

Before, `-o` overwrote a recording silently and `-o -` wrote a file named "-"; a copied
tree was announced as "every 1 s; Ctrl-C stops", --count and --interval were dropped
without a word, its header named this machine's host and kernel, and the last line said
"1 samples".
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
from conftest import PROC_FIXTURES, VMTOP

from vmtop.record.reader import Recording


def record(*args, cwd, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*VMTOP, "record", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=60,
        cwd=cwd,
    )


@pytest.fixture
def sleeper(spawn):
    return spawn([sys.executable, "-c", "import time; time.sleep(60)"])


def test_an_existing_file_is_not_overwritten_without_force(tmp_path, sleeper):
    path = tmp_path / "r.jsonl.gz"
    out = record(sleeper.pid, "-o", path, "--count", "3", "--interval", "0.1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    kept = path.read_bytes()
    assert len(Recording.open(str(path))) == 3
    out = record(sleeper.pid, "-o", path, "--count", "1", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.decode() == (
        f"vmtop: {path} exists: not overwriting it (--force replaces it)\n"
    )
    assert path.read_bytes() == kept
    out = record(sleeper.pid, "-o", path, "--count", "1", "--force", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(Recording.open(str(path))) == 1
    # Not a regular file: written to as it is, without --force, and never removed.
    out = record(sleeper.pid, "-o", os.devnull, "--count", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def test_dash_is_stdout_for_a_pipe(tmp_path, sleeper):
    out = record(sleeper.pid, "-o", "-", "--count", "3", "--interval", "0.1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "-").exists()
    err = out.stderr.decode()
    assert err.startswith(f"vmtop: recording PID {sleeper.pid} (python") and "to stdout" in err
    assert re.match(r"vmtop: done: 3 samples over 0\.\d+s, ", err.splitlines()[-1]), err
    assert err.splitlines()[-1].endswith(" to stdout")
    path = tmp_path / "piped.jsonl.gz"
    path.write_bytes(out.stdout)
    rec = Recording.open(str(path))
    assert len(rec) == 3 and rec.end_reason == "count" and rec.notes == []


def test_a_pipe_closed_early_is_one_line_not_a_traceback(tmp_path, sleeper):
    reader = subprocess.Popen(
        ["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    out = record(
        sleeper.pid, "-o", "-", "--interval", "0.05", "--count", "200", cwd=tmp_path,
        stdout=reader.stdin,
    )  # fmt: skip
    reader.stdin.close()
    reader.wait()
    err = out.stderr.decode()
    assert out.returncode == 1, err
    assert err.splitlines()[-1] == "vmtop: writing stdout: Broken pipe", err
    assert "Traceback" not in err and "Exception" not in err


def test_a_terminal_is_no_place_for_a_recording(tmp_path, sleeper):
    leader, follower = os.openpty()
    try:
        out = record(sleeper.pid, "-o", "-", "--count", "1", cwd=tmp_path, stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert out.returncode == 1
    assert out.stderr.decode() == (
        "vmtop: not writing a recording to a terminal: redirect stdout, or give -o FILE\n"
    )


@pytest.fixture
def copied(tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(PROC_FIXTURES / "7936", root / "7936")
    return root


def _header(path) -> dict:
    with gzip.open(path, "rt") as f:
        return json.loads(f.readline())


def test_a_copied_tree_is_one_sample_said_up_front(tmp_path, copied):
    path = tmp_path / "c.jsonl.gz"
    out = subprocess.run(
        [*VMTOP, "--proc-root", copied, "record", "7936", "-o", path,
         "--count", "5", "--interval", "0.2"],
        capture_output=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    first, last = out.stderr.decode().splitlines()
    assert first == (
        f"vmtop: recording one sample of PID 7936 (sleep) in the copied tree {copied} to "
        f"{path}: a copy does not change (--interval and --count do not apply)"
    )
    assert last.startswith("vmtop: done: 1 sample, ") and "samples" not in last
    rec = Recording.open(str(path))
    assert len(rec) == 1 and rec.end_reason == "copy"
    header = _header(path)
    # The fixture copies hold no sys/kernel/: not known, so not said.
    assert "kernel" not in header and "hostname" not in header
    assert header["source"] == "copy"
    out = subprocess.run(
        [*VMTOP, "--proc-root", copied, "record", "7936", "-o", path, "--force"],
        capture_output=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert out.stderr.decode().splitlines()[0].endswith(": a copy does not change")


def test_a_copied_tree_with_its_host_and_kernel_names_them(tmp_path, copied):
    (copied / "sys" / "kernel").mkdir(parents=True)
    (copied / "sys" / "kernel" / "hostname").write_text("elsewhere\n")
    (copied / "sys" / "kernel" / "osrelease").write_text("5.10.0-elsewhere\n")
    assert socket.gethostname() != "elsewhere"
    path = tmp_path / "c.jsonl.gz"
    out = subprocess.run(
        [*VMTOP, "--proc-root", copied, "record", "7936", "-o", path],
        capture_output=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    header = _header(path)
    assert header["hostname"] == "elsewhere" and header["kernel"] == "5.10.0-elsewhere"
    # What no kernel would print (an escape sequence) is not taken for a name.
    (copied / "sys" / "kernel" / "hostname").write_text("\x1b]0;pwned\x07\n")
    out = subprocess.run(
        [*VMTOP, "--proc-root", copied, "record", "7936", "-o", path, "--force"],
        capture_output=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "hostname" not in _header(path)


def test_one_sample_is_one_sample(tmp_path, sleeper):
    out = record(sleeper.pid, "-o", tmp_path / "one.jsonl.gz", "--count", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    last = out.stderr.decode().splitlines()[-1]
    assert last.startswith("vmtop: done: 1 sample, "), last


def test_an_output_path_with_control_characters_is_shown_not_obeyed(tmp_path, sleeper):
    # The path was printed raw: a newline in it broke the line, an escape coloured the
    # terminal. It is written to as given and shown escaped, as process names are.
    path = tmp_path / "a\nb\x1b[31m.rec"
    out = record(sleeper.pid, "-o", path, "--count", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(Recording.open(str(path))) == 1
    said = out.stderr.decode()
    assert "\x1b" not in said and "a\\x0ab\\x1b[31m.rec" in said, said
    assert all(line.startswith("vmtop: ") for line in said.splitlines()), said
    out = record(sleeper.pid, "-o", path, "--count", "1", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.decode().count("\n") == 1 and "\x1b" not in out.stderr.decode()
