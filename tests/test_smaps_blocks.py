"""smaps_block: each region's block found in the text on demand (regions do not carry
their block's position), on recorded and hand-made texts, as bytes and as a buffer."""

from __future__ import annotations

import pytest

from tests.conftest import PROC_FIXTURES
from vmtop.procfs import smaps_blocks
from vmtop.procfs.parse_maps import parse_smaps
from vmtop.procfs.smaps_blocks import SmapsBlocks, parse_smaps_fields, smaps_block

RECORDED = [
    path.read_bytes() for path in sorted(PROC_FIXTURES.glob("79*/smaps")) if path.stat().st_size > 0
]


def header(region) -> bytes:
    return b"%08x-%08x " % (region.start, region.end)  # as the kernel prints them


@pytest.mark.parametrize("as_buffer", [False, True])
@pytest.mark.parametrize("index", range(len(RECORDED)))
def test_every_region_gets_its_own_block(index, as_buffer):
    text = RECORDED[index]
    given = memoryview(text).toreadonly() if as_buffer else text
    regions = parse_smaps(text)
    blocks = [smaps_block(given, r.start, r.end) for r in regions]
    for region, block in zip(regions, blocks, strict=True):
        assert block.startswith(header(region))
        assert block.endswith(b"\n") and block.count(b"\nVmFlags:") == 1
        assert parse_smaps_fields(block)["Size"] == region.size
    # In print order, the blocks are the whole text, each byte once.
    assert b"".join(blocks) == text


def test_the_fast_index_equals_the_careful_one(monkeypatch):
    text = b"".join(RECORDED)  # several processes glued: a torn-looking text
    fast = SmapsBlocks(text)
    monkeypatch.setattr(smaps_blocks, "_learn_layout", lambda data: None)
    careful = SmapsBlocks(text)
    assert fast.printed == careful.printed
    assert fast.by_range == careful.by_range
    assert fast.torn and careful.torn


def test_a_torn_read_gives_newest_blocks_and_pieces_their_origin():
    text = (PROC_FIXTURES / "90001" / "smaps").read_bytes()
    regions = parse_smaps(text)
    by_start = {r.start: r for r in regions}
    # Printed twice: the second print is the block.
    twice = by_start[0x401000]
    assert text.count(header(twice)) == 2
    assert SmapsBlocks(text).by_range[twice.start, twice.end][0] == text.rindex(header(twice))
    # C [0,4000) was cut where the newer E starts: its piece gets C's block.
    piece = by_start[0x7F0000000000]
    assert piece.end == 0x7F0000002000
    assert smaps_block(text, piece.start, piece.end).startswith(b"7f0000000000-7f0000004000 ")
    # The piece of D after F gets D's block, F its own.
    assert smaps_block(text, 0x7F0000014000, 0x7F0000018000).startswith(
        b"7f0000010000-7f0000018000 "
    )
    assert smaps_block(text, 0x7F0000012000, 0x7F0000014000).startswith(
        b"7f0000012000-7f0000014000 "
    )


def test_without_a_torn_read_a_range_not_printed_has_no_block():
    text = RECORDED[0]
    big = next(r for r in parse_smaps(text) if r.size > 0x1000)
    assert smaps_block(text, big.start, big.end) is not None
    # Part of a printed region is a block only in a torn read (a piece cut by a newer
    # print); in a clean text it is no region at all.
    assert smaps_block(text, big.start, big.start + 0x1000) is None
    assert smaps_block(text, 0x1, 0x2) is None


def test_the_index_is_kept_for_one_text_at_a_time():
    a, b = RECORDED[0], RECORDED[1]
    first = parse_smaps(a)[0]
    smaps_block(a, first.start, first.end)
    assert smaps_blocks._BLOCKS_CACHE[0].text is a
    second = parse_smaps(b)[0]
    smaps_block(b, second.start, second.end)
    assert len(smaps_blocks._BLOCKS_CACHE) == 1 and smaps_blocks._BLOCKS_CACHE[0].text is b
