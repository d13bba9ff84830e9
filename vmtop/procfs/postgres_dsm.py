"""Which ``/dev/shm/PostgreSQL.N`` file is PostgreSQL's DSM control segment
(``ClassifyFacts.postgres_dsm_control``), told by the postmaster's map.

The postmaster makes the control segment at start (a slot for every segment there can
be, sized by max_connections) and maps no other dynamic shared memory: parallel
queries, sessions and the cumulative statistics make theirs in backends. Every process
it forks inherits the mapping. So the control segment is the one such file the
postmaster maps: a backend's parent's, or the process's own where its parent runs no
PostgreSQL (it is the postmaster). Measured on PostgreSQL 15 at max_connections 7, 100
and 500: the postmaster mapped one file, named by the handle its shared memory header
keeps (``dsm_control``), 8,376, 26,976 and 106,976 bytes long. Its name is random, and
a parallel query's segment may have its size, so neither the name nor the size tells.

Each map read (the parent's; and the process's own, whole, where it is the postmaster,
since classification may hand in the paths of only a part of it) is kept by PID and
start time, and read again only when the name kept is not among the paths handed in:
the postmaster restarted its children after a crash and made a new control segment, or
a part of a backend's map without it (then once a sample at most). Anything
unreadable, or a postmaster mapping other than one such file: not told (""), and the
segment keeps the generic name.
"""

from __future__ import annotations

from collections.abc import Iterable

from vmtop.model.postgres_memory import DSM_PREFIX, runs_postgres
from vmtop.procfs.errors import ProcError

# Maps read, (proc root, PID, start time) -> (whether it runs PostgreSQL, its one DSM
# file or "").
_KEPT_MAX = 16
_kept: dict[tuple[str, int, int], tuple[bool, str]] = {}


def map_paths(text: bytes) -> list[str]:
    """The paths a maps text names (its sixth field), in order."""
    out = []
    for line in text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6:
            out.append(fields[5].decode("utf-8", "surrogateescape"))
    return out


def control_segment(postmaster_paths: Iterable[str]) -> str:
    """The control segment's path among a postmaster's map's: its one DSM file; ""
    where it maps none, or more than one."""
    dsm = {p for p in postmaster_paths if p.startswith(DSM_PREFIX)}
    return next(iter(dsm)) if len(dsm) == 1 else ""


def _read_map(procfs, pid: int, again: bool) -> tuple[bool, str]:
    """Whether ``pid`` runs PostgreSQL, and the one DSM file its whole map names (""
    where not one): read once a process, or ``again``."""
    key = (procfs.root, pid, procfs.read_stat(pid).start_time)
    if again or key not in _kept:
        paths = map_paths(bytes(procfs.read_bytes(pid, "maps")))
        if len(_kept) >= _KEPT_MAX:
            _kept.clear()
        _kept[key] = (runs_postgres(paths), control_segment(paths))
    return _kept[key]


def read_dsm_control(procfs, pid: int, paths: Iterable[str]) -> str:
    """The path of the DSM control segment of the PostgreSQL process ``pid`` whose map
    names ``paths`` (all of it, or the part reclassified); "" where they name none
    such, or it cannot be told."""
    dsm = {p for p in paths if p.startswith(DSM_PREFIX)}
    if not dsm:
        return ""
    try:
        ppid = procfs.read_stat(pid, seen=True).ppid
        # A backend's parent is its postmaster; a process whose parent runs no
        # PostgreSQL is the postmaster itself (whole map read: ``paths`` may be a part).
        postmaster = ppid if ppid > 1 and _read_map(procfs, ppid, False)[0] else pid
        control = _read_map(procfs, postmaster, False)[1]
        if control not in dsm:  # (a new control segment since, or a part without it)
            control = _read_map(procfs, postmaster, True)[1]
    except ProcError:
        return ""
    return control if control in dsm else ""
