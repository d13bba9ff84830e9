"""A HotSpot JVM's heap size, for ``vmtop.model.java_regions`` (``JavaFacts``).

Read only for a process that maps libjvm.so. First from the JVM's hsperfdata file, the
``rw-s`` mapping named ``.../hsperfdata_<user>/<pid>`` in its own map: exact. It is
reached as every mapped file is (``vmtop.procfs.mapped_file``: map_files or the JVM's
root, so inside a container or a chroot too) and read only if it is the inode maps
printed: a name that leads elsewhere (a symlink planted on the JVM's side) is never
read. Else from the last ``-Xmx`` or ``-XX:MaxHeapSize=`` of JAVA_TOOL_OPTIONS, the
command line, JDK_JAVA_OPTIONS and _JAVA_OPTIONS, in the order HotSpot reads them (the
last one wins), as the sizes HotSpot's alignment can make of it. A JVM run with
-XX:-UsePerfData and no -Xmx gives neither: its heap is then not named (its default
size depends on too much to guess).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.facts import JavaFacts
from vmtop.model.region import Region
from vmtop.procfs.hsperfdata import (
    class_space_size,
    collector,
    generation_max,
    heap_capacity,
    java_version,
    max_heap_size,
    parse_hsperfdata,
)
from vmtop.procfs.mapped_file import MappedFileError, open_mapped_file, stat_mapped_file
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.parse_proc import parse_cmdline
from vmtop.procfs.reader import read_limit

LIBJVM = "/libjvm.so"
_HSPERF_DIR = "/hsperfdata_"
_HSPERF_LIMIT = 1 << 20  # 32 KiB by default (-XX:PerfDataMemorySize)
_SIZE = re.compile(r"(\d+)([kKmMgGtT]?)")
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}
# HotSpot aligns MaxHeapSize up to its heap alignment: 2 MiB (the card table's) or the
# G1 region size, up to 32 MiB.
_ALIGNMENTS = tuple(1 << k for k in range(21, 26))


def read_java_facts(
    procfs, pid: int, paths: Iterable[str], regions: Sequence[Region] | None = None
) -> JavaFacts | None:
    """``paths``: the distinct paths of the process's map; ``regions``: the map itself
    (its hsperfdata lines give the device and inode to check; without it, maps is read
    again for them)."""
    paths = tuple(paths)
    if not any(path.endswith(LIBJVM) for path in paths):
        return None
    if any(_is_hsperfdata(path) for path in paths):
        counters = _hsperfdata_counters(procfs, pid, paths, regions)
        size = max_heap_size(counters)
        if size:
            return JavaFacts(
                (size,),
                "hsperfdata",
                class_space_size(counters),
                collector(counters),
                generation_max(counters, 0),
                generation_max(counters, 1),
                java_version(counters),
                heap_capacity(counters),
            )
    args = procfs.read_cmdline(pid)
    environ = _environ(procfs.read_any(procfs.path(pid, "environ")) or b"")
    given = heap_size_option(
        [
            *environ.get("JAVA_TOOL_OPTIONS", "").split(),
            *args,
            *environ.get("JDK_JAVA_OPTIONS", "").split(),
            *environ.get("_JAVA_OPTIONS", "").split(),
        ]
    )
    if given is None:
        return JavaFacts()
    return JavaFacts(tuple(sorted({-(-given // a) * a for a in _ALIGNMENTS})), "-Xmx")


def _is_hsperfdata(path: str) -> bool:
    return _HSPERF_DIR in path and path.startswith("/")


def _hsperfdata_counters(
    procfs, pid: int, paths: Sequence[str], regions: Sequence[Region] | None
) -> dict[str, int | str]:
    """The counters of the first hsperfdata file of the process that gives a heap size."""
    for data in _hsperfdata_files(procfs, pid, paths, regions):
        try:
            counters = parse_hsperfdata(data)
        except ValueError:
            continue
        if max_heap_size(counters):
            return counters
    return {}


def _hsperfdata_files(
    procfs, pid: int, paths: Sequence[str], regions: Sequence[Region] | None
) -> Iterator[bytes]:
    if not getattr(procfs, "is_live", False):
        # A copied tree holds the file where /proc/PID/root would lead; nothing read
        # in it leads out of it (ProcFS.confine_to), and it has no inodes to check.
        for path in filter(_is_hsperfdata, paths):
            data = procfs.read_any(procfs.path(pid, "root", path[1:]), limit=_HSPERF_LIMIT)
            if data:
                yield data
        return
    mapped = _reread_hsperfdata(procfs, pid) if regions is None else _hsperfdata_lines(regions)
    for region in _unique_files(mapped):
        data = _read_mapped(procfs, pid, region)
        if data:
            yield data


def _hsperfdata_lines(regions: Sequence[Region]) -> list[Region]:
    """The map's hsperfdata lines (of columns, only those rows are made Regions)."""
    if isinstance(regions, RegionColumns):
        names = [path for path in regions.distinct("path") if _is_hsperfdata(path)]
        return [regions[i] for name in names for i in where(regions.name_mask("path", name))]
    return [r for r in regions if _is_hsperfdata(r.path)]


def _reread_hsperfdata(procfs, pid: int) -> list[Region]:
    """The hsperfdata lines of a live process's maps, read again."""
    text = procfs.read_any(procfs.path(pid, "maps"), limit=read_limit("maps"))
    if not text and (thread := procfs.living_thread(pid)):
        text = procfs.read_task_file(pid, thread[0], "maps")  # its main thread exited
    lines = [line for line in (text or b"").splitlines() if _HSPERF_DIR.encode() in line]
    return [
        r for r in parse_maps(b"".join(line + b"\n" for line in lines)) if _is_hsperfdata(r.path)
    ]


def _unique_files(regions: Sequence[Region]) -> list[Region]:
    """One line per file mapped (only a maps line's device and inode say which file is
    the mapped one)."""
    seen: set[tuple[str, int]] = set()
    out = []
    for region in regions:
        if (region.dev, region.inode) not in seen:
            seen.add((region.dev, region.inode))
            out.append(region)
    return out


def _read_mapped(procfs, pid: int, region: Region) -> bytes | None:
    try:
        found = stat_mapped_file(procfs, pid, region)
        if found.identity.size > _HSPERF_LIMIT:
            return None
        with open_mapped_file(procfs, pid, region, found.identity) as stream:
            return stream.read(_HSPERF_LIMIT)
    except (MappedFileError, OSError):
        return None


def heap_size_option(args: Sequence[str]) -> int | None:
    """Bytes of the last -Xmx / -XX:MaxHeapSize= among ``args`` (None: none)."""
    size = None
    for arg in args:
        for prefix in ("-Xmx", "-XX:MaxHeapSize="):
            if arg.startswith(prefix) and (m := _SIZE.fullmatch(arg[len(prefix) :])):
                size = int(m[1]) << _SHIFT[m[2].lower()]
    return size or None


def _environ(data: bytes) -> dict[str, str]:
    out = {}
    for item in parse_cmdline(data):
        name, sep, value = item.partition("=")
        if sep:
            out[name] = value
    return out
