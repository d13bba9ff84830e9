"""Parsing pauses the cycle collector; it must not park the caller's garbage where
only a full collection looks (the TUI grew 13 MiB a minute that way)."""

from __future__ import annotations

import gc
import weakref

from conftest import PROC_FIXTURES

from vmtop.procfs.parse_maps import parse_maps, parse_smaps
from vmtop.procfs.smaps_stream import SmapsStream


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cycle collector frees it


def _garbage() -> weakref.ref:
    node = _Node()
    return weakref.ref(node)


def _fixture(name: str) -> bytes:
    return next(PROC_FIXTURES.rglob(name)).read_bytes()


def _young_collection_frees_garbage_made_before(parse) -> None:
    gc.collect()
    assert gc.isenabled()
    ref = _garbage()
    assert ref() is not None
    parse()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.collect(0)  # the youngest generation only: where the caller's garbage was
    assert ref() is None, "the parse moved the caller's garbage out of the young generation"


def test_parse_maps_leaves_young_garbage_young() -> None:
    data = _fixture("maps")
    _young_collection_frees_garbage_made_before(lambda: parse_maps(data))


def test_parse_smaps_leaves_young_garbage_young() -> None:
    data = _fixture("smaps")
    _young_collection_frees_garbage_made_before(lambda: parse_smaps(data))


def test_smaps_stream_leaves_young_garbage_young() -> None:
    data = _fixture("smaps")

    def parse() -> None:
        with SmapsStream(min_run=1) as stream:
            stream.feed(data, len(data), True)
            stream.finish(data)

    _young_collection_frees_garbage_made_before(parse)
