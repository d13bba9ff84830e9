"""USS and SHR of a live process, against the kernel's own figures.

A C parent maps 16 MiB of private memory, 2 MiB of shared anonymous memory and 4 MiB
of a file, touches all of it, then forks a child that shares it all. USS must be the
sum of Private_Clean + Private_Dirty over the kernel's smaps (and smaps_rollup's);
SHR must be status' RssFile + RssShmem, which is the third field of statm that
procps-ng's top and htop show as SHR; after the fork the parent's USS falls by what
the child now shares. Both processes are blocked on a read whenever they are looked at,
so the kernel's figures and vmtop's are of the same memory.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import C_DIR, run_vmtop, wait_for_state

from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

pytestmark = pytest.mark.live

KB = 1024
MiB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
# What the C program maps and touches: each page mapped by it alone until the fork.
PRIVATE, SHARED, FILE = 16 * MiB, 2 * MiB, 4 * MiB


def kernel_private(pid: int, name: str = "smaps") -> int:
    """Private_Clean + Private_Dirty summed over the kernel's smaps (or smaps_rollup)."""
    total = 0
    with open(f"/proc/{pid}/{name}") as f:
        for line in f:
            field, _, rest = line.partition(":")
            if field in ("Private_Clean", "Private_Dirty"):
                total += int(rest.split()[0]) * KB
    return total


def region_private(pid: int, address: int) -> int:
    """Private_Clean + Private_Dirty of the kernel's smaps block starting at ``address``."""
    total, inside = 0, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(" ", 1)[0]
            if "-" in head and not head.endswith(":"):
                inside = int(head.split("-")[0], 16) == address
            elif inside and head in ("Private_Clean:", "Private_Dirty:"):
                total += int(line.split()[1]) * KB
    return total


def status_shr(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return sum(int(fields[name].split()[0]) * KB for name in ("RssFile", "RssShmem"))


def statm_shared(pid: int) -> int:
    """The third field of statm, in bytes: what top (procps-ng) and htop show as SHR."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[2]) * PAGE


def agrees_with_the_kernel(read_vmtop, read_kernel, tries: int = 5):
    """``read_vmtop()`` and ``read_kernel()`` of a moment when the kernel's figure held.

    The process is blocked on a read, but its USS still moves when another process
    maps or lets go of a page it maps (a library's clean page: on a busy machine other
    processes start and end all the time), so the kernel is read before and after
    vmtop; a try whose two kernel figures differ is taken again.
    """
    for _ in range(tries):
        truth = read_kernel()
        seen = read_vmtop()
        if read_kernel() == truth:
            return seen, truth
    pytest.fail(f"the kernel's figure did not hold over {tries} tries")


def test_uss_and_shr_are_the_kernels_before_and_after_a_fork(compile_c, spawn, tmp_path):
    exe = compile_c(C_DIR / "uss_fork.c")
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(FILE))
    parent = spawn([exe, data], stdin=subprocess.PIPE)
    private, shared, mapped = (int(a, 16) for a in parent.read_line().split()[1:])
    wait_for_state(parent.pid, "S")
    procfs = ProcFS()

    before, truth = agrees_with_the_kernel(
        lambda: take_snapshot(procfs, parent.pid), lambda: kernel_private(parent.pid)
    )
    assert truth == kernel_private(parent.pid, "smaps_rollup")
    # Each of the three was the parent's alone: all of it is in its USS.
    assert [region_private(parent.pid, a) for a in (private, shared, mapped)] == [
        PRIVATE,
        SHARED,
        FILE,
    ]
    assert before.totals.uss == truth
    shr = status_shr(parent.pid)
    assert shr == statm_shared(parent.pid) >= SHARED + FILE
    assert before.totals.shr == shr

    # The JSON of `vmtop snapshot` says both; without smaps, SHR alone.
    def totals_of_snapshot() -> dict:
        out = run_vmtop("snapshot", str(parent.pid), "--format", "json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["totals"]

    totals, (truth, shr) = agrees_with_the_kernel(
        totals_of_snapshot, lambda: (kernel_private(parent.pid), status_shr(parent.pid))
    )
    assert (totals["uss"], totals["shr"]) == (truth, shr)
    out = run_vmtop("snapshot", str(parent.pid), "--format", "json", "--no-smaps")
    totals = json.loads(out.stdout)["totals"]
    assert (totals["uss"], totals["shr"]) == (None, shr)

    parent.proc.stdin.write(b"fork\n")
    parent.proc.stdin.flush()
    child = int(parent.read_line().split()[1])
    assert parent.read_line() == "DONE fork"
    wait_for_state(parent.pid, "S")
    wait_for_state(child, "S")

    after, truth_after = agrees_with_the_kernel(
        lambda: take_snapshot(procfs, parent.pid), lambda: kernel_private(parent.pid)
    )
    assert after.totals.uss == truth_after
    # The child maps every page of the three now: none of them is the parent's alone,
    # and the parent's USS fell by them at least (its stack and libc's data too).
    assert [region_private(parent.pid, a) for a in (private, shared, mapped)] == [0, 0, 0]
    fell = before.totals.uss - after.totals.uss
    assert fell == truth - truth_after >= PRIVATE + SHARED + FILE
    assert after.totals.shr == status_shr(parent.pid) == statm_shared(parent.pid)
    # The child's own, the same way.
    of_child, child_truth = agrees_with_the_kernel(
        lambda: take_snapshot(procfs, child), lambda: kernel_private(child)
    )
    assert of_child.totals.uss == child_truth
    assert of_child.totals.shr == status_shr(child) == statm_shared(child)


# Past HUGE_MAP_REGIONS the TUI reads a map in pieces into columns (keep_text=False):
# every other page of one mapping made read-only, so that no two neighbours merge; each
# page written first.
MANY_REGIONS = r"""
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#define PAIRS 6000
int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *p = mmap(NULL, 2 * PAIRS * 4096L, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    memset(p, 1, 2 * PAIRS * 4096L);
    for (long i = 0; i < PAIRS; i++) mprotect(p + (2 * i + 1) * 4096L, 4096, PROT_READ);
    printf("READY\n");
    char line[8];
    while (fgets(line, sizeof line, stdin)) {
    }
    return 0;
}
"""


def test_uss_of_a_map_held_as_columns_is_the_kernels(compile_c, spawn):
    from vmtop.model.columns import RegionColumns
    from vmtop.procfs.smaps_budget import carry_smaps

    child = spawn([compile_c(MANY_REGIONS)], stdin=subprocess.PIPE)
    assert child.read_line() == "READY"
    wait_for_state(child.pid, "S")
    procfs = ProcFS()
    snap, truth = agrees_with_the_kernel(
        lambda: take_snapshot(procfs, child.pid, keep_text=False),
        lambda: kernel_private(child.pid),
    )
    assert isinstance(snap.regions, RegionColumns) and len(snap.regions) > 12_000
    assert snap.totals.uss == truth >= 12_000 * PAGE
    # A tick of the TUI that reads maps alone, carrying the figures: the same USS.
    maps_only = take_snapshot(procfs, child.pid, smaps=False, keep_text=False)
    assert isinstance(maps_only.regions, RegionColumns) and maps_only.totals.uss is None
    assert carry_smaps(maps_only, snap).totals.uss == truth
