"""A read that lands in the middle of exec: the old memory map is gone and the new one
not yet built, so maps reads empty for a moment. That is no exit: the TUI, `watch` and
`record` ended there ("exited while being read: no memory map") in a fifth to two
fifths of the runs on a program that exec'd once."""

from __future__ import annotations

import os
import time

import pytest

from vmtop.procfs.errors import ProcError
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

pytestmark = pytest.mark.live


def test_reads_during_exec_never_take_it_for_an_exit(compile_c, spawn):
    exe = compile_c("exec_chain.c")
    child = spawn([str(exe), "1500"])  # exec itself 1 500 times, then print DONE
    os.set_blocking(child.proc.stdout.fileno(), False)
    procfs = ProcFS()
    taken, refused = 0, []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            take_snapshot(procfs, child.pid, smaps=False)
            taken += 1
        except ProcError as e:
            refused.append(repr(e))
        if child.proc.stdout.read():
            break
    else:
        pytest.fail("the exec chain did not finish in a minute")
    # Without waiting out an empty map, a dozen of these reads said the process exited.
    assert taken > 100 and refused == [], refused[:3]
