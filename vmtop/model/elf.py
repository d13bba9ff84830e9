"""The ELF overlay: which sections and symbols a region of a live process holds.

``parse_elf`` reads an ELF file from a stream with pyelftools. The functions on
snapshots get parsed files from an ``ElfFiles`` handed in: ``vmtop.procfs.elf_files``
opens a live process's files the safe way and parses each once per (device, inode,
size, mtime); tests hand in files parsed from fixtures. Nothing here opens a file, and
everything answers with a reason instead of raising when a file cannot be used.

Addresses: an object loaded at run time is moved by its *load bias* (0 for a non-PIE
executable). A region maps file offset ``region.offset`` at ``region.start``; the
PT_LOAD segment holding that offset says which link-time address that is, so
``bias = region.start - (p_vaddr + region.offset - p_offset)``. Two segments can share
one file page at different addresses (the RELRO page of a small PIE), so the bias is
taken from the first region of each loaded instance of the file (the one mapping file
offset 0), where the answer is unambiguous, and used for all its regions.
"""

from __future__ import annotations

import bisect
import mmap
import struct
import threading
from typing import BinaryIO, NamedTuple, Protocol

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from vmtop.model import kinds
from vmtop.model.file_facts import NOT_FILE_BACKED, NOT_LIVE, FileIdentity
from vmtop.model.region import Region, Snapshot

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHF_TLS = 0x400
PAGE = mmap.PAGESIZE  # the granularity PT_LOAD file offsets are mapped at

NOT_ELF = "not an ELF file"
STRIPPED = "stripped: no symbols"
NO_SYMBOL = "no symbol covers it"
# Distributions strip .symtab from their libraries: the exported symbols are all there
# is, and the many internal functions between them have no name to give.
NO_EXPORTED_SYMBOL = "no symbol covers it (only exported symbols: .dynsym)"
NOT_AN_OBJECT = "not part of a loaded ELF object"
NO_SECTIONS = "no section headers"
SHARED_MEMORY = "shared memory, not an ELF object"


class SectionRange(NamedTuple):
    """One ELF section at its run-time addresses (the whole section, not clipped)."""

    name: str
    start: int
    end: int


class ElfSection(NamedTuple):
    """One allocated section at its link-time address."""

    name: str
    addr: int
    size: int
    flags: int
    nobits: bool

    @property
    def kind(self) -> str:
        """What the bytes of this section are, in region-kind terms."""
        return kinds.kind_of_section(self.flags, self.nobits)


class LoadSegment(NamedTuple):
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    flags: int


class SizeTotals(NamedTuple):
    text: int
    data: int
    bss: int


class _SymbolTable(NamedTuple):
    entries: bytes
    strings: bytes
    elf64: bool
    little_endian: bool


# Symbol types (st_info & 0xf) worth naming an address after.
_STT_NOTYPE, _STT_OBJECT, _STT_FUNC, _STT_GNU_IFUNC = 0, 1, 2, 10
_NAMED_TYPES = frozenset((_STT_NOTYPE, _STT_OBJECT, _STT_FUNC, _STT_GNU_IFUNC))
_SHN_UNDEF, _SHN_LORESERVE = 0, 0xFF00
_PLT_ENTRY = 16  # bytes of one x86-64 PLT entry
# Which of several symbols at one address to show: global, then weak, then local.
_BIND_RANK = {1: 0, 2: 1, 0: 2}


class _SymbolIndex(NamedTuple):
    starts: list[int]
    sizes: list[int]
    names: list[str]
    # Size-0 code symbols reach to the next symbol, as a disassembler's labels do.
    code_label: list[bool]


class ElfObject:
    """What one ELF file says, parsed once. Immutable after construction except for
    the symbol index, which is built on first use under a lock."""

    def __init__(
        self,
        *,
        identity: FileIdentity | None,
        elf_type: str,
        loads: tuple[LoadSegment, ...],
        sections: tuple[ElfSection, ...],
        sizes: SizeTotals,
        has_section_headers: bool,
        symtab: _SymbolTable | None,
        symtab_is_dynsym: bool,
    ) -> None:
        self.identity = identity
        self.elf_type = elf_type
        self.loads = loads
        self.sections = sections
        self.sizes = sizes
        self.has_section_headers = has_section_headers
        self.has_symtab = symtab is not None and not symtab_is_dynsym
        self._symbols_from = (
            None if symtab is None else (".dynsym" if symtab_is_dynsym else ".symtab")
        )
        self._symtab = symtab
        self._index: _SymbolIndex | None = None
        self._lock = threading.Lock()
        self._section_starts = [s.addr for s in sections]

    # -- addresses -------------------------------------------------------------------

    def bias_for(self, anchor: Region) -> int:
        """Load bias of the instance whose first region is ``anchor`` (0 for a program
        not built as PIE where it is loaded at its link address; not where a part of
        it is mapped again elsewhere, as V8 does with its builtins)."""
        best: LoadSegment | None = None
        for seg in self.loads:
            if seg.offset - seg.offset % PAGE <= anchor.offset < seg.offset + max(seg.filesz, 1):
                if best is None or seg.vaddr < best.vaddr:
                    best = seg
        if best is None:
            return anchor.start - anchor.offset
        return anchor.start - (best.vaddr + anchor.offset - best.offset)

    def fits(self, region: Region, bias: int) -> bool:
        """Whether ``region`` maps its part of the file where the instance loaded with
        ``bias`` has that part: false for a copy mapped on its own elsewhere."""
        for seg in self.loads:
            if seg.offset - seg.offset % PAGE <= region.offset < seg.offset + max(seg.filesz, 1):
                if region.start - bias == seg.vaddr + region.offset - seg.offset:
                    return True
        return False

    def sections_in(self, start: int, end: int, bias: int) -> list[SectionRange]:
        """Sections overlapping the run-time range [start, end)."""
        lo, hi = start - bias, end - bias
        out = []
        for s in self.sections:
            if s.addr < hi and s.addr + s.size > lo:
                out.append(SectionRange(s.name, s.addr + bias, s.addr + s.size + bias))
        return out

    def section_at(self, vaddr: int) -> ElfSection | None:
        i = bisect.bisect_right(self._section_starts, vaddr) - 1
        # Sections don't overlap (.tbss, which does, is left out), but an empty one can
        # share its start with the next: look back a little.
        for j in range(i, max(i - 3, -1), -1):
            s = self.sections[j]
            if s.addr <= vaddr < s.addr + s.size:
                return s
        return None

    # -- symbols ---------------------------------------------------------------------

    def symbol_at(self, vaddr: int) -> tuple[str, int] | None:
        """(name, offset) of the symbol holding link-time address ``vaddr``."""
        index = self._symbols()
        i = bisect.bisect_right(index.starts, vaddr) - 1
        if i < 0:
            return None
        # The nearest symbol below; if it is too small, one a little further down may
        # still enclose the address (a function with a local label inside it).
        for j in range(i, max(i - 8, -1), -1):
            start, size = index.starts[j], index.sizes[j]
            if size:
                if vaddr < start + size:
                    return index.names[j], vaddr - start
            elif vaddr == start:
                return index.names[j], 0
            elif j == i and index.code_label[j]:
                section = self.section_at(start)
                if section is not None and vaddr < section.addr + section.size:
                    return index.names[j], vaddr - start
        return None

    def _symbols(self) -> _SymbolIndex:
        with self._lock:
            if self._index is None:
                self._index = _build_symbol_index(self._symtab, self)
                self._symtab = None  # the raw bytes are no longer needed
            return self._index

    @property
    def symbol_count(self) -> int:
        return len(self._symbols().starts)

    def no_symbol_reason(self) -> str:
        """Why ``symbol_at`` found no symbol: the object has none at all (no table, or
        one naming no address), or it has some and none of them covers the address."""
        if self._symbols_from is None or not self.symbol_count:
            return STRIPPED
        return NO_EXPORTED_SYMBOL if self._symbols_from == ".dynsym" else NO_SYMBOL


def _build_symbol_index(table: _SymbolTable | None, elf: ElfObject) -> _SymbolIndex:
    if table is None:
        return _SymbolIndex([], [], [], [])
    order = "<" if table.little_endian else ">"
    strings = table.strings

    def name_at(offset: int) -> str:
        end = strings.find(b"\0", offset)
        # surrogateescape: the exact name, even where it is not UTF-8 (escaped when shown).
        raw = strings[offset : end if end >= 0 else len(strings)]
        return raw.decode("utf-8", "surrogateescape")

    if table.elf64:
        unpacked = struct.iter_unpack(order + "IBBHQQ", table.entries)
        rows = ((n, i, sh, v, sz) for n, i, _o, sh, v, sz in unpacked)
    else:
        unpacked = struct.iter_unpack(order + "IIIBBH", table.entries)
        rows = ((n, i, sh, v, sz) for n, v, sz, i, _o, sh in unpacked)
    # One symbol per address: (rank, name offset, size, is a PLT entry).
    best: dict[int, tuple[tuple[int, bool], int, int, bool]] = {}
    for name_off, info, shndx, value, size in rows:
        sym_type, bind = info & 0xF, info >> 4
        if sym_type not in _NAMED_TYPES or not name_off:
            continue
        plt = False
        if shndx == _SHN_UNDEF:
            # An imported function whose address the executable takes gets a
            # "canonical PLT" entry: the undefined symbol then carries that address.
            if not value or sym_type != _STT_FUNC:
                continue
            plt = True
        elif shndx >= _SHN_LORESERVE:
            continue  # absolute values and commons are not addresses in the image
        rank = (_BIND_RANK.get(bind, 3), sym_type == _STT_NOTYPE)
        current = best.get(value)
        if current is not None:
            if current[0] < rank:
                continue
            if current[0] == rank and _name_rank(name_at(current[1])) <= _name_rank(
                name_at(name_off)
            ):
                continue
        best[value] = (rank, name_off, size or (_PLT_ENTRY if plt else 0), plt)
    starts = sorted(best)
    names: list[str] = []
    sizes: list[int] = []
    labels: list[bool] = []
    for value in starts:
        _rank, name_off, size, plt = best[value]
        # .symtab spells versioned symbols "printf@GLIBC_2.2.5" / "memcpy@@GLIBC_2.14".
        name = name_at(name_off).partition("@")[0]
        names.append(name + "@plt" if plt else name)
        sizes.append(size)
        section = elf.section_at(value)
        labels.append(section is not None and bool(section.flags & SHF_EXECINSTR))
    return _SymbolIndex(starts, sizes, names, labels)


def _name_rank(name: str) -> tuple[int, int]:
    """Among aliases, the public spelling: printf before _IO_printf."""
    return (len(name) - len(name.lstrip("_")), len(name))


# -- parsing ---------------------------------------------------------------------------


def parse_elf(stream: BinaryIO, identity: FileIdentity | None = None) -> ElfObject:
    """Parse an ELF file. Raises ``NotElf`` with a reason when it is not usable."""
    try:
        if stream.read(4) != b"\x7fELF":
            raise NotElf(NOT_ELF)
        stream.seek(0)
        elf = ELFFile(stream)
        return _from_elffile(elf, stream, identity)
    except NotElf:
        raise
    except (ELFError, struct.error, ValueError, KeyError, IndexError, OSError) as e:
        raise NotElf(f"unreadable ELF file: {e}") from None
    except Exception as e:  # pyelftools raises construct errors on truncated files
        raise NotElf(f"unreadable ELF file: {type(e).__name__}") from None


class NotElf(Exception):
    """The file is not an ELF file we can use; ``str(e)`` is the reason."""


def _from_elffile(elf: ELFFile, stream: BinaryIO, identity: FileIdentity | None) -> ElfObject:
    loads = tuple(
        LoadSegment(
            seg["p_offset"], seg["p_vaddr"], seg["p_filesz"], seg["p_memsz"], seg["p_flags"]
        )
        for seg in elf.iter_segments()
        if seg["p_type"] == "PT_LOAD"
    )
    sections: list[ElfSection] = []
    text = data = bss = 0
    symtab = dynsym = None
    has_headers = elf.num_sections() > 0
    for sec in elf.iter_sections():
        flags = sec["sh_flags"]
        sh_type = sec["sh_type"]
        nobits = sh_type == "SHT_NOBITS"
        if sh_type == "SHT_SYMTAB":
            symtab = sec
        elif sh_type == "SHT_DYNSYM":
            dynsym = sec
        if not flags & SHF_ALLOC:
            continue
        size = sec["sh_size"]
        # binutils `size`, Berkeley format: code or read-only -> text; otherwise
        # with contents -> data; else bss (BFD flags from _bfd_elf_make_section_from_shdr).
        if flags & SHF_EXECINSTR or not flags & SHF_WRITE:
            text += size
        elif not nobits:
            data += size
        else:
            bss += size
        if flags & SHF_TLS and nobits:
            continue  # .tbss takes no address space in the image: it overlaps what follows
        if size and sec["sh_addr"]:
            name = sec.name if "\ufffd" not in sec.name else _exact_section_name(elf, sec)
            sections.append(ElfSection(name, sec["sh_addr"], size, flags, nobits))
    # Without section headers everything stays 0, as binutils 2.40 `size` prints it.
    sections.sort(key=lambda s: (s.addr, s.size))
    chosen = symtab if symtab is not None else dynsym
    table = None
    if chosen is not None:
        table = _read_symbol_table(elf, stream, chosen)
    return ElfObject(
        identity=identity,
        elf_type=elf.header["e_type"],
        loads=loads,
        sections=tuple(sections),
        sizes=SizeTotals(text, data, bss),
        has_section_headers=has_headers,
        symtab=table,
        symtab_is_dynsym=symtab is None,
    )


def _read_symbol_table(elf: ELFFile, stream: BinaryIO, sec) -> _SymbolTable | None:
    size = sec["sh_size"]
    entsize = sec["sh_entsize"] or (24 if elf.elfclass == 64 else 16)
    if entsize != (24 if elf.elfclass == 64 else 16) or size <= 0:
        return None
    strtab = elf.get_section(sec["sh_link"])
    if strtab is None:
        return None
    stream.seek(sec["sh_offset"])
    entries = stream.read(size - size % entsize)
    stream.seek(strtab["sh_offset"])
    strings = stream.read(strtab["sh_size"])
    return _SymbolTable(entries, strings, elf.elfclass == 64, elf.little_endian)


# -- regions of a snapshot -------------------------------------------------------------


class ElfFiles(Protocol):
    """Where the functions below get a region's parsed file: ``vmtop.procfs.elf_files``
    opens a live process's files; a test hands in files it parsed itself."""

    def lookup(self, pid: int, region: Region) -> tuple[ElfObject | None, str | None]:
        """The parsed ELF file a file-backed region maps, or None and a reason (the
        reason alone, with None, for a file that is readable but not ELF)."""
        ...


class NoFiles:
    """The files of a process that is not there to open them from: a recording, a
    copied /proc tree."""

    def lookup(self, pid: int, region: Region) -> tuple[ElfObject | None, str | None]:
        return None, NOT_LIVE


NO_FILES = NoFiles()


class LoadedObject(NamedTuple):
    """One region's ELF object as loaded in the process: the parsed file and its bias."""

    elf: ElfObject | None
    bias: int
    path: str | None
    file_region: Region | None  # the file-backed region it was found through
    reason: str | None


def region_index(snapshot: Snapshot, region: Region) -> int:
    """Where ``region`` is in the snapshot, or -1 (a region of another snapshot)."""
    regions = snapshot.regions
    i = bisect.bisect_left(regions, region.start, key=_start)
    if i < len(regions) and regions[i].start == region.start and regions[i].end == region.end:
        return i
    return -1


def region_containing(snapshot: Snapshot, address: int) -> Region | None:
    regions = snapshot.regions
    i = bisect.bisect_right(regions, address, key=_start) - 1
    if i >= 0 and regions[i].contains(address):
        return regions[i]
    return None


def _start(region: Region) -> int:
    return region.start


def _same_file(a: Region, b: Region) -> bool:
    return a.inode == b.inode and a.dev == b.dev and a.path == b.path


def _anchor(snapshot: Snapshot, index: int) -> Region:
    """The first region of the loaded instance ``regions[index]`` belongs to: walk down
    through regions of the same file until one maps file offset 0."""
    regions = snapshot.regions
    region = regions[index]
    anchor = region
    for j in range(index, max(index - 64, -1), -1):
        other = regions[j]
        if _same_file(other, region):
            anchor = other
            if other.offset == 0:
                break
    return anchor


def file_region_for(snapshot: Snapshot, region: Region) -> tuple[Region | None, int]:
    """The file-backed region whose file describes ``region`` (itself, or for the
    anonymous .bss continuation the data region just below), and its index."""
    index = region_index(snapshot, region)
    if index < 0:
        return None, -1
    if region.is_file_backed:
        return region, index
    if region.kind == kinds.BSS and region.object and index > 0:
        below = snapshot.regions[index - 1]
        if below.end == region.start and below.is_file_backed and below.path == region.object:
            return below, index - 1
    return None, index


def loaded_object(snapshot: Snapshot, region: Region, elf_files: ElfFiles) -> LoadedObject:
    """The ELF object a region belongs to, with its load bias, or a reason."""
    if region.kind == kinds.DEVICE:
        # A device file: never opened (opening a GPU device has side effects).
        return LoadedObject(None, 0, None, None, "a device mapping, not a program")
    if region.kind == kinds.SHM:
        # SysV segments, memfds, /dev/shm: memory shared between processes, no program.
        return LoadedObject(None, 0, None, None, SHARED_MEMORY)
    if region.kind == kinds.VDSO:
        # No file: ``elf_files`` hands in the kernel's image (procfs.own_vdso).
        elf, reason = elf_files.lookup(snapshot.pid, region)
        if elf is None:
            return LoadedObject(None, 0, None, None, reason)
        return LoadedObject(elf, elf.bias_for(region), region.path, region, None)
    file_region, index = file_region_for(snapshot, region)
    if file_region is None:
        reason = NOT_FILE_BACKED if index >= 0 else "region not in this snapshot"
        return LoadedObject(None, 0, None, None, reason)
    elf, reason = elf_files.lookup(snapshot.pid, file_region)
    if elf is None:
        return LoadedObject(None, 0, file_region.path, file_region, reason)
    if not region.object and region.kind not in (kinds.TEXT, kinds.RODATA, kinds.DATA):
        # An ELF file mapped as data (no executable mapping of it): not loaded code.
        return LoadedObject(elf, 0, file_region.path, file_region, NOT_AN_OBJECT)
    anchor = _anchor(snapshot, index)
    bias = elf.bias_for(anchor)
    if anchor is not file_region and not elf.fits(file_region, bias):
        # Not where the instance below has this part of the file: a copy mapped on its
        # own (V8 maps its embedded builtins again, near each isolate's heap).
        bias = elf.bias_for(file_region)
    return LoadedObject(elf, bias, file_region.path, file_region, None)


def region_sections(
    snapshot: Snapshot, region: Region, elf_files: ElfFiles
) -> tuple[list[SectionRange], str | None]:
    """Sections overlapping a region (absolute addresses), or [] and why there are none.

    For the anonymous region that continues an object's .bss past its last file-backed
    page, the sections are that object's (.bss).
    """
    obj = loaded_object(snapshot, region, elf_files)
    if obj.elf is None or obj.reason is not None:
        return [], obj.reason
    if not obj.elf.has_section_headers:
        return [], NO_SECTIONS
    sections = obj.elf.sections_in(region.start, region.end, obj.bias)
    if not sections:
        return [], "no section in this part of the object"
    return sections, None


def symbolize(
    snapshot: Snapshot, address: int, elf_files: ElfFiles
) -> tuple[str | None, int | None]:
    """``(symbol, offset)`` for an address, or ``(None, None)``."""
    region = region_containing(snapshot, address)
    if region is None:
        return None, None
    obj = loaded_object(snapshot, region, elf_files)
    if obj.elf is None or obj.reason is not None:
        return None, None
    found = obj.elf.symbol_at(address - obj.bias)
    return found if found is not None else (None, None)


def _exact_section_name(elf, sec) -> str:
    """A section's name with its bytes kept (surrogateescape): pyelftools decodes names
    with errors="replace", which loses a byte that is not UTF-8."""
    from elftools.common.utils import parse_cstring_from_stream

    try:
        names = elf.get_section(elf["e_shstrndx"])
        raw = parse_cstring_from_stream(names.stream, names["sh_offset"] + sec["sh_name"])
    except Exception:  # noqa: BLE001 - a damaged table: keep what pyelftools read
        return sec.name
    return (raw or b"").decode("utf-8", "surrogateescape")
