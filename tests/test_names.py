"""The one escaping rule (vmtop.model.names) and writing that never crashes.

Expected escapes are written out by hand from the rule in README ("Names the watched
process chooses"): C0, DEL and C1 as \\xNN, bytes that are not UTF-8 as \\xNN, bidi
controls and line/paragraph separators as \\uNNNN, everything else kept.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmtop.model.names import (
    decode_name,
    display_bytes,
    display_command,
    display_name,
    exact_bytes,
    is_safe,
)
from vmtop.terminal import make_output_safe

CASES = [
    ("plain /usr/lib/libc.so.6", "plain /usr/lib/libc.so.6"),
    ("\x1b[2J", "\\x1b[2J"),
    ("a\rb", "a\\x0db"),
    ("tab\there", "tab\\x09here"),
    ("del\x7f", "del\\x7f"),
    ("nul\x00", "nul\\x00"),
    ("c1\x9b31m", "c1\\x9b31m"),
    ("osc\x1b]52;c;aGk\x07", "osc\\x1b]52;c;aGk\\x07"),
    ("rlo\u202eevil", "rlo\\u202eevil"),
    ("lre\u202a pdf\u202c", "lre\\u202a pdf\\u202c"),
    ("isolates\u2066\u2067\u2068\u2069", "isolates\\u2066\\u2067\\u2068\\u2069"),
    ("marks\u200e\u200f", "marks\\u200e\\u200f"),
    ("arabic mark\u061c", "arabic mark\\u061c"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("kernel's newline \\012 kept", "kernel's newline \\012 kept"),
    ("é 漢字 ok", "é 漢字 ok"),
]


@pytest.mark.parametrize(("raw", "shown"), CASES)
def test_escapes(raw, shown):
    assert display_name(raw) == shown
    assert is_safe(shown)
    assert is_safe(raw) == (raw == shown)


def test_a_command_line_is_one_terminal_line():
    """Newlines and tabs in arguments are spaces (the picker and the process header
    show a command alike); other controls are escaped as in any name."""
    assert display_command("python -c 'a\nb'\tx\x1b[2J") == "python -c 'a b' x\\x1b[2J"


def test_bytes_that_are_not_utf8():
    assert display_bytes(b"lib\xff\xc3(.so") == "lib\\xff\\xc3(.so"
    assert display_bytes("é".encode()) == "é"


def test_json_keeps_the_exact_bytes():
    raw = b"/tmp/\x1b[31m\xff\xe2\x80\xae\r.so"
    text = json.dumps({"path": decode_name(raw)}, ensure_ascii=True)
    assert text.isascii()
    assert "\\udcff" in text and "\\u001b" in text and "\\u202e" in text
    assert exact_bytes(json.loads(text)["path"]) == raw


# Characters a terminal acts on or reorders by: what must never come out.
def _dangerous(ch: str) -> bool:
    code = ord(ch)
    return (
        code < 0x20
        or 0x7F <= code <= 0x9F
        or 0xDC80 <= code <= 0xDCFF
        or unicodedata.bidirectional(ch) in ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI", "LRM", "RLM", "ALM")
        or unicodedata.category(ch) in ("Zl", "Zp")
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_nothing_dangerous_comes_out(raw):
    shown = display_bytes(raw)
    assert not any(_dangerous(c) for c in shown), repr(shown)
    shown.encode("utf-8")  # no lone surrogate left: encodable in any UTF-8 locale


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=32))
def test_nothing_dangerous_comes_out_of_any_text(text):
    shown = display_name(text)
    assert not any(_dangerous(c) for c in shown if not 0xD800 <= ord(c) < 0xDC80)


def test_every_dangerous_code_point_below_u3000_is_escaped():
    for code in range(0x3000):
        ch = chr(code)
        if _dangerous(ch):
            assert display_name(ch) != ch, hex(code)


def test_make_output_safe_never_raises_on_an_ascii_stream():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    make_output_safe(stream)
    stream.write("é漢 \udcff\n")
    stream.flush()
    assert raw.getvalue() == b"\\xe9\\u6f22 \\udcff\n"


@pytest.mark.parametrize("locale", ["C", "C.UTF-8", "POSIX"])
@pytest.mark.parametrize("encoding", [None, "ascii", "latin-1"])
def test_cli_output_in_any_locale(locale, encoding, tmp_path):
    """A name with a character the locale cannot encode is written, not a traceback."""
    pid_dir = tmp_path / "4321"
    pid_dir.mkdir()
    (pid_dir / "maps").write_bytes(
        b"00400000-00401000 r-xp 00000000 08:01 42 /opt/\xe6\xbc\xa2\xe5\xad\x97/\xff\x1b[2Jprog\n"
    )
    (pid_dir / "stat").write_bytes(b"4321 (prog) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n")
    env = dict(os.environ, LC_ALL=locale, LANG=locale)
    env.pop("PYTHONUTF8", None)
    if encoding:
        env["PYTHONIOENCODING"] = encoding
    else:
        env.pop("PYTHONIOENCODING", None)
    for fmt in ("pmap", "csv", "json"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "vmtop",
                "--proc-root",
                str(tmp_path),
                "snapshot",
                "4321",
                "--format",
                fmt,
            ],
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert b"Traceback" not in result.stderr
        assert b"\x1b" not in result.stdout and b"\xff" not in result.stdout
        if fmt == "csv":
            # The escaped name: the CJK characters as the stream's encoding allows.
            assert b"\\xff\\x1b[2Jprog" in result.stdout


# -- a command line in the room there is ---------------------------------------------------


def test_a_long_command_keeps_its_programs_name_in_sight():
    """A program run by its full path (a pyenv interpreter, a demo in a cache directory)
    showed only its directories at 80 columns; htop shows its base name."""
    from vmtop.model.names import fit_command

    command = "/root/.pyenv/versions/3.11.9/bin/python3 /srv/app/grow.py --size 10"
    assert fit_command(command, 200) == command
    assert fit_command(command, 50) == "…/python3 /srv/app/grow.py --size 10"
    assert fit_command(command, 30) == "…/python3 …/grow.py --size 10"
    assert fit_command(command, 24) == "…/python3 …/grow.py --s…"
    demo = "/root/.cache/vmtop/demo-2ff13ab9/vmtop-demo malloc"
    assert fit_command(demo, 30) == "…/vmtop-demo malloc"
    for room in range(0, len(command) + 1):
        assert len(fit_command(command, room)) <= room
    # A kernel thread's name is no path; arguments that are no paths are kept.
    assert fit_command("[kworker/0:1-events]", 10) == "[kworker/…"
    assert fit_command("node -e a/b/c/d/e/f/g", 12) == "node -e a/b…"
