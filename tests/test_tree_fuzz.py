"""Hypothesis over whole copied trees: random files under a PID directory.

Each of maps, smaps, stat, status, cmdline (and a thread's stat) is missing, a FIFO, a
directory, a symlink out of the tree, a symlink to another file of the tree, random
/proc-like bytes, or a real file of a recorded process with a slice replaced by random
bytes. Every command (snapshot as pmap, JSON and CSV, where, where --json) and the
picker's lister must then finish within two seconds with status 0 or 1 (one line on
stderr), never an exception, and print no raw control character.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmtop.cli import main
from vmtop.procfs.processes import ProcessLister
from vmtop.procfs.reader import ProcFS

EXAMPLES = int(os.environ.get("VMTOP_FUZZ_EXAMPLES", "60"))
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "proc" / "7936"
PID = 7936
FILES = ("maps", "smaps", "stat", "status", "cmdline", "task/7937/stat")
ADDRESS = "0x5563ed6d6000"

PIECES = [
    b"\n", b" ", b"-", b":", b" kB", b"0", b"7f", b"ffffffffff600000", b"10000000000000000",
    b"r-xp", b"rw-s", b"00:00", b"fe:00", b"Rss:", b"Size:", b"VmFlags:", b" rd mr", b"\\012",
    b"\xff", b"\x1b[2J", b"\x00", b"\xe2\x80\xae", b"\xc2\x9b", b"(", b")", b"S", b"Z",
    b"/usr/lib/x.so", b"[heap]", b"5563ed6d5000-5563ed6d7000 ", b"Name:\t", b"VmRSS:",
]  # fmt: skip
PROCISH = st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)


@st.composite
def mutated_real(draw, name: str) -> bytes:
    real_path = FIXTURE / name
    real = real_path.read_bytes() if real_path.exists() else b""
    if not real:
        return draw(PROCISH)
    start = draw(st.integers(0, len(real)))
    stop = draw(st.integers(start, min(len(real), start + 200)))
    insert = draw(st.one_of(PROCISH, st.binary(max_size=64)))
    return real[:start] + insert + real[stop:]


def file_spec(name: str):
    return st.one_of(
        st.just(("missing",)),
        st.just(("fifo",)),
        st.just(("dir",)),
        st.just(("out",)),
        st.sampled_from(FILES).map(lambda other: ("inside", other)),
        PROCISH.map(lambda data: ("bytes", data)),
        st.binary(max_size=300).map(lambda data: ("bytes", data)),
        mutated_real(name).map(lambda data: ("bytes", data)),
        st.just(("real",)),
    )


TREES = st.fixed_dictionaries({name: file_spec(name) for name in FILES})


def build(root: Path, tree: dict) -> None:
    pid_dir = root / str(PID)
    (pid_dir / "task" / "7937").mkdir(parents=True)
    for name, spec in tree.items():
        path = pid_dir / name
        kind = spec[0]
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "dir":
            path.mkdir()
        elif kind == "out":
            path.symlink_to("/dev/zero")
        elif kind == "inside":
            path.symlink_to(pid_dir / spec[1])  # may dangle, or point at a FIFO
        elif kind == "bytes":
            path.write_bytes(spec[1])
        elif kind == "real" and (FIXTURE / name).exists():
            shutil.copyfile(FIXTURE / name, path)


class Hung(Exception):
    pass


@contextmanager
def within(seconds: float):
    def expire(signum, frame):
        raise Hung(f"still running after {seconds}s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


UNSAFE = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\n"}
UNSAFE |= set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def assert_printable(text: str, what: str) -> None:
    bad = {c for c in text if c in UNSAFE or 0xDC80 <= ord(c) <= 0xDCFF}
    assert not bad, f"{what}: raw {sorted(bad)!r}"


COMMANDS = (
    ["snapshot", str(PID)],
    ["snapshot", "--format", "json", str(PID)],
    ["snapshot", "--format", "csv", str(PID)],
    ["where", str(PID), ADDRESS],
    ["where", "--json", str(PID), ADDRESS],
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(tree=TREES)
def test_any_tree_gives_output_or_one_line(tree, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, tree)
        for args in COMMANDS:
            capsys.readouterr()
            with within(2.0):
                code = main(["--proc-root", tmp, *args])
            out, err = capsys.readouterr()
            assert code in (0, 1), (args, err)
            if code == 1:
                assert out == "" and len(err.splitlines()) == 1, (args, err)
                assert err.startswith("vmtop: ")
            assert_printable(out, " ".join(args))
            assert_printable(err, " ".join(args) + " (stderr)")
        with within(2.0):
            ProcessLister(ProcFS(tmp)).list()
