"""Sums by kind and by object straight from a snapshot's columns (no Region a row: at a
million regions that cost seconds) agree with the sums of its Regions, on every fixture
tree and on hand-made regions whose figures are partly None."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_columns import TREES, snapshots

from vmtop.model.columns import RegionColumns
from vmtop.model.object_totals import compare_by, compare_by_each, kind_of, object_of, sums_by_each
from vmtop.model.region import Region

KEYS = (kind_of, object_of)


@pytest.mark.parametrize("smaps", [True, False], ids=["smaps", "maps"])
@pytest.mark.parametrize(("root", "pid"), TREES, ids=[f"{r.name}/{p}" for r, p in TREES])
def test_sums_of_columns_equal_sums_of_regions(root, pid, smaps):
    whole, pieces = snapshots(root, pid, smaps)  # Regions, and columns
    assert isinstance(pieces.regions, RegionColumns)
    assert sums_by_each(pieces.regions, KEYS) == sums_by_each(whole.regions, KEYS)


def test_columns_are_summed_without_a_region_a_row(monkeypatch):
    rows = [
        Region(
            0x1000 * i,
            0x1000 * (i + 1),
            "rw-p",
            0,
            "00:00",
            0,
            path,
            4,
            2,
            0,
            0,
            1,
            1,
            0,
            0,
            kind=kind,
            object=obj,
        )
        for i, (path, kind, obj) in enumerate(
            [
                ("", "anon", None),
                ("/lib/libc.so.6", "library", "/lib/libc.so.6"),
                ("", "thread_stack", "thread 7"),
                ("[heap]", "heap", None),
                ("", "anon", None),
            ]
        )
    ]
    cols = RegionColumns.from_regions(rows)
    expected = sums_by_each(rows, KEYS)

    def no_regions(*_):
        raise AssertionError("a Region was made of a row")

    monkeypatch.setattr(RegionColumns, "__getitem__", no_regions)
    monkeypatch.setattr(RegionColumns, "__iter__", no_regions)
    assert sums_by_each(cols, KEYS) == expected
    assert compare_by_each(cols, cols, KEYS, True) == [
        compare_by(rows, rows, key, True) for key in KEYS
    ]


FIGURE = st.one_of(st.none(), st.integers(0, 1 << 30))


@st.composite
def regions(draw) -> list[Region]:
    out, at = [], 0x10000
    for _ in range(draw(st.integers(0, 30))):
        size = draw(st.sampled_from([4096, 8192, 1 << 20]))
        path = draw(st.sampled_from(["", "[heap]", "/usr/lib/libc.so.6", "/tmp/f"]))
        kind = draw(st.sampled_from(["anon", "heap", "thread_stack", "guard", "file", "stack"]))
        obj = draw(st.sampled_from([None, "thread 812", "Java heap", "/usr/lib/libc.so.6"]))
        figures = draw(st.one_of(st.just((None,) * 8), st.tuples(*[FIGURE] * 8)))
        out.append(
            Region(at, at + size, "rw-p", 0, "00:00", 0, path, *figures, kind=kind, object=obj)
        )
        at += size + draw(st.sampled_from([0, 4096]))
    return out


@settings(max_examples=200, deadline=None)
@given(rows=regions())
def test_sums_of_hand_made_columns_equal_sums_of_their_regions(rows):
    assert sums_by_each(RegionColumns.from_regions(rows), KEYS) == sums_by_each(rows, KEYS)
