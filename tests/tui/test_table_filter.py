"""The table's filter decides names once per distinct one: it must keep exactly the
regions a plain per-region check keeps (the check written out here, as the filter's
documentation states it)."""

from __future__ import annotations

from conftest import PROC_FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from vmtop.model.columns import RegionColumns
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.tui.widgets.table_column_rows import column_rows
from vmtop.tui.widgets.table_model import filter_regions

PROCFS = ProcFS(str(PROC_FIXTURES))
# 90007 has a thread's stack (thread 1234).
REGIONS = [r for pid in (7925, 7932, 7936, 90007) for r in take_snapshot(PROCFS, pid).regions]
# The kinds' labels in the Kind column, where they differ from the kinds' names.
LABELS = {"thread_stack": "tstack"}
COLUMNS = RegionColumns.from_regions(sorted(REGIONS))


def plain_match(r, term: str) -> bool:
    if term in r.path.lower() or term in (r.object or "").lower():
        return True
    if r.kind.startswith(term) or term in r.perms:
        return True
    if LABELS.get(r.kind, r.kind).startswith(term):
        return True
    if r.kind == "thread_stack" and not r.path and term in f"[stack of thread {r.tid}]":
        return True
    digits = term[2:] if term.startswith("0x") else term
    if not digits or any(c not in "0123456789abcdef_" for c in digits):
        return False
    digits = digits.replace("_", "")
    if term.startswith("0x") and digits and r.start <= int(digits, 16) < r.end:
        return True
    return f"{r.start:x}".startswith(digits) or f"{r.end:x}".startswith(digits)


TERMS = st.sampled_from(
    ["rw", "r-x", "p", "s", "libc", "heap", "anon", "text", "stack", "7f", "55", "0x7f",
     "0x1", "a", "ff", "zz", "0x_", "guard", "(deleted)", "so.6", "x1b", "tstack", "ts",
     "thread", "1234", "of", "[stack"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(TERMS, min_size=1, max_size=3))
def test_filter_keeps_what_a_plain_check_keeps(terms: list[str]) -> None:
    text = " ".join(terms)
    want = [r for r in REGIONS if all(plain_match(r, t) for t in terms)]
    assert filter_regions(REGIONS, text) == want
    # The columns' filter (a huge map's table) keeps the same ones.
    assert list(column_rows(COLUMNS, {}, "start", False, text)) == sorted(want)


def test_an_address_inside_a_region_finds_it() -> None:
    r = REGIONS[len(REGIONS) // 2]
    assert filter_regions(REGIONS, f"0x{r.start + 1:x}") == [r]


def test_a_thread_stack_is_found_by_what_the_table_shows() -> None:
    (named,) = [r for r in REGIONS if r.kind == "thread_stack"]  # [stack:1234]
    assert filter_regions(REGIONS, "tstack") == [named]  # the Kind column's label
    # A thread stack known from the thread's stack pointer has no name in maps: the
    # table shows "[stack of thread 812]", and that is what a person types.
    unnamed = named._replace(start=named.end, end=named.end + 8192, path="", tid=812)
    regions = [*REGIONS, unnamed]
    assert filter_regions(regions, "812") == [unnamed]
    assert unnamed in filter_regions(regions, "stack of thread")
    assert filter_regions(regions, "tstack 812") == [unnamed]
    columns = RegionColumns.from_regions(sorted(regions))
    assert list(column_rows(columns, {}, "start", False, "tstack 812")) == [unnamed]
