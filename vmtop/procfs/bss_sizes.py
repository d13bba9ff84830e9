"""How much bss each mapped object has after its data, and whether it has a RELRO part,
read from its program headers (``vmtop.model.bss`` says why that is asked and reads the
answers from the bytes)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from vmtop.model.bss import bss_pages_after_data, has_relro
from vmtop.model.region import Region
from vmtop.procfs.mapped_file import MappedFileError, open_mapped_file, stat_mapped_file

_HEADERS_READ = 4096  # program headers sit right after the ELF header in practice


# What the program headers say: (bss bytes after the data, has a RELRO part).
HeaderFacts = tuple[int | None, bool | None]
UNREAD: HeaderFacts = (None, None)


class BssSizes:
    """Bss bytes after an object's data, and whether it has RELRO, per mapped file;
    thread-safe and bounded.

    Keyed by the region as mapped in one process (so a repeat costs no system call) and
    by file identity (so each library's headers are read once)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._by_mapping: OrderedDict[tuple, HeaderFacts] = OrderedDict()
        self._by_file: dict[tuple, HeaderFacts] = {}
        self._lock = threading.Lock()

    def bss_after(self, procfs, pid: int, data: Region) -> int | None:
        """Bytes of bss after ``data`` (the object's last file-backed rw- region), or
        None when its file cannot be read (a copied tree, no access, gone)."""
        return self._facts(procfs, pid, data)[0]

    def has_relro(self, procfs, pid: int, region: Region) -> bool | None:
        """Whether the object ``region`` maps a part of has a RELRO part; None when its
        file cannot be read."""
        return self._facts(procfs, pid, region)[1]

    def _facts(self, procfs, pid: int, region: Region) -> HeaderFacts:
        key = (pid, region.start, region.end, region.offset, region.dev, region.inode,
               region.path)  # fmt: skip
        with self._lock:
            if key in self._by_mapping:
                return self._by_mapping[key]
        facts = self._read(procfs, pid, region)
        with self._lock:
            self._by_mapping[key] = facts
            while len(self._by_mapping) > self.max_entries:
                self._by_mapping.popitem(last=False)
        return facts

    def _read(self, procfs, pid: int, region: Region) -> HeaderFacts:
        try:
            found = stat_mapped_file(procfs, pid, region)
            identity = tuple(found.identity)
            with self._lock:
                if identity in self._by_file:
                    return self._by_file[identity]
            with open_mapped_file(procfs, pid, region, found.identity) as stream:
                headers = stream.read(_HEADERS_READ)
        except (MappedFileError, OSError):
            return UNREAD
        facts = (bss_pages_after_data(headers), has_relro(headers))
        with self._lock:
            if len(self._by_file) >= self.max_entries:
                self._by_file.clear()
            self._by_file[identity] = facts
        return facts


DEFAULT_BSS_SIZES = BssSizes()
