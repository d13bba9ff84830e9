"""CPython's obmalloc arenas named in live interpreters, each version installed here
(3.6 to 3.13: pyenv's, or python3.X on PATH; a version not installed is skipped), against
the interpreter's own count: sys._debugmallocstats()'s "arenas allocated current" times
the arena size, printed by the workload (tests/fixtures/python/workload.py) once two
readings agree, while it then waits on its stdin and allocates nothing."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES

from vmtop.model import kinds
from vmtop.model.python_facts import is_arenas_object
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

pytestmark = pytest.mark.live

WORKLOAD = FIXTURES / "python" / "workload.py"
VERSIONS = [f"3.{minor}" for minor in range(6, 14)]


def interpreter(version: str) -> str:
    """A CPython of this version with obmalloc on its default (no free-threaded build)."""
    # pyenv's builds themselves (its shims on PATH run whichever version is set).
    found = sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python{version}"))
    on_path = shutil.which(f"python{version}")
    if on_path and "/.pyenv/shims/" not in on_path:
        found.append(on_path)
    if not found:
        pytest.skip(f"no CPython {version} here (pyenv install {version}, or python{version})")
    return os.path.realpath(found[0])


def start(spawn, python: str, *modes: str, env: dict | None = None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    child = spawn(
        [python, WORKLOAD, *modes], stdin=subprocess.PIPE, env={**environment, **(env or {})}
    )
    lines = child.read_until("READY", timeout=60)
    words = {line.split()[0]: line.split()[1:] for line in lines}
    return child, words


@pytest.mark.parametrize("version", VERSIONS)
def test_named_arenas_are_the_interpreters_arenas(spawn, version):
    python = interpreter(version)
    child, words = start(spawn, python, "small", "churn", "threads", "ext")
    count, size = (int(x) for x in words["ARENAS"])
    regions = take_snapshot(ProcFS(), child.pid).regions
    named = [r for r in regions if is_arenas_object(r.object)]
    named_bytes = sum(r.size for r in named)
    assert {r.object for r in named} == {f"Python {version} object arenas (obmalloc)"}
    assert all(r.kind == kinds.ANON and r.perms == "rw-p" and not r.size % size for r in named)
    # No more than the interpreter has: a named region that held anything but arenas
    # would show as bytes beyond its count (no other mapping of ours is named).
    assert named_bytes <= count * size
    # The arenas not named are merged into regions with other memory: malloc's mmaps
    # beside them (a list's item array, the radix tree's nodes, 3.11's frame stack
    # chunks), or an object's .bss that a first arena was mapped right after. The
    # kernel merges touching anonymous mappings of the same permissions, so such a
    # region is no whole number of arenas and is left unnamed; it can hold at most as
    # many arenas as fit in it. (Or a run of them placed on a 2 MiB boundary, 2 MiB
    # long: left unnamed, as the kernel places a 2 MiB-multiple mmap so.)
    could_hold = sum(
        r.size // size * size
        for r in regions
        if not is_arenas_object(r.object)
        and r.kind in (kinds.ANON, kinds.BSS)
        and r.perms == "rw-p"
        and not r.inode
        and not r.path
    )
    assert count * size - named_bytes <= could_hold
    assert count >= 20 and named_bytes >= size  # (the workload makes 50 and more)


def test_pythonmalloc_malloc_names_nothing(spawn):
    """With PYTHONMALLOC=malloc there are no arenas: a malloc block mapped as exactly
    3 MiB (three arenas' size, on no 2 MiB boundary) is not named one."""
    python = interpreter("3.12")
    child, words = start(spawn, python, "small", "exact", env={"PYTHONMALLOC": "malloc"})
    assert words["ARENAS"] == ["None", "None"]  # no arenas, the interpreter says
    block = int(words["BLOCK"][0], 16)
    regions = take_snapshot(ProcFS(), child.pid).regions
    where = next(r for r in regions if r.start <= block < r.end)
    if where.size != 3 << 20:
        pytest.skip("the block was merged with a neighbour: its shape proves nothing")
    assert not any(is_arenas_object(r.object) for r in regions)


def test_a_fork_child_has_its_arenas_named(spawn):
    """multiprocessing's fork: the child's arenas, its parent's copied and its own, are
    named in the child as in any CPython process (the child prints its own count)."""
    python = interpreter("3.11")
    parent, words = start(spawn, python, "small", "fork")
    pid, count, size = (int(x) for x in words["CHILD"])
    assert Path(f"/proc/{pid}/stat").read_text().split()[3] == str(parent.pid)  # its child
    regions = take_snapshot(ProcFS(), pid).regions
    named = sum(r.size for r in regions if is_arenas_object(r.object))
    assert size <= named <= count * size
