"""parse_maps / parse_smaps / parse_smaps_fields / dedupe_regions.

Ground truth: lines written by hand (values stated here, computed by hand), the
hand-made fixture trees (tests/fixtures/proc/9xxxx, see README there), and the
awkward-names process's own account of what it mapped (expected/PID.regions, printed by
the C program from mmap's return values and fstat, not read from /proc).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PROC_FIXTURES

from vmtop.procfs.parse_maps import (
    ParseError,
    parse_maps,
    parse_maps_header,
    parse_smaps,
)
from vmtop.procfs.smaps_blocks import parse_smaps_fields, smaps_block
from vmtop.procfs.torn_reads import dedupe_regions

EXPECTED = PROC_FIXTURES / "expected"
KB = 1024


def fixture(pid: int, name: str) -> bytes:
    return (PROC_FIXTURES / str(pid) / name).read_bytes()


def maps_fields(region) -> tuple:
    return (
        region.start,
        region.end,
        region.perms,
        region.offset,
        region.dev,
        region.inode,
        region.path,
    )


# -- one header line ------------------------------------------------------------------


def test_header_with_padded_name():
    line = b"55e6dcb41000-55e6dcb46000 r-xp 00002000 fe:00 260131                     /usr/bin/cat"
    region = parse_maps_header(line)
    assert maps_fields(region) == (
        0x55E6DCB41000,
        0x55E6DCB46000,
        "r-xp",
        0x2000,
        "fe:00",
        260131,
        "/usr/bin/cat",
    )
    assert region.size == 0x5000


def test_header_without_name_keeps_empty_path():
    # The kernel ends an unnamed line with the space after the inode.
    assert parse_maps_header(b"7f4e58f96000-7f4e58fb8000 rw-p 00000000 00:00 0 ").path == ""
    # ...and a copy that lost that space still parses.
    assert parse_maps_header(b"7f4e58f96000-7f4e58fb8000 rw-p 00000000 00:00 0").path == ""


@pytest.mark.parametrize(
    "name",
    [
        b"/tmp/with two  spaces",
        b"/tmp/trailing space ",
        b"/tmp/trailing spaces   ",
        b"/tmp/new\\012line",
        b"/tmp/esc\x1b[31mred",
        b"/tmp/cr\rname",
        b"/tmp/bad\xff\xfeutf8",
        b"/tmp/x 7f00-7f01 r-xp 00000000 00:00 0 [fake]",
        b"/tmp/" + b"d" * 5000,
    ],
)
def test_name_is_kept_byte_for_byte(name):
    line = b"7f0000000000-7f0000001000 r--p 00000000 fe:00 12" + b" " * 24 + name
    region = parse_maps_header(line)
    assert region.path.encode("utf-8", "surrogateescape") == name
    assert (region.start, region.end, region.inode) == (0x7F0000000000, 0x7F0000001000, 12)


def test_header_where_the_line_is_too_long_to_pad():
    # 20-digit inode: the line passes the padding column, one space separates the name.
    line = b"7f0000002000-7f0000003000 r--p fffffffff000 fff:fffff 18446744073709551615 /x"
    assert maps_fields(parse_maps_header(line)) == (
        0x7F0000002000,
        0x7F0000003000,
        "r--p",
        0xFFFFFFFFF000,
        "fff:fffff",
        2**64 - 1,
        "/x",
    )


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"Size:                  8 kB",
        b"VmFlags: rd mr mw me ",
        b"7f00-7f01 r-xp 00000000 00:00",  # no inode
        b"7f00_7f01 r-xp 00000000 00:00 0 ",  # no dash
        b"0x7f00-7f01 r-xp 00000000 00:00 0 ",  # not bare hex
        b"+7f00-7f01 r-xp 00000000 00:00 0 ",
        b"7f00-7f01 r-xp 0000000g 00:00 0 ",
        b"7f00-7f01 r-xp 00000000 0000 0 ",  # device without a colon
        b"7f00-7f01 r-xp 00000000 00:00 -1 ",
        b"7f00-7f01 rwxps 00000000 00:00 0 ",  # five permission letters
        b"7f01-7f00 r-xp 00000000 00:00 0 ",  # ends before it starts
    ],
)
def test_not_a_header(line):
    with pytest.raises(ParseError):
        parse_maps_header(line)


# -- the awkward-names process ----------------------------------------------------------


def awkward_pid() -> int:
    found = sorted(EXPECTED.glob("*.regions"))
    assert found, "no recorded awkward-names tree (run tests/fixtures/proc/record.py)"
    return int(found[0].name.split(".")[0])


def expected_regions(path: Path) -> list[dict]:
    """The REGION lines the C program printed: what it mapped, from its own calls."""
    out = []
    for line in path.read_text().splitlines():
        if not line.startswith("REGION "):
            continue
        _, start, end, perms, offset, dev, inode, name = line.split(" ")
        out.append(
            {
                "start": int(start, 16),
                "end": int(end, 16),
                "perms": perms,
                "offset": int(offset, 16),
                "dev": None if dev == "-" else dev,
                "inode": None if inode == "-" else int(inode),
                "path": ""
                if name == "-"
                else bytes.fromhex(name).decode("utf-8", "surrogateescape"),
            }
        )
    return out


def arena(path: Path) -> tuple[int, int]:
    for line in path.read_text().splitlines():
        if line.startswith("ARENA "):
            _, lo, hi = line.split()
            return int(lo, 16), int(hi, 16)
    raise AssertionError("no ARENA line")


def assert_matches_program(regions, expected_file: Path) -> None:
    by_start = {r.start: r for r in regions}
    expected = expected_regions(expected_file)
    assert len(expected) >= 20
    for want in expected:
        got = by_start.get(want["start"])
        assert got is not None, f"region at {want['start']:x} ({want['path']!r}) missing"
        assert (got.end, got.perms, got.offset, got.path) == (
            want["end"],
            want["perms"],
            want["offset"],
            want["path"],
        ), want
        if want["dev"] is not None:
            assert got.dev == want["dev"], want
        if want["inode"] is not None:
            assert got.inode == want["inode"], want
    # Inside the arena there is exactly what the program put there: nothing merged,
    # nothing split, nothing dropped.
    lo, hi = arena(expected_file)
    in_arena = [r.start for r in regions if lo <= r.start < hi]
    assert in_arena == sorted(w["start"] for w in expected if lo <= w["start"] < hi)


@pytest.mark.parametrize("source", ["maps", "smaps"])
def test_awkward_names_exactly_as_the_program_mapped_them(source):
    pid = awkward_pid()
    parse = parse_maps if source == "maps" else parse_smaps
    regions = parse(fixture(pid, source))
    assert_matches_program(regions, EXPECTED / f"{pid}.regions")


def test_awkward_names_nothing_dropped():
    pid = awkward_pid()
    maps = fixture(pid, "maps")
    from_maps = parse_maps(maps)
    from_smaps = parse_smaps(fixture(pid, "smaps"))
    # One region per line: the kernel escapes newlines in names, so lines are regions.
    assert len(from_maps) == maps.count(b"\n")
    assert [maps_fields(r) for r in from_smaps] == [maps_fields(r) for r in from_maps]
    long_names = [r.path for r in from_maps if len(r.path) > 4096]
    assert len(long_names) == 1 and long_names[0].endswith("/long name at the end")


def test_awkward_names_smaps_fields_belong_to_their_region():
    pid = awkward_pid()
    raw = fixture(pid, "smaps")
    for region in parse_smaps(raw):
        block = smaps_block(raw, region.start, region.end)
        fields = parse_smaps_fields(block)
        # The kernel's own Size line is the region's size: the block is this region's.
        assert fields["Size"] == region.size
        assert fields["Rss"] == region.rss
        assert fields["Private_Dirty"] == region.private_dirty
        assert block.startswith(f"{region.start:x}-{region.end:x} ".encode())
        assert block.endswith(b"\n") and block.count(b"\nVmFlags:") == 1


# -- hand-made trees ---------------------------------------------------------------------


def test_torn_read_newer_print_wins():
    # Print order (see make_handmade.torn): A, B, B again, C [0,4000), D file [10000,18000)
    # then a restart: E [2000,6000) (C grew), F file [12000,14000) inside D, stack.
    expected = [
        (0x400000, 0x401000, "r-xp", 0, 4 * KB),
        (0x401000, 0x403000, "rw-p", 0x1000, 8 * KB),
        (0x7F0000000000, 0x7F0000002000, "rw-p", 0, 16 * KB),  # C, cut where E starts
        (0x7F0000002000, 0x7F0000006000, "rw-p", 0, 12 * KB),  # E whole
        (0x7F0000010000, 0x7F0000012000, "r--p", 0, 32 * KB),  # D before F
        (0x7F0000012000, 0x7F0000014000, "r--p", 0x2000, 4 * KB),  # F whole
        (0x7F0000014000, 0x7F0000018000, "r--p", 0x4000, 32 * KB),  # D after F: offset moves
        (0x7FFFFFFDE000, 0x7FFFFFFFF000, "rw-p", 0, 20 * KB),
    ]
    for source in ("maps", "smaps"):
        parse = parse_maps if source == "maps" else parse_smaps
        regions = parse(fixture(90001, source))
        assert [(r.start, r.end, r.perms, r.offset) for r in regions] == [
            e[:4] for e in expected
        ], source
    regions = parse_smaps(fixture(90001, "smaps"))
    assert [r.rss for r in regions] == [e[4] for e in expected]


def test_dedupe_of_sorted_regions_is_identity():
    regions = parse_maps(fixture(90005, "maps"))
    assert dedupe_regions(list(regions)) == regions


def test_missing_unknown_and_odd_fields():
    raw = fixture(90002, "smaps")
    regions = parse_smaps(raw)
    assert [r.start for r in regions] == [
        0x10000,
        0x14000,
        0x7F0000000000,
        0x7F0000002000,
        0x7F0000004000,
    ]
    full, missing, unknown, no_flags, odd = regions
    assert (
        full.rss,
        full.pss,
        full.shared_clean,
        full.shared_dirty,
        full.private_clean,
        full.private_dirty,
        full.anonymous,
        full.swap,
    ) == (16 * KB, 9 * KB, 12 * KB, 1 * KB, 2 * KB, 1 * KB, 3 * KB, 5 * KB)
    # Absent lines are unknown (None), not zero; present ones are still read.
    assert (missing.rss, missing.pss, missing.anonymous, missing.swap) == (None,) * 4
    assert (missing.private_dirty, missing.shared_clean) == (4 * KB, 0)
    assert missing.dirty == 4 * KB

    def fields(region):
        return parse_smaps_fields(smaps_block(raw, region.start, region.end))

    f = fields(full)
    assert (f["THPeligible"], f["ProtectionKey"], f["Size"]) == (1, 3, 16 * KB)
    assert f["VmFlags"] == "rd mr mw me"
    assert "VmFlags" not in fields(missing)
    assert "Rss" not in fields(missing)
    u = fields(unknown)
    assert (u["FutureBytes"], u["FutureCount"], u["FutureText"]) == (12 * KB, 7, "two words")
    assert u["VmFlags"].split() == ["rd", "wr", "mr", "mw", "me", "ac", "zz", "q9"]
    assert fields(no_flags)["VmFlags"] == ""
    o = fields(odd)
    assert o["THPeligible"] == "x"
    assert odd.path == "[vvar_vclock]"
    assert len(f) == 25  # 22 kB fields, THPeligible, ProtectionKey, VmFlags


def test_old_kernel_fields_in_another_order_without_vmflags():
    regions = parse_smaps(fixture(90003, "smaps"))
    assert [(r.start, r.end, r.path) for r in regions] == [
        (0x8048000, 0x8049000, "/bin/old"),
        (0xBF800000, 0xBF821000, "[stack]"),
    ]
    stack = regions[1]
    assert (stack.rss, stack.private_dirty, stack.anonymous, stack.swap) == (
        12 * KB,
        12 * KB,
        12 * KB,
        8 * KB,
    )
    assert regions[0].shared_clean == 4 * KB


def test_56_bit_addresses_and_vsyscall():
    regions = parse_smaps(fixture(90004, "smaps"))
    assert [(r.start, r.end, r.path) for r in regions] == [
        (0x55D0C0A00000, 0x55D0C0A01000, "/usr/bin/la57"),
        (0xFF7FFFF7FF0000, 0xFF7FFFF7FF2000, ""),
        (0xFFFFFFFFFDE000, 0xFFFFFFFFFFF000, "[stack]"),
        (0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, "[vsyscall]"),
    ]
    assert parse_maps(fixture(90004, "maps")) == [
        r._replace(
            rss=None,
            pss=None,
            shared_clean=None,
            shared_dirty=None,
            private_clean=None,
            private_dirty=None,
            swap=None,
            anonymous=None,
        )
        for r in regions
    ]


def test_32_bit_layout():
    regions = parse_maps(fixture(90005, "maps"))
    assert [(r.start, r.end, r.perms, r.offset, r.path) for r in regions] == [
        (0x08048000, 0x08049000, "r-xp", 0, "/usr/bin/prog32"),
        (0x08049000, 0x0804A000, "rw-p", 0x1000, "/usr/bin/prog32"),
        (0x0804A000, 0x0806B000, "rw-p", 0, "[heap]"),
        (0xF7D00000, 0xF7ED0000, "r-xp", 0, "/usr/lib/i386-linux-gnu/libc.so.6"),
        (0xF7F9C000, 0xF7F9E000, "r-xp", 0, "[vdso]"),
        (0xFFD8E000, 0xFFDAF000, "rw-p", 0, "[stack]"),
    ]


def test_wide_offsets_devices_and_inodes():
    regions = parse_maps(fixture(90006, "maps"))
    assert [maps_fields(r) for r in regions] == [
        (0x7F0000000000, 0x7F0000001000, "r--s", 0x13880000000, "103:02", 12, "/big.img"),
        (0x7F0000002000, 0x7F0000003000, "r--p", 0xFFFFFFFFF000, "fff:fffff", 2**64 - 1, "/x"),
    ]
    assert regions[0].dev_major_minor == (0x103, 2)
    assert regions[1].dev_major_minor == (0xFFF, 0xFFFFF)


def test_kernel_names():
    names = [r.path for r in parse_smaps(fixture(90007, "smaps"))]
    assert names == [
        "[anon:my name]",
        "[anon_shmem:sh name]",
        "[uprobes]",
        "[vvar_vclock]",
        "anon_inode:[io_uring]",
        "/SYSV0000abcd (deleted)",
        "[stack:1234]",
        "/drm mm object (deleted)",
        "anon_inode:[perf_event]",
    ]


# -- parse_smaps_fields on its own -------------------------------------------------------


def test_smaps_fields_of_a_block_by_hand():
    block = (
        b"00400000-00401000 r-xp 00000000 fe:00 1 /bin/x\n"
        b"Size:                  4 kB\n"
        b"Rss:                   4 kB\n"
        b"THPeligible:           0\n"
        b"Weird:  not a number kB\n"
        b"VmFlags: rd ex mr mw me \n"
    )
    assert parse_smaps_fields(block) == {
        "Size": 4096,
        "Rss": 4096,
        "THPeligible": 0,
        "Weird": "not a number kB",
        "VmFlags": "rd ex mr mw me",
    }


def test_garbage_between_blocks_is_skipped():
    good = fixture(90005, "smaps")
    mangled = b"garbage line\n\n" + good.replace(b"VmFlags:", b"\x00junk\nVmFlags:", 1)
    assert [maps_fields(r) for r in parse_smaps(mangled)] == [
        maps_fields(r) for r in parse_smaps(good)
    ]


# -- blocks that do not fit the learnt layout -----------------------------------------


def test_a_value_wider_than_eight_digits_in_one_block():
    """A region of 100 GiB or more prints a 9-digit Size: that block does not fit the
    fixed-width layout of the others and is parsed line by line; nothing shifts."""
    pid = awkward_pid()
    raw = fixture(pid, "smaps")
    before = parse_smaps(raw)
    victim = before[len(before) // 2]
    block = smaps_block(raw, victim.start, victim.end)
    start = raw.index(block)
    end = start + len(block)
    size_line = next(line for line in block.split(b"\n") if line.startswith(b"Size:"))
    wide = b"Size:           123456789 kB"
    widened = raw[:start] + block.replace(size_line, wide, 1) + raw[end:]
    after = parse_smaps(widened)
    assert [maps_fields(r) for r in after] == [maps_fields(r) for r in before]
    assert [r.rss for r in after] == [r.rss for r in before]
    for region in after:
        block = smaps_block(widened, region.start, region.end)
        assert block.startswith(f"{region.start:x}-{region.end:x} ".encode())
        assert block.endswith(b"\n") and b"\nVmFlags:" in block
    middle = after[len(after) // 2]
    assert parse_smaps_fields(smaps_block(widened, middle.start, middle.end))["Size"] == (
        123456789 * KB
    )


def test_a_read_cut_short_keeps_what_was_read():
    """The process exited mid-read: the text stops inside a block."""
    pid = awkward_pid()
    raw = fixture(pid, "smaps")
    whole = parse_smaps(raw)
    cut_block = whole[10]
    block = smaps_block(raw, cut_block.start, cut_block.end)
    a = raw.index(block)
    b = a + len(block)
    cut = raw[: a + (b - a) // 2]  # stops in the middle of block 10's fields
    regions = parse_smaps(cut)
    assert [maps_fields(r) for r in regions] == [maps_fields(r) for r in whole[:11]]
    assert [r.rss for r in regions[:10]] == [r.rss for r in whole[:10]]
    assert smaps_block(cut, regions[10].start, regions[10].end) == cut[a:]
