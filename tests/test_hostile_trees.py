"""Hostile copied /proc trees: each a clear line naming the file, within a second; never
a traceback, a MemoryError or a hang.

A copied tree is whatever someone handed over. Before, a FIFO as ``PID/maps`` hung
``snapshot`` for ever (and the picker, ignoring Ctrl-C); ``maps`` linked to
``/dev/zero`` was read until MemoryError; a 17-digit address was taken silently; a
malformed ``stat`` was "exited while being read"; ``where`` on a tree with smaps but no
maps said it "has neither smaps nor maps".

Every case runs each command in-process under a one-second alarm (a blocked open or an
endless read is interrupted, and fails the test), and the nastiest ones also as a real
process, checking the exit status and that stderr is one line.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest

from vmtop.cli import main
from vmtop.procfs.processes import ProcessLister
from vmtop.procfs.reader import ProcFS

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "proc" / "7936"
PID = 7936
ADDRESS = "0x5563ed6d5000"  # the start of /usr/bin/sleep's first region in the fixture
REPO = Path(__file__).resolve().parent.parent


class Hung(Exception):
    pass


@contextmanager
def within(seconds: float):
    """Fail (Hung) when the block takes longer: SIGALRM interrupts a blocked syscall."""

    def expire(signum, frame):
        raise Hung(f"still running after {seconds}s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def make_tree(root: Path) -> Path:
    """A copy of a recorded process (maps, smaps, stat, status, cmdline): PID/ in root."""
    pid_dir = root / str(PID)
    shutil.copytree(FIXTURE, pid_dir)
    return pid_dir


def fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def link(path: Path, target: str) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to(target)


def sparse(path: Path, size: int) -> None:
    path.unlink(missing_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)


def write(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def garbage(n: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


MAPS_LINE = b"5563ed6d5000-5563ed6d7000 r--p 00000000 fe:00 260875 /usr/bin/sleep\n"

# name -> (how to spoil the tree, which file the message must name, words it must hold)
# Where both maps and smaps exist vmtop reads smaps; "maps" cases remove smaps first.
CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "maps FIFO": (lambda d: fifo(d / "maps"), "maps", "FIFO"),
    "smaps FIFO": (lambda d: fifo(d / "smaps"), "smaps", "FIFO"),
    "stat FIFO": (lambda d: fifo(d / "stat"), "stat", "FIFO"),
    "status FIFO": (lambda d: fifo(d / "status"), "status", "FIFO"),
    "cmdline to /dev/zero": (lambda d: link(d / "cmdline", "/dev/zero"), "cmdline", "out of the tree"),
    "maps to /dev/zero": (lambda d: link(d / "maps", "/dev/zero"), "maps", "out of the tree"),
    "smaps to /dev/zero": (lambda d: link(d / "smaps", "/dev/zero"), "smaps", "out of the tree"),
    "maps a directory": (lambda d: (d / "maps").unlink() or (d / "maps").mkdir(), "maps", "directory"),
    "maps 2 GiB sparse": (lambda d: sparse(d / "maps", 2 << 30), "maps", "larger than 1 GiB"),
    "smaps 2 GiB sparse": (lambda d: sparse(d / "smaps", 2 << 30), "smaps", "larger than 1 GiB"),
    "maps binary garbage": (lambda d: write(d / "maps", garbage(5000, 1)), "maps", "malformed"),
    "smaps binary garbage": (lambda d: write(d / "smaps", garbage(5000, 2)), "smaps", "malformed"),
    "maps 64 KiB line": (lambda d: write(d / "maps", MAPS_LINE + b"x" * 65536 + b"\n"), "maps", "line 2 is malformed"),
    "maps NUL bytes": (lambda d: write(d / "maps", MAPS_LINE + b"\0" * 100 + b"\n"), "maps", "line 2 is malformed"),
    "maps NUL in a line": (lambda d: write(d / "maps", MAPS_LINE.replace(b" r--p", b"\0r--p")), "maps", "line 1 is malformed"),
    "maps address 2^64": (
        lambda d: write(d / "maps", MAPS_LINE + b"10000000000000000-10000000000001000 r--p 00000000 00:00 0 \n"),
        "maps",
        "out of range",
    ),
    "maps 17-digit end": (
        lambda d: write(d / "maps", MAPS_LINE + b"7fff0000-10000000000001000 r--p 00000000 00:00 0\n"),
        "maps",
        "out of range",
    ),
    "smaps address 2^64": (
        lambda d: write(d / "smaps", (d / "smaps").read_bytes() + b"10000000000000000-10000000000001000 r--p 00000000 00:00 0 \nSize: 4 kB\n"),
        "smaps",
        "out of range",
    ),
    "stat malformed": (lambda d: write(d / "stat", b"7936 (sleep) this is not a stat line\n"), "stat", "malformed"),
    "stat garbage": (lambda d: write(d / "stat", garbage(300, 3)), "stat", "malformed"),
}  # fmt: skip
MAPS_CASES = {name for name in CASES if name.startswith("maps")}


def spoiled_tree(tmp_path: Path, name: str) -> Path:
    pid_dir = make_tree(tmp_path / "tree")
    if name in MAPS_CASES:
        (pid_dir / "smaps").unlink()
    spoil, _file, _words = CASES[name]
    spoil(pid_dir)
    return tmp_path / "tree"


COMMANDS = {
    "pmap": ["snapshot", str(PID)],
    "json": ["snapshot", "--format", "json", str(PID)],
    "csv": ["snapshot", "--format", "csv", str(PID)],
    "where": ["where", str(PID), ADDRESS],
    "where-json": ["where", "--json", str(PID), ADDRESS],
    "watch": ["watch", "--count", "1", str(PID)],
}


def run_in_process(tree: Path, args: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    with within(1.0):
        code = main(["--proc-root", str(tree), *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clear_line(err: str, tree: Path, name: str) -> None:
    _spoil, file, words = CASES[name]
    lines = err.splitlines()
    assert "Traceback" not in err and "MemoryError" not in err
    # watch prints its notice first; the failure is then the last line.
    assert len(lines) == 1, err
    line = lines[-1]
    assert line.startswith("vmtop: "), line
    assert f"{tree}/{PID}/{file}" in line, line
    assert words in line, line


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_command_says_what_is_wrong(name, tmp_path, capsys):
    tree = spoiled_tree(tmp_path, name)
    for command, args in COMMANDS.items():
        code, out, err = run_in_process(tree, args, capsys)
        if name.startswith("smaps") and command.startswith("where"):
            assert code == 0, err  # where reads maps alone, and that one is fine
            continue
        assert code == 1, (command, out, err)
        assert_one_clear_line(err, tree, name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_picker_lists_without_hanging(name, tmp_path):
    tree = spoiled_tree(tmp_path, name)
    with within(1.0):
        rows = {row.pid: row for row in ProcessLister(ProcFS(str(tree))).list()}
    _spoil, file, _words = CASES[name]
    if file == "stat":
        assert PID not in rows  # without a readable stat there is nothing to list
    elif name in ("maps FIFO", "maps a directory", "maps to /dev/zero"):
        # The picker only opens maps: a file it will not read is marked, with why.
        assert rows[PID].denied is not None and f"{PID}/maps" in rows[PID].denied
    else:
        assert PID in rows


@pytest.mark.parametrize(
    "name", ["maps FIFO", "smaps to /dev/zero", "maps 2 GiB sparse", "stat malformed"]
)
def test_as_a_real_process(name, tmp_path):
    tree = spoiled_tree(tmp_path, name)
    t0 = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "vmtop", "--proc-root", str(tree), "snapshot", str(PID)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    elapsed = time.monotonic() - t0
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert_one_clear_line(result.stderr, tree, name)
    assert elapsed < 5, f"{elapsed:.1f}s"  # an interpreter start on a shared machine


def test_symlink_out_of_the_tree_is_not_followed(tmp_path, capsys):
    # The target outside is a perfectly good maps: it must still not be read.
    outside = tmp_path / "elsewhere"
    outside.write_bytes(MAPS_LINE)
    tree = tmp_path / "tree"
    pid_dir = make_tree(tree)
    (pid_dir / "smaps").unlink()
    link(pid_dir / "maps", str(outside))
    code, _out, err = run_in_process(tree, COMMANDS["pmap"], capsys)
    assert code == 1
    assert f"{tree}/{PID}/maps" in err and "out of the tree" in err and str(outside) in err


def test_symlinks_inside_the_tree_are_followed(tmp_path, capsys):
    tree = tmp_path / "tree"
    pid_dir = make_tree(tree)
    (pid_dir / "smaps").rename(tree / "smaps.copy")
    link(pid_dir / "smaps", "../smaps.copy")
    code, out, err = run_in_process(tree, COMMANDS["pmap"], capsys)
    assert code == 0, err
    assert "/usr/bin/sleep" in out or "sleep" in out


def test_where_on_a_tree_with_smaps_but_no_maps(tmp_path, capsys):
    tree = tmp_path / "tree"
    pid_dir = make_tree(tree)
    (pid_dir / "maps").unlink()
    code, out, err = run_in_process(tree, COMMANDS["where"], capsys)
    assert code == 0, err
    assert out.startswith(ADDRESS) and "sleep" in out


def test_where_on_a_tree_with_neither(tmp_path, capsys):
    tree = tmp_path / "tree"
    pid_dir = make_tree(tree)
    (pid_dir / "maps").unlink()
    (pid_dir / "smaps").unlink()
    code, _out, err = run_in_process(tree, COMMANDS["where"], capsys)
    assert code == 1 and "neither smaps nor maps" in err


@pytest.mark.parametrize("address", ["0x10000000000000000", str(1 << 64), "0x" + "f" * 17])
def test_where_address_of_2_64_or_more_is_a_usage_error(address, tmp_path, capsys):
    tree = tmp_path / "tree"
    make_tree(tree)
    with pytest.raises(SystemExit) as stop:
        main(["--proc-root", str(tree), "where", str(PID), address])
    assert stop.value.code == 2
    assert "2^64" in capsys.readouterr().err


def test_where_highest_address_is_fine(tmp_path, capsys):
    tree = tmp_path / "tree"
    make_tree(tree)
    code, out, err = run_in_process(tree, ["where", str(PID), hex((1 << 64) - 1)], capsys)
    assert code == 0, err
    assert "0xffffffffffffffff" in out and "not mapped" in out
