"""Where a sanitizer's run-time puts its own memory, on x86-64 Linux.

A program built with ``-fsanitize=address`` (ASan), ``thread`` (TSan) or ``leak`` (LSan)
runs with a run-time (libasan, libtsan, liblsan, or linked into the executable) that
lays out memory of its own at fixed addresses, reserved whole at start-up with
MAP_NORESERVE: terabytes of address space that cost only the pages touched.

- ASan's shadow memory (asan_mapping.h): one shadow byte for every 8 bytes of memory,
  at ``(address >> 3) + 0x7fff8000``. Its three ranges are the shadow of the low memory
  (below 0x7fff8000), the shadow gap (the shadow of the shadow, kept no-access) and the
  shadow of the high memory (everything above the high shadow: the program, libraries,
  heap, stacks), computed here from the offset and the top of user space (x86-64: 2^47,
  which the run-time takes whatever the kernel's paging). ``ASAN_OPTIONS=verbosity=1``
  prints them; the run-time maps the low shadow from a page below its start.
- TSan's (tsan_platform.h, the run-time gcc 12 ships, "ThreadSanitizer v2"): its shadow
  (4 cells of 8 bytes for every 8 bytes of memory), its meta shadow (heap blocks and
  sync objects), each thread's trace, and the ranges between them it keeps no-access
  (``ProtectRange``) so that nothing is mapped where the layout has no shadow.
- Every one's heap: sanitizer_common's SizeClassAllocator64 at a fixed address (ASan and
  LSan: 4 TiB at 0x600000000000; TSan: 1 TiB at 0x7b0000000000), one region per size
  class (a 64th of the space each), its chunks from the region's start up, its free
  array the region's last eighth (LSan's chunk metadata right below it, growing down),
  the allocator's per-class state in the pages right after the space. The classes are
  DefaultSizeClassMap's: ``__asan_print_accumulated_stats`` prints each class in use,
  its chunk size and its region's address, and agrees.

Nothing here is taken on trust: ``model.sanitizer_memory`` names the parts only where
the map has the mappings the run-time makes at the start of its first two (ASan's low
shadow and shadow gap, TSan's shadow and meta shadow), and each part only where its
own is there, so another run-time version, or another architecture, whose layout
differs gets no name at all (a CUDA process reserves address space at 0x10000000000,
where TSan's shadow starts, but no memory).
"""

from __future__ import annotations

from typing import NamedTuple

ASAN = "ASan"
TSAN = "TSan"
LSAN = "LSan"
TOOLS = (ASAN, TSAN, LSAN)

PAGE = 4096


class Part(NamedTuple):
    """A fixed range of a sanitizer's layout: regions inside it get ``name``."""

    lo: int
    hi: int
    name: str
    # An address the run-time's mapping must hold for the part to be named, whether the
    # mapping must start right there, and its access ("rw-": memory, "---": none).
    anchor: int
    exact: bool = True
    access: str = "rw-"


class Allocator(NamedTuple):
    """sanitizer_common's SizeClassAllocator64 at a fixed address (kSpaceBeg)."""

    tool: str
    beg: int
    size: int
    # DefaultSizeClassMap (kNumBits 3, kMinSizeLog 4, kMidSizeLog 8, kMaxSizeLog 17): 54
    # classes, rounded up to 64 regions.
    classes: int = 64

    @property
    def end(self) -> int:
        return self.beg + self.size

    @property
    def region_size(self) -> int:
        return self.size // self.classes

    def class_at(self, address: int) -> int:
        return (address - self.beg) // self.region_size

    def region_beg(self, class_id: int) -> int:
        return self.beg + class_id * self.region_size

    def free_array_beg(self, class_id: int) -> int:
        """Where the class's free array starts: its region's last eighth."""
        return self.region_beg(class_id + 1) - self.region_size // 8


# DefaultSizeClassMap (sanitizer_allocator_size_class_map.h).
_MIN_SIZE, _MID_SIZE, _MID_CLASS, _S = 16, 256, 16, 2
LARGEST_CLASS = _MID_CLASS + ((17 - 8) << _S)  # 52: 128 KiB


def chunk_size(class_id: int) -> int | None:
    """The chunk size of a class of DefaultSizeClassMap; None for class 0 (unused) and
    the classes past the largest (the allocator's own batches)."""
    if class_id <= 0 or class_id > LARGEST_CLASS:
        return None
    if class_id <= _MID_CLASS:
        return _MIN_SIZE * class_id
    class_id -= _MID_CLASS
    t = _MID_SIZE << (class_id >> _S)
    return t + (t >> _S) * (class_id & ((1 << _S) - 1))


# -- ASan ---------------------------------------------------------------------------------

ASAN_SHADOW_OFFSET = 0x7FFF8000
ASAN_SHADOW_SCALE = 3  # one shadow byte for 2^3 bytes
_HIGH_MEM_END = (1 << 47) - 1  # GetMaxUserVirtualAddress on x86-64


def asan_shadow_of(address: int) -> int:
    return (address >> ASAN_SHADOW_SCALE) + ASAN_SHADOW_OFFSET


LOW_SHADOW_BEG = asan_shadow_of(0)
LOW_SHADOW_END = asan_shadow_of(ASAN_SHADOW_OFFSET - 1) + 1
HIGH_MEM_BEG = asan_shadow_of(_HIGH_MEM_END) + 1
HIGH_SHADOW_BEG = asan_shadow_of(HIGH_MEM_BEG)
HIGH_SHADOW_END = asan_shadow_of(_HIGH_MEM_END) + 1

ASAN_SHADOW = "ASan shadow"
ASAN_SHADOW_GAP = "ASan shadow gap"

ASAN_PARTS = (
    Part(LOW_SHADOW_BEG - PAGE, LOW_SHADOW_END, ASAN_SHADOW, LOW_SHADOW_BEG, exact=False),
    Part(LOW_SHADOW_END, HIGH_SHADOW_BEG, ASAN_SHADOW_GAP, LOW_SHADOW_END, access="---"),
    Part(HIGH_SHADOW_BEG, HIGH_SHADOW_END, ASAN_SHADOW, HIGH_SHADOW_BEG),
)

# -- TSan (the run-time of gcc 12, LLVM 13's "v2": traces at fixed addresses) -----------

TSAN_SHADOW = "TSan shadow"
TSAN_META = "TSan meta shadow"
TSAN_TRACES = "TSan traces"
TSAN_PROTECTED = "TSan gap"  # (what ProtectRange keeps no-access)

_TSAN_SHADOW = (0x010000000000, 0x200000000000)
_TSAN_META = (0x300000000000, 0x340000000000)
_TSAN_TRACES = (0x600000000000, 0x620000000000)
_TSAN_HEAP = (0x7B0000000000, 0x7C0000000000)

TSAN_PARTS = (
    Part(*_TSAN_SHADOW, TSAN_SHADOW, _TSAN_SHADOW[0]),
    Part(*_TSAN_META, TSAN_META, _TSAN_META[0]),
    Part(*_TSAN_TRACES, TSAN_TRACES, _TSAN_TRACES[0]),
)
# What CheckAndProtect maps no-access: between the low app memory (up to 512 GiB) and
# the shadow, the shadow and the meta shadow, the meta shadow and the executable's range
# (0x550000000000-0x568000000000), that and the heap (the traces are in it), the heap
# and the high app memory (from 0x7e8000000000). The heap's first size class is never
# used: its region stays no-access, and the kernel merges it with the range below.
_TSAN_CLASS_0_END = _TSAN_HEAP[0] + (_TSAN_HEAP[1] - _TSAN_HEAP[0]) // 64
TSAN_PROTECTED_RANGES = (
    (0x008000000000, _TSAN_SHADOW[0]),
    (_TSAN_SHADOW[1], _TSAN_META[0]),
    (_TSAN_META[1], 0x550000000000),
    (0x568000000000, _TSAN_CLASS_0_END),
    (_TSAN_HEAP[1], 0x7E8000000000),
)

# -- the allocators -----------------------------------------------------------------------

ALLOCATORS = {
    ASAN: Allocator(ASAN, 0x600000000000, 0x40000000000),
    LSAN: Allocator(LSAN, 0x600000000000, 0x40000000000),
    TSAN: Allocator(TSAN, _TSAN_HEAP[0], _TSAN_HEAP[1] - _TSAN_HEAP[0]),
}
PARTS = {ASAN: ASAN_PARTS, TSAN: TSAN_PARTS, LSAN: ()}
PROTECTED = {ASAN: (), TSAN: TSAN_PROTECTED_RANGES, LSAN: ()}

# The objects, short: the table's column is narrow ("ASan heap 48 B (anon)").
HEAP_SUFFIX = " heap"
METADATA_SUFFIX = " heap metadata"
LARGE_CHUNK_SUFFIX = " large chunk"
FAKE_STACK = "ASan fake stack"


def heap_name(tool: str) -> str:
    """The object of the allocator's reservation (its no-access rest)."""
    return tool + HEAP_SUFFIX


def chunks_name(tool: str, size: int) -> str:
    """The object of a size class's chunks: "ASan heap 48 B", "TSan heap 80 KiB"."""
    text = f"{size >> 10} KiB" if size >= 1024 and not size % 1024 else f"{size} B"
    return f"{tool} heap {text}"


def metadata_name(tool: str) -> str:
    """The object of the allocator's own data: free arrays, chunk metadata, state."""
    return tool + METADATA_SUFFIX


def chunks_size_of(obj: str | None) -> int | None:
    """The chunk size an object of ``chunks_name`` names; None for any other."""
    if not obj or obj[:4] not in TOOLS or obj[4:10] != " heap ":
        return None
    number, _, unit = obj[10:].partition(" ")
    if not number.isdigit() or unit not in ("B", "KiB"):
        return None
    return int(number) << (10 if unit == "KiB" else 0)


def tool_of(obj: str | None) -> str | None:
    """The sanitizer an object of this module's names belongs to, or None."""
    if obj and obj[:4] in TOOLS and obj[4:5] in (" ", ":"):
        return obj[:4]
    return None
