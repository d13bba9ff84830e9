"""Threads' stack pointers are read on a time budget in a live process only.

Under load (a full test run beside a browser) the budget ran out while a copied tree's
threads were read, and the same recorded node process classified a thread's stack one
way, then another (the columnar snapshot then differed from the tuple one).
"""

from __future__ import annotations

import os
import threading

from conftest import FIXTURES

from vmtop.procfs import facts
from vmtop.procfs.reader import ProcFS

NODE = FIXTURES / "real" / "node"


def test_a_copied_tree_is_read_whole_however_long_it_takes(monkeypatch):
    monkeypatch.setattr(facts, "THREAD_READ_BUDGET_S", -1.0)  # (spent before it starts)
    pointers = facts.thread_stack_pointers(ProcFS(str(NODE)), 12773)
    assert pointers[12778] == 0x7F84D7FFEC70  # task/12778/syscall's stack pointer
    assert all(sp is not None for sp in pointers.values()), pointers


def test_a_live_process_is_read_on_the_budget(monkeypatch):
    monkeypatch.setattr(facts, "THREAD_READ_BUDGET_S", -1.0)
    done = threading.Event()
    worker = threading.Thread(target=done.wait)
    worker.start()
    try:
        pointers = facts.thread_stack_pointers(ProcFS(), os.getpid())
    finally:
        done.set()
        worker.join()
    assert pointers and all(sp is None for sp in pointers.values())
