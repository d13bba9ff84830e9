"""Node's V8 named in live Node processes, checked against V8's own figures (printed by
tests/fixtures/node/v8_truths.js: process.memoryUsage(), v8.getHeapSpaceStatistics()):
Node under a name that does not say so (Fedora's node-20 behind a symlink; any name, as
a single-executable app has), Node in the legacy bottom-up layout (``ulimit -s
unlimited``), a WebAssembly memory as it grows, and the isolate's code range. Each
skips with a reason where node is missing."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES

from vmtop.model import kinds
from vmtop.model.v8_pages import BELOW, V8_LARGE, V8_PAGE, runs_v8
from vmtop.model.v8_reservations import CODE_RANGE, WASM_MEMORY
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.procfs.v8_binary import V8Programs

pytestmark = pytest.mark.live

TRUTHS = FIXTURES / "node" / "v8_truths.js"
MiB, GiB = 1 << 20, 1 << 30


def node_path() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("no node here (apt install nodejs)")
    return os.path.realpath(node)


class Node:
    """A v8_truths.js process: ``truth(command)`` sends a command and gives V8's figures
    after it; ``regions()`` vmtop's snapshot of it now."""

    def __init__(self, spawn, program: str | Path, *flags: str, preexec_fn: Callable | None = None):
        argv = [program, *flags, TRUTHS]
        self.child = spawn(argv, stdin=subprocess.PIPE, preexec_fn=preexec_fn)
        self.first = self._read()

    def _read(self) -> dict:
        line = self.child.read_until("TRUTH ", timeout=60)[-1]
        return json.loads(line.removeprefix("TRUTH "))

    def truth(self, command: str) -> dict:
        self.child.proc.stdin.write(command.encode() + b"\n")
        self.child.proc.stdin.flush()
        return self._read()

    def maps_paths(self) -> set[str]:
        lines = Path(f"/proc/{self.child.pid}/maps").read_text().splitlines()
        return {line.split(maxsplit=5)[5] for line in lines if len(line.split()) > 5}

    def regions(self) -> list:
        return take_snapshot(ProcFS(), self.child.pid).regions


def check_heap_pages(regions, truth: dict) -> None:
    """V8's committed heap outside its code range (heapTotal less code space) is the size
    of the read-write pages named; the read-only page is the one r-- page."""
    spaces = truth["spaces"]
    outside_code = (
        truth["memory"]["heapTotal"] - spaces["code_space"] - spaces["code_large_object_space"]
    )
    named = [r for r in regions if r.object in (V8_PAGE, V8_LARGE)]
    assert sum(r.size for r in named if r.perms == "rw-p") == outside_code
    assert len([r for r in named if r.perms == "r--p"]) <= 1


@pytest.mark.parametrize("name", ["node-20", "sea-app"])
def test_node_under_another_name_has_its_pages_named(spawn, tmp_path, name):
    real = node_path()
    program = tmp_path / name
    try:
        os.link(real, program)  # maps prints the name it was run by
    except OSError:
        shutil.copy2(real, program)
    # Fedora's layout: bin/node is a symlink to node-20; maps prints node-20.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "node").symlink_to(program)
    node = Node(spawn, tmp_path / "bin" / "node")
    paths = node.maps_paths()
    assert str(program) in paths and real not in paths
    if name == "sea-app":
        assert not runs_v8(paths)  # no name tells: the program's symbols do
        programs, regions = V8Programs(), node.regions()
        assert programs.runs_v8(ProcFS(), node.child.pid, regions)
        assert programs.runs_v8(ProcFS(), node.child.pid, regions) and programs.reads == 1
    check_heap_pages(node.regions(), node.first)


def test_node_in_the_legacy_layout_has_its_pages_named(spawn):
    program = node_path()
    if resource.getrlimit(resource.RLIMIT_STACK)[1] != resource.RLIM_INFINITY:
        pytest.skip("the stack's hard limit is not unlimited: no legacy layout to ask for")

    def unlimited_stack():
        resource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY,) * 2)

    node = Node(spawn, program, "--expose-gc", preexec_fn=unlimited_stack)
    # Buffers of 256 KiB, one in three kept (the others freed: no two kept ones touch,
    # and merge): glibc mmaps each (260 KiB), packed among the libraries, a few of them
    # on a 256 KiB boundary like a V8 page.
    node.truth("buffers 768 262144")
    truth = node.truth("thin 3")
    maps = [line.split() for line in Path(f"/proc/{node.child.pid}/maps").read_text().splitlines()]
    if not any(len(f) > 5 and ".so" in f[5] and int(f[0].split("-")[0], 16) < BELOW for f in maps):
        pytest.skip("this kernel kept the top-down layout under an unlimited stack")
    spans = [[int(n, 16) for n in fields[0].split("-")] for fields in maps]
    assert any(end - start == 260 << 10 and not start % (256 << 10) for start, end in spans)
    check_heap_pages(node.regions(), truth)


def test_a_webassembly_memory_and_the_code_range_are_named(spawn):
    node = Node(spawn, node_path())
    before = node.first["memory"]["external"]
    for command, size in (("wasm 1024 4096", 64 * MiB), ("grow 3072", 256 * MiB)):
        truth = node.truth(command)
        assert truth["wasm"] == [size]
        # V8 counts the memory in external (its other external bytes move a little).
        assert abs(truth["memory"]["external"] - before - size) < MiB
        regions = node.regions()
        wasm = [r for r in regions if r.object == WASM_MEMORY]
        assert [r.kind for r in wasm] == [kinds.RESERVED, kinds.ANON, kinds.RESERVED]
        assert wasm[1].size == size and wasm[-1].end - wasm[0].start == 10 * GiB
    # The main isolate's code range: 512 MiB with the code space committed in it.
    code = [r for r in regions if r.object == CODE_RANGE]
    assert code[-1].end - code[0].start == 512 * MiB
    committed = sum(r.size for r in code if r.kind != kinds.RESERVED)
    code_space = truth["spaces"]["code_space"] + truth["spaces"]["code_large_object_space"]
    # Each code page: a header, a guard page, the code, a guard page.
    assert code_space - 2 * 4096 * (code_space // (256 << 10)) == committed
