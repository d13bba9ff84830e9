"""The C-speed building blocks of huge maps against the plain Python they stand for:
masks over columns (classification's skips, the bss facts), the maps parse of
fixed-width lines, the address-order check, spreading parsed bodies into columns, and the biggest gaps of the
compact bar."""

from __future__ import annotations

import heapq
from array import array
from itertools import islice
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from vmtop.model import column_steps
from vmtop.model.column_masks import after_mask, equal_mask, mask_and, mask_not, zero_mask
from vmtop.model.columns import FIGURES, RegionColumns
from vmtop.model.columns_builder import ColumnsBuilder
from vmtop.model.region import Region
from vmtop.procfs.parse_lines import fixed_width_lines, in_address_order, words_in_order
from vmtop.procfs.parse_maps import parse_maps, parse_maps_parts
from vmtop.tui.widgets.bar_cells import largest_gaps

words = st.lists(st.integers(0, 2**64 - 1) | st.sampled_from([0, 1, 2**26, 2**40, 255, 256]))


def ones(flags) -> bytes:
    return bytes(1 if f else 0 for f in flags)


@given(values=words, low_bits=st.none() | st.integers(1, 64), view=st.booleans())
def test_zero_mask_is_value_by_value(values, low_bits, view):
    column = array("Q", values)
    given_column = memoryview(column) if view else column
    keep = (1 << (64 if low_bits is None else low_bits)) - 1
    assert zero_mask(given_column, low_bits) == ones(v & keep == 0 for v in values)


@given(codes=st.lists(st.integers(0, 400)), value=st.integers(0, 400))
def test_equal_mask_is_value_by_value(codes, value):
    column = array("I", codes)
    bound = max(codes, default=0) + 1
    assert equal_mask(column, value, max(bound, value + 1)) == ones(c == value for c in codes)


@given(st.data())
def test_mask_operations(data):
    n = data.draw(st.integers(1, 300))
    a = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    b = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    assert mask_and(ones(a), ones(b)) == ones(x and y for x, y in zip(a, b, strict=True))
    assert mask_not(ones(a)) == ones(not x for x in a)
    assert after_mask(ones(a)) == ones([False, *a[:-1]])


def test_name_mask_of_a_value_not_there():
    columns = RegionColumns.from_regions([Region(0x1000, 0x2000, "rw-p", 0, "00:00", 0, "")])
    assert columns.name_mask("kind", "no such kind") == b"\x00"
    assert columns.name_mask("perms", "rw-p") == b"\x01"


body_fields = Region._fields[2:]


@st.composite
def bodies(draw):
    """Distinct bodies (the fields after end), few or more than 256 of them."""
    count = draw(st.sampled_from([1, 2, 7, 300]))
    figure = st.none() | st.integers(0, 2**40)
    out = set()
    while len(out) < count:
        values = {
            "perms": draw(st.sampled_from(["rw-p", "r--p", "---p"])),
            "offset": draw(st.integers(0, 2**63)),
            "dev": draw(st.sampled_from(["00:00", "fe:01"])),
            "inode": draw(st.integers(0, 2**40)),
            "path": draw(st.sampled_from(["", "/lib/x.so", "[heap]"])) + str(len(out) % 3),
            "kind": draw(st.sampled_from(["anon", "file"])),
            "object": draw(st.none() | st.just("o")),
            "tid": draw(st.none() | st.integers(1, 2**31)),
            **{name: draw(figure) for name in FIGURES},
        }
        out.add(tuple(values[f] for f in body_fields))
    return list(out)


@settings(max_examples=40, deadline=None)
@given(bodies=bodies(), data=st.data())
def test_columns_from_bodies_equal_columns_from_rows(bodies, data):
    n = data.draw(st.integers(len(bodies), len(bodies) + 200))
    extra = data.draw(st.lists(st.integers(0, len(bodies) - 1), min_size=n - len(bodies)))
    picks = [*range(len(bodies)), *extra][:n]  # every body used at least once
    data.draw(st.randoms()).shuffle(picks)
    starts = [0x1000 * (2 * i + 1) for i in range(len(picks))]
    ends = [s + 0x1000 for s in starts]
    ids = bytes(picks) if len(bodies) <= 256 else array("I", picks)
    by_parts = ColumnsBuilder()
    by_parts.extend_parts(array("Q", starts), array("Q", ends), ids, bodies)
    by_rows = ColumnsBuilder()
    by_rows.extend_rows([(s, e, *bodies[k]) for s, e, k in zip(starts, ends, picks, strict=True)])
    assert list(RegionColumns.from_builder(by_parts)) == list(RegionColumns.from_builder(by_rows))
    assert RegionColumns.from_builder(by_parts) == RegionColumns.from_builder(by_rows)


@given(
    sizes=st.lists(st.tuples(st.integers(1, 50), st.integers(0, 5)), min_size=1, max_size=80),
    count=st.integers(1, 20),
    chunk=st.integers(1, 9),
)
def test_largest_gaps_are_those_a_sort_gives(sizes, count, chunk):
    starts, ends, at = [], [], 0x10000
    for size, gap in sizes:
        at += gap * 0x1000  # many equal gaps: ties go to the earlier
        starts.append(at)
        at += size * 0x1000
        ends.append(at)
    every = [
        (pos + 1, a, b)
        for pos, (a, b) in enumerate(zip(ends, islice(starts, 1, None), strict=False))
        if b > a
    ]
    expected = sorted(heapq.nlargest(count, every, key=lambda g: g[2] - g[1]))
    with patch.object(column_steps, "CHUNK", chunk):  # passes over several chunks
        got = largest_gaps(array("Q", starts), memoryview(array("Q", ends)), count)
    assert got == expected


@st.composite
def wide_maps(draw) -> bytes:
    """Maps text as x86-64 prints it for a process's mappings: 12-digit addresses."""
    at = draw(st.sampled_from([0x55D0_0000_0000, 0x7F00_0000_0000, 0x1000_0000_0000]))
    lines = []
    for _ in range(draw(st.integers(1, 40))):
        at += draw(st.sampled_from([0, 4096, 1 << 20]))
        size = draw(st.sampled_from([4096, 8192, 1 << 21]))
        perms = draw(st.sampled_from(["rw-p", "r--p", "---p", "r-xp", "rw-s"]))
        dev, inode, path = draw(
            st.sampled_from(
                [("00:00", 0, ""), ("fe:01", 1234, "/usr/lib/libc.so.6"), ("00:00", 0, "[heap]")]
            )
        )
        line = f"{at:012x}-{at + size:012x} {perms} {0:08x} {dev} {inode} "
        lines.append(f"{line:<73}{path}" if path else line)
        at += size
    return ("\n".join(lines) + "\n").encode()


def parts_as_regions(parts) -> list[Region]:
    builder = ColumnsBuilder()
    builder.extend_parts(*parts)
    return list(RegionColumns.from_builder(builder))


@given(text=wide_maps())
def test_fixed_width_maps_take_the_fast_parse_and_agree(text):
    assert fixed_width_lines(text) is not None  # this is the path under test
    parts = parse_maps_parts(text)
    assert parts is not None
    assert parts_as_regions(parts) == parse_maps(text)


@given(text=wide_maps(), at=st.integers(0, 10_000), byte=st.sampled_from(b"-0 aAgx\n\t:"))
def test_a_damaged_fixed_width_maps_is_refused_or_read_as_parse_maps_reads_it(text, at, byte):
    at %= len(text)
    damaged = text[:at] + bytes([byte]) + text[at + 1 :]
    parts = parse_maps_parts(damaged)
    if parts is not None:  # else parse_maps reads it (it handles anything)
        assert parts_as_regions(parts) == parse_maps(damaged)


_EDGES = [0, 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]


@st.composite
def address_pairs(draw):
    """starts and ends, sorted as a valid map's, then perhaps one value moved."""
    pool = draw(st.sampled_from([_EDGES, list(range(4)), None]))
    value = st.integers(0, 2**64 - 1) if pool is None else st.sampled_from(pool)
    values = sorted(draw(st.lists(value, max_size=40).filter(lambda v: len(v) % 2 == 0)))
    if values and draw(st.booleans()):
        i = draw(st.integers(0, len(values) - 1))
        values[i] = draw(value)
    return array("Q", values[0::2]), array("Q", values[1::2])


@given(pair=address_pairs())
@settings(max_examples=500)
def test_in_address_order_is_every_value_at_or_after_the_one_before(pair):
    starts, ends = pair
    sequence = [v for start_end in zip(starts, ends, strict=True) for v in start_end]
    expected = all(a <= b for a, b in zip(sequence, sequence[1:], strict=False))
    assert in_address_order(starts, ends) == expected


_EDGES_48 = [0, 1, 2**32 - 1, 2**32, 2**47, 2**48 - 2, 2**48 - 1]


@given(data=st.data())
@settings(max_examples=500)
def test_words_in_order_is_every_word_at_or_after_the_one_before(data):
    """On words under 2**48 (what 12 hex digits give), sorted then perhaps one moved."""
    pool = data.draw(st.sampled_from([_EDGES_48, list(range(4)), None]))
    value = st.integers(0, 2**48 - 1) if pool is None else st.sampled_from(pool)
    values = sorted(data.draw(st.lists(value, max_size=40)))
    if values and data.draw(st.booleans()):
        values[data.draw(st.integers(0, len(values) - 1))] = data.draw(value)
    raw = b"".join(v.to_bytes(8, "big") for v in values)
    expected = all(a <= b for a, b in zip(values, values[1:], strict=False))
    assert words_in_order(raw) == expected
