"""Hypothesis: the parsers never crash, and a rendered maps line parses back to itself.

"Never crash" means: for any bytes, a result or a ValueError (ParseError is one); never
an IndexError, TypeError, UnicodeError or a hang. Example counts are modest so the
whole file runs in a few seconds (VMTOP_FUZZ_EXAMPLES raises them).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmtop.model.region import Region
from vmtop.procfs.parse_maps import (
    parse_maps,
    parse_maps_header,
    parse_smaps,
)
from vmtop.procfs.parse_proc import parse_cmdline, parse_stat, parse_status
from vmtop.procfs.smaps_blocks import parse_smaps_fields, smaps_block

# VMTOP_FUZZ_EXAMPLES=5000 for a longer hunt.
EXAMPLES = int(os.environ.get("VMTOP_FUZZ_EXAMPLES", "150"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that look like /proc text more often than uniform random bytes do.
PROCISH = st.lists(
    st.sampled_from(
        [
            b"\n",
            b" ",
            b"-",
            b":",
            b" kB",
            b"0",
            b"7f",
            b"ffffffffff600000",
            b"r-xp",
            b"rw-s",
            b"00:00",
            b"fe:00",
            b"Rss:",
            b"Pss:",
            b"Swap:",
            b"Anonymous:",
            b"Private_Dirty:",
            b"VmFlags:",
            b" rd mr",
            b"\\012",
            b"\xff",
            b"\x1b",
            b"(",
            b")",
            b"/usr/lib/x.so",
            b"[heap]",
            b"12345678901234567890123",
        ]
    ),
    max_size=60,
).map(b"".join)
ANY_BYTES = st.one_of(st.binary(max_size=400), PROCISH)


def a_region_line():
    return st.tuples(
        st.integers(0, 2**64 - 2),
        st.integers(1, 2**40),
        st.sampled_from("r-"),
        st.sampled_from("w-"),
        st.sampled_from("x-"),
        st.sampled_from("ps"),
        st.integers(0, 2**64 - 1),
        st.integers(0, 0xFFF),
        st.integers(0, 0xFFFFF),
        st.integers(0, 2**64 - 1),
        # A name never starts with a space (it is a path, [x], anon_inode:..., or
        # nothing) and never holds a newline (the kernel prints \012).
        st.one_of(
            st.just(b""),
            st.binary(min_size=1, max_size=80)
            .filter(lambda b: b"\n" not in b)
            .map(lambda b: b"/" + b),
            st.sampled_from([b"[heap]", b"[stack]", b"[anon:x y]", b"anon_inode:[io_uring]"]),
        ),
    )


def render(fields) -> tuple[bytes, tuple]:
    start, length, r, w, x, s, offset, major, minor, inode, name = fields
    end = min(start + length, 2**64 - 1)
    perms = r + w + x + s
    line = f"{start:08x}-{end:08x} {perms} {offset:08x} {major:02x}:{minor:02x} {inode} "
    raw = line.encode()
    if name:
        raw = raw.ljust(73) + name
    expected = (
        start,
        end,
        perms,
        offset,
        f"{major:02x}:{minor:02x}",
        inode,
        name.decode("utf-8", "surrogateescape"),
    )
    return raw, expected


def _ok_or_value_error(fn, data):
    try:
        return fn(data)
    except ValueError:
        return None


@FAST
@given(ANY_BYTES)
def test_parse_maps_never_crashes(data):
    regions = parse_maps(data)
    assert all(isinstance(r, Region) and r.start <= r.end for r in regions)


@FAST
@given(ANY_BYTES)
def test_parse_smaps_never_crashes(data):
    regions = parse_smaps(data)
    for region in regions:
        block = smaps_block(data, region.start, region.end)
        assert block is None or block in data


@FAST
@given(ANY_BYTES)
def test_parse_smaps_fields_never_crashes(data):
    fields = parse_smaps_fields(data)
    assert all(isinstance(v, (int, str)) for v in fields.values())


@FAST
@given(ANY_BYTES)
def test_parse_maps_header_raises_only_parse_error(data):
    _ok_or_value_error(parse_maps_header, data)


@FAST
@given(ANY_BYTES)
def test_parse_stat_never_crashes(data):
    _ok_or_value_error(parse_stat, data)


@FAST
@given(ANY_BYTES)
def test_parse_status_and_cmdline_never_crash(data):
    assert isinstance(parse_status(data), dict)
    assert isinstance(parse_cmdline(data), list)


@FAST
@given(st.lists(a_region_line(), min_size=1, max_size=5))
def test_rendered_maps_lines_parse_back(lines):
    for fields in lines:
        raw, expected = render(fields)
        region = parse_maps_header(raw)
        got = (
            region.start,
            region.end,
            region.perms,
            region.offset,
            region.dev,
            region.inode,
            region.path,
        )
        assert got == expected


@FAST
@given(st.lists(a_region_line(), min_size=1, max_size=6), st.integers(0, 4096))
def test_rendered_smaps_blocks_parse_back(lines, rss_kb):
    """Ascending, non-overlapping regions as smaps blocks: each comes back whole."""
    blocks = []
    expected = []
    address = 0x1000
    for fields in lines:
        length = (fields[1] % 2**24 + 1) * 4096
        fields = (address, length, *fields[2:])
        address += length + 4096
        raw, want = render(fields)
        blocks.append(
            raw
            + b"\nSize:           %8d kB\nRss:            %8d kB\nSwap:           %8d kB\n"
            % (length // 1024, rss_kb, rss_kb // 2)
            + b"THPeligible:           0\nVmFlags: rd mr \n"
        )
        expected.append(want)
    regions = parse_smaps(b"".join(blocks))
    assert [
        (r.start, r.end, r.perms, r.offset, r.dev, r.inode, r.path) for r in regions
    ] == expected
    assert all(r.rss == rss_kb * 1024 and r.swap == rss_kb // 2 * 1024 for r in regions)


@FAST
@given(ANY_BYTES)
def test_ksm_stat_never_crashes(data):
    from vmtop.procfs.ksm_stat import parse_ksm_stat

    stat = parse_ksm_stat(data, page_size=4096)
    assert stat is None or (stat.merging >= 0 and stat.merging % 4096 == 0)
