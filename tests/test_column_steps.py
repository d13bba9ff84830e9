"""Passes over columns a chunk at a time (``vmtop.model.column_steps``) against the
one-pass Python they stand for, with chunks small enough that every list crosses
several chunk boundaries."""

from __future__ import annotations

from array import array
from operator import eq, lt, ne
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from vmtop.model import column_steps as cs

chunks = st.integers(1, 9)
small = st.lists(st.integers(0, 4), max_size=60)


@given(flags=st.lists(st.integers(0, 3), max_size=60), chunk=chunks)
def test_where_is_every_nonzero_index(flags, chunk):
    with patch.object(cs, "CHUNK", chunk):
        assert list(cs.where(bytes(flags))) == [i for i, f in enumerate(flags) if f]


@given(left=small, right=small, shift=st.integers(0, 2), first=st.integers(0, 3), chunk=chunks)
def test_where_pair_is_every_index_where_the_test_holds(left, right, shift, first, chunk):
    n = max(0, min(len(left), len(right) - shift))
    expected = [first + k for k in range(n) if left[k] < right[k + shift]]
    with patch.object(cs, "CHUNK", chunk):
        got = list(cs.where_pair(lt, array("q", left), memoryview(array("q", right)), n,
                                 shift=shift, first=first))  # fmt: skip
    assert got == expected


@given(column=small, value=st.integers(0, 4), chunk=chunks)
def test_where_value(column, value, chunk):
    with patch.object(cs, "CHUNK", chunk):
        assert list(cs.where_value(eq, array("I", column), value)) == [
            k for k, v in enumerate(column) if v == value
        ]
        assert list(cs.where_value(ne, column, value)) == [
            k for k, v in enumerate(column) if v != value
        ]


@given(column=small, lo=st.integers(0, 70), hi=st.none() | st.integers(0, 70), chunk=chunks)
def test_distinct_sum_extend(column, lo, hi, chunk):
    values = array("Q", column)
    with patch.object(cs, "CHUNK", chunk):
        assert cs.distinct(values, lo, hi) == set(column[lo:hi])
        assert cs.chunked_sum(values) == sum(column)
        assert cs.chunked_extend(array("Q", [7]), iter(column)) == array("Q", [7, *column])
        assert list(cs.steps(len(column), lo)) == [
            (a, min(len(column), a + chunk)) for a in range(lo, len(column), chunk)
        ]
