"""background_read: a /proc file read by libc's fread on another thread, shown to the
caller as it arrives; and read_smaps, which parses smaps while it is read.

Ground truth is a plain read of the same file of a stopped child (its map is frozen),
and parse_smaps of that text.
"""

from __future__ import annotations

import errno
import os
import re
import threading

import pytest

from tests.conftest import PROC_FIXTURES, REPO
from vmtop.procfs import background_read, pieces
from vmtop.procfs.errors import ProcError, ProcessGone
from vmtop.procfs.parse_maps import parse_smaps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import read_smaps, take_snapshot

pytestmark = pytest.mark.live

MANY_REGIONS = REPO / "benchmarks" / "many_regions.c"


def plain_read(path: str) -> bytes:
    with open(path, "rb", buffering=0) as f:
        return f.read()


def figures_masked(text: bytes) -> bytes:
    """smaps with every kB figure replaced by #: its structure, headers and names."""
    return re.sub(rb"(?m)^(\w+:\s+)\d+ kB$", rb"\1# kB", text)


def steady(path: str, read):
    """``(read(), the text)``: ``read()`` done between two plain reads of ``path`` that
    agree. The PSS of a shared library moves when another process maps or leaves it
    (the suite and the machine start processes meanwhile), even of a stopped child.
    Five tries were not enough on a machine running another suite beside this one."""
    for _ in range(20):
        before = plain_read(path)
        got = read()
        if plain_read(path) == before:
            break
    return got, before


@pytest.fixture
def many_regions_child(compile_c_once, spawn):
    """A stopped child with 20 000 separate regions: ~15 MB of smaps, tens of ms."""
    child = spawn([str(compile_c_once(MANY_REGIONS, "-O2")), "20000"])
    assert child.read_line(timeout=30).startswith("READY")
    child.stop()
    return child


class _HeldFread:
    """libc, but fread stops after its first megabyte until ``seen`` is set: on a
    loaded machine the whole read could end before the caller first looked, and then
    there was no part of the text to be shown."""

    def __init__(self, libc, seen: threading.Event) -> None:
        self._libc, self._seen = libc, seen

    def __getattr__(self, name):
        return getattr(self._libc, name)

    def fread(self, address, size, count, stream):
        first = self._libc.fread(address, size, min(count, 1 << 20), stream)
        self._seen.wait(30)
        return first + self._libc.fread(address + first, size, count - first, stream)


def test_the_text_arrives_in_order_and_whole(many_regions_child, monkeypatch):
    path = f"/proc/{many_regions_child.pid}/smaps"
    calls: list[tuple[int, bytes, bool, str]] = []
    part_seen = threading.Event()
    monkeypatch.setattr(background_read, "_LIBC", _HeldFread(background_read._LIBC, part_seen))

    def consume(text, available: int, final: bool) -> bool:
        # Keep the last 4 KiB seen as final: where a wrong "available" would show.
        tail = text[max(0, available - 4096) : available]
        calls.append((available, tail, final, threading.current_thread().name))
        if available > 0:
            part_seen.set()
        return False

    def read():
        calls.clear()
        part_seen.clear()
        return background_read.read_file(path, consume)

    data, whole = steady(path, read)
    assert data == whole
    availables = [available for available, *_ in calls]
    assert availables == sorted(availables)
    # It was shown part of the text before the whole had arrived: the read overlapped.
    assert any(0 < available < len(data) for available in availables)
    # Then once the whole text, marked final.
    assert [(available, final) for available, _, final, _ in calls if final] == [(len(data), True)]
    assert calls[-1][2]
    for available, tail, _, thread in calls:
        assert tail == data[max(0, available - 4096) : available]
        assert thread == threading.current_thread().name  # consume runs on the caller's
    # Handed out without a copy, and nobody can write to it.
    assert isinstance(data, memoryview) and data.readonly


def test_read_smaps_equals_a_plain_read_and_parse(many_regions_child):
    procfs = ProcFS()
    pid = many_regions_child.pid
    got, raw = steady(f"/proc/{pid}/smaps", lambda: read_smaps(procfs, pid))
    assert got.raw == raw
    assert got.regions == parse_smaps(raw)
    assert len(got.regions) >= 20000
    assert got.cpu_seconds > 0


def test_a_text_longer_than_the_reservation_goes_on_with_plain_reads(
    many_regions_child, monkeypatch
):
    monkeypatch.setattr(background_read, "RESERVE", 1 << 20)
    path = f"/proc/{many_regions_child.pid}/smaps"
    seen = []

    def read():
        seen.clear()
        return background_read.read_file(path, lambda text, n, final: seen.append(n) and False)

    data, whole = steady(path, read)
    assert len(data) > 4 << 20
    assert data == whole
    assert seen[-1] == len(data)  # the final call, with the whole text
    assert max(seen[:-1], default=0) <= 1 << 20


def test_without_libc_it_reads_plainly(many_regions_child, monkeypatch):
    monkeypatch.setattr(background_read, "_LIBC", None)
    path = f"/proc/{many_regions_child.pid}/smaps"
    calls = []
    data, whole = steady(
        path,
        lambda: background_read.read_file(path, lambda text, n, final: calls.append(n) and False),
    )
    assert data == whole
    assert calls == []
    got, before = steady(path, lambda: read_smaps(ProcFS(), many_regions_child.pid))
    assert got.regions == parse_smaps(before)


def test_a_regular_file_is_read_at_once():
    """A copied tree: the size is known, there is nothing to overlap."""
    path = str(PROC_FIXTURES / "7925" / "smaps")
    calls = []
    data = background_read.read_file(path, lambda text, n, final: calls.append(n) and False)
    assert data == plain_read(path)
    assert calls == []


def test_an_error_in_consume_comes_out_and_the_reader_is_waited_for(many_regions_child):
    path = f"/proc/{many_regions_child.pid}/smaps"
    before = threading.active_count()

    def consume(text, available, final):
        raise RuntimeError("parser bug")

    with pytest.raises(RuntimeError, match="parser bug"):
        background_read.read_file(path, consume)
    assert threading.active_count() == before


def test_open_errors_are_oserrors():
    with pytest.raises(FileNotFoundError):
        background_read.read_file("/proc/999999999/smaps", lambda text, n, final: False)


def test_a_process_killed_while_read_is_gone(many_regions_child, monkeypatch):
    """SIGKILL arrives while the reader thread is in the middle of smaps."""
    pid = many_regions_child.pid
    killed = []

    def consume(text, available, final):
        if not killed:
            os.kill(pid, 9)
            killed.append(available)
        return False

    real = ProcFS.read_optional

    def read_optional(self, pid_, name, consume_=None):
        return real(self, pid_, name, consume if name == "smaps" else consume_)

    monkeypatch.setattr(ProcFS, "read_optional", read_optional)
    with pytest.raises(ProcessGone):
        take_snapshot(ProcFS(), pid)
    assert killed


def test_where_the_mapping_cannot_shrink_the_text_is_copied(many_regions_child, monkeypatch):
    class MmapWithoutResize(background_read.mmap.mmap):
        def resize(self, size):
            raise SystemError("mmap: resizing not available")

    monkeypatch.setattr(background_read.mmap, "mmap", MmapWithoutResize)
    path = f"/proc/{many_regions_child.pid}/smaps"
    data, whole = steady(path, lambda: background_read.read_file(path, lambda *_: False))
    assert isinstance(data, bytes)
    assert data == whole


def _blocks_end(text: bytes) -> int:
    return pieces._regions_end(text)


@pytest.mark.parametrize("libc", [True, False], ids=["fread", "os.read"])
@pytest.mark.parametrize(
    ("size", "tail"),
    [(1 << 16, background_read._TAIL), (1 << 16, 64), (300, background_read._TAIL)],
    ids=["64KiB", "64KiB-short-tail", "shorter-than-a-block"],
)
def test_pieces_cut_by_ends_hold_whole_blocks(many_regions_child, monkeypatch, libc, size, tail):
    """With ``ends`` every piece ends where a block ends (the next begins with a
    header), the pieces add up to the file, and each parses to its share of the
    regions: also when no block fits the buffer (300 bytes: it grows), and when the
    tail shown first holds no header (the whole buffer is looked at)."""
    if not libc:
        monkeypatch.setattr(background_read, "_LIBC", None)
    monkeypatch.setattr(background_read, "_TAIL", tail)
    path = f"/proc/{many_regions_child.pid}/smaps"
    got, whole = steady(
        path, lambda: list(background_read.read_chunks(path, size, ends=_blocks_end))
    )
    # Figures masked: another process mapping or leaving libc moves its pages between
    # Shared_ and Private_Clean and its PSS, even of a stopped child, and "steady" can
    # miss a change that came and went (CI saw a PSS digit differ under load).
    assert figures_masked(b"".join(got)) == figures_masked(whole)
    assert len(got) > 20
    for piece in got:
        assert pieces._HEADER.match(piece), piece[:80]
        assert piece.endswith(b"\n")
    assert [r[:7] for piece in got for r in parse_smaps(piece)] == [
        r[:7] for r in parse_smaps(whole)
    ]
    if libc and size > 1000:  # (many blocks to a buffer: pieces of about its size;
        # os.read of /proc gives a page or so a call)
        assert max(map(len, got)) <= size
        assert sum(map(len, got)) / len(got) > size / 2


@pytest.mark.parametrize("libc", [True, False], ids=["fread", "os.read"])
def test_a_unit_longer_than_the_longest_allowed_fails_the_read(
    many_regions_child, monkeypatch, libc
):
    if not libc:
        monkeypatch.setattr(background_read, "_LIBC", None)
    monkeypatch.setattr(background_read, "LONGEST_UNIT", 1 << 16)
    path = f"/proc/{many_regions_child.pid}/smaps"
    with pytest.raises(OSError) as raised:
        list(background_read.read_chunks(path, 4096, ends=lambda text: 0))
    assert raised.value.errno == errno.EFBIG
    # Through ProcFS, as every other read error: translated once.
    with pytest.raises(ProcError):
        list(ProcFS().read_pieces(many_regions_child.pid, "smaps", 4096, ends=lambda text: 0))


def test_a_reader_left_early_stops(many_regions_child):
    """Once the caller stops asking for pieces (``read_smaps_block`` stops at its
    region), the reader thread stops too: no thread is left reading a file nobody
    wants."""
    path = f"/proc/{many_regions_child.pid}/smaps"
    chunks = background_read.read_chunks(path, 4096, ends=_blocks_end)
    assert pieces._HEADER.match(next(chunks))
    chunks.close()
    assert not [t for t in threading.enumerate() if t.name == "vmtop-read-chunks"]
