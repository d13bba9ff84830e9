"""A program run under valgrind: its memory, mapped rwx by valgrind, is not JIT code.

tests/fixtures/maps/valgrind_memcheck.maps is /proc/PID/maps of a C program run with
`valgrind --tool=memcheck` (valgrind 3.19, glibc 2.36), which printed: "small 0x4a42080
big 0x4e41040 sbrk 0x4035000" (two mallocs, 1000 bytes and 10 MiB, and its brk) and
"thread local at 0x6041ecc" (a local of its one thread). vmtop called the malloc'd
memory and the brk "jit" ("JIT-compiled code appeared") and the thread's stack guard a
guard of JIT code. Then live, where valgrind is installed.

The program's main stack is one valgrind made (its local at 0x1fff00062f, in the
anonymous rw- region ending at 0x1fff001000, 2^37 less 16 MiB and a page); the
kernel's [stack] is valgrind's own. vmtop called that one the stack and the
program's plain anonymous memory."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import C_DIR, FIXTURES
from helpers_elf import where_results

from vmtop.model import diff, kinds, moments
from vmtop.model.classify import classify_regions
from vmtop.model.explain import why_kind
from vmtop.model.facts import ClassifyFacts
from vmtop.model.valgrind import (
    VALGRIND_CLIENT_STACK,
    VALGRIND_MEMORY,
    VALGRIND_OWN_STACK,
    runs_valgrind,
)
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

MAPS = FIXTURES / "maps" / "valgrind_memcheck.maps"
SMALL, BIG, BRK, THREAD_LOCAL = 0x4A42080, 0x4E41040, 0x4035000, 0x6041ECC


def region_at(regions, address):
    (r,) = [r for r in regions if r.start <= address < r.end]
    return r


def test_a_valgrind_map_is_told_by_its_tool_and_preloads():
    regions = parse_maps(MAPS.read_bytes())
    assert runs_valgrind(r.path for r in regions)
    assert not runs_valgrind(["/usr/bin/python3", "/usr/lib/x86_64-linux-gnu/libc.so.6"])
    assert runs_valgrind(["/usr/lib/x86_64-linux-gnu/valgrind/vgpreload_core-amd64-linux.so"])


def test_the_programs_memory_under_valgrind_is_no_jit_code():
    regions = parse_maps(MAPS.read_bytes())
    facts = ClassifyFacts(valgrind=runs_valgrind(r.path for r in regions))
    classified = classify_regions(regions, facts)
    assert kinds.JIT not in {r.kind for r in classified}
    for address in (SMALL, BIG, BRK):
        r = region_at(classified, address)
        assert (r.kind, r.object) == (kinds.ANON, VALGRIND_MEMORY), hex(address)
    from vmtop.model.explain import why_kind

    assert "Not JIT code" in why_kind(region_at(classified, BIG))
    # No guard is said to be JIT code's.
    assert not [r for r in classified if r.kind == kinds.GUARD and r.object == "JIT code"]
    # Without the fact, as before: the premise of the test.
    plain = classify_regions(regions, ClassifyFacts())
    assert region_at(plain, BIG).kind == kinds.JIT


VALGRIND_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char *big = malloc(16 << 20);
    memset(big, 1, 16 << 20);
    printf("BIG %p\n", (void *)big);
    fflush(stdout);
    pause();
    return 0;
}
"""


@pytest.mark.live
def test_where_under_valgrind_says_no_jit(tmp_path, compile_c):
    if not shutil.which("valgrind"):
        pytest.skip("valgrind is not installed")
    source = tmp_path / "vg.c"
    source.write_text(VALGRIND_PROGRAM)
    exe = compile_c(source)
    child = subprocess.Popen(["valgrind", "-q", str(exe)], stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()  # valgrind starts in a second or two
        address = int(line.split()[1], 16)
        deadline = time.monotonic() + 10
        while "valgrind" not in Path(f"/proc/{child.pid}/maps").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (found,) = where_results(str(child.pid), hex(address))
    finally:
        child.kill()
        child.wait()
    assert (found["kind"], found["object"]) == (kinds.ANON, VALGRIND_MEMORY)


def test_a_read_only_segment_of_its_own_below_the_data_is_no_relro():
    # valgrind's tool is a static binary with no RELRO applied: its r-- LOAD segment
    # (file offset 0x1d4000, ending at 0x279000) sits right below the rw- one (0x278000).
    # RELRO is the r-- part of the data segment, whose offsets run on into the data's.
    classified = classify_regions(parse_maps(MAPS.read_bytes()))
    assert region_at(classified, 0x581D4000).kind == kinds.RODATA
    assert region_at(classified, 0x58279000).kind == kinds.DATA


def test_the_programs_main_stack_is_the_one_valgrind_made():
    regions = parse_maps(MAPS.read_bytes())
    classified = classify_regions(regions, ClassifyFacts(valgrind=True))
    client = region_at(classified, 0x1FFF00062F)  # a local of main(), as it printed
    assert (client.kind, client.object) == (kinds.STACK, VALGRIND_CLIENT_STACK)
    assert (client.start, client.end) == (0x1FFEFFE000, 0x1FFF001000)
    (kernels,) = [r for r in classified if r.path == "[stack]"]
    assert (kernels.kind, kernels.object) == (kinds.STACK, VALGRIND_OWN_STACK)
    assert "valgrind's own" in why_kind(client) and "not the program's" in why_kind(kernels)
    # Exactly one such stack: valgrind's other anonymous memory keeps its name.
    assert [r.object for r in classified].count(VALGRIND_CLIENT_STACK) == 1
    # Without valgrind, an anonymous region ending there is nobody's stack.
    plain = classify_regions(regions, ClassifyFacts())
    assert region_at(plain, 0x1FFF00062F).kind == kinds.ANON
    assert [r for r in plain if r.path == "[stack]"][0].object != VALGRIND_OWN_STACK


def _line_of(child, word: str) -> int:
    line = child.stdout.readline()  # valgrind starts in a second or two
    assert line.startswith(word), line
    return int(line.split()[1], 16)


@pytest.mark.live
def test_the_programs_stack_under_valgrind_is_named_and_grows(compile_c):
    """Ground truth: the program prints the address of a local of main(), then, once
    told, of a local 512 frames of 4 KiB deeper (its stack 2 MiB deeper)."""
    if not shutil.which("valgrind"):
        pytest.skip("valgrind is not installed")
    exe = compile_c(C_DIR / "valgrind_deep_stack.c")
    child = subprocess.Popen(
        ["valgrind", "-q", str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        main_local = _line_of(child, "MAIN")
        deadline = time.monotonic() + 10
        while "valgrind" not in Path(f"/proc/{child.pid}/maps").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (found,) = where_results(str(child.pid), hex(main_local))
        assert (found["kind"], found["object"]) == (kinds.STACK, VALGRIND_CLIENT_STACK)
        before = take_snapshot(ProcFS(), child.pid)
        child.stdin.write("go\n")
        child.stdin.flush()
        deep_local = _line_of(child, "DEEP")
        after = take_snapshot(ProcFS(), child.pid)
    finally:
        child.kill()
        child.wait()
    assert main_local - deep_local >= 2 << 20
    stack = after.region_at(deep_local)
    assert stack is not None and stack.object == VALGRIND_CLIENT_STACK
    assert stack.start <= deep_local < main_local < stack.end
    # Its growth is the stack's, not a new mapping merged into a neighbour.
    events = diff.diff_snapshots(before, after)
    grew = [e for e in events if e.start <= deep_local < e.end]
    assert [e.event for e in grew if e.event != "rss_changed"] == ["stack_grew"], events
    # And so between two marks of a replay (the same mapping at both, grown).
    net = moments.net_change(before, after, moments.remapped_ranges(events))
    grew = [e for e in net if e.start <= deep_local < e.end and e.event != "rss_changed"]
    assert [e.event for e in grew] == ["stack_grew"], net
