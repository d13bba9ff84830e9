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


async def test_a_kind_under_a_subtotal_is_drawn_in_and_a_group_of_one_is_not():
    """`stack` (a group of one kind) came right under `heap` and `anon`, drawn as they
    were: a reader added it to the heaps' subtotal, which then did not add up."""
    from textual.app import App

    from vmtop.tui.widgets.kind_summary import KindSummary

    class SummaryApp(App):
        def compose(self):
            yield KindSummary()

    app = SummaryApp()
    async with app.run_test(size=(46, 60)) as pilot:
        summary = app.query_one(KindSummary)
        summary.set_regions(jvm_regions())
        await pilot.pause()
        shown = [summary.render_line(y).text for y in range(len(summary.lines) + 2)]
    by_kind = dict(zip((line.totals.kind for line in summary.lines), shown[1:], strict=False))
    assert by_kind["heaps"].startswith("▸heaps")
    assert by_kind["heap"].startswith(" ■heap") and by_kind["anon"].startswith(" ■anon")
    assert by_kind["jit"].startswith("■jit")  # a group of one kind: no subtotal, not in
    assert by_kind["stack"].startswith(" ■stack")  # with thread stacks, under "stacks"
    # The count column lines up on every line, the title's and the total's too.
    assert shown[0][10:16] == " Count"
    assert all(line[10:16].strip().isdigit() and line[16] == " " for line in shown[1:]), shown
