"""SmapsStream, fed smaps text as it arrives, always ends with what parse_smaps gives.

The text is cut at any points, fed through a buffer whose bytes past the cut are still
wrong (as the background reader's are: zeros, or garbage here), and the result compared
with parse_smaps of the whole text. Texts are recorded fixtures, hand-made nasty ones,
several glued together (addresses going back: torn reads) and any bytes at all.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROC_FIXTURES
from vmtop.procfs.parse_maps import parse_smaps
from vmtop.procfs.smaps_blocks import smaps_block
from vmtop.procfs.smaps_stream import SmapsStream

EXAMPLES = int(os.environ.get("VMTOP_FUZZ_EXAMPLES", "150"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TEXTS = {
    path.parent.name: path.read_bytes()
    for path in sorted(PROC_FIXTURES.glob("*/smaps"))
    if path.stat().st_size > 0
}
RECORDED = [TEXTS[pid] for pid in ("7925", "7932", "7936")]


class Arriving:
    """A buffer that holds the text up to ``available`` and something else after it."""

    def __init__(self, text: bytes, filler: bytes) -> None:
        self.text = text
        self.filler = filler
        self.available = 0
        self.buffer = b""

    def arrive(self, available: int) -> bytes:
        self.available = available
        tail = len(self.text) - available
        self.buffer = self.text[:available] + (self.filler * tail)[:tail]
        return self.buffer


def stream_parse(text: bytes, cuts: list[int], min_run: int, filler: bytes = b"\0"):
    """What SmapsStream gives for text arriving at each cut (in order), and itself."""
    arriving = Arriving(text, filler)
    with SmapsStream(min_run=min_run) as stream:
        for cut in sorted(set(cuts)):
            buffer = arriving.arrive(cut)
            while stream.feed(buffer, cut):
                pass
        stream.feed(text, len(text), final=True)
        return stream.finish(text), stream


texts = st.one_of(
    st.sampled_from(list(TEXTS.values())),
    # Several texts glued: different layouts, addresses that go back (a torn read).
    st.lists(st.sampled_from(list(TEXTS.values())), min_size=2, max_size=4).map(b"".join),
    # A recorded text with any bytes put in somewhere.
    st.tuples(st.sampled_from(RECORDED), st.integers(0, 50_000), st.binary(max_size=40)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
    ),
)


@FAST
@given(
    text=texts,
    cuts=st.lists(st.floats(0, 1), max_size=12),
    min_run=st.sampled_from([1, 100, 4096, 1 << 18]),
    filler=st.sampled_from([b"\0", b"VmFlags: rd\n7f00-7f01 ", b"\n", b"x"]),
)
def test_stream_ends_with_parse_smaps(text, cuts, min_run, filler):
    points = [int(c * len(text)) for c in cuts]
    regions, _ = stream_parse(text, points, min_run, filler)
    assert regions == parse_smaps(text)


@FAST
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_any_bytes_streamed_end_with_parse_smaps(data, cuts):
    points = [min(c, len(data)) for c in cuts]
    regions, _ = stream_parse(data, points, 1)
    assert regions == parse_smaps(data)


def test_a_clean_text_is_parsed_while_it_arrives():
    """Not just the fallback: the regions of a recorded text come out of the runs fed
    before finish, and each span points at its own block of the whole text."""
    text = RECORDED[0]
    cuts = list(range(0, len(text), 997))
    arriving = Arriving(text, b"\0")
    with SmapsStream(min_run=1) as stream:
        for cut in cuts:
            stream.feed(arriving.arrive(cut), cut)
        parsed_on_the_way = stream.parsed
        assert stream.feed(text, len(text), final=True)
        assert stream.streaming and stream.parsed == len(text)
        regions = stream.finish(memoryview(text).toreadonly())
    assert len(text) * 0.9 < parsed_on_the_way < len(text)
    assert regions == parse_smaps(text)
    assert len(regions) == text.count(b"\nVmFlags:")
    for region in regions:
        block = smaps_block(text, region.start, region.end)
        assert block.startswith(b"%x-%x " % (region.start, region.end))


def test_runs_wait_for_min_run():
    text = RECORDED[0]
    with SmapsStream(min_run=len(text)) as stream:
        assert not stream.feed(text, len(text) - 1)
        assert stream.parsed == 0
        assert stream.feed(text, len(text))
        assert stream.parsed == len(text)


def test_without_the_final_feed_the_text_is_parsed_whole():
    """finish() trusts the runs only when they reach the end of the text it is given."""
    text = RECORDED[1]
    half = text.rfind(b"\nVmFlags:", 0, len(text) // 2)
    half = text.find(b"\n", half + 1) + 1
    with SmapsStream(min_run=1) as stream:
        assert stream.feed(text, half)
        assert 0 < stream.parsed < len(text)
        regions = stream.finish(text)
    assert regions == parse_smaps(text)


def test_a_text_with_no_vmflags_stops_streaming_and_is_parsed_whole():
    """An old kernel's smaps (no VmFlags lines, fixture 90003): nothing to cut on."""
    text = TEXTS["90003"]
    regions, stream = stream_parse(text, list(range(len(text) + 1)), 1)
    assert not stream.streaming
    assert regions == parse_smaps(text)
    assert len(regions) > 1


def test_a_torn_read_is_deduplicated_like_parse_smaps():
    """A reader that restarted at an earlier address: the runs are each in order, the
    whole is not. Glue a text behind itself with one region grown."""
    text = RECORDED[1]
    regions_once = parse_smaps(text)
    regions, stream = stream_parse(text + text, [len(text) // 2, len(text), len(text) * 3 // 2], 1)
    assert stream.streaming  # every run tiled; the overlap is resolved at the end
    assert regions == parse_smaps(text + text)
    assert [(r.start, r.end) for r in regions] == [(r.start, r.end) for r in regions_once]
