"""With a baseline set (b), what went away since it is said: the totals' change since
the baseline in the header, and the regions gone since in the table's title.

From a review: a region unmapped after the baseline just disappeared from the table,
and nothing in the header said what the totals did since ("RSS 1.5M … Δ since baseline
18:36:40", no "-96M" anywhere).

Ground truth: a C program that maps and touches 96 MiB, and unmaps it once the baseline
is set; the kernel's VmRSS before and after.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from vmtop.procfs.reader import ProcFS
from vmtop.tui.app import VmtopApp
from vmtop.tui.formatting import format_delta
from vmtop.tui.widgets.process_header import ProcessHeader

from .conftest import settle

pytestmark = pytest.mark.live

UNMAP_AFTER_BASELINE = r"""
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BLOCK (96UL << 20)

int main(void) {
    char *block = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) { perror("mmap"); return 1; }
    memset(block, 1, BLOCK);
    printf("mapped %lx %lu\n", (unsigned long)block, BLOCK);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 0;
    munmap(block, BLOCK);
    printf("unmapped\n");
    fflush(stdout);
    for (;;) pause();
}
"""
BLOCK = 96 << 20
SLACK = 1 << 20


def vm_rss(pid: int) -> int:
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) * 1024


def mapped_at(pid: int, start: int) -> bool:
    with open(f"/proc/{pid}/maps") as maps:
        return any(int(line.split("-")[0], 16) == start for line in maps)


def header_lines(app) -> list[str]:
    header = app.screen.query_one(ProcessHeader)
    return [header.render_line(y).text for y in range(2)]


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_what_went_away_since_the_baseline_is_said(compile_c, spawn, tmp_path, size):
    source = tmp_path / "unmap_after_baseline.c"
    source.write_text(UNMAP_AFTER_BASELINE)
    child = spawn([str(compile_c(source))], stdin=subprocess.PIPE)
    words = child.read_line().split()
    assert words[0] == "mapped" and int(words[2]) == BLOCK
    start = int(words[1], 16)
    app = VmtopApp(ProcFS(), child.pid)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.action_pause()
        await pilot.press("r")  # a sample of the process as it is, with the block
        await settle(pilot)
        before = vm_rss(child.pid)
        await pilot.press("b")
        await settle(pilot)
        # (The kernel's RSS counters are per CPU, synced lazily: within a few pages.)
        assert screen.baseline is not None and abs(screen.baseline.totals.rss - before) < SLACK
        child.proc.stdin.write(b"go\n")
        child.proc.stdin.flush()
        assert child.read_line() == "unmapped"
        assert not mapped_at(child.pid, start)  # (the kernel: gone)
        await pilot.press("r")
        await settle(pilot)
        after = vm_rss(child.pid)
        assert abs(screen.snapshot.totals.rss - after) < SLACK
        went = format_delta(after - before)
        assert went == format_delta(-BLOCK) == "-96M"  # the 96 MiB went with it
        totals = header_lines(app)[1]
        assert re.search(rf"RSS \S+ \({went}\)", totals), totals
        title = str(screen.query_one("#table-title").render())
        if size[0] >= 160:
            assert "1 region gone since baseline (-96M, RSS -96M)" in title, title
        else:
            assert "1 gone since baseline (RSS -96M)" in title, title
        assert not any(r.start == start for r in screen.snapshot.regions)
        # Cleared, the header and the title say no more of it.
        await pilot.press("B")
        await settle(pilot)
        assert "gone" not in str(screen.query_one("#table-title").render())
        assert f"({went})" not in header_lines(app)[1]
