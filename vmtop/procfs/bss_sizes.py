"""How much bss each mapped object has after its data, read from its program headers
(``vmtop.model.bss`` says why that is asked and reads the answer from the bytes)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from vmtop.model.bss import bss_pages_after_data
from vmtop.model.region import Region
from vmtop.procfs.mapped_file import MappedFileError, open_mapped_file, stat_mapped_file

_HEADERS_READ = 4096  # program headers sit right after the ELF header in practice


class BssSizes:
    """Bss bytes after an object's data, per mapped file; thread-safe and bounded.

    Keyed by the data region as mapped in one process (so a repeat costs no system
    call) and by file identity (so each library's headers are read once)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._by_mapping: OrderedDict[tuple, int | None] = OrderedDict()
        self._by_file: dict[tuple, int | None] = {}
        self._lock = threading.Lock()

    def bss_after(self, procfs, pid: int, data: Region) -> int | None:
        """Bytes of bss after ``data`` (the object's last file-backed rw- region), or
        None when its file cannot be read (a copied tree, no access, gone)."""
        key = (pid, data.start, data.end, data.offset, data.dev, data.inode, data.path)
        with self._lock:
            if key in self._by_mapping:
                return self._by_mapping[key]
        size = self._read(procfs, pid, data)
        with self._lock:
            self._by_mapping[key] = size
            while len(self._by_mapping) > self.max_entries:
                self._by_mapping.popitem(last=False)
        return size

    def _read(self, procfs, pid: int, data: Region) -> int | None:
        try:
            found = stat_mapped_file(procfs, pid, data)
            identity = tuple(found.identity)
            with self._lock:
                if identity in self._by_file:
                    return self._by_file[identity]
            with open_mapped_file(procfs, pid, data, found.identity) as stream:
                size = bss_pages_after_data(stream.read(_HEADERS_READ))
        except (MappedFileError, OSError):
            return None
        with self._lock:
            if len(self._by_file) >= self.max_entries:
                self._by_file.clear()
            self._by_file[identity] = size
        return size


DEFAULT_BSS_SIZES = BssSizes()
