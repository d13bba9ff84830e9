"""The summary by kind answers "where does my RSS go": kinds grouped, heaps first, with
a subtotal per group of several kinds, on a recorded JVM."""

from __future__ import annotations

from conftest import FIXTURES

from vmtop.model import kinds
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.tui.widgets.kind_summary import kind_totals, summary_lines


def jvm_regions():
    root = FIXTURES / "real" / "jvm"
    pid = int(next(p for p in root.iterdir() if p.name.isdigit()).name)
    return take_snapshot(ProcFS(str(root)), pid).regions


def test_heaps_group_first_with_heap_arenas_and_anonymous_memory():
    regions = jvm_regions()
    lines = summary_lines(kind_totals(regions))
    first = lines[0]
    assert first.group and first.totals.kind == "heaps"
    heap_kinds = (kinds.HEAP, kinds.ARENA, kinds.ANON)
    assert [line.totals.kind for line in lines[1:4]] == list(heap_kinds)
    expected_rss = sum(r.rss for r in regions if r.kind in heap_kinds)
    assert first.totals.rss == expected_rss > 0
    assert first.totals.count == sum(r.kind in heap_kinds for r in regions)


def test_reserved_group_has_size_and_no_resident_memory():
    regions = jvm_regions()
    lines = summary_lines(kind_totals(regions))
    (reserved,) = [line for line in lines if line.group and line.totals.kind == "reserved"]
    no_access = [r for r in regions if r.kind in (kinds.RESERVED, kinds.GUARD, kinds.GAP)]
    assert reserved.totals.size == sum(r.size for r in no_access) > 2 << 30
    assert reserved.totals.rss == 0


def test_a_group_of_one_kind_has_no_subtotal_line():
    lines = summary_lines(kind_totals(jvm_regions()))
    jit = [line for line in lines if line.totals.kind in ("jit",)]
    assert len(jit) == 1 and not jit[0].group
