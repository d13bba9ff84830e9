"""Reading a long /proc text a piece at a time and parsing each piece as it comes.

smaps of a million regions is 700 MB of text: holding it, or the parse of all of it at
once, costs more than the regions themselves. ``ProcFS.read_pieces`` hands the text
over a few MiB at a time; ``cut`` says where in a piece the complete regions end.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from operator import itemgetter, le

from vmtop.model.columns import RegionColumns
from vmtop.model.columns_builder import ColumnsBuilder
from vmtop.model.region import Region
from vmtop.procfs.background_read import CHUNK
from vmtop.procfs.errors import ProcError
from vmtop.procfs.parse_maps import (
    ParseError,
    cycle_collector_paused,
    parse_maps,
    parse_maps_header,
    parse_maps_parts,
    parse_smaps,
    parse_smaps_parts,
)
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_blocks import smaps_block
from vmtop.procfs.torn_reads import dedupe_regions

_HEADER = re.compile(rb"[0-9a-f]+-[0-9a-f]+ ")
_NEXT_HEADER = re.compile(rb"\n[0-9a-f]+-[0-9a-f]+ ")
_LOOK_BACK = 4096
_START = itemgetter(0)
_END = itemgetter(1)


def exists(procfs: ProcFS, pid: int, name: str) -> bool:
    return os.path.exists(procfs.path(pid, name))


def cut(text: bytes, between_objects: bool) -> int:
    """Where to end a piece of ``text``: at the start of a region's line (what follows
    may be incomplete), and with ``between_objects`` only where that region and the
    one printed before it are both outside any file, in address order, and the one
    before is not a guard page. 0 when there is no such place (looking at the last
    ``_LOOK_BACK`` regions)."""
    after: Region | None = None
    after_at = 0
    pos = len(text)
    seen = 0
    while seen < _LOOK_BACK:
        nl = text.rfind(b"\n", 0, pos)
        if nl < 0:
            return 0
        pos = nl
        if not _HEADER.match(text, nl + 1):
            continue
        if not between_objects:
            return nl + 1
        seen += 1
        line_end = text.find(b"\n", nl + 1)
        try:
            here = parse_maps_header(text[nl + 1 : line_end if line_end >= 0 else len(text)])
        except ParseError:
            here = None
        if (
            here is not None
            and after is not None
            and not here.inode
            and not after.inode
            and here.perms != "---p"
            and here.end <= after.start
        ):
            return after_at
        after, after_at = here, nl + 1
    return 0


def read_regions_in_pieces(
    procfs: ProcFS,
    pid: int,
    name: str = "smaps",
    chunk: int | None = None,
    *,
    columns: bool = False,
    parsed: dict[str, RegionColumns] | None = None,
) -> list[Region] | RegionColumns | None:
    """Every region of ``name`` (smaps or maps, possibly under task/TID/), parsed a
    piece at a time as it is read (``parse_in_pieces``; with ``columns``,
    ``parse_in_pieces_to_columns``). None when the file is not there (a copied tree).
    Raises ProcError as ProcFS.read_bytes does. ``chunk``: bytes a read asks for; by
    default what is parsed in one go (``PARSE_PIECE``), so no piece is cut again.
    ``parsed``: the columns each file's last parse gave, by file name (the caller's, for
    one process): columns that did not change are shared with them, not joined anew
    (with the other file's, maps or smaps, until this one has been parsed), and this
    parse's columns are put there."""
    if chunk is None:
        chunk = PARSE_PIECE if columns else CHUNK
    parse = parse_smaps if name.endswith("smaps") else parse_maps
    try:
        texts = procfs.read_pieces(pid, name, chunk, ends=_regions_end)
        if not columns:
            return parse_in_pieces(texts, parse, whole=True)
        parts = parse_smaps_parts if parse is parse_smaps else parse_maps_parts
        like = None if parsed is None else parsed.get(name, parsed.get(_other_file(name)))
        regions = parse_in_pieces_to_columns(texts, parse, parts, like, whole=True)
        if parsed is not None:  # (one task's two files at most: its maps and smaps)
            for other in [k for k in parsed if k not in (name, _other_file(name))]:
                del parsed[other]
            parsed[name] = regions
        return regions
    except ProcError:
        if procfs.exists(pid) and not exists(procfs, pid, name):
            return None
        raise


# The most text parsed in one go: the parse's longest steps are single C calls over a
# piece (a regular expression, a join) holding the GIL, ~10 ms a MiB: a key press in
# the UI waits for the one under way.
PARSE_PIECE = 1 << 20


def _regions_end(text: bytes) -> int:
    """Where the last region's line or block that may be cut short begins: what comes
    before it is whole (0 when nothing is)."""
    return cut(text, False)


def _pieces(
    texts: Iterable[bytes], most: int = PARSE_PIECE, whole: bool = False
) -> Iterator[bytes]:
    """The texts re-cut so that each one ends at the end of a region's block, and is
    not much longer than ``most`` bytes unless one block is. ``whole``: each text
    already ends at the end of a block (``read_pieces`` with ``ends``): no text is
    copied to be cut, unless it is longer than ``most``."""
    if whole:
        for text in texts:
            yield from _at_most(text, most)
        return
    carry = b""
    for text in texts:
        if carry:
            text = carry + text
        at = cut(text, False)
        if at <= 0:
            carry = text
            continue
        carry = text[at:]
        yield from _at_most(text[:at], most)
    if carry:
        yield from _at_most(carry, most)


def _at_most(text: bytes, most: int) -> Iterator[bytes]:
    """``text`` (whole blocks) in parts of about ``most`` bytes, each whole blocks."""
    while len(text) > most + most // 2:
        at = cut(text[: most + 1], False)  # the last block starting within ``most``
        if at <= 0:  # the first block is longer: end after it
            found = _NEXT_HEADER.search(text, most)
            if found is None:
                break
            at = found.start() + 1
        yield text[:at]
        text = text[at:]
    yield text


def _other_file(name: str) -> str:
    """maps for smaps and smaps for maps (of the same task): the same regions, so the
    same address and name columns while the map stays as it is."""
    return name[:-5] + "maps" if name.endswith("smaps") else name[:-4] + "smaps"


def parse_in_pieces_to_columns(
    texts: Iterable[bytes],
    parse: Callable[[bytes], list[Region]],
    parse_parts: Callable[[bytes], tuple | None] | None = None,
    like: RegionColumns | None = None,
    whole: bool = False,
) -> RegionColumns:
    """``parse_in_pieces``, as columns: each piece's regions go into the columns as it
    is parsed, so the Region tuples of one piece at most are alive at once (a million
    of them would be 264 MB and walked by every full collection). ``parse_parts``
    (parse_maps_parts): a faster parse that makes no Region, tried first. ``like``:
    the columns of the last parse of the same file, shared where nothing changed.
    ``whole``: each text ends at the end of a block (see ``_pieces``)."""
    builder = ColumnsBuilder()
    last_end = 0
    in_order = True
    for text in _pieces(texts, whole=whole):
        with cycle_collector_paused():  # what a piece makes dies with it: no walks
            parts = parse_parts(text) if parse_parts is not None and in_order else None
            if parts is not None:
                starts, ends = parts[0], parts[1]
                in_order = starts[0] >= last_end
                last_end = ends[-1]
                builder.extend_parts(*parts)
                del parts, starts, ends
                continue
        with cycle_collector_paused():  # the tuples die with the piece: no walks
            run = parse(text)
            if run and in_order:
                ends = map(_END, run)
                starts = map(_START, islice(run, 1, None))
                in_order = run[0].start >= last_end and all(map(le, ends, starts))
                last_end = run[-1].end
            builder.extend_rows(run)
        del run
    columns = RegionColumns.from_builder(builder, like)
    if in_order:
        return columns
    # A torn read (the process changed its map while it was read): rare, and resolved
    # over all the regions at once, as parse_smaps does.
    with cycle_collector_paused():
        return RegionColumns.from_regions(dedupe_regions(list(columns)))


def parse_in_pieces(
    texts: Iterable[bytes], parse: Callable[[bytes], list[Region]], whole: bool = False
) -> list[Region]:
    """``parse(b"".join(texts))``, a piece at a time, each text dropped once parsed:
    memory is that of the regions, not of the whole text (700 MB at a million
    regions) or of parsing all of it at once. The same regions; a torn read is
    resolved over all of them, as parse_smaps does. ``whole``: see ``_pieces``."""
    runs = [parse(text) for text in _pieces(texts, whole=whole)]
    with cycle_collector_paused():
        regions = runs[0] if runs else []
        for run in runs[1:]:
            regions.extend(run)
        return dedupe_regions(regions)


def read_smaps_block(procfs: ProcFS, pid: int, start: int, end: int) -> bytes | None:
    """The smaps block of the region ``start``-``end``, read from the start of the file
    up to it and no further, a piece at a time: when a snapshot kept no smaps text (a
    huge map), what a region's detail costs is the text before it, and a piece of
    memory (the whole text is 700 MB at a million regions). None when the region is
    not there (the kernel prints regions in address order: the read stops past it).
    Raises ProcError as ProcFS.read_bytes does."""
    for text in procfs.read_pieces(pid, "smaps", PARSE_PIECE, ends=_regions_end):
        block = smaps_block(text, start, end)
        if block is not None:
            return block
        last = cut(text, False)
        line_end = text.find(b"\n", last)
        try:
            if parse_maps_header(text[last:line_end]).start > start:
                return None
        except ParseError:
            continue
    return None
