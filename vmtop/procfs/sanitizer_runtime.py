"""Which sanitizer a process runs (ASan, TSan, LSan), told by its run-time.

- A shared run-time mapped executable: gcc's libasan.so.N, libtsan.so.N, liblsan.so.N,
  clang's libclang_rt.asan-x86_64.so (or libclang_rt.asan.so). A program built with
  ``-fsanitize=address`` imports ``__asan_init`` from it and cannot start without it;
  one that only reads such a file (a debugger) maps no code of it.
- A run-time linked into the program (gcc's ``-static-libasan``, clang's default): its
  init function, ``__asan_init``, ``__tsan_init`` or ``__lsan_init``, among the program's
  symbols: the dynamic ones (clang exports the run-time's interface) or the symbol
  table (gcc exports only the functions it intercepts; a stripped program has no
  table, and is not told). Read only when the map has memory where a sanitizer's
  layout begins (``model.sanitizer_layout``: ASan's low shadow, TSan's shadow, the
  ASan/LSan heap), so a plain program's files are never opened for it; once per file
  (device, inode, size, mtime) and once per mapping, as ``v8_binary`` does.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from elftools.elf.elffile import ELFFile

from vmtop.model.column_steps import where
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region
from vmtop.model.sanitizer_layout import ALLOCATORS, ASAN, LSAN, TOOLS, TSAN
from vmtop.model.sanitizer_memory import DECORATED, laid_out, region_starting
from vmtop.procfs.mapped_file_facts import MappedFileFacts

_RUNTIME = re.compile(r"lib(?:clang_rt\.)?(asan|tsan|lsan)(?:-\w+)?\.so(?:\.[\d.]+)?")
_TOOL = {"asan": ASAN, "tsan": TSAN, "lsan": LSAN}
_DELETED = " (deleted)"

# The run-times' init functions, as a string table holds them (NUL before the name).
INIT_NAMES = {ASAN: b"\0__asan_init", TSAN: b"\0__tsan_init", LSAN: b"\0__lsan_init"}
TABLE_LIMIT = 256 << 20  # bigger than any real program's: such a table is not read
_PIECE = 1 << 20


def runtime_tool(path: str) -> str | None:
    """The sanitizer whose shared run-time ``path`` is, or None."""
    name = path.rpartition("/")[2]
    if name.endswith(_DELETED):
        name = name[: -len(_DELETED)]
    m = _RUNTIME.fullmatch(name)
    return _TOOL[m[1]] if m else None


def mapped_runtime(regions: Sequence[Region], paths: Collection[str]) -> str:
    """The sanitizer of a shared run-time ``regions`` map executable ("" if none;
    ``paths``: the paths of ``regions``)."""
    found = {}
    for path in paths:
        tool = runtime_tool(path) if "san" in path else None
        if tool is not None and _mapped_executable(regions, path):
            found[tool] = path
    return next((tool for tool in TOOLS if tool in found), "")


def _mapped_executable(regions: Sequence[Region], path: str) -> bool:
    if isinstance(regions, RegionColumns):
        return any(regions[i].perms[2] == "x" for i in where(regions.name_mask("path", path)))
    return any(r.path == path and r.perms[2] == "x" for r in regions)


def has_sanitizer_layout(regions: Sequence[Region]) -> bool:
    """Does the map have memory where a sanitizer's layout begins (ASan's or TSan's
    first parts, or an allocator's base)?"""
    if any(laid_out(regions, tool) for tool in TOOLS):
        return True
    return any(region_starting(regions, a.beg) is not None for a in ALLOCATORS.values())


def init_functions(stream) -> set[str]:
    """The sanitizers whose init function the ELF file in ``stream`` names, in its
    dynamic string table or its symbols' (read a piece at a time)."""
    found: set[str] = set()
    try:
        elf = ELFFile(stream)
        for name in (".dynstr", ".strtab"):
            table = elf.get_section_by_name(name)
            if table is not None and 0 < table["sh_size"] <= TABLE_LIMIT:
                found |= _names_in(stream, table["sh_offset"], table["sh_size"])
    except Exception:  # noqa: BLE001 - pyelftools raises construct errors on damaged files
        return found
    return found


def _names_in(stream, offset: int, size: int) -> set[str]:
    found: set[str] = set()
    longest = max(map(len, INIT_NAMES.values()))
    stream.seek(offset)
    left, tail = size, b""
    while left > 0:
        piece = tail + stream.read(min(left, _PIECE))
        if len(piece) == len(tail):
            break  # the file ends early
        found.update(tool for tool, name in INIT_NAMES.items() if name in piece)
        left -= len(piece) - len(tail)
        tail = piece[1 - longest :]
    return found


def _program_region(regions: Sequence[Region]) -> Region | None:
    """The program's executable: the first file-backed mapping, but not one of the
    run-time's named ones (which come first with decorate_proc_maps=1: its shadow)."""
    if isinstance(regions, RegionColumns):
        inodes = regions.numbers[3]
        rows = (regions[i] for i in range(len(regions)) if inodes[i])
    else:
        rows = (r for r in regions if r.inode)
    for r in rows:
        if (
            r.path.startswith("/")
            and not DECORATED.fullmatch(r.path)
            and "tsan.rodata" not in r.path
        ):
            return r
    return None


def linked_tool_of(stream) -> str:
    """The sanitizer whose init function the ELF file in ``stream`` has ("" if none)."""
    names = init_functions(stream)
    return next((tool for tool in TOOLS if tool in names), "")


class SanitizerPrograms:
    """The sanitizer linked into mapped programs, cached by mapping and by file
    (``MappedFileFacts``)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._files = MappedFileFacts(linked_tool_of, "", max_entries)

    @property
    def reads(self) -> int:
        return self._files.reads  # files actually read (for tests)

    def linked_tool(self, procfs, pid: int, regions: Sequence[Region]) -> str:
        """The sanitizer whose run-time the program has linked in ("" if none, or its
        file cannot be read)."""
        r = _program_region(regions)
        return "" if r is None else self._files.of(procfs, pid, r)


DEFAULT_SANITIZER_PROGRAMS = SanitizerPrograms()


def read_sanitizer(procfs, pid: int, regions: Sequence[Region], paths: Collection[str]) -> str:
    """The sanitizer ``pid`` runs: "ASan", "TSan", "LSan", or ""."""
    tool = mapped_runtime(regions, paths)
    if tool or not has_sanitizer_layout(regions):
        return tool
    return DEFAULT_SANITIZER_PROGRAMS.linked_tool(procfs, pid, regions)
