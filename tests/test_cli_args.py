"""The CLI's argument types: what a person pastes is read as they meant it."""

from __future__ import annotations

import argparse

import pytest

from vmtop.cli import parse_address


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0x7fb608b20123", 0x7FB608B20123),
        ("0X10", 0x10),
        ("7fb608b20123", 0x7FB608B20123),  # as maps and pmap print it: hex without 0x
        ("ffffffffff600000", 0xFFFFFFFFFF600000),
        ("4096", 4096),  # digits alone: decimal
        ("00401000", 0x401000),  # zero-padded, as maps prints a non-PIE program: hex
        ("0000000000401126", 0x401126),  # as nm prints it
        ("0", 0),
    ],
)
def test_addresses_are_read_as_printed(text: str, value: int) -> None:
    assert parse_address(text) == value


@pytest.mark.parametrize("text", ["7fzz", "0xg", "", "-1", "1" + "0" * 20, "0x1" + "0" * 16])
def test_what_is_not_an_address_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not an address"):
        parse_address(text)


def test_digits_alone_say_what_they_would_be_as_hex() -> None:
    from vmtop.model.address_text import hex_reading

    assert parse_address("401000") == 401000 and hex_reading("401000") == 0x401000
    assert parse_address("401000").text == "401000"  # kept, to say how it was read
    for text in ("0x401000", "7fab", "00401000", "7", ""):
        assert hex_reading(text) is None, text


def test_demo_refuses_a_copied_tree(tmp_path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "vmtop", "--proc-root", str(tmp_path), "demo", "--no-tui"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--proc-root does not apply" in result.stderr


@pytest.mark.parametrize(
    ("argv", "usage", "unknown"),
    [
        (["report", "rec.jsonl", "--json"], "usage: vmtop report ", "--json"),
        (["snapshot", "1", "--nope"], "usage: vmtop snapshot ", "--nope"),
        (["where", "1", "0x10", "--format", "json"], "usage: vmtop where ", "--format json"),
        (["--nope"], "usage: vmtop [options] [PID]", "--nope"),
    ],
)
def test_an_unknown_option_is_refused_with_its_commands_usage(argv, usage, unknown) -> None:
    """The usage shown is the one of the command the option was given to: vmtop's own
    did not list the command's options."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "vmtop", *argv], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith(usage), result.stderr
    assert f"error: unrecognized arguments: {unknown}\n" in result.stderr


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "nonexistent", "no such directory"),
        (lambda tmp: tmp, "it holds no process directory (PID/): not a copy of /proc"),
        (lambda tmp: (tmp / "f").write_text("x") and tmp / "f", "not a directory"),
    ],
    ids=["missing", "empty", "a file"],
)
@pytest.mark.parametrize("command", [["snapshot", "1"], ["where", "1", "0x1000"], ["serve"]])
def test_a_proc_root_that_is_no_proc_tree_is_refused_saying_why(
    tmp_path, capsys, make, says, command
):
    """A mistyped --proc-root showed an empty picker ("0 processes"), and `serve` served
    it; `snapshot 1` said "no such process: 1"."""
    from vmtop.cli import main

    root = make(tmp_path)
    assert main(["--proc-root", str(root), *command]) == 2
    assert capsys.readouterr().err == f"vmtop: --proc-root {root}: {says}\n"


def test_size_mib_is_the_mmap_demos_only(capsys):
    """It was taken without a word by the other demos, which have no file."""
    from vmtop.cli import main

    assert main(["demo", "malloc", "--no-tui", "--size-mib", "5"]) == 2
    assert capsys.readouterr().err == (
        "vmtop: --size-mib is the mmap demo's; the malloc demo has no file\n"
    )


def test_help_shows_vmtop_pid_first(capsys) -> None:
    """The main use, `vmtop PID`, takes no COMMAND: the usage line says it, and each
    command's own usage stays `vmtop COMMAND`."""
    from vmtop.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "usage: vmtop [options] [PID]"
    assert "'vmtop PID' watches process PID" in " ".join(out.split())
    with pytest.raises(SystemExit):
        build_parser().parse_args(["snapshot", "--help"])
    assert capsys.readouterr().out.startswith("usage: vmtop snapshot [-h]")
