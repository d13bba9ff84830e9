"""smaps and maps parsed a piece at a time (the text dropped as it goes) give what
parsing the whole text gives: same regions, same fields, same kinds; on every fixture,
cut anywhere, glued into torn reads, and through take_snapshot(keep_text=False)."""

from __future__ import annotations

import os
import re

import pytest
from conftest import PROC_FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmtop.procfs import pieces as pieces_module
from vmtop.procfs.errors import ProcError
from vmtop.procfs.parse_maps import parse_maps, parse_smaps, parse_smaps_parts
from vmtop.procfs.pieces import (
    _pieces,
    parse_in_pieces,
    parse_in_pieces_to_columns,
    read_regions_in_pieces,
    read_smaps_block,
)
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_blocks import SmapsBlocks, smaps_block
from vmtop.procfs.snapshot import take_snapshot
from vmtop.procfs.torn_reads import dedupe_regions

EXAMPLES = int(os.environ.get("VMTOP_FUZZ_EXAMPLES", "150"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMAPS = {
    p.parent.name: p.read_bytes() for p in sorted(PROC_FIXTURES.glob("*/smaps")) if p.stat().st_size
}
MAPS = {
    p.parent.name: p.read_bytes() for p in sorted(PROC_FIXTURES.glob("*/maps")) if p.stat().st_size
}
PROCFS = ProcFS(str(PROC_FIXTURES))


def _size(path) -> int:
    return path.stat().st_size if path.exists() else 0


def pieces(text: bytes, cuts: list[int]) -> list[bytes]:
    at = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in zip(at, at[1:], strict=False)]


@pytest.mark.parametrize("name", sorted(SMAPS))
@pytest.mark.parametrize("size", [1, 7, 100, 1000, 1 << 20])
def test_every_smaps_fixture_in_pieces(name: str, size: int) -> None:
    text = SMAPS[name]
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    assert parse_in_pieces(chunks, parse_smaps) == parse_smaps(text)


@pytest.mark.parametrize("name", sorted(MAPS))
@pytest.mark.parametrize("size", [1, 50, 1 << 20])
def test_every_maps_fixture_in_pieces(name: str, size: int) -> None:
    text = MAPS[name]
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    assert parse_in_pieces(chunks, parse_maps) == parse_maps(text)


clean = st.one_of(
    st.sampled_from(list(SMAPS.values())),
    # glued: other layouts, addresses that go back (torn reads)
    st.lists(st.sampled_from(list(SMAPS.values())), min_size=2, max_size=3).map(b"".join),
)


@FAST
@given(text=clean, cuts=st.lists(st.integers(0, 200_000), max_size=20))
def test_cut_anywhere_it_is_the_whole_parse(text: bytes, cuts: list[int]) -> None:
    assert parse_in_pieces(pieces(text, cuts), parse_smaps) == parse_smaps(text)


@FAST
@given(text=clean, most=st.integers(1, 5000), use_maps=st.booleans())
def test_parts_of_at_most_a_size_are_whole_blocks(text: bytes, most: int, use_maps: bool) -> None:
    # What a UI waits for is one part's parse: parts of about ``most`` bytes, and
    # each of them whole blocks (it parses alone as the blocks it holds).
    if use_maps:
        text = b"".join(
            line + b"\n" for line in text.split(b"\n") if re.match(rb"[0-9a-f]+-", line)
        )
    parse = parse_maps if use_maps else parse_smaps
    parts = list(_pieces([text], most))
    assert b"".join(parts) == text
    block = max(len(b) for b in re.split(rb"\n(?=[0-9a-f]+-)", text))
    assert all(len(p) <= most + most // 2 + block + 1 for p in parts)
    # (torn texts: the same duplicates, removed over all parts as parse_in_pieces does)
    assert dedupe_regions([r for p in parts for r in parse(p)]) == parse(text)


@FAST
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_any_bytes_in_pieces_never_crash(data: bytes, cuts: list[int]) -> None:
    try:
        regions = parse_in_pieces(pieces(data, cuts), parse_smaps)
    except ValueError:
        return
    starts = [r.start for r in regions]
    assert starts == sorted(starts)


@pytest.mark.parametrize("pid", PROCFS.pids())
@pytest.mark.parametrize("smaps", [True, False])
def test_take_snapshot_without_text_is_the_same_snapshot(pid: int, smaps: bool) -> None:
    try:
        whole = take_snapshot(PROCFS, pid, smaps=smaps)
    except ProcError:
        with pytest.raises(ProcError):
            take_snapshot(PROCFS, pid, smaps=smaps, keep_text=False)
        return
    ours = take_snapshot(PROCFS, pid, smaps=smaps, keep_text=False)
    assert ours.regions == whole.regions  # every field, kinds included
    assert ours.totals == whole.totals
    assert ours.has_smaps == whole.has_smaps
    assert ours.raw_smaps is None


def test_a_tree_without_smaps_says_so() -> None:
    pid = next(p for p in PROCFS.pids() if not (PROC_FIXTURES / str(p) / "smaps").exists())
    assert read_regions_in_pieces(PROCFS, pid) is None


def test_live_process_in_pieces_matches_the_whole_read() -> None:
    pid = os.getpid()
    ours = take_snapshot(ProcFS(), pid, keep_text=False)
    whole = take_snapshot(ProcFS(), pid)

    # This process allocates between the two reads (the whole read's buffer is a
    # shared /dev/zero mapping): compare its files, which cannot have moved.
    def files(snap):
        return {
            (r.start, r.end, r.perms, r.path)
            for r in snap.regions
            if r.path.startswith("/") and not r.path.startswith("/dev/zero")
        }

    assert files(ours) == files(whole) and len(files(ours)) > 5 and ours.has_smaps
    assert all(r.rss is not None for r in ours.regions)


@pytest.mark.parametrize(
    "pid", [p for p in PROCFS.pids() if _size(PROC_FIXTURES / str(p) / "smaps")][:4]
)
def test_parses_handed_the_last_ones_give_the_same_snapshots(pid: int) -> None:
    """What a sampler does: maps, then smaps, then both again, each parse handed the
    record of the last ones (``parsed``). The snapshots are those of parses without it;
    unchanged columns are shared with the last parse, maps and smaps alike; the record
    holds one task's two files at most."""
    parsed: dict = {"task/9/maps": None, "task/9/smaps": None}  # another task's: dropped
    for smaps in (False, True, False, True):
        alone = take_snapshot(PROCFS, pid, smaps=smaps, keep_text=False)
        got = take_snapshot(PROCFS, pid, smaps=smaps, keep_text=False, parsed=parsed)
        assert got.regions == alone.regions and got.totals == alone.totals
        assert set(parsed) <= {"maps", "smaps"} and ("smaps" if smaps else "maps") in parsed
    assert parsed["maps"].numbers[0] is parsed["smaps"].numbers[0]  # the starts, once
    assert got.regions.numbers[0] is parsed["smaps"].numbers[0]


@pytest.mark.parametrize("pid", [int(p) for p in SMAPS])
def test_a_regions_block_read_up_to_it_is_its_block_in_the_whole_text(pid, monkeypatch) -> None:
    """read_smaps_block (a region's detail, when a huge snapshot kept no text) gives the
    block the whole text has, reading in pieces (small here: many of them) up to it
    and no further; a region not there is None, the read stopped past its address."""
    monkeypatch.setattr(pieces_module, "PARSE_PIECE", 2048)
    text = SMAPS[str(pid)]
    if SmapsBlocks(text).torn:
        # Blocks out of address order (made by hand: the kernel resumes where it was):
        # the read stops at the first block past the region, as it may. A new read is a
        # new text anyway.
        pytest.skip("a torn read")
    regions = parse_smaps(text)
    read = []
    real_read_pieces = ProcFS.read_pieces

    def counted(self, *args, **kwargs):
        for piece in real_read_pieces(self, *args, **kwargs):
            read.append(len(piece))
            yield piece

    monkeypatch.setattr(ProcFS, "read_pieces", counted)
    for r in regions[:3] + regions[-3:]:
        read.clear()
        block = smaps_block(text, r.start, r.end)
        assert read_smaps_block(PROCFS, pid, r.start, r.end) == block
        assert text.index(block) + len(block) <= sum(read)  # (read up to it)
    read.clear()
    assert read_smaps_block(PROCFS, pid, regions[0].start, regions[0].end) is not None
    assert sum(read) < len(text) or len(read) == 1  # the first region: the first piece
    if len(regions) > 2 and len(text) > 3 * 2048:
        gone = regions[1].start + 1  # inside a region, so no block starts there
        read.clear()
        assert read_smaps_block(PROCFS, pid, gone, regions[1].end) is None
        assert sum(read) < len(text)  # stopped past it, not at the end of the file


def test_a_text_of_another_layout_after_the_last_one_is_learnt_anew() -> None:
    """Each piece's layout is its own: a text of another layout (a field more), or of
    the same widths with another field where a figure was, after one of the usual
    layout, parses as a whole parse of it does (and the usual one after them)."""
    text = max(SMAPS.values(), key=len)
    more = text.replace(b"\nVmFlags:", b"\nFutureThing:          0 kB\nVmFlags:")
    renamed = text.replace(b"\nRss:", b"\nRsx:")
    assert more != text and renamed != text
    for each in (text, more, text, renamed, more, renamed, text):
        columns = parse_in_pieces_to_columns([each], parse_smaps, parse_smaps_parts)
        assert list(columns) == parse_smaps(each)
