"""What a region named by ``python_arenas`` is, in plain words (the region detail)."""

from __future__ import annotations

from vmtop.model.python_facts import LARGE_ARENA, is_arenas_object, version_of_object
from vmtop.model.region import Region


def why_python(r: Region, size: str) -> str | None:
    """The words for CPython's object arenas; None for any other region."""
    if not is_arenas_object(r.object):
        return None
    version = version_of_object(r.object)
    major, _, minor = version.rstrip("t").partition(".")
    large = (int(major), int(minor or 0)) >= (3, 10)
    arena = "1 MiB" if large else "256 KiB"
    count = r.size // (LARGE_ARENA if large else LARGE_ARENA // 4)
    how_many = "one arena" if count == 1 else f"{count} arenas the kernel merged, as they touch"
    return (
        f"CPython {version}'s object allocator (obmalloc, 'pymalloc'), {size}: {how_many}. "
        "Every object of 512 bytes or less (ints, strs, tuples, small dicts and lists) "
        f"comes from pools in arenas, which CPython maps one at a time ({arena} each: "
        f"the arena size {'since 3.10' if large else 'up to 3.9'}) and unmaps when every "
        "pool in one is empty: a few live objects keep a whole arena, so after del or "
        "gc.collect() RSS may not fall. sys._debugmallocstats() counts them ('arenas "
        "allocated current'); tracemalloc sees the objects, not the arenas. Named by "
        "its size, whole arenas, in a process that maps CPython's files (their names "
        "give the version); arenas merged with malloc's memory beside them stay "
        "unnamed. PYTHONMALLOC=malloc turns obmalloc off."
    )
