"""A program that maps its own executable whole, read-only (as a Rust panic's backtrace
does to read its debug info): that view is a file, not the executable's rodata with
.text, .data and .bss in it. Ground truth: the address mmap returned, and the
executable's own segments, which stay what they are."""

from __future__ import annotations

import subprocess

import pytest
from helpers_elf import vmtop_json, where_results

from vmtop.model import kinds

pytestmark = pytest.mark.live

SELF_VIEW = r"""
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) return 2;
    char *view = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (view == MAP_FAILED) return 3;
    printf("VIEW %p MAIN %p\n", (void *)view, (void *)main);
    fflush(stdout);
    pause();
    return 0;
}
"""


def test_a_whole_file_view_of_the_executable_is_a_file(tmp_path, compile_c):
    source = tmp_path / "self_view.c"
    source.write_text(SELF_VIEW)
    exe = compile_c(source)
    child = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True)
    try:
        _, view, _, main = child.stdout.readline().split()
        in_view, in_text = where_results(str(child.pid), view, main)
        snapshot = vmtop_json("snapshot", "--format", "json", child.pid)
    finally:
        child.kill()
        child.wait()
    assert in_view["kind"] == kinds.FILE and in_view["section"] is None, in_view
    assert (in_text["kind"], in_text["section"], in_text["symbol"]) == (kinds.TEXT, ".text", "main")
    (region,) = [r for r in snapshot["regions"] if r["start"] == in_view["region"]["start"]]
    assert region["kind"] == kinds.FILE and not region["sections"], region
