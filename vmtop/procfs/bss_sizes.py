"""How much bss each mapped object has after its data, and whether it has a RELRO part,
read from its program headers (``vmtop.model.bss`` says why that is asked and reads the
answers from the bytes)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from vmtop.model.bss import ProgramHeader, bss_after, in_relro, program_headers
from vmtop.model.region import Region
from vmtop.procfs.mapped_file import MappedFileError, open_mapped_file, stat_mapped_file

_HEADERS_READ = 4096  # program headers sit right after the ELF header in practice


# An object's program headers, parsed; None where its file could not be read.
Headers = list[ProgramHeader] | None


class BssSizes:
    """Bss bytes after an object's data, and whether the read-only region below it is
    its RELRO, per mapped file; thread-safe and bounded.

    Keyed by the region as mapped in one process (so a repeat costs no system call) and
    by file identity (so each library's headers are read once)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._by_mapping: OrderedDict[tuple, Headers] = OrderedDict()
        self._by_file: dict[tuple, Headers] = {}
        self._lock = threading.Lock()

    def bss_after(self, procfs, pid: int, data: Region) -> int | None:
        """Bytes of bss after ``data`` (the object's last file-backed rw- region), or
        None when its file cannot be read (a copied tree, no access, gone)."""
        segments = self._headers(procfs, pid, data)
        return None if segments is None else bss_after(segments)

    def relro_below(self, procfs, pid: int, below: Region, data: Region) -> bool | None:
        """Whether ``below``, read-only right below the object's ``data``, is in its
        RELRO; None when its file cannot be read."""
        segments = self._headers(procfs, pid, data)
        if segments is None:
            return None
        return in_relro(segments, (below.start, below.end), (data.start, data.offset))

    def _headers(self, procfs, pid: int, region: Region) -> Headers:
        key = (pid, region.start, region.end, region.offset, region.dev, region.inode,
               region.path)  # fmt: skip
        with self._lock:
            if key in self._by_mapping:
                return self._by_mapping[key]
        segments = self._read(procfs, pid, region)
        with self._lock:
            self._by_mapping[key] = segments
            while len(self._by_mapping) > self.max_entries:
                self._by_mapping.popitem(last=False)
        return segments

    def _read(self, procfs, pid: int, region: Region) -> Headers:
        try:
            found = stat_mapped_file(procfs, pid, region)
            identity = tuple(found.identity)
            with self._lock:
                if identity in self._by_file:
                    return self._by_file[identity]
            with open_mapped_file(procfs, pid, region, found.identity) as stream:
                headers = stream.read(_HEADERS_READ)
        except (MappedFileError, OSError):
            return None
        segments = program_headers(headers)
        with self._lock:
            if len(self._by_file) >= self.max_entries:
                self._by_file.clear()
            self._by_file[identity] = segments
        return segments


DEFAULT_BSS_SIZES = BssSizes()
