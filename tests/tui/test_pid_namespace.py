"""A process in a PID namespace of its own (a container's) shows the PID it has there:
its logs, its /proc and `ps` inside the container say that one, and vmtop's PIDs and
thread IDs are those of its own namespace. The recorded huge_pages tree, copied, its
status' NSpid line made that of a container's process."""

from __future__ import annotations

import shutil

import pytest
from conftest import FIXTURES

from vmtop.model.pid_namespace import pid_in_namespace
from vmtop.tui.widgets.process_header import ProcessHeader

from .test_process_screen import ScreenApp, lines, settle

ROOT = FIXTURES / "real" / "huge_pages"
PID = int(next(p.name for p in ROOT.iterdir() if p.name.isdigit()))


@pytest.mark.parametrize(
    "nspid, inner",
    [("19547\t1", 1), ("19547\t301\t7", 7), ("19547", None), ("", None), (None, None)],
)
def test_the_pid_in_the_innermost_namespace(nspid, inner):
    status = {} if nspid is None else {"NSpid": nspid}
    assert pid_in_namespace(status) == inner


def tree_with_nspid(tmp_path, nspid: str):
    root = tmp_path / "proc"
    shutil.copytree(ROOT, root, symlinks=True)
    status = root / str(PID) / "status"
    text = status.read_text()
    status.write_text(text.replace(f"NSpid:\t{PID}\n", f"NSpid:\t{nspid}\n"))
    return root


async def test_the_header_says_the_pid_a_container_gives_it(tmp_path):
    app = ScreenApp(tree_with_nspid(tmp_path, f"{PID}\t1"), PID)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        header = " ".join(lines(app.screen.query_one(ProcessHeader), 1))
        assert "pid in its namespace 1" in header, header


async def test_no_word_of_it_for_a_process_of_vmtops_own_namespace():
    app = ScreenApp(ROOT, PID)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        header = " ".join(lines(app.screen.query_one(ProcessHeader), 1))
        assert "namespace" not in header, header
