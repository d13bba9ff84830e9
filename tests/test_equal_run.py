"""sweep._equal_run: how many keys are equal from two positions on, found by comparing
slices in growing chunks and narrowing a chunk that differs by halves. Against a plain
walk, for lists and for keys of columns (ColumnKeys)."""

from __future__ import annotations

from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from vmtop.model.column_keys import ColumnKeys
from vmtop.model.sweep import _equal_run


def walked(kp, i, kc, j) -> int:
    n = 0
    while i + n < len(kp) and j + n < len(kc) and kp[i + n] == kc[j + n]:
        n += 1
    return n


@st.composite
def two_sides(draw):
    """Two key lists that agree over a long stretch, then differ here and there."""
    length = draw(st.integers(0, 20_000))
    base = list(range(length))
    other = list(base)
    for at in draw(st.lists(st.integers(0, max(0, length - 1)), max_size=4)):
        if other:
            other[at] = -1 - at
    cut = draw(st.integers(0, 3))
    other = other[: max(0, len(other) - cut)]
    i = draw(st.integers(0, length))
    return base, other, i, min(i, len(other))


@settings(max_examples=300, deadline=None)
@given(two_sides())
def test_the_run_is_what_a_walk_finds(sides) -> None:
    kp, kc, i, j = sides
    assert _equal_run(kp, i, kc, j) == walked(kp, i, kc, j)


@settings(max_examples=100, deadline=None)
@given(two_sides())
def test_keys_of_columns_give_the_same_run(sides) -> None:
    kp, kc, i, j = sides

    def keys(values) -> ColumnKeys:  # two columns: the value and its double
        column = array("q", values)
        return ColumnKeys((column, array("q", (2 * v for v in values))), 0, len(values))

    assert _equal_run(keys(kp), i, keys(kc), j) == walked(kp, i, kc, j)


def test_a_difference_in_the_last_key_of_an_odd_chunk_is_found() -> None:
    # 16 keys equal, then a chunk of 85: its halves are 42 and 43, then 21 and 22.
    kp = list(range(101))
    kc = [*range(100), -1]
    assert _equal_run(kp, 0, kc, 0) == 100
