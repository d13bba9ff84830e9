"""What tells that a process runs CPython, which version, with which allocator.

Pure (no imports from the model: ``ClassifyFacts`` holds a ``PythonFacts``): the
version is read from the name of a file the process maps, the allocator from the
PYTHONMALLOC ``vmtop.procfs.python_facts`` reads.
"""

from __future__ import annotations

import re
from typing import NamedTuple

KiB, MiB = 1 << 10, 1 << 20
SMALL_ARENA = 256 * KiB  # ARENA_SIZE up to 3.9 (and in 2.7)
LARGE_ARENA = 1 * MiB  # ARENA_SIZE from 3.10
ARENAS_SUFFIX = " object arenas (obmalloc)"

# The interpreter's own files, by basename: the executable (python3.11, python3.13t,
# python3.6m, python3.12d) and the shared library (libpython3.11.so.1.0,
# libpython3.13t.so.1.0, libpython3.6m.so.1.0). Any name besides (python3, python, a
# program that embeds CPython) is a link or another program: maps prints the file.
_INTERPRETER = re.compile(r"(?:lib)?python([23])\.(\d+)([tdm]*)(?:\.so(?:\.[\d.]+)?)?")
# A compiled extension module names the version it was built for, which is the only
# one that can load it: _ssl.cpython-311-x86_64-linux-gnu.so, foo.cpython-313t-....so.
EXTENSION = re.compile(r"\.cpython-([23])(\d+)([tdm]*)-[^/]*\.so")
_DELETED = " (deleted)"


class PythonFacts(NamedTuple):
    """What a CPython process's map is read by: its version (told by ``file``, a file
    it maps executable), its build, and the allocator PYTHONMALLOC chose."""

    version: tuple[int, int]
    file: str
    free_threaded: bool = False  # a 3.13t build: mimalloc, no obmalloc
    # "pymalloc" (the default, and PYTHONMALLOC=debug / pymalloc_debug), "malloc"
    # (PYTHONMALLOC=malloc / malloc_debug) or "mimalloc" (PYTHONMALLOC=mimalloc).
    allocator: str = "pymalloc"
    # OpenBLAS is mapped (numpy, scipy): its buffers, 32 MiB each (BUFFER_SIZE, more on
    # some machines), are whole arenas by size, and only a kernel from 6.7 on places
    # them apart (on 2 MiB boundaries; see model.python_arenas).
    openblas: bool = False

    @property
    def version_text(self) -> str:
        major, minor = self.version
        return f"{major}.{minor}" + ("t" if self.free_threaded else "")

    @property
    def arena_size(self) -> int | None:
        """obmalloc's ARENA_SIZE, or None where obmalloc is not in use."""
        if self.free_threaded or self.allocator != "pymalloc":
            return None
        return arena_size_for(self.version)

    @property
    def arenas_object(self) -> str:
        return f"Python {self.version_text}{ARENAS_SUFFIX}"


def arena_size_for(version: tuple[int, int]) -> int:
    """obmalloc's ARENA_SIZE in this version of CPython."""
    return LARGE_ARENA if version >= (3, 10) else SMALL_ARENA


def arenas_version(obj: str) -> tuple[int, int]:
    """The version of an arenas object: (3, 11) of "Python 3.11 object arenas (obmalloc)"."""
    major, minor = version_of_object(obj).rstrip("t").split(".")
    return int(major), int(minor)


def is_arenas_object(obj: str | None) -> bool:
    return bool(obj) and obj.startswith("Python ") and obj.endswith(ARENAS_SUFFIX)


def version_of_object(obj: str) -> str:
    """The version in an arenas object: "3.11" of "Python 3.11 object arenas (obmalloc)"."""
    return obj[len("Python ") : -len(ARENAS_SUFFIX)]


def python_file(path: str) -> PythonFacts | None:
    """The interpreter a mapped file tells, by its name; None if it tells none."""
    if path.endswith(_DELETED):  # an upgraded interpreter still runs the old file
        path = path[: -len(_DELETED)]
    name = path.rpartition("/")[2]
    m = _INTERPRETER.fullmatch(name) or EXTENSION.search(name)
    if m is None:
        return None
    return PythonFacts((int(m[1]), int(m[2])), path, free_threaded="t" in m[3])


OPENBLAS_BUFFER = 32 * MiB


def is_openblas(path: str) -> bool:
    """numpy's libscipy_openblas64_-….so, libopenblas64_p-r0-….so, a distribution's
    libopenblas.so.0 (or its openblas-pthread/ directory's libblas.so.3)."""
    return "openblas" in path.rpartition("/")[2].lower() or "/openblas" in path


def allocator_of(pythonmalloc: str | None) -> str:
    """The allocator of CPython's objects for a PYTHONMALLOC value (None: not set):
    "debug" installs debug hooks on the default one; a value CPython refuses (it then
    does not start) is taken for the default."""
    value = (pythonmalloc or "").removesuffix("_debug")
    return value if value in ("malloc", "mimalloc") else "pymalloc"


# Options that take a value: -c and -m end the interpreter's options, -W and -X take
# the rest of the word or the next one.
_ENDS_OPTIONS = "cm"
_TAKES_VALUE = "WX"


def ignores_environment(argv: list[str]) -> bool:
    """Does this command line run CPython with -E or -I (PYTHON* variables ignored,
    PYTHONMALLOC too)? Options come before the script, -c or -m, and can be
    combined (-IBs)."""
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-", "--") or not arg.startswith("-"):
            return False
        if arg.startswith("--"):  # --help, --version; one takes a value
            if arg == "--check-hash-based-pycs":
                next(args, None)
            continue
        for i, letter in enumerate(arg[1:], 1):
            if letter in "EI":
                return True
            if letter in _ENDS_OPTIONS:
                return False
            if letter in _TAKES_VALUE:
                if i == len(arg) - 1:
                    next(args, None)
                break
    return False
