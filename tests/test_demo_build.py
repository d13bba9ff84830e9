"""Building the C demo program into the cache: once, atomically, only what can be trusted.

Ground truth is the file system and the program itself: it is run and must print its
narration."""

from __future__ import annotations

import os
import stat
import subprocess
import threading

import pytest

from vmtop.demo.build import PROGRAM, build_demo, cache_dir, find_compiler

pytestmark = pytest.mark.skipif(
    find_compiler() is None, reason="no C compiler: the C demo cannot be built"
)


def leftovers(directory) -> list[str]:
    return [name for name in os.listdir(directory) if name.startswith(".building-")]


def test_built_once_then_taken_from_the_cache(tmp_path):
    first = build_demo(tmp_path)
    assert first.path is not None, first.reason
    assert first.built_now
    assert first.path.name == PROGRAM and first.path.parent.parent == tmp_path
    assert first.path.parent.name.startswith("demo-")
    mode = first.path.stat().st_mode
    assert stat.S_ISREG(mode) and mode & stat.S_IXUSR and not mode & stat.S_IWOTH
    before = first.path.stat().st_mtime_ns
    again = build_demo(tmp_path)
    assert again.path == first.path and not again.built_now
    assert first.path.stat().st_mtime_ns == before
    assert leftovers(tmp_path) == []
    # It is the demo: it runs and narrates (and exits at once: its parent is not PID 1).
    out = subprocess.run(
        [str(first.path), "threads"],
        capture_output=True,
        text=True,
        env=dict(os.environ, VMTOP_DEMO_PARENT="1"),
        timeout=10,
    )
    assert out.returncode == 0
    assert out.stdout == ""  # it checks its parent before it says anything
    usage = subprocess.run([str(first.path)], capture_output=True, text=True, timeout=10)
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_a_failing_compiler_gives_a_reason_and_leaves_nothing(tmp_path):
    failed = build_demo(tmp_path, compiler=["false"])
    assert failed.path is None
    assert failed.reason.startswith("false failed"), failed.reason
    assert os.listdir(tmp_path) == []


def test_a_program_others_may_write_is_not_run_but_rebuilt(tmp_path):
    built = build_demo(tmp_path)
    assert built.path is not None, built.reason
    os.chmod(built.path, 0o777)  # anyone could have replaced it
    rebuilt = build_demo(tmp_path)
    assert rebuilt.path == built.path and rebuilt.built_now
    assert not built.path.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    assert leftovers(tmp_path) == []


def test_builds_at_the_same_time_all_get_a_whole_program(tmp_path):
    results = []

    def build() -> None:
        results.append(build_demo(tmp_path))

    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert all(r.path is not None for r in results), [r.reason for r in results]
    assert len({r.path for r in results}) == 1
    assert leftovers(tmp_path) == []
    assert len(os.listdir(tmp_path)) == 1


def test_cache_dir_follows_xdg_and_ignores_a_relative_one(tmp_path):
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "vmtop"
    home = os.path.expanduser("~")
    assert str(cache_dir({"XDG_CACHE_HOME": "relative/dir"})) == f"{home}/.cache/vmtop"
    assert str(cache_dir({})) == f"{home}/.cache/vmtop"
