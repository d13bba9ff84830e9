"""A live process's ELF files, parsed once each: what the model's ELF overlay is handed.

Each file is reached the safe way (``vmtop.procfs.mapped_file``: through
``map_files`` or the target's root, checked to be the inode maps printed) and parsed
with ``vmtop.model.elf.parse_elf`` once per (device, inode, size, mtime).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from vmtop.model.elf import ElfObject, NotElf, parse_elf
from vmtop.model.file_facts import NOT_FILE_BACKED, FileIdentity
from vmtop.model.region import Region
from vmtop.procfs.mapped_file import MappedFileError, open_mapped_file, stat_mapped_file
from vmtop.procfs.own_vdso import VDSO, own_vdso, vdso_for


class ElfCache:
    """Parsed ELF objects keyed by file identity; thread-safe.

    Each file is parsed at most once: a second thread asking for a file being parsed
    waits for that parse. Files that are not ELF are remembered too. The identity
    includes size and mtime, so an inode number reused by a new file is not mistaken
    for the old one.
    """

    def __init__(self, *, use_map_files: bool = True, max_objects: int = 512) -> None:
        self.use_map_files = use_map_files
        self.max_objects = max_objects
        self._entries: OrderedDict[FileIdentity, ElfObject | str] = OrderedDict()
        self._pending: dict[FileIdentity, threading.Event] = {}
        self._lock = threading.Lock()
        self.parses = 0  # how many files were actually parsed (for tests and stats)

    def lookup(self, procfs, pid: int, region: Region) -> tuple[ElfObject | None, str | None]:
        """The parsed ELF file mapped by a file-backed region, or None and a reason."""
        if not region.is_file_backed:
            return None, NOT_FILE_BACKED
        try:
            found = stat_mapped_file(procfs, pid, region, use_map_files=self.use_map_files)
        except MappedFileError as e:
            return None, str(e)
        identity = found.identity
        while True:
            with self._lock:
                entry = self._entries.get(identity)
                if entry is not None:
                    self._entries.move_to_end(identity)
                    return (None, entry) if isinstance(entry, str) else (entry, None)
                pending = self._pending.get(identity)
                if pending is None:
                    pending = self._pending[identity] = threading.Event()
                    break
            pending.wait()
        try:
            entry = self._parse(procfs, pid, region, identity)
            with self._lock:
                self._entries[identity] = entry
                while len(self._entries) > self.max_objects:
                    self._entries.popitem(last=False)
        except MappedFileError as e:
            return None, str(e)  # not cached: a later try may succeed
        finally:
            with self._lock:
                self._pending.pop(identity, None)
            pending.set()
        return (None, entry) if isinstance(entry, str) else (entry, None)

    def _parse(self, procfs, pid: int, region: Region, identity: FileIdentity) -> ElfObject | str:
        with open_mapped_file(
            procfs, pid, region, identity, use_map_files=self.use_map_files
        ) as stream:
            with self._lock:
                self.parses += 1
            try:
                return parse_elf(stream, identity)
            except NotElf as e:
                return str(e)

    def cached(self, identity: FileIdentity) -> ElfObject | str | None:
        with self._lock:
            return self._entries.get(identity)


DEFAULT_CACHE = ElfCache()


class ProcessElfFiles:
    """The ``ElfFiles`` of processes read through one ``ProcFS`` (``lookup`` takes the
    pid), from a shared cache."""

    def __init__(self, procfs, cache: ElfCache | None = None) -> None:
        self.procfs = procfs
        self.cache = cache if cache is not None else DEFAULT_CACHE

    def lookup(self, pid: int, region: Region) -> tuple[ElfObject | None, str | None]:
        if region.path == VDSO and not region.is_file_backed:
            if not self.procfs.is_live:
                return None, self.procfs.no_files_reason
            return vdso_for(region, own_vdso())
        return self.cache.lookup(self.procfs, pid, region)
