"""Two processes' memory side by side, by kind and by object.

Two workers of one program (two PostgreSQL backends, two JVMs) have address spaces laid
out at random, so their regions say nothing about each other; what they hold does. This
sums each process's regions by kind and by object (a library, a file, the Java heap,
``[heap]``), as ``smem -m`` sums by map, and lines the two up, the largest difference
first (of RSS where both have smaps, else of size). Pure: regions in, sums out.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import add, mul
from typing import NamedTuple

from vmtop.model import kinds
from vmtop.model.column_fields import FIGURES as COLUMN_FIGURES
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region


class Sums(NamedTuple):
    """One process's regions of one kind or object, added up; a figure is None where
    none of them has it (no smaps read)."""

    regions: int
    size: int
    rss: int | None
    pss: int | None
    uss: int | None  # Private_Clean + Private_Dirty, as the snapshot's USS


FIGURES = ("size", "rss", "pss", "uss")


class Side(NamedTuple):
    """One kind or object in two processes: its sums in each (None: none there)."""

    name: str
    a: Sums | None
    b: Sums | None

    def delta(self, figure: str) -> int | None:
        """B's figure less A's (a side without it counts 0); None where neither has one."""
        was = getattr(self.a, figure) if self.a is not None else 0
        now = getattr(self.b, figure) if self.b is not None else 0
        if was is None and now is None:
            return None
        return (now or 0) - (was or 0)


def kind_of(region: Region) -> str:
    return region.kind


# Kinds whose anonymous regions' object names one thread or what a guard guards ("the
# stack of thread 812"), which the other process has not: all of them are one thing.
_ONE_THING = frozenset({kinds.GUARD, kinds.STACK, kinds.THREAD_STACK})


def object_of(region: Region) -> str:
    """What a region belongs to: its object (a library, the Java heap), else the name
    the kernel gives it (a file, ``[heap]``, ``[stack]``), else its kind in brackets
    (``[anon]``, ``[thread_stack]``, ``[guard]``): anonymous memory of one kind is one
    thing, and so are the thread stacks of a process and its guard pages."""
    if region.kind in _ONE_THING and not region.path:
        return f"[{region.kind}]"
    return region.object or region.path or f"[{region.kind}]"


def _add(total: int | None, value: int | None) -> int | None:
    if value is None:
        return total
    return (total or 0) + value


# The keys that read a region's kind, object and path alone (``_sums_of_columns``).
_OF_NAMES = frozenset({kind_of, object_of})


def sums_by(regions: Iterable[Region], key: Callable[[Region], str]) -> dict[str, Sums]:
    """The regions added up by ``key`` (``kind_of``, ``object_of``)."""
    return sums_by_each(regions, (key,))[0]


def sums_by_each(
    regions: Iterable[Region], keys: Sequence[Callable[[Region], str]]
) -> list[dict[str, Sums]]:
    """The regions added up by each of ``keys``, in one walk over them."""
    if (
        isinstance(regions, RegionColumns)
        and not (regions.figures and regions.mixed)
        and all(key in _OF_NAMES for key in keys)
    ):
        return _sums_of_columns(regions, keys)
    accs: list[dict[str, list]] = [{} for _ in keys]
    for r in regions:
        for key, acc in zip(keys, accs, strict=True):
            t = acc.setdefault(key(r), [0, 0, None, None, None])
            t[0] += 1
            t[1] += r.end - r.start
            t[2] = _add(t[2], r.rss)
            t[3] = _add(t[3], r.pss)
            if r.private_clean is not None or r.private_dirty is not None:
                t[4] = _add(t[4], (r.private_clean or 0) + (r.private_dirty or 0))
    return [{name: Sums(*t) for name, t in acc.items()} for acc in accs]


def _sums_of_columns(
    cols: RegionColumns, keys: Sequence[Callable[[Region], str]]
) -> list[dict[str, Sums]]:
    """``sums_by_each`` on columns whose figures are all numbers or all None, without a
    Region a row: a million of them cost seconds.

    The keys read a region's kind, object and path only (``_OF_NAMES``), so the rows are added up by
    those three names' codes in one loop over plain numbers, and each key is asked
    once a (kind, object, path), of a region holding just those."""
    kind, obj, path = (cols.codes(name) for name in ("kind", "object", "path"))
    kinds_, objects, paths = (cols.distinct(name) for name in ("kind", "object", "path"))
    k, o = len(kinds_), len(objects)
    # kind + k * (object + o * path): one number a (kind, object, path)
    code = array("q", map(add, kind, map(mul, map(add, obj, map(mul, path, repeat(o))), repeat(k))))
    counts = Counter(code)
    dense = {c: i for i, c in enumerate(counts)}
    group = list(map(dense.__getitem__, code))
    groups = len(dense)
    sizes = [0] * groups
    for g, start, end in zip(group, cols.starts, cols.ends, strict=True):
        sizes[g] += end - start
    rss, pss, uss = [0] * groups, [0] * groups, [0] * groups
    resident = cols.figures is not None
    if resident:
        at = COLUMN_FIGURES.index
        figures = (cols.figures[at(f)] for f in ("rss", "pss", "private_clean", "private_dirty"))
        for g, r, p, clean, dirty in zip(group, *figures, strict=True):
            rss[g] += r
            pss[g] += p
            uss[g] += clean + dirty
    accs: list[dict[str, list]] = [{} for _ in keys]
    for c, g in dense.items():
        proto = Region(
            0, 0, "", 0, "", 0, paths[c // (k * o)], kind=kinds_[c % k], object=objects[c // k % o]
        )
        for key, acc in zip(keys, accs, strict=True):
            t = acc.setdefault(key(proto), [0, 0, None, None, None])
            t[0] += counts[c]
            t[1] += sizes[g]
            if resident:
                t[2] = (t[2] or 0) + rss[g]
                t[3] = (t[3] or 0) + pss[g]
                t[4] = (t[4] or 0) + uss[g]
    return [{name: Sums(*t) for name, t in acc.items()} for acc in accs]


def side_by_side(a: dict[str, Sums], b: dict[str, Sums], resident: bool) -> list[Side]:
    """Every name of ``a`` or ``b`` with both sums, the largest difference first: of RSS
    when ``resident`` (both processes' smaps were read), else of size; then of size,
    then by name."""

    def order(side: Side) -> tuple:
        rss = abs(side.delta("rss") or 0) if resident else 0
        return (-rss, -abs(side.delta("size") or 0), side.name)

    return sorted((Side(n, a.get(n), b.get(n)) for n in a.keys() | b.keys()), key=order)


def compare_by(
    a: Sequence[Region], b: Sequence[Region], key: Callable[[Region], str], resident: bool
) -> list[Side]:
    """Two processes' regions summed by ``key`` and lined up (``side_by_side``)."""
    return side_by_side(sums_by(a, key), sums_by(b, key), resident)


def compare_by_each(
    a: Sequence[Region],
    b: Sequence[Region],
    keys: Sequence[Callable[[Region], str]],
    resident: bool,
) -> list[list[Side]]:
    """``compare_by`` for each of ``keys``, each process's regions walked once."""
    sums_a, sums_b = sums_by_each(a, keys), sums_by_each(b, keys)
    return [side_by_side(x, y, resident) for x, y in zip(sums_a, sums_b, strict=True)]
