"""Pure parsers for /proc/PID/maps and /proc/PID/smaps: bytes in, Regions out.

No I/O here, so the parsers are fuzzed with hypothesis and fed recorded fixtures.

What the kernel prints (fs/proc/task_mmu.c, show_map_vma):
``start-end perms offset major:minor inode`` then, when the region has a name, spaces
up to a fixed column and the name. The name is the rest of the line, byte for byte: it
can hold spaces, a trailing space, ESC, CR and invalid UTF-8 (a newline is printed as
``\\012``). Only the padding before it is removed; the name itself is never stripped.

``smaps`` repeats each header followed by ``Key: value [kB]`` lines and ``VmFlags``.
Parsing all fields of every region costs more than the kernel's own read, so only the
resident figures the views use on every tick are parsed eagerly; the rest is parsed on
demand from the region's block (smaps_blocks.py). Torn reads are untangled in
torn_reads.py.

How it stays fast (a process can have 65 000 regions, 47 MB of smaps): within one read
the kernel prints the same field lines for every region, each ``%-16s%8lu kB`` wide
unless a value needs more than 8 digits. So the first block teaches the layout, and one
regular expression with fixed-width skips cuts every block into its header line and
the run of lines holding the resident figures, in C. The text after the
address range and the figures run repeat a lot between regions (every anonymous rw-p
region has the same ``rw-p 00000000 00:00 0``, most figures are 0 or a few pages), so
each distinct one is parsed once, through a dict. The Regions are then built column by
column. If the matches do not tile the text exactly (a value wider than 8 digits, a
torn or truncated read, another kernel's layout, garbage), the blocks that do not fit
go through a careful line-by-line parser instead; nothing is dropped.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import repeat
from operator import add

from vmtop.model.columns import FIGURES
from vmtop.model.kinds import kind_from_name
from vmtop.model.region import Region
from vmtop.procfs.parse_addresses import (
    ADDRESS_END,
    ParseError,
    _addresses_in_order,
    _all_hex,
    _in_order,
)
from vmtop.procfs.parse_lines import Parts, fixed_width_lines, numbered
from vmtop.procfs.torn_reads import dedupe_regions

_PERM_BYTES = b"rwxsp-"


def _parse_rest(rest: bytes) -> tuple[str, int, str, int, str, str]:
    """``perms offset dev inode [padding name]`` -> (perms, offset, dev, inode, path, kind)."""
    parts = rest.split(b" ", 4)
    if len(parts) < 4:
        raise ParseError(f"not a maps line: {rest[:80]!r}")
    perms, offset, dev, inode = parts[0], parts[1], parts[2], parts[3]
    name = parts[4].lstrip(b" ") if len(parts) == 5 else b""
    major, colon, minor = dev.partition(b":")
    if (
        len(perms) != 4
        or perms.translate(None, _PERM_BYTES)
        or not _all_hex(offset)
        or not colon
        or not _all_hex(major)
        or not _all_hex(minor)
        or not inode.isdigit()
    ):
        raise ParseError(f"not a maps line: {rest[:80]!r}")
    path = name.decode("utf-8", "surrogateescape")
    perms_s = perms.decode("ascii")
    inode_n = int(inode)
    return (
        perms_s,
        int(offset, 16),
        dev.decode("ascii"),
        inode_n,
        path,
        kind_from_name(path, perms_s, inode_n),
    )


class _Memo(dict):
    """A dict that computes a missing value once: map(memo.__getitem__, keys) in C."""

    def __init__(self, compute: Callable, limit: int) -> None:
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, key):
        value = self.compute(key)
        self[key] = value
        return value

    def trim(self) -> None:
        # Names from every process ever watched would pile up: start over past a limit.
        if len(self) > self.limit:
            self.clear()


def _rest_body(rest: bytes) -> tuple:
    perms, offset, dev, inode, path, kind = _RESTS[rest]
    return (perms, offset, dev, inode, path, *_NO_FIGURES, kind, *_TAIL_DEFAULTS)


# The text after "start-end " -> its parsed fields; and -> everything of a Region
# after its end address, for a maps line (no figures). Shared by
# all parses: values are immutable and depend only on the key.
_RESTS = _Memo(_parse_rest, 200_000)
_REST_BODIES = _Memo(_rest_body, 200_000)

_FIGURES = FIGURES  # the resident figures a Region carries, in its field order
_SMAPS_KEYS = {
    b"Rss": "rss",
    b"Pss": "pss",
    b"Shared_Clean": "shared_clean",
    b"Shared_Dirty": "shared_dirty",
    b"Private_Clean": "private_clean",
    b"Private_Dirty": "private_dirty",
    b"Swap": "swap",
    b"Anonymous": "anonymous",
}
_NO_FIGURES = (None,) * len(_FIGURES)

# Regions are built by adding tuples in Region's field order: (start, end) + a body
# (perms, offset, dev, inode, path) + figures + (kind,) + the defaults of the fields
# after kind (object, tid, and any Region gains later). Only start and end differ
# between regions; bodies repeat and are memoized.
_LAYOUT = ("start", "end", "perms", "offset", "dev", "inode", "path", *_FIGURES, "kind")
if Region._fields[: len(_LAYOUT)] != _LAYOUT:
    raise ImportError("vmtop.model.region.Region changed its field order: update parse_maps")
_TAIL_DEFAULTS = tuple(Region._field_defaults[f] for f in Region._fields[len(_LAYOUT) :])


def _regions(starts, ends, bodies) -> list[Region]:
    """Regions from whole columns, built in C: (start, end) + body, as a Region."""
    rows = map(add, zip(starts, ends, strict=False), bodies)
    return list(map(tuple.__new__, repeat(Region), rows))


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Parsing makes no reference cycles, but 60 000 new tuples make the cycle
    collector walk every object the program holds, several times: pause it.

    Only paused and resumed: the regions made meanwhile are walked by the next young
    collections, like any new object. An earlier version moved everything to the
    oldest generation when it resumed (gc.freeze then gc.unfreeze) to spare those
    walks; that moved the caller's own young cyclic garbage there too (the TUI's,
    every sample), where only a full collection frees it and none ran: the TUI grew
    by megabytes a minute.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _trim_memos() -> None:
    for memo in (_RESTS, _REST_BODIES):
        memo.trim()


# -- one line -------------------------------------------------------------------------


def parse_maps_header(line: bytes) -> Region:
    """One maps line (without its newline) into a Region without smaps figures."""
    rng, space, rest = line.partition(b" ")
    lo, dash, hi = rng.partition(b"-")
    if not space or not dash or not _all_hex(lo) or not _all_hex(hi):
        raise ParseError(f"not a maps line: {line[:80]!r}")
    start = int(lo, 16)
    end = int(hi, 16)
    if end < start:
        raise ParseError(f"region ends before it starts: {line[:80]!r}")
    if end >= ADDRESS_END:
        raise ParseError(f"address out of range (2^64 or more): {line[:80]!r}")
    perms, offset, dev, inode, path, kind = _RESTS[rest]
    return Region(start, end, perms, offset, dev, inode, path, kind=kind)


# -- maps -----------------------------------------------------------------------------

_MAPS_LINE = re.compile(rb"([0-9a-f]+-[0-9a-f]+) ([^\n]*)\n")
_MAPS_LINE_AT_START = re.compile(rb"^([0-9a-f]+-[0-9a-f]+) ([^\n]*)\n", re.M)


def parse_maps(data: bytes) -> list[Region]:
    """All regions of a maps file. Lines that are not maps lines are skipped."""
    with cycle_collector_paused():
        _trim_memos()
        lines = _MAPS_LINE.findall(data)
        fast: list[Region] | None = None
        if lines:
            ranges, rests = zip(*lines, strict=True)
            widths = list(map(len, ranges))
            # Every byte accounted for: each line matched where the one before ended.
            if sum(widths) + sum(map(len, rests)) + 2 * len(lines) == len(data):
                try:
                    starts, ends, known = _addresses_in_order(ranges, widths)
                    in_order = _in_order(starts, ends, known)
                    fast = _regions(starts, ends, map(_REST_BODIES.__getitem__, rests))
                    if not in_order:
                        fast = dedupe_regions(fast)
                except ValueError:  # ParseError too: some line is not what it seemed
                    fast = None
        # Free the matches while the collector is still off (see parse_smaps).
        del lines
        if fast is not None:
            return fast
        regions = []
        for line in data.split(b"\n"):
            if line:
                try:
                    regions.append(parse_maps_header(line))
                except ParseError:
                    continue
        return dedupe_regions(regions)


def parse_maps_parts(data: bytes) -> Parts | None:
    """parse_maps without making Regions, for columns (``Parts``); None unless every
    byte of ``data`` is maps lines in address order (then parse_maps, which handles
    anything, is the way)."""
    with cycle_collector_paused():
        _trim_memos()
        fixed = fixed_width_lines(data)
        if fixed is not None:
            starts, ends, rests = fixed
        else:
            lines = _MAPS_LINE_AT_START.findall(data)
            # Every line matched whole (each match starts a line, ends at its newline).
            if not lines or len(lines) != data.count(b"\n") or not data.endswith(b"\n"):
                return None
            ranges, rests = zip(*lines, strict=True)
            del lines
        try:
            known = None
            if fixed is None:
                starts, ends, known = _addresses_in_order(ranges, list(map(len, ranges)))
            if not _in_order(starts, ends, known):
                return None
            ids, distinct = numbered(rests)
            return starts, ends, ids, list(map(_REST_BODIES.__getitem__, distinct))
        except ValueError:  # ParseError too: some line is not what it seemed
            return None


# -- smaps ----------------------------------------------------------------------------


class _Layout:
    """The field lines of one kernel's smaps blocks, learnt from the first block.

    ``block`` matches one whole block whose field lines have the learnt widths: groups
    are the address range, the rest of the header line and the run of field lines
    holding the eager figures. ``pattern`` is ``block`` or else one line of anything
    (a fourth group): its findall tiles any text, so a text is all blocks of this
    layout exactly when no line was taken by the fourth group.
    """

    def __init__(self, lines: list[bytes]) -> None:
        keys = [line.partition(b":")[0] for line in lines]
        widths = [len(line) + 1 for line in lines]
        eager = [i for i, key in enumerate(keys) if key in _SMAPS_KEYS]
        first, last = (eager[0], eager[-1]) if eager else (0, -1)
        pre = sum(widths[:first])
        run = sum(widths[first : last + 1])
        post = sum(widths[last + 1 :])
        # x86-64 user addresses print as 12 hex digits: skip those in one step (the
        # digits are checked when they are decoded), match other widths digit by digit.
        block = rb"(.{12}-.{12}|[0-9a-f]+-[0-9a-f]+) ([^\n]*)\n.{%d}(.{%d}).{%d}VmFlags:[^\n]*\n"
        block %= (pre, run, post)
        self.block = re.compile(block, re.S)
        self.pattern = re.compile(rb"(?:%s)|([^\n]*\n|[^\n]+)" % block, re.S)
        # Where each Region figure's line starts inside the run, and its key.
        offsets = {}
        at = 0
        for i in range(first, last + 1):
            if keys[i] in _SMAPS_KEYS:
                offsets[_SMAPS_KEYS[keys[i]]] = (at, keys[i] + b":")
            at += widths[i]
        self.eager = [offsets.get(name) for name in _FIGURES]
        self.figures = _Memo(self._parse_figures, 100_000)
        self.bodies = _Memo(self._body, 100_000)

    def _body(self, rest_and_run: tuple[bytes, bytes]) -> tuple:
        rest, run = rest_and_run
        perms, offset, dev, inode, path, kind = _RESTS[rest]
        return (perms, offset, dev, inode, path, *self.figures[run], kind, *_TAIL_DEFAULTS)

    def _parse_figures(self, run: bytes) -> tuple[int | None, ...]:
        values = []
        for where in self.eager:
            if where is None:
                values.append(None)
                continue
            at, key = where
            if not run.startswith(key, at):
                raise ParseError("smaps fields not where the first block had them")
            line_end = run.find(b"\n", at)
            values.append(_kb_value(run[at + len(key) : line_end]))
        return tuple(values)

    def parts(self, ranges, rests, runs) -> tuple[Parts, bool]:
        """``regions`` without making them (``Parts``), and whether in address order."""
        starts, ends, known = _addresses_in_order(ranges, list(map(len, ranges)))
        in_order = _in_order(starts, ends, known)
        ids, distinct = numbered(list(zip(rests, runs, strict=True)))
        return (starts, ends, ids, list(map(self.bodies.__getitem__, distinct))), in_order

    def regions(self, ranges, rests, runs) -> tuple[list[Region], bool]:
        """Regions of matched blocks (their groups as columns), and whether they are in
        address order. Raises ValueError (ParseError) when a block is not what it
        seemed."""
        starts, ends, known = _addresses_in_order(ranges, list(map(len, ranges)))
        in_order = _in_order(starts, ends, known)
        bodies = map(self.bodies.__getitem__, zip(rests, runs, strict=True))
        return _regions(starts, ends, bodies), in_order


_LAYOUTS: dict[tuple[bytes, ...], _Layout] = {}


def _learn_layout(data: bytes, start: int = 0, stop: int | None = None) -> _Layout | None:
    """The layout of the first block (the one at ``start``), if it is a header, field
    lines and VmFlags."""
    if stop is None:
        stop = len(data)
    header_end = data.find(b"\n", start, stop)
    flags = data.find(b"\nVmFlags:", header_end, stop)
    if header_end < 0 or flags < 0:
        return None
    try:
        parse_maps_header(data[start:header_end])
    except ParseError:
        return None
    lines = data[header_end + 1 : flags].split(b"\n") if flags > header_end else []
    for line in lines:
        key, colon, _ = line.partition(b":")
        if not colon or not key[:1].isupper() or not key.isascii() or b" " in key:
            return None
    signature = tuple(line.partition(b":")[0] + b"%d" % len(line) for line in lines)
    layout = _LAYOUTS.get(signature)
    if layout is None:
        if len(_LAYOUTS) > 16:
            _LAYOUTS.clear()
        layout = _LAYOUTS[signature] = _Layout(lines)
    return layout


def _kb_value(raw: bytes) -> int | None:
    """``      12 kB`` -> 12288; None when it is not a number of kB."""
    value = raw.strip()
    if value.endswith(b"kB"):
        value = value[:-2].rstrip()
    return int(value) * 1024 if value.isdigit() else None


def parse_smaps(data: bytes) -> list[Region]:
    """All regions of an smaps file, with the eager resident figures in bytes.

    The other fields are parsed on demand from the region's block (``smaps_block``).
    Tolerates missing fields, unknown fields, missing VmFlags, garbage lines and the
    same region printed twice (torn reads): duplicates are removed.
    """
    with cycle_collector_paused():
        _trim_memos()
        layout = _learn_layout(data)
        tiled = _parse_tiled(data, 0, len(data), layout)
        if tiled is not None:
            regions, in_order = tiled
            return regions if in_order else dedupe_regions(regions)
        return dedupe_regions(_parse_smaps_mixed(data, layout))


def parse_smaps_parts(data: bytes) -> Parts | None:
    """parse_smaps without making Regions (see parse_maps_parts): None unless every
    block has the first one's layout and they are in address order."""
    with cycle_collector_paused():
        _trim_memos()
        layout = _learn_layout(data)
        if layout is None:
            return None
        layout.figures.trim()
        layout.bodies.trim()
        matches = layout.pattern.findall(data)
        try:
            if not matches:
                return None
            ranges, rests, runs, others = zip(*matches, strict=True)
            del matches
            if any(others):
                return None
            parts, in_order = layout.parts(ranges, rests, runs)
            return parts if in_order else None
        except ValueError:  # ParseError too
            return None


def parse_smaps_tiled(text, start: int, stop: int) -> tuple[list[Region], bool] | None:
    """The regions of the smaps blocks in ``text[start:stop]``, when every one of them
    has the first one's layout.

    ``text`` is bytes or a buffer with find() (mmap: the blocks are matched in place,
    not copied) and ``text[start:stop]`` a run of complete blocks. Returns the regions
    as printed and whether they are in address order, or None when the blocks do not
    tile ``text[start:stop]`` exactly (then only ``parse_smaps`` of the whole text is
    right). Call it with the cycle collector paused, as parse_smaps does.
    """
    _trim_memos()
    return _parse_tiled(text, start, stop, _learn_layout(text, start, stop))


def _parse_tiled(
    text, start: int, stop: int, layout: _Layout | None
) -> tuple[list[Region], bool] | None:
    if layout is None:
        return None
    layout.figures.trim()
    layout.bodies.trim()
    matches = layout.pattern.findall(text, start, stop)
    try:
        if not matches:
            return None
        ranges, rests, runs, others = zip(*matches, strict=True)
        if any(others):  # some line was not part of a block of this layout
            return None
        return layout.regions(ranges, rests, runs)
    except ValueError:  # ParseError too: some block is not what it seemed
        return None
    finally:
        # Free the matches while the collector is still off: re-enabling it runs a
        # collection over every container made meanwhile, 60 000 of them.
        del matches


def _parse_smaps_mixed(data: bytes, layout: _Layout | None) -> list[Region]:
    """Block by block: the layout's pattern where it fits, line by line where not."""
    match = layout.block.match if layout is not None else None
    regions: list[Region] = []
    run: list[tuple] = []  # consecutive blocks that fit the pattern
    pos = 0
    n = len(data)
    while pos < n:
        m = match(data, pos) if match is not None else None
        if m is not None:
            rng, rest, figures = m.groups()
            lo, _, hi = rng.partition(b"-")
            try:
                layout.figures[figures]
                _RESTS[rest]
                if not _all_hex(lo) or not _all_hex(hi) or int(lo, 16) > int(hi, 16):
                    m = None
            except ParseError:
                m = None
        if m is not None:
            run.append(m.groups())
            pos = m.end()
            continue
        if run:
            regions.extend(layout.regions(*zip(*run, strict=True))[0])
            run = []
        end = _next_header(data, pos)
        region = _smaps_block(data, pos, end)
        if region is not None:
            regions.append(region)
        pos = end
    if run:
        regions.extend(layout.regions(*zip(*run, strict=True))[0])
    return regions


def _is_header_start(data: bytes, pos: int) -> bool:
    # Field lines start with a capital; headers with a lowercase hex digit.
    return pos < len(data) and data[pos] in b"0123456789abcdef"


def _next_header(data: bytes, pos: int) -> int:
    """Where the next line that looks like a header starts (after the one at pos)."""
    n = len(data)
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return n
        pos = nl + 1
        if _is_header_start(data, pos):
            return pos


def _smaps_block(data: bytes, start: int, end: int) -> Region | None:
    """One block parsed line by line; None when its first line is not a header."""
    header_end = data.find(b"\n", start, end)
    if header_end < 0:
        header_end = end
    try:
        region = parse_maps_header(data[start:header_end])
    except ParseError:
        return None
    values: dict[str, int | None] = dict.fromkeys(_FIGURES)
    for line in data[header_end + 1 : end].split(b"\n"):
        key, colon, value = line.partition(b":")
        name = _SMAPS_KEYS.get(key) if colon else None
        if name is not None:
            values[name] = _kb_value(value)
    return region._replace(**values)
