"""pmap's first line: the command line escaped as procps escapes it, in the user's locale.

Ground truth: the real `pmap -x` run in the same environment (C, C.UTF-8, and no locale
variables at all, where pmap runs in the C locale and Python coerces its own to C.UTF-8),
and escapes written out by hand from what procps-ng 4.0.2 printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from vmtop.output.pmap import locale_is_utf8, pmap_command

# ESC, TAB, newline, DEL, two printable non-ASCII characters, a byte that is not UTF-8.
ARGS = ["a\x1b[31mb", "t\th", "n\nl", "del\x7fx", "é中", "bad\udcffx"]


def test_c0_controls_are_question_marks_in_a_utf8_locale():
    shown = pmap_command(" ".join(ARGS), utf8=True)
    assert shown == "a?[31mb t?h n l del?x é中 bad?x"


def test_from_a_byte_that_is_not_utf8_on_the_rest_is_escaped_as_in_the_c_locale():
    # procps gives up on the string there (esc_all over the rest).
    shown = pmap_command("t\th bad\udcffx d\x7fl é", utf8=True)
    assert shown == "t?h bad?x d.l ??"


def test_c0_controls_are_dots_and_high_bytes_question_marks_in_the_c_locale():
    shown = pmap_command(" ".join(ARGS), utf8=False)
    # é and 中 are 2 and 3 bytes of UTF-8: one '?' each.
    assert shown == "a.[31mb t.h n l del.x ????? bad?x"
    assert pmap_command("x\x00y", utf8=False) == "x.y"


def test_vmtop_never_writes_c1_or_bidi_controls_even_where_pmap_would():
    assert pmap_command("x\u009by\u202ez", utf8=True) == "x?y?z"


@pytest.mark.parametrize(
    "env, utf8",
    [
        ({"LANG": "en_US.UTF-8"}, True),
        ({"LANG": "de_DE.utf8"}, True),
        ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, False),
        ({"LC_CTYPE": "C.UTF-8", "LANG": "fr_FR.UTF-8"}, True),
        ({"LC_ALL": "C.UTF-8"}, True),
        ({}, False),
        ({"LANG": "POSIX"}, False),
        # Python's own coercion of a C locale (PEP 538): pmap would have run in C.
        ({"LC_CTYPE": "C.UTF-8"}, False),
        ({"LANG": "en_US.ISO-8859-1"}, False),
    ],
)
def test_the_locale_is_found_as_a_c_program_finds_it(env, utf8):
    assert locale_is_utf8(env) is utf8


def _environments() -> list[dict[str, str]]:
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    bare.pop("PYTHONUTF8", None)
    return [dict(bare, LC_ALL="C"), dict(bare, LC_ALL="C.UTF-8"), bare]


@pytest.mark.live
@pytest.mark.parametrize("which", ["LC_ALL=C", "LC_ALL=C.UTF-8", "no locale variables"])
@pytest.mark.parametrize("bad_first", [False, True], ids=["not-utf8-last", "not-utf8-first"])
def test_the_header_is_the_one_pmap_prints(which, bad_first):
    if not shutil.which("pmap"):
        pytest.skip("pmap (procps) is not installed")
    env = _environments()[["LC_ALL=C", "LC_ALL=C.UTF-8", "no locale variables"].index(which)]
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    args = [ARGS[-1], *ARGS[:-1]] if bad_first else ARGS
    argv += [a.encode("utf-8", "surrogateescape") for a in args]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while b"bad" not in open(f"/proc/{child.pid}/cmdline", "rb").read():
            assert time.monotonic() < deadline, "the child never exec'd"
            time.sleep(0.02)
        real = subprocess.run(["pmap", "-x", str(child.pid)], capture_output=True, env=env)
        ours = subprocess.run(
            [sys.executable, "-m", "vmtop", "snapshot", str(child.pid)],
            capture_output=True,
            env=env,
            timeout=60,
        )
    finally:
        child.kill()
        child.wait()
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines()[0] == real.stdout.splitlines()[0]
