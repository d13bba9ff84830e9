"""Reading maps again, parsing and classifying only what changed (vmtop.procfs.maps_delta):
the result is always what parsing and classifying the whole new text gives, for random
edits of every recorded maps text; and for a one-line change in a big map only a few
lines are looked at again, the rest are the very objects of the last read."""

from __future__ import annotations

import re

import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts
from vmtop.model.sysv import SysvSegment
from vmtop.procfs.maps_delta import common_prefix, common_suffix, read_again, read_whole
from vmtop.procfs.parse_maps import parse_maps

TEXTS = {
    str(p.relative_to(FIXTURES)): p.read_bytes()
    for p in sorted(FIXTURES.rglob("maps"))
    if p.is_file() and p.stat().st_size
}
LINE = re.compile(rb"([0-9a-f]+)-([0-9a-f]+) (\S+)( .*)")


def test_there_are_texts_to_edit():
    assert len(TEXTS) >= 15 and any("jvm" in name for name in TEXTS)


def facts_for(stack_pointers):
    """Facts as a pure function of the regions asked about: .bss sizes by where the
    data starts (zero for some objects), a fixed SysV table, given stack pointers."""

    def read(regions):
        bss = {}
        for prev, r in zip(regions, regions[1:], strict=False):
            if prev.inode and prev.perms == "rw-p" and prev.end == r.start and not r.inode:
                bss[prev.start] = 0 if prev.start % 0x3000 == 0 else 0x1000
        sysv = {0: SysvSegment(0x1234, 0, 0o600, 4096, 1, 1, 2, 0)}
        return ClassifyFacts(dict(stack_pointers), bss, sysv)

    return read


def truth(text, read_facts):
    regions = parse_maps(text)
    return classify_regions(regions, read_facts(regions))


# -- edits of a maps text -----------------------------------------------------------


def _edit(lines: list[bytes], op: int, i: int, j: int, n: int) -> None:
    if not lines:
        return
    i %= len(lines)
    j %= len(lines)
    m = LINE.match(lines[i])
    if op == 0:  # unmapped
        del lines[i]
    elif op == 1:  # a line copied elsewhere (out of order: a torn read)
        lines.insert(j, lines[i])
    elif op == 2 and m:  # protection changed
        perms = [b"---p", b"r--p", b"rw-p", b"r-xp", b"rwxp", b"rw-s"][n % 6]
        lines[i] = m[1] + b"-" + m[2] + b" " + perms + m[4]
    elif op == 3 and m:  # grew or shrank at its end (up to the next start)
        start, end = int(m[1], 16), int(m[2], 16)
        nxt = LINE.match(lines[i + 1]) if i + 1 < len(lines) else None
        top = int(nxt[1], 16) if nxt else end + 0x100000
        new_end = max(start + 0x1000, min(top, end + (n % 64 - 32) * 0x1000))
        lines[i] = m[1] + b"-" + b"%0*x" % (len(m[2]), new_end) + b" " + m[3] + m[4]
    elif op == 4 and m:  # a new region in the gap after this one (anonymous or not)
        end = int(m[2], 16)
        nxt = LINE.match(lines[i + 1]) if i + 1 < len(lines) else None
        top = int(nxt[1], 16) if nxt else end + 0x100000
        size = (n % 16 + 1) * 0x1000
        if end + size <= top:
            body = [
                b" rw-p 00000000 00:00 0 ",
                b" ---p 00000000 00:00 0 ",
                b" r-xp 00000000 00:00 0 ",
                m[4][:0] + b" " + m[3] + m[4],
            ][n % 4]
            width = len(m[2])
            new = b"%0*x-%0*x" % (width, end, width, end + size) + body
            lines.insert(i + 1, new)
    elif op == 5 and m:  # renamed
        lines[i] = m[1] + b"-" + m[2] + b" " + m[3] + [b" [anon:x]", b"", b" /SYSV00001234"][n % 3]


EDITS = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 999)),
    max_size=4,
)


def edited(text: bytes, edits) -> bytes:
    lines = text.split(b"\n")[:-1]
    for edit in edits:
        _edit(lines, *edit)
    return b"".join(line + b"\n" for line in lines)


def stack_pointers(text: bytes, picks) -> dict[int, int | None]:
    """Thread stack pointers inside some regions of ``text`` (or unknown)."""
    regions = parse_maps(text)
    out: dict[int, int | None] = {}
    for tid, (pick, offset) in enumerate(picks, 100):
        if pick is None or not regions:
            out[tid] = None
            continue
        r = regions[pick % len(regions)]
        out[tid] = r.start + offset % max(1, r.end - r.start)
    return out


PICKS = st.lists(st.tuples(st.none() | st.integers(0, 10**6), st.integers(0, 10**9)), max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(TEXTS)),
    before=EDITS,
    after=EDITS,
    picks_before=PICKS,
    picks_after=PICKS,
    same_stacks=st.booleans(),
)
# Found by hypothesis: an edit in a CUDA process's map, far from /dev/nvidia-uvm, left
# its pinned memory unnamed (the window alone did not know the process used CUDA).
@example(
    name="real/cuda/496/maps",
    before=[(0, 0, 0, 0)],
    after=[(0, 393985, 0, 0)],
    picks_before=[],
    picks_after=[],
    same_stacks=False,
)
# Found by hypothesis: libm's one-page RELRO unmapped leaves its rodata a page below its
# data, which classify calls RELRO across the hole (lld's layout); the window was cut
# at that hole and classified the rodata without its data.
@example(
    name="jvm_layouts/zgc/maps",
    before=[(0, 164, 0, 0)],
    after=[(0, 129, 0, 0)],
    picks_before=[],
    picks_after=[],
    same_stacks=False,
)
def test_reading_again_gives_what_a_whole_read_gives(
    name, before, after, picks_before, picks_after, same_stacks
):
    old_text = edited(TEXTS[name], before)
    new_text = edited(old_text, after)
    old_facts = facts_for(stack_pointers(old_text, picks_before))
    new_facts = old_facts if same_stacks else facts_for(stack_pointers(new_text, picks_after))
    old, classified = read_whole(old_text, old_facts)
    assert classified == truth(old_text, old_facts)
    state, regions, change = read_again(old, new_text, new_facts)
    assert regions == truth(new_text, new_facts)
    if state is not None:
        assert state.regions == parse_maps(new_text)
        assert state.classified is regions
        # And once more from there: the state it left is good to start from.
        _, again, _ = read_again(state, old_text, old_facts)
        assert again == truth(old_text, old_facts)
    if not change.whole and old is not None:
        # Outside the window, the old objects themselves.
        n_after = len(regions) - change.new_hi
        assert all(x is y for x, y in zip(regions[: change.lo], old.classified, strict=False))
        assert all(
            x is y
            for x, y in zip(
                regions[len(regions) - n_after :],
                old.classified[len(old.classified) - n_after :],
                strict=True,
            )
        )


# -- a big map: only the change is looked at ------------------------------------------


def churn_map(regions: int, extra: bytes = b"") -> bytes:
    """What benchmarks/churn_rate.c shows: alternating r-- and rw- anonymous pages,
    then libc, ``extra`` lines after the block."""
    base = 0x7F0000000000
    lines = [
        b"55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 1234      /usr/bin/churn\n",
        b"55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:00 1234      /usr/bin/churn\n",
        b"55d0c0a02000-55d0c0a03000 rw-p 00002000 fe:00 1234      /usr/bin/churn\n",
        b"55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0         [heap]\n",
    ]
    for i in range(regions):
        start = base + i * 0x1000
        perms = b"r--p" if i % 2 == 0 else b"rw-p"
        lines.append(b"%x-%x %s 00000000 00:00 0 \n" % (start, start + 0x1000, perms))
    lines.append(extra)
    lines.append(b"7f1000000000-7f1000028000 r--p 00000000 fe:00 99        /usr/lib/libc.so.6\n")
    lines.append(b"7f1000028000-7f10001bd000 r-xp 00028000 fe:00 99        /usr/lib/libc.so.6\n")
    lines.append(b"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0         [stack]\n")
    return b"".join(lines)


def test_a_one_page_mmap_in_a_big_map_is_read_alone():
    read_facts = facts_for({})
    old, _ = read_whole(churn_map(20_000), read_facts)
    assert old is not None
    page = b"7f0ff0000000-7f0ff0001000 rw-p 00000000 00:00 0 \n"
    new_text = churn_map(20_000, page)
    state, regions, change = read_again(old, new_text, read_facts)
    assert regions == truth(new_text, read_facts)
    assert not change.whole
    assert change.new_hi - change.lo <= 3 and change.old_hi - change.lo <= 2
    assert sum(1 for x, y in zip(regions, old.classified, strict=False) if x is y) >= 20_000
    # And unmapped again: back to the first objects.
    _, back, change = read_again(state, churn_map(20_000), read_facts)
    assert not change.whole and back[-3] is old.classified[-3]


def test_threads_with_unknown_stack_pointers_keep_it_to_the_window():
    # A running thread's stack pointer is unknown: classify then picks thread stacks
    # among the rw- regions right above a no-access one, over the whole map.
    guard = (
        b"7f0fe0000000-7f0fe0001000 ---p 00000000 00:00 0 \n"
        b"7f0fe0001000-7f0fe0801000 rw-p 00000000 00:00 0 \n"
    )
    read_facts = facts_for({101: None})
    old, classified = read_whole(churn_map(5_000, guard), read_facts)
    assert [r.kind for r in classified[-5:-3]] == ["guard", "thread_stack"]
    page = b"7f0ff0000000-7f0ff0001000 rw-p 00000000 00:00 0 \n"
    new_text = churn_map(5_000, guard + page)
    _, regions, change = read_again(old, new_text, read_facts)
    assert regions == truth(new_text, read_facts)
    assert not change.whole and change.new_hi - change.lo <= 3
    # A new region of that shape: the choice is the whole map's again.
    shaped = (
        guard
        + b"7f0ff0000000-7f0ff0001000 ---p 00000000 00:00 0 \n"
        + page.replace(b"7f0ff0000000-7f0ff0001000", b"7f0ff0001000-7f0ff0002000")
    )
    _, regions, change = read_again(old, churn_map(5_000, shaped), read_facts)
    assert change.whole
    assert regions == truth(churn_map(5_000, shaped), read_facts)


def test_the_same_text_reuses_everything():
    read_facts = facts_for({})
    text = churn_map(1000)
    old, _ = read_whole(text, read_facts)
    state, regions, change = read_again(old, bytes(text), read_facts)
    assert (change.lo, change.old_hi, change.new_hi, change.whole) == (
        change.lo,
        change.lo,
        change.lo,
        False,
    )
    assert all(x is y for x, y in zip(regions, old.classified, strict=True))


def test_a_new_library_classifies_everything_again():
    read_facts = facts_for({})
    old, _ = read_whole(churn_map(100), read_facts)
    lib = b"7f0ff0000000-7f0ff0001000 r-xp 00000000 fe:00 77        /usr/lib/libnew.so\n"
    _, regions, change = read_again(old, churn_map(100, lib), read_facts)
    assert change.whole  # the set of objects with code changed
    assert regions == truth(churn_map(100, lib), read_facts)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (b"", b""),
        (b"abc", b"abc"),
        (b"abc", b"abd"),
        (b"x" * 200_000, b"x" * 200_000),
        (b"x" * 150_000 + b"y", b"x" * 150_000 + b"z" + b"x" * 10),
        (b"q" + b"x" * 150_000, b"x" * 150_001),
    ],
)
def test_common_prefix_and_suffix_match_a_byte_loop(a, b):
    def slow_prefix(a, b):
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    assert common_prefix(a, b) == slow_prefix(a, b)
    limit = min(len(a), len(b))
    assert common_suffix(a, b, limit) == slow_prefix(a[::-1], b[::-1])
    assert common_suffix(a, b, 3) == min(3, slow_prefix(a[::-1], b[::-1]))
