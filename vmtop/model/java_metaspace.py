"""A HotSpot JVM's metaspace nodes, found in its map (``java_native_regions`` names
them).

Metaspace (the metadata of loaded classes) is reserved in nodes of 64 MiB
(metaspace::VirtualSpaceNode since JDK-8276086; 8 MiB before), each at a 4 MiB
boundary and committed in granules of 16 or 64 KiB (MetaspaceReclaimPolicy). Nodes are
laid, 64 MiB apart, from the 4 MiB-aligned edges of a run of free regions whose edges
all fall on granules (a thread stack's guard ends a run: HotSpot's 1 MiB stacks lie on
granules too); a tile is taken if it holds a no-access part and a committed one and has
no glibc arena's shape (64 MiB-aligned, committed from its base only or whole), tiles
laid from the two ends that disagree are all dropped, and nodes committed whole are
taken only between two taken ones. Where smaps says how they were mapped (no glibc
arena's heap is mapped without MAP_NORESERVE, ``AnonRows.fresh``), a node committed
whole, one region of a node's size at a 64 MiB boundary, is taken where it touches
another such region or a taken node: a JVM loading thousands of classes grows
metaspace by such nodes laid one on another (40 of them, 2.5 GB, in two runs), where
one alone could be a malloc'd block. No node is taken while anything that could pass
for one is unnamed: a table of the collector that has a pattern and was not seen, the
class space when it is not found and has a node's size, an unknown collector.
"""

from __future__ import annotations

from vmtop.model import kinds
from vmtop.model.java_anon_rows import RW, AnonRows, anonymous, arena_shaped, free
from vmtop.model.region import Region
from vmtop.model.region_rows import END, KIND, PERMS, START
from vmtop.model.stacks import GUARD_MAX

NODE = 64 << 20  # a metaspace node (Settings::virtual_space_node_default_word_size)
_ROOT_CHUNK = 4 << 20  # a node's base is aligned to a root chunk
_GRANULE = 16 << 10  # the smallest commit granule of metaspace (64 KiB by default)


def metaspace_nodes(rows: AnonRows, no_access: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """The [start, end) of each metaspace node the map shows beyond doubt."""
    nodes: list[tuple[int, int]] = []
    done: set[int] = set()
    for i, start, end in no_access:
        # (A run holds a no-access part bigger than a guard: a thread's stack's guard,
        # one a thread, is not read.)
        if end - start <= GUARD_MAX or start % _GRANULE or end % _GRANULE:
            continue
        if i in done or not _granular(rows[i]):
            continue
        first, last = i, i
        while (
            first > 0 and _granular(rows[first - 1]) and rows[first - 1][END] == rows[first][START]
        ):
            first -= 1
        while (
            last + 1 < len(rows)
            and _granular(rows[last + 1])
            and rows[last + 1][START] == rows[last][END]
        ):
            last += 1
        done.update(range(first, last + 1))
        nodes.extend(_tiles(rows, first, last))
    return nodes + _whole_nodes(rows, nodes)


def _whole_nodes(rows: AnonRows, nodes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Nodes committed whole and mapped without MAP_NORESERVE (see the module's
    docstring) that touch another such node or one of ``nodes``."""
    whole: set[int] = set()
    for start in rows.fresh:
        k = rows.containing(start)
        if k is None:
            continue
        r = rows[k]
        if r[START] == start and r[END] - start == NODE and r[PERMS] == RW and free(r):
            whole.add(start)
    edges = {lo for lo, _ in nodes} | {hi for _, hi in nodes}
    known = set(nodes)
    return [
        (s, s + NODE)
        for s in sorted(whole)
        if (s, s + NODE) not in known
        and (s in edges or s + NODE in edges or s - NODE in whole or s + NODE in whole)
    ]


def _granular(r: Region) -> bool:
    """Free, with both edges on granules, and no thread stack's guard by its shape:
    HotSpot's threads' stacks, 1 MiB with a 16 KiB guard, can lie on granules too
    (right below a node, they were taken for part of one)."""
    if r[START] % _GRANULE or r[END] % _GRANULE or r[KIND] == kinds.GUARD:
        return False
    return free(r)


def _tiles(rows: AnonRows, first: int, last: int) -> list[tuple[int, int]]:
    """Nodes laid from the run's 4 MiB-aligned edges (the run: regions ``first`` to
    ``last``). A free rw-p region touching the run from outside may be a node's
    committed edge the kernel merged with a neighbour: it may hold a tile's edge, and
    is never named (``_name_inside`` names only what lies wholly inside)."""
    lo, hi = rows[first][START], rows[last][END]
    if first > 0 and _merged_edge(rows[first - 1]) and rows[first - 1][END] == lo:
        first -= 1
    if last + 1 < len(rows) and _merged_edge(rows[last + 1]) and rows[last + 1][START] == hi:
        last += 1
    up: list[int] = []  # tiles from the run's base up
    at = lo
    while not lo % _ROOT_CHUNK and _node_at(rows, first, last, at):
        up.append(at)
        at += NODE
    down: list[int] = []  # and from its top down
    at = hi - NODE
    while not hi % _ROOT_CHUNK and _node_at(rows, first, last, at):
        down.append(at)
        at -= NODE
    if not (up and down):
        return [(b, b + NODE) for b in up or down]
    top_of_up, base_of_down = up[-1] + NODE, down[-1]
    if (hi - lo) % NODE:
        if top_of_up > base_of_down:
            return []  # the two tilings cross out of step: one of them is wrong
    elif top_of_up < base_of_down and _all_committed(rows, top_of_up, base_of_down):
        # Between the last node from below and the last from above: nodes committed
        # whole (one rw-p region of 64 MiB is a glibc arena's shape too).
        up.extend(range(top_of_up, base_of_down, NODE))
    return [(b, b + NODE) for b in sorted(set(up) | set(down))]


def _merged_edge(r: Region) -> bool:
    return r[PERMS] == RW and anonymous(r)


def _node_at(rows: AnonRows, first: int, last: int, lo: int) -> bool:
    """Whether [lo, lo + 64 MiB) can be a metaspace node: within regions ``first`` to
    ``last``, with a no-access part wholly inside and a committed one, no arena."""
    hi = lo + NODE
    a, b = rows.containing(lo), rows.containing(hi - 1)
    if a is None or b is None or a < first or b > last:
        return False
    inside = committed = False
    for k in range(a, b + 1):
        r = rows[k]
        if r[PERMS] == RW:
            committed = True
        elif lo <= r[START] and r[END] <= hi:
            inside = True
    return inside and committed and not arena_shaped(rows, a, b, lo, hi)


def _all_committed(rows: AnonRows, lo: int, hi: int) -> bool:
    """Whether [lo, hi) is all free rw-p regions, one after the other."""
    k = rows.containing(lo)
    if k is None:
        return False
    while True:
        r = rows[k]
        if r[PERMS] != RW or not free(r):
            return False
        if r[END] >= hi:
            return True
        k += 1
        if k >= len(rows) or rows[k][START] != r[END]:
            return False
