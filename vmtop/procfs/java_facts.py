"""A HotSpot JVM's heap size, for ``vmtop.model.java_regions`` (``JavaFacts``).

Read only for a process that maps libjvm.so. First from the JVM's hsperfdata file, the
``rw-s`` mapping named ``.../hsperfdata_<user>/<pid>`` in its own map, read through
``/proc/PID/root`` (so inside a container too): exact. Else from the last ``-Xmx`` or
``-XX:MaxHeapSize=`` of JAVA_TOOL_OPTIONS, the command line, JDK_JAVA_OPTIONS and
_JAVA_OPTIONS, in the order HotSpot reads them (the last one wins), as the sizes
HotSpot's alignment can make of it. A JVM run with -XX:-UsePerfData and no -Xmx gives
neither: its heap is then not named (its default size depends on too much to guess).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from vmtop.model.facts import JavaFacts
from vmtop.procfs.hsperfdata import class_space_size, max_heap_size, parse_hsperfdata
from vmtop.procfs.parse_proc import parse_cmdline

LIBJVM = "/libjvm.so"
_HSPERF_DIR = "/hsperfdata_"
_HSPERF_LIMIT = 1 << 20  # 32 KiB by default (-XX:PerfDataMemorySize)
_SIZE = re.compile(r"(\d+)([kKmMgGtT]?)")
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}
# HotSpot aligns MaxHeapSize up to its heap alignment: 2 MiB (the card table's) or the
# G1 region size, up to 32 MiB.
_ALIGNMENTS = tuple(1 << k for k in range(21, 26))


def read_java_facts(procfs, pid: int, paths: Iterable[str]) -> JavaFacts | None:
    """``paths``: the distinct paths of the process's map."""
    paths = tuple(paths)
    if not any(path.endswith(LIBJVM) for path in paths):
        return None
    for path in paths:
        if _HSPERF_DIR in path and path.startswith("/") and not path.endswith(")"):
            data = procfs.read_any(procfs.path(pid, "root", path[1:]), limit=_HSPERF_LIMIT)
            try:
                counters = parse_hsperfdata(data) if data else {}
            except ValueError:
                counters = {}
            size = max_heap_size(counters)
            if size:
                return JavaFacts((size,), "hsperfdata", class_space_size(counters))
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
