"""`vmtop diff A.json B.json` of two processes of one program: what each holds by kind
and by object, side by side. Ground truth: each process's /proc/PID/smaps, summed here
by mapping name, and what the program printed it did (8 MiB more heap, libm dlopened)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import run_vmtop
from helpers_smaps_sums import smaps_by_name

pytestmark = pytest.mark.live

MIB = 1 << 20

# With "more": 8 MiB more from malloc, kept below the mmap threshold so that it is the
# brk heap's ([heap] in smaps), written so it is resident, and libm dlopened.
WORKER = r"""
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    char *small = malloc(4096);
    memset(small, 1, 4096);
    if (argc > 1) {
        char *more = malloc(8 << 20);
        memset(more, 2, 8 << 20);
        void *libm = dlopen("libm.so.6", RTLD_NOW);
        if (!libm) { printf("dlopen failed: %s\n", dlerror()); return 1; }
        printf("malloc 8M at %p, dlopened libm\n", (void *)more);
    }
    printf("ready %d\n", getpid());
    fflush(stdout);
    for (;;) pause();
}
"""


def _snapshot(pid: int, path) -> None:
    result = run_vmtop("snapshot", str(pid), "--format", "json")
    assert result.returncode == 0, result.stderr
    path.write_bytes(result.stdout)


@pytest.fixture
def two_workers(compile_c, spawn, tmp_path):
    exe = compile_c(WORKER)
    plain = spawn([str(exe)])
    more = spawn([str(exe), "more"])
    assert plain.read_until("ready")[-1].startswith("ready")
    said = more.read_until("ready")
    assert said[0].startswith("malloc 8M at "), said
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _snapshot(plain.pid, a)
    _snapshot(more.pid, b)
    # (Both wait in pause(): their smaps now are as the snapshots read them.)
    return plain.pid, more.pid, a, b


def _by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


def test_json_sums_each_object_of_two_processes_as_their_smaps(two_workers):
    pid_a, pid_b, a, b = two_workers
    result = run_vmtop("diff", str(a), str(b), "--json")
    assert result.returncode == 1, result.stderr  # (two processes: as diff(1), "different")
    doc = json.loads(result.stdout)
    assert doc["compared"] is False
    truth_a, truth_b = smaps_by_name(f"/proc/{pid_a}/smaps"), smaps_by_name(f"/proc/{pid_b}/smaps")
    objects = _by_name(doc["by_object"])

    heap = objects["[heap]"]
    for figure in ("size", "rss", "pss", "uss"):
        assert heap["a"][figure] == truth_a["[heap]"][figure], figure
        assert heap["b"][figure] == truth_b["[heap]"][figure], figure
        assert heap["delta"][figure] == truth_b["[heap]"][figure] - truth_a["[heap]"][figure]
    assert heap["delta"]["rss"] >= 8 * MIB  # (what the program did)

    [libm_path] = [n for n in truth_b if re.search(r"/libm\.so\.6$|/libm-[\d.]+\.so$", n)]
    assert libm_path not in truth_a
    libm = objects[libm_path]
    assert libm["a"] is None
    for figure in ("size", "rss"):
        assert libm["b"][figure] == truth_b[libm_path][figure], figure
        assert libm["delta"][figure] == truth_b[libm_path][figure]
    # (Not PSS and USS exactly: libm's pages are shared with whoever else maps it, and
    # vmtop's Python did while it read the snapshot: less was private to B then.)
    assert libm["b"]["uss"] <= truth_b[libm_path]["uss"]
    assert libm["b"]["uss"] <= libm["b"]["pss"] <= libm["b"]["rss"]

    # The largest difference first: the heap's 8 MiB.
    assert doc["by_object"][0]["name"] == "[heap]"
    rss = [abs(row["delta"]["rss"]) for row in doc["by_object"]]
    assert rss == sorted(rss, reverse=True)

    # By kind: the heap kind is the [heap] mapping (no arena in one thread).
    kinds = _by_name(doc["by_kind"])
    assert kinds["heap"]["delta"]["rss"] == heap["delta"]["rss"]
    assert doc["by_kind"][0]["name"] == "heap"
    # Every kind summed is the whole: the sizes add up to each process's smaps.
    for side, truth in (("a", truth_a), ("b", truth_b)):
        total = sum(row[side]["size"] for row in doc["by_kind"] if row[side] is not None)
        assert total == sum(t["size"] for t in truth.values())


def test_text_lines_up_the_two_by_kind_and_by_object_bounded(two_workers):
    pid_a, pid_b, a, b = two_workers
    result = run_vmtop("diff", str(a), str(b))
    assert result.returncode == 1, result.stderr
    out = result.stdout.decode()
    assert "Regions not compared: they are of two processes" in out
    by_kind = out.split("By kind")[1].split("By object")[0].splitlines()
    by_object = out.split("By object")[1].splitlines()
    # The first row after the header is the heap, 8M more at B.
    assert by_kind[2].rstrip().endswith("heap"), by_kind
    assert by_object[2].rstrip().endswith("[heap]"), by_object
    delta_rss = by_object[2].split()[5]
    assert delta_rss.startswith("+8.") or delta_rss.startswith("+9."), by_object[2]
    assert re.search(r"libm[^\n]*\(only in B\)", out), out
    # Bounded: ten rows, then how many more (a C program maps more than ten objects).
    names = (
        smaps_by_name(f"/proc/{pid_b}/smaps").keys() | smaps_by_name(f"/proc/{pid_a}/smaps").keys()
    )
    assert len(names) > 10
    rows = [line for line in by_object[2:] if line.strip()]
    assert len(rows) == 11 and re.match(r"  … and \d+ more objects?", rows[10]), rows
