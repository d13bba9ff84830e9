"""A program run under valgrind: its memory, mapped rwx by valgrind, is not JIT code.

tests/fixtures/maps/valgrind_memcheck.maps is /proc/PID/maps of a C program run with
`valgrind --tool=memcheck` (valgrind 3.19, glibc 2.36), which printed: "small 0x4a42080
big 0x4e41040 sbrk 0x4035000" (two mallocs, 1000 bytes and 10 MiB, and its brk) and
"thread local at 0x6041ecc" (a local of its one thread). vmtop called the malloc'd
memory and the brk "jit" ("JIT-compiled code appeared") and the thread's stack guard a
guard of JIT code. Then live, where valgrind is installed."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import FIXTURES
from helpers_elf import where_results

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts
from vmtop.model.valgrind import VALGRIND_MEMORY, runs_valgrind
from vmtop.procfs.parse_maps import parse_maps

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
