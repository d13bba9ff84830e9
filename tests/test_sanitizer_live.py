"""Live: tests/fixtures/sanitizers/workload.c built here with gcc -fsanitize=address,
thread, leak (the run-time shared, and linked in), watched while it runs. The ground
truth is what the child printed (ASan's layout with verbosity=1, its allocator's
statistics, the distance between two blocks), and what the run-time named its mappings
with decorate_proc_maps=1 in a second run of the same program. Skipped where gcc cannot
build with a sanitizer."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import run_vmtop
from helpers_sanitizer import (
    WORKLOAD,
    build_workload,
    label_hull,
    printed_chunks,
    printed_classes,
    printed_layout,
    region_at,
    runtime_label,
)

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.model.explain import why_kind
from vmtop.model.sanitizer_layout import (
    ASAN_SHADOW,
    ASAN_SHADOW_GAP,
    FAKE_STACK,
    TSAN_META,
    TSAN_SHADOW,
    TSAN_TRACES,
    chunks_size_of,
    tool_of,
)
from vmtop.procfs.facts import read_classify_facts
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.sanitizer_runtime import SanitizerPrograms, has_sanitizer_layout
from vmtop.procfs.snapshot import take_snapshot

MiB = 1 << 20


def start(spawn, exe, tmp_path, options: dict[str, str], tries: int = 1):
    """The workload running up to its READY line: (child, its CHUNK lines, what its
    run-time printed on stderr). gcc 12's run-time with decorate_proc_maps=1 sometimes
    dies at start (two threads name a mapping with one file name at once): tried again."""
    for attempt in range(tries):
        err_path = tmp_path / f"stderr{attempt}"
        with open(err_path, "wb") as err:
            child = spawn([exe], stdin=subprocess.PIPE, stderr=err, env={**os.environ, **options})
        try:
            lines = child.read_until("READY", timeout=60)
        except AssertionError:
            if attempt + 1 == tries:
                raise
            continue
        return child, "\n".join(lines), err_path.read_text(errors="replace")
    raise AssertionError("unreachable")


def snapshot(child):
    return take_snapshot(ProcFS(), child.pid)


def send(child, line: str) -> None:
    child.proc.stdin.write(line.encode() + b"\n")
    child.proc.stdin.flush()


def test_asan_names_its_shadow_and_heap_as_it_printed_them(spawn, tmp_path):
    exe = build_workload("address", tmp_path)
    child, out, err = start(spawn, exe, tmp_path, {"ASAN_OPTIONS": "verbosity=1:detect_leaks=0"})
    snap = snapshot(child)
    regions = snap.regions
    layout = printed_layout(err)
    for part, obj in (
        ("LowShadow", ASAN_SHADOW),
        ("ShadowGap", ASAN_SHADOW_GAP),
        ("HighShadow", ASAN_SHADOW),
    ):
        lo, hi = layout[part]
        assert region_at(regions, lo).object == obj and region_at(regions, hi - 1).object == obj
    named = [r for r in regions if r.object in (ASAN_SHADOW, ASAN_SHADOW_GAP)]
    assert min(r.start for r in named) >= layout["LowShadow"][0] - 4096
    assert max(r.end for r in named) == layout["HighShadow"][1]
    classes = printed_classes(err)
    assert classes
    for start_address, (_, size) in classes.items():
        assert chunks_size_of(region_at(regions, start_address).object) == size
    for n, p, q in printed_chunks(out):
        assert chunks_size_of(region_at(regions, p).object) == q - p >= n
    # vmtop snapshot's JSON says the same.
    result = run_vmtop("snapshot", child.pid, "--format", "json")
    assert result.returncode == 0, result.stderr
    objects = {r["object"] for r in json.loads(result.stdout)["regions"]}
    assert {ASAN_SHADOW, ASAN_SHADOW_GAP, "ASan heap"} <= objects


def test_asan_fake_stacks_named_by_the_runtime_are_named(spawn, tmp_path):
    """With decorate_proc_maps=1 the run-time names its mappings: each thread's fake
    stack (detect_stack_use_after_return=1) among them."""
    exe = build_workload("address", tmp_path)
    options = "detect_leaks=0:decorate_proc_maps=1:detect_stack_use_after_return=1"
    child, _, _ = start(spawn, exe, tmp_path, {"ASAN_OPTIONS": options}, tries=4)
    regions = snapshot(child).regions
    fake = [r for r in regions if runtime_label(r.path) == "FakeStack"]
    assert len(fake) == 4  # the main thread and three workers
    assert {(r.kind, r.object) for r in fake} == {("anon", FAKE_STACK)}
    assert "use after return" in why_kind(fake[0])
    others = {r.object for r in regions if runtime_label(r.path) == "stack depot"}
    assert others == {"ASan: stack depot"}


def test_a_growing_asan_buffer_is_seen_in_the_shadow(spawn, tmp_path):
    """realloc frees the old block into ASan's quarantine, which poisons its shadow: a
    byte for every 8 freed. The diff says the shadow's RSS rose, and names it."""
    exe = build_workload("address", tmp_path)
    child, _, _ = start(spawn, exe, tmp_path, {"ASAN_OPTIONS": "detect_leaks=0"})
    before = snapshot(child)
    freed = 0
    for _ in range(4):
        send(child, "grow")
        cap = int(child.read_until("GREW")[-1].split()[1])
        freed += cap // 2  # (the block realloc moved it from)
    assert freed == 15 * MiB
    after = snapshot(child)
    rises = [
        e
        for e in diff_snapshots(before, after)
        if e.event == ev.RSS_CHANGED and e.object == ASAN_SHADOW and e.delta > 0
    ]
    assert rises and sum(e.delta for e in rises) >= 0.9 * freed / 8, (rises, freed)


def _tsan_truth(spawn, exe, tmp_path):
    child, _, _ = start(spawn, exe, tmp_path, {"TSAN_OPTIONS": "decorate_proc_maps=1"}, tries=4)
    return parse_maps(open(f"/proc/{child.pid}/maps", "rb").read())


def test_tsan_parts_are_where_its_runtime_names_them(spawn, tmp_path):
    exe = build_workload("thread", tmp_path)
    labelled = _tsan_truth(spawn, exe, tmp_path)
    child, out, _ = start(spawn, exe, tmp_path, {})
    regions = snapshot(child).regions
    hulls = {
        TSAN_SHADOW: label_hull(labelled, lambda label: label == "shadow"),
        TSAN_META: label_hull(labelled, lambda label: label == "meta shadow"),
        TSAN_TRACES: label_hull(labelled, lambda label: label.startswith("trace")),
    }
    for obj, (lo, hi) in hulls.items():
        inside = [r for r in regions if lo <= r.start and r.end <= hi]
        assert inside, obj
        assert {r.object for r in inside} == {obj}, obj
    heap_lo, heap_hi = label_hull(labelled, lambda label: label.startswith("SizeClassAllocator:"))
    for r in regions:
        if heap_lo <= r.start < heap_hi and not r.perms.startswith("---"):
            label = runtime_label(region_at(labelled, r.start).path)
            if label == "SizeClassAllocator: region data":
                assert chunks_size_of(r.object) is not None, hex(r.start)
            elif label is not None:
                assert r.object == "TSan heap metadata", hex(r.start)
    for n, p, q in printed_chunks(out):
        assert chunks_size_of(region_at(regions, p).object) == q - p >= n


@pytest.mark.parametrize("sanitizer", ["address", "thread"])
def test_a_linked_in_runtime_is_told_by_the_programs_symbols(spawn, tmp_path, sanitizer):
    exe = build_workload(sanitizer, tmp_path, f"-static-lib{sanitizer[0]}san")
    env = {"ASAN_OPTIONS": "detect_leaks=0"} if sanitizer == "address" else {}
    child, _, _ = start(spawn, exe, tmp_path, env)
    regions = parse_maps(open(f"/proc/{child.pid}/maps", "rb").read())
    assert not any("san.so" in r.path for r in regions)  # (no shared run-time)
    assert has_sanitizer_layout(regions)
    programs = SanitizerPrograms()
    tool = "ASan" if sanitizer == "address" else "TSan"
    assert programs.linked_tool(ProcFS(), child.pid, regions) == tool
    assert programs.linked_tool(ProcFS(), child.pid, regions) == tool
    assert programs.reads == 1  # (once a file)
    facts = read_classify_facts(ProcFS(), child.pid, regions)
    assert facts.sanitizer == tool
    shadow = ASAN_SHADOW if tool == "ASan" else TSAN_SHADOW
    assert shadow in {r.object for r in snapshot(child).regions}


def test_a_plain_build_runs_no_sanitizer_and_no_file_is_read(spawn, tmp_path, compile_c):
    exe = compile_c(WORKLOAD, "-pthread")
    child = spawn([exe], stdin=subprocess.PIPE)
    child.read_until("READY")
    regions = parse_maps(open(f"/proc/{child.pid}/maps", "rb").read())
    assert not has_sanitizer_layout(regions)  # so its file is not opened for it
    assert read_classify_facts(ProcFS(), child.pid, regions).sanitizer == ""
    assert not [r for r in snapshot(child).regions if tool_of(r.object)]


def test_lsan_heap_chunks_are_the_distance_between_two_blocks(spawn, tmp_path):
    exe = build_workload("leak", tmp_path)
    child, out, _ = start(spawn, exe, tmp_path, {})
    snap = snapshot(child)
    assert read_classify_facts(ProcFS(), child.pid, snap.regions).sanitizer == "LSan"
    for n, p, q in printed_chunks(out):
        r = region_at(snap.regions, p)
        assert r.object.startswith("LSan heap ") and chunks_size_of(r.object) == q - p >= n
