"""Read what says how a CPython process allocates its objects: ``PythonFacts``.

The version and build come from the map (``vmtop.model.python_arenas.runs_python``);
then only for a CPython process, the allocator: PYTHONMALLOC in ``/proc/PID/environ``
(the environment it started with, readable by its owner and root), unless its command
line has -E or -I, with which CPython ignores it. Of the environment only that variable
is kept. Where environ cannot be read (another user's process, a copied tree without
it), the default allocator is taken: obmalloc, as almost every process runs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from vmtop.model.python_arenas import runs_python
from vmtop.model.python_facts import PythonFacts, allocator_of, ignores_environment
from vmtop.model.region import Region
from vmtop.procfs.parse_proc import parse_cmdline

_VARIABLE = b"PYTHONMALLOC="


def pythonmalloc(environ: bytes) -> str | None:
    """PYTHONMALLOC's value in an environ block (NUL-separated), None if not set."""
    for entry in environ.split(b"\0"):
        if entry.startswith(_VARIABLE):
            return entry[len(_VARIABLE) :].decode("utf-8", "replace")
    return None


def read_python_facts(
    procfs, pid: int, regions: Sequence[Region], paths: Collection[str]
) -> PythonFacts | None:
    """The CPython ``pid`` runs, with its allocator; None for any other program."""
    python = runs_python(regions, paths)
    if python is None or python.version < (3, 6):  # PYTHONMALLOC came with 3.6
        return python
    environ = procfs.read_any(procfs.path(pid, "environ"))
    if not environ:
        return python
    cmdline = procfs.read_any(procfs.path(pid, "cmdline"))
    if cmdline and ignores_environment(parse_cmdline(cmdline)):
        return python
    return python._replace(allocator=allocator_of(pythonmalloc(environ)))
