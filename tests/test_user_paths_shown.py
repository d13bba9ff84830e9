"""A path the user gives is shown escaped in every message, not obeyed: a newline in
it would forge a second line, an escape would recolour or clear the terminal. Record's
output path was escaped first; these are the other commands that name a user's file."""

from __future__ import annotations

import gzip
import os
import subprocess

import pytest
from conftest import VMTOP

HOSTILE = "a\nb\x1b[2J.x"
SHOWN = "a\\x0ab\\x1b[2J.x"


def vmtop(*args, env=None):
    return subprocess.run(
        [*VMTOP, *map(str, args)],
        capture_output=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def said_safely(out) -> str:
    said = out.stderr.decode()
    assert "\x1b" not in said, said
    assert said and all(line.startswith("vmtop: ") for line in said.splitlines()), said
    assert SHOWN in said, said
    return said


@pytest.mark.parametrize(
    "command",
    [
        ["replay", "{p}", "--events"],
        ["replay", "{p}", "--at", "start"],
        ["report", "{p}"],
        ["diff", "{p}", "{p}"],
    ],
    ids=["replay-events", "replay-at", "report", "diff"],
)
@pytest.mark.parametrize("what", ["missing", "not-ours", "directory"])
def test_a_file_command_shows_a_bad_path_escaped(tmp_path, command, what):
    path = tmp_path / HOSTILE
    if what == "not-ours":
        path.write_bytes(b"neither JSON nor gzip\n")
    elif what == "directory":
        path.mkdir()
    out = vmtop(*(part.replace("{p}", str(path)) for part in command))
    assert out.returncode != 0
    said_safely(out)


def test_a_damaged_recordings_notes_show_its_path_escaped(tmp_path):
    # A recording cut short is read up to the damage, with a note naming the file.
    path = tmp_path / HOSTILE
    header = b'{"format": "vmtop-recording"}\n'
    path.write_bytes(gzip.compress(header)[:-9])
    out = vmtop("replay", path, "--events")
    said_safely(out)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_missing_config_file_is_named_escaped(tmp_path, how):
    path = tmp_path / HOSTILE
    if how == "option":
        out = vmtop("--config", path, "--print-config")
    else:
        out = vmtop("--print-config", env={"VMTOP_CONFIG": str(path)})
    assert out.returncode != 0
    said_safely(out)


def test_a_bad_config_file_is_named_escaped_and_its_source_too(tmp_path):
    path = tmp_path / HOSTILE
    path.write_text("interval = 2\n")
    out = vmtop("--config", path, "--print-config")
    assert out.returncode == 0, out.stderr
    printed = out.stdout.decode()
    assert "\x1b" not in printed and SHOWN in printed, printed
    path.write_text("interval = [\n")
    out = vmtop("--config", path, "--print-config")
    assert out.returncode != 0
    said_safely(out)


def test_a_snapshot_of_another_format_version_says_the_version_escaped(tmp_path):
    path = tmp_path / "v.json"
    path.write_text('{"format": "vmtop-snapshot", "format_version": "\\u001b[2J"}')
    out = vmtop("diff", path, path)
    assert out.returncode == 2
    said = out.stderr.decode()
    assert "\x1b" not in said and "format version" in said, said
