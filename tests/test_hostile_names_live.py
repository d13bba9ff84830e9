"""Hostile names: nothing the target controls reaches the terminal raw.

A C target dlopens a library built here whose file name, section names and symbol names
(renamed with objcopy) carry ESC sequences (clear screen, OSC 52 clipboard write), CR,
DEL, a C1 CSI, U+202E (right-to-left override), TAB and a byte that is not UTF-8, and
maps a data file with such a name. Every command's output is checked byte by byte for
raw control bytes, under the C locale and a UTF-8 one: pmap, csv, json, where (text and
JSON), watch (text and JSON), the error/notice lines on stderr, and the TUI through tmux
(its raw output stream, captured with pipe-pane).

Ground truth for what must be shown: the escapes are written out by hand below (not
produced by vmtop's escaping function), and the section and symbol names come from
readelf and nm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_elf import C_DIR, REPO, require_tools

pytestmark = pytest.mark.live

# Everything a hostile name may carry, as raw bytes: clear screen and home, an OSC 52
# clipboard write ("hi"), CR, DEL, C1 CSI (U+009B as UTF-8), U+202E, TAB, byte 0xff.
HOSTILE = b"\x1b[2J\x1b[H\x1b]52;c;aGk\x07\r\x7f\xc2\x9b\xe2\x80\xae\t\xff"
# The same, as text outputs must show it (written by hand: the rule in README).
HOSTILE_SHOWN = r"\x1b[2J\x1b[H\x1b]52;c;aGk\x07\x0d\x7f\x9b\u202e\x09\xff"
# As procps pmap shows a file name: each byte outside printable ASCII is '?'.
HOSTILE_PMAP = "?[2J?[H?]52;c;aGk" + "?" * 10

SECTION_TEXT = b".evtext" + HOSTILE
SECTION_DATA = b".evdata" + HOSTILE
SYMBOL_CODE = b"evcode" + HOSTILE
SYMBOL_DATA = b"evvalue" + HOSTILE
LIB_NAME = b"lib" + HOSTILE + b"HOSTILELIB.so"
DATA_NAME = b"data" + HOSTILE + b"HOSTILEDATA"

# Byte sequences that must never appear in what vmtop writes, TUI included (Textual
# writes its own escape codes, but never these).
NEVER_RAW = [
    b"\x1b[2J\x1b[H",  # the hostile clear-screen
    b"\x1b]52;",  # an OSC 52 clipboard write
    b"\x07\r\x7f",
    b"\xc2\x9b",  # C1 CSI
    b"\xe2\x80\xae",  # U+202E
    b"\xff",  # never in UTF-8
]
LOCALES = ["C", "C.UTF-8"]
VMTOP = [sys.executable, "-m", "vmtop"]


def assert_no_raw_controls(data: bytes, what: str) -> None:
    """Text output: no C0 control but newline, no DEL, valid UTF-8 without C1 controls
    or bidi controls."""
    for i, byte in enumerate(data):
        if (byte < 0x20 and byte != 0x0A) or byte == 0x7F:
            raise AssertionError(
                f"{what}: raw control byte {byte:#04x} at {i}: {data[i - 40 : i + 40]!r}"
            )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError(
            f"{what}: not UTF-8 at {e.start}: {data[e.start - 40 : e.start + 40]!r}"
        ) from None
    bad = [
        c
        for c in text
        if 0x80 <= ord(c) <= 0x9F
        or c in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    ]
    assert not bad, f"{what}: C1 or bidi controls {bad!r}"


def run(args: list[str], locale: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL=locale, LANG=locale)
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    return subprocess.run(
        [*VMTOP, *args], capture_output=True, timeout=60, cwd=REPO, env=env, **kwargs
    )


class Target:
    def __init__(self, proc: subprocess.Popen, code: int, data: int, lib: bytes, datafile: bytes):
        self.proc = proc
        self.pid = proc.pid
        self.code = code
        self.data = data
        self.lib = lib
        self.datafile = datafile

    def read_line(self, timeout: float = 10) -> bytes:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout), "the target printed nothing"
        return self.proc.stdout.readline()

    def map_again(self) -> int:
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        line = self.read_line()
        assert line.startswith(b"MAPPED "), line
        return int(line.split()[1], 16)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, bytes, bytes]:
    require_tools("gcc", "objcopy")
    where = tmp_path_factory.mktemp("hostile")
    plain = where / "plain.so"
    exe = where / "hostile_target"
    for cmd in (
        ["gcc", "-O0", "-shared", "-fPIC", "-o", str(plain), str(C_DIR / "hostile_lib.c")],
        ["gcc", "-O0", "-o", str(exe), str(C_DIR / "hostile_target.c"), "-ldl"],
    ):
        result = subprocess.run(cmd, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    lib = bytes(where) + b"/" + LIB_NAME
    rename = [
        b"objcopy",
        b"--rename-section", b".hostile_text=" + SECTION_TEXT,
        b"--rename-section", b".hostile_data=" + SECTION_DATA,
        b"--redefine-sym", b"hostile_code=" + SYMBOL_CODE,
        b"--redefine-sym", b"hostile_value=" + SYMBOL_DATA,
        bytes(plain), lib,
    ]  # fmt: skip
    result = subprocess.run(rename, capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"objcopy cannot rename to these names: {result.stderr!r}")
    # Ground truth that the names are in the ELF file as bytes: its string tables, read
    # here with struct (readelf and nm print control characters as ^[).
    dumped = string_tables(Path(os.fsdecode(lib)).read_bytes())
    assert SECTION_TEXT in dumped[".shstrtab"] and SECTION_DATA in dumped[".shstrtab"]
    assert SYMBOL_CODE in dumped[".strtab"] and SYMBOL_DATA in dumped[".strtab"]
    datafile = bytes(where) + b"/" + DATA_NAME
    with open(datafile, "wb") as f:
        f.write(b"hostile data\n" * 400)
    return exe, lib, datafile


@pytest.fixture
def target(built):
    exe, lib, datafile = built
    proc = subprocess.Popen(
        [bytes(exe), lib, datafile], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith(b"CODE "), first
        parts = first.split()
        assert proc.stdout.readline().strip() == b"READY"
        yield Target(proc, int(parts[1], 16), int(parts[3], 16), lib, datafile)
    finally:
        proc.kill()
        proc.wait()


def string_tables(elf: bytes) -> dict[str, list[bytes]]:
    """The NUL-separated strings of each SHT_STRTAB section of a 64-bit little-endian
    ELF file, by section name."""
    import struct

    (shoff,) = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names_at, names_size = headers[shstrndx][4], headers[shstrndx][5]
    names = elf[names_at : names_at + names_size]
    tables = {}
    for name, kind, _flags, _addr, offset, size in headers:
        if kind == 3:  # SHT_STRTAB
            title = names[name : names.index(b"\0", name)].decode()
            tables[title] = elf[offset : offset + size].split(b"\0")
    return tables


def lib_basename_shown() -> str:
    return "lib" + HOSTILE_SHOWN + "HOSTILELIB.so"


@pytest.mark.parametrize("locale", LOCALES)
def test_snapshot_formats_escape_every_name(target, locale):
    pmap = run(["snapshot", str(target.pid)], locale)
    csv_out = run(["snapshot", "--format", "csv", str(target.pid)], locale)
    json_out = run(["snapshot", "--format", "json", str(target.pid)], locale)
    for name, result in (("pmap", pmap), ("csv", csv_out), ("json", json_out)):
        assert result.returncode == 0, (name, result.stderr)
        assert b"Traceback" not in result.stderr
        assert_no_raw_controls(result.stdout, f"snapshot {name} under {locale}")
        assert_no_raw_controls(result.stderr, f"snapshot {name} stderr under {locale}")

    # pmap: the library's rows show its name as procps does ('?' per odd byte); the
    # real pmap, when present, prints the same Mapping column.
    pmap_text = pmap.stdout.decode()
    shown = "lib" + HOSTILE_PMAP + "HOSTILELIB.so"
    assert shown in pmap_text
    if shutil.which("pmap"):
        real = subprocess.run(["pmap", "-x", str(target.pid)], capture_output=True).stdout
        assert shown.encode() in real

    # CSV: the path, object and sections columns all escaped, section names included.
    csv_text = csv_out.stdout.decode()
    assert lib_basename_shown() in csv_text
    assert ".evtext" + HOSTILE_SHOWN in csv_text
    assert ".evdata" + HOSTILE_SHOWN in csv_text

    # JSON: pure ASCII, and the exact bytes come back through surrogateescape.
    json_out.stdout.decode("ascii")
    document = json.loads(json_out.stdout)
    paths = {r["path"].encode("utf-8", "surrogateescape") for r in document["regions"]}
    assert target.lib in paths and target.datafile in paths
    sections = {
        s.encode("utf-8", "surrogateescape") for r in document["regions"] for s in r["sections"]
    }
    assert {SECTION_TEXT, SECTION_DATA} <= sections


@pytest.mark.parametrize("locale", LOCALES)
def test_where_escapes_section_and_symbol_names(target, locale):
    text = run(["where", str(target.pid), hex(target.code), hex(target.data)], locale)
    assert text.returncode == 0, text.stderr
    assert_no_raw_controls(text.stdout, f"where under {locale}")
    lines = text.stdout.decode().splitlines()
    assert len(lines) == 2
    assert ".evtext" + HOSTILE_SHOWN in lines[0]
    assert "evcode" + HOSTILE_SHOWN + "+0x0" in lines[0]
    assert ".evdata" + HOSTILE_SHOWN in lines[1]
    assert "evvalue" + HOSTILE_SHOWN + "+0x0" in lines[1]
    assert lib_basename_shown() in lines[0]

    as_json = run(["where", "--json", str(target.pid), hex(target.code)], locale)
    assert as_json.returncode == 0, as_json.stderr
    as_json.stdout.decode("ascii")
    document = json.loads(as_json.stdout)
    assert document["format"] == "vmtop-where" and document["format_version"] == 1
    (result,) = document["results"]
    assert result["section"].encode("utf-8", "surrogateescape") == SECTION_TEXT
    assert result["symbol"].encode("utf-8", "surrogateescape") == SYMBOL_CODE
    assert result["region"]["path"].encode("utf-8", "surrogateescape") == target.lib


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_watch_escapes_names_in_events(target, locale, as_json):
    env = dict(os.environ, LC_ALL=locale, LANG=locale)
    args = ["watch", str(target.pid), "--interval", "0.2", "--count", "6"]
    watch = subprocess.Popen(
        [*VMTOP, *args, *(["--json"] if as_json else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    try:
        # Its notice on stderr comes after its first snapshot: the mapping is then new
        # to it (a fixed 0.5 s was before the first snapshot on a loaded machine, CI).
        notice = watch.stderr.readline()
        address = target.map_again()
        out, err = watch.communicate(timeout=30)
        err = notice + err
    finally:
        watch.kill()
    assert watch.returncode == 0, err
    assert_no_raw_controls(out, f"watch under {locale}")
    assert_no_raw_controls(err, f"watch stderr under {locale}")
    assert rb"ev\x1b[2J\x9b\x7f" in err  # the hostile comm, escaped, in the notice
    if as_json:
        out.decode("ascii")
        header, *events = [json.loads(line) for line in out.splitlines()]
        assert header["format"] == "vmtop-watch"
        mapped = [e for e in events if int(e["start"], 16) <= address < int(e["end"], 16)]
        assert mapped, events
        assert mapped[0]["path"].encode("utf-8", "surrogateescape") == target.datafile
    else:
        lines = [line for line in out.decode().splitlines() if f"{address:#014x}" in line]
        assert lines, out
        assert "data" + HOSTILE_SHOWN + "HOSTILEDATA" in lines[0]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("locale", LOCALES)
def test_tui_never_writes_a_hostile_name_raw(target, locale, tmp_path):
    socket = f"vmtop-hostile-{os.getpid()}-{locale}"
    raw = tmp_path / "pane.raw"

    def tmux(*args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "h")

    def wait_for(check, what: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = screen()
            if check(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"no {what} within {timeout}s; the pane shows:\n{text}")

    command = f"env LC_ALL={locale} LANG={locale} TERM=xterm-256color {sys.executable} -m vmtop {target.pid}"
    try:
        tmux(
            "new-session",
            "-d",
            "-s",
            "h",
            "-x",
            "200",
            "-y",
            "50",
            "-c",
            str(REPO),
            "bash --norc --noprofile",
        )
        tmux("pipe-pane", "-o", "-t", "h", f"cat >> {raw}")
        tmux("send-keys", "-t", "h", command, "Enter")
        wait_for(lambda t: "HOSTILELIB" in t, "row of the hostile library")
        # Open the library's code region: its detail lists the ELF section names.
        # (Sleeps long enough for a loaded CI machine: once, 0.3 s and 0.8 s were not,
        # and Enter opened the row the cursor was on before the jump.)
        tmux("send-keys", "-t", "h", "g")
        time.sleep(1.0)
        tmux("send-keys", "-t", "h", f"{target.code:#x}", "Enter")
        time.sleep(2.5)
        tmux("send-keys", "-t", "h", "Enter")
        detail = wait_for(lambda t: ".evtext" in t, "the hostile section in the detail")
        assert "Traceback" not in detail
        for _ in range(3):
            tmux("send-keys", "-t", "h", "q")
            time.sleep(0.5)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    data = raw.read_bytes()
    assert b"HOSTILELIB" in data  # the capture did see the TUI draw
    for sequence in NEVER_RAW:
        at = data.find(sequence)
        assert at < 0, f"raw {sequence!r} under {locale}: {data[at - 120 : at + 60]!r}"
    assert b"\\x1b]52;c;aGk" in data  # shown, escaped
