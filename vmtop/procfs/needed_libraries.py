"""Which libraries loaded together need which: the DT_SONAME and DT_NEEDED of their files.

A dlopen maps the library it opens and each library that one needs (and those need)
that is not loaded yet, in one call; dlclose unmaps them together. The map cannot say
which of them was opened: their dynamic sections can. Read here, for the objects
``vmtop.model.object_loads.files_to_ask`` names (those loaded or unloaded whole in a
sample with others), and handed to the model as ``Needs`` by file. Each file is reached
the safe way (``vmtop.procfs.mapped_file``: the very file of the mapping, checked by
device and inode) and read once (``MappedFileFacts``); a file that cannot be read, or is
no ELF object, is left out (its line then names the libraries without saying which needs
which).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from vmtop.model.events import Event
from vmtop.model.object_loads import Needs, files_to_ask
from vmtop.model.region import Snapshot
from vmtop.procfs.mapped_file_facts import MappedFileFacts

# How many mappings' answers are kept: a process loads a few hundred libraries at most.
KEEP = 2048


class NeededLibraries:
    """The ``Needs`` of files, read once per file (device, inode, size, mtime) and once
    per mapping (``MappedFileFacts``)."""

    def __init__(self, procfs) -> None:
        self.procfs = procfs
        self._facts: MappedFileFacts[Needs | None] = MappedFileFacts(dynamic_needs, None, KEEP)

    @property
    def reads(self) -> int:
        """Files read (for tests)."""
        return self._facts.reads

    def of_loads(
        self, pid: int, events: Sequence[Event], before: Snapshot, now: Snapshot
    ) -> dict[str, Needs]:
        """The ``Needs`` of each object loaded (from ``now``'s region) or unloaded (from
        ``before``'s: its file, reached by its name in the target's root) whole with
        others in ``events``, by file; none where nothing is to be asked."""
        found: dict[str, Needs] = {}
        for e in files_to_ask(events):
            region = (before if e.delta < 0 else now).region_at(e.start)
            if region is None or region.path != e.path:
                continue
            needs = self._facts.of(self.procfs, pid, region)
            if needs is not None:
                found[e.path] = needs
        return found


def dynamic_needs(stream) -> Needs | None:
    """The DT_SONAME and DT_NEEDED of the ELF file ``stream``; None for a file that is
    no ELF object with a dynamic section, or one damaged (as ``parse_elf`` reads one)."""
    try:
        if stream.read(4) != b"\x7fELF":
            return None
        stream.seek(0)
        elf = ELFFile(stream)
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                soname, needed = "", []
                for tag in section.iter_tags():
                    if tag.entry.d_tag == "DT_SONAME":
                        soname = tag.soname
                    elif tag.entry.d_tag == "DT_NEEDED":
                        needed.append(tag.needed)
                return Needs(soname, tuple(needed))
    except (ELFError, struct.error, ValueError, KeyError, IndexError, OSError):
        return None
    except Exception:  # noqa: BLE001 - pyelftools raises construct errors on truncated files
        return None
    return None
