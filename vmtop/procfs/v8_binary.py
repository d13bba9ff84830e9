"""Whether a process's program embeds V8, told by the program's own symbols.

Node's executable may have any name: Fedora installs it as ``node-20`` (``node`` a
symlink to it, and maps prints the file, not the link), a single-executable app or a
pkg or nexe build is a copy of Node under the app's name. What they keep is V8's API,
exported for native addons: tens of thousands of dynamic symbols whose mangled names
start with ``_ZN2v8`` (namespace ``v8``; 34,000 in Node 20's). No other library uses
that namespace, and a program that imports V8's API from a shared library runs V8 as
well.

Only the program's file is read (the first file-backed mapping, where the kernel maps
the executable), only its dynamic string table (5 MiB in Node, kilobytes in most
programs), once per file (device, inode, size, mtime), and once per mapping a process
has: a process classified again costs a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

from elftools.elf.elffile import ELFFile

from vmtop.model.process_events import first_file_region
from vmtop.model.region import Region
from vmtop.procfs.mapped_file_facts import MappedFileFacts

V8_NAMESPACE = b"\0_ZN2v8"  # a mangled C++ name in namespace v8, as a string table holds it
DYNSTR_LIMIT = 64 << 20  # bigger than any real program's: such a table is not read
_PIECE = 1 << 20


def exports_v8(stream) -> bool:
    """Does the ELF file in ``stream`` have V8's API among its dynamic symbols? (Its
    string table read a piece at a time, up to the first such name.)"""
    try:
        table = ELFFile(stream).get_section_by_name(".dynstr")
        if table is None or table["sh_size"] > DYNSTR_LIMIT:
            return False
        stream.seek(table["sh_offset"])
        left, tail = table["sh_size"], b""
        while left > 0:
            piece = tail + stream.read(min(left, _PIECE))
            if V8_NAMESPACE in piece:
                return True
            if len(piece) == len(tail):
                return False  # the file ends early
            left -= len(piece) - len(tail)
            tail = piece[1 - len(V8_NAMESPACE) :]
        return False
    except Exception:  # noqa: BLE001 - pyelftools raises construct errors on damaged files
        return False


class V8Programs:
    """``exports_v8`` of mapped programs, cached by mapping and by file
    (``MappedFileFacts``)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._files = MappedFileFacts(exports_v8, False, max_entries)

    @property
    def reads(self) -> int:
        return self._files.reads  # files actually read (for tests)

    def runs_v8(self, procfs, pid: int, regions: Sequence[Region]) -> bool:
        """Does the program mapped in ``regions`` export V8's API? False where its file
        cannot be read (a copied tree, no access, gone)."""
        r = first_file_region(regions)  # the program's executable
        return False if r is None else self._files.of(procfs, pid, r)


DEFAULT_V8_PROGRAMS = V8Programs()
