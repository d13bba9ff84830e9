"""A fact read from a mapped program's file, cached by mapping and by file.

Whether a program embeds V8 (``v8_binary``), which sanitizer's run-time it links
(``sanitizer_runtime``): each is read from the file once per file (device, inode, size,
mtime), and once per mapping a process has, so that a process classified again costs
a dictionary lookup. A file that could not be read (a copied tree, no access, gone)
gives the fact's default, and is not tried again each sample, as ``BssSizes`` does.
Thread-safe and bounded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import BinaryIO, Generic, TypeVar

from vmtop.model.region import Region
from vmtop.procfs.mapped_file import MappedFileError, open_mapped_file, stat_mapped_file

T = TypeVar("T")


class MappedFileFacts(Generic[T]):
    """``read(stream)`` of mapped files, cached; ``default`` where a file cannot be read."""

    def __init__(self, read: Callable[[BinaryIO], T], default: T, max_entries: int = 4096) -> None:
        self._read_stream = read
        self._default = default
        self.max_entries = max_entries
        self._by_mapping: OrderedDict[tuple, T] = OrderedDict()
        self._by_file: dict[tuple, T] = {}
        self._lock = threading.Lock()
        self.reads = 0  # files actually read (for tests)

    def of(self, procfs, pid: int, r: Region) -> T:
        """The fact of the file mapped at ``r`` in ``pid``."""
        key = (pid, r.start, r.end, r.offset, r.dev, r.inode, r.path)
        with self._lock:
            if key in self._by_mapping:
                return self._by_mapping[key]
        found = self._read(procfs, pid, r)
        with self._lock:
            self._by_mapping[key] = found
            while len(self._by_mapping) > self.max_entries:
                self._by_mapping.popitem(last=False)
        return found

    def _read(self, procfs, pid: int, region: Region) -> T:
        try:
            identity = stat_mapped_file(procfs, pid, region).identity
            with self._lock:
                if identity in self._by_file:
                    return self._by_file[identity]
            with open_mapped_file(procfs, pid, region, identity) as stream:
                found = self._read_stream(stream)
        except (MappedFileError, OSError):
            return self._default
        with self._lock:
            self.reads += 1
            if len(self._by_file) >= self.max_entries:
                self._by_file.clear()
            self._by_file[identity] = found
        return found
