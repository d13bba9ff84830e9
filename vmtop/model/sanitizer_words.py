"""What a region of a sanitizer's own memory is, in plain words (the region detail);
``model.sanitizer_memory`` names the regions, ``model.sanitizer_layout`` says where
they are."""

from __future__ import annotations

from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.model.sanitizer_layout import (
    ALLOCATORS,
    ASAN_SHADOW,
    ASAN_SHADOW_GAP,
    FAKE_STACK,
    HIGH_SHADOW_BEG,
    LARGE_CHUNK_SUFFIX,
    LSAN,
    METADATA_SUFFIX,
    TSAN_META,
    TSAN_PROTECTED,
    TSAN_SHADOW,
    TSAN_TRACES,
    chunk_size,
    chunks_size_of,
    heap_name,
    tool_of,
)

NOT_MEMORY = "Address space, not memory."
ASAN_RSS = (
    "So an ASan build's RSS is bigger than the plain program's by this shadow (an 8th "
    "of the memory whose shadow was written), the redzones around every heap block, "
    "the freed blocks kept in quarantine (up to 256 MiB, ASAN_OPTIONS="
    "quarantine_size_mb) and the size classes' rounding: ASan's authors give about 3 "
    "times as typical; measured with gcc 12, 1.2 times for a program of big blocks, 1.4 "
    "for one of a million small ones."
)
_TIB = 1 << 40


def _reserve(size: str) -> str:
    return f"No access, {size}: "


def why_sanitizer(r: Region, size: str) -> str | None:
    """The words for a region of a sanitizer's memory (``size`` written out); None for
    any other region."""
    obj = r.object
    tool = tool_of(obj)
    if tool is None:
        return None
    if r.size >= _TIB:  # (the shadow's terabytes, not "14336 GiB")
        size = f"{r.size / _TIB:.0f} TiB" if r.size >= 10 * _TIB else f"{r.size / _TIB:.1f} TiB"
    if obj == ASAN_SHADOW:
        return _why_asan_shadow(r, size)
    if obj == ASAN_SHADOW_GAP:
        return (
            f"{_reserve(size)}ASan's shadow gap, the part of the shadow's range that "
            "would be the shadow of the shadow itself. No instrumented access ever "
            "checks it, and ASan keeps it no-access (protect_shadow_gap) so that a "
            f"wild pointer into it faults at once. {NOT_MEMORY}"
        )
    if obj == FAKE_STACK:
        return (
            "ASan's fake stack of one thread (ASAN_OPTIONS=detect_stack_use_after_return"
            "=1): the frames of functions whose locals may outlive them are put here "
            "instead of on the thread's stack, and poisoned when the function returns, "
            "so that a use after return is caught. One per thread, mapped as it starts "
            "(named only with decorate_proc_maps=1: otherwise it is anonymous memory "
            "like any other)."
        )
    if obj == TSAN_SHADOW:
        return _why_tsan_shadow(r, size)
    if obj == TSAN_META:
        return (
            f"TSan's meta shadow, {size} reserved at start-up (MAP_NORESERVE): for every "
            "8 bytes of memory, 4 bytes that say which heap block starts there (its "
            "size, its allocating thread and stack) and which sync objects live there "
            "(mutexes, atomics the program synchronises with). It costs only what is "
            "touched: the heap blocks allocated and the sync objects used."
        )
    if obj == TSAN_TRACES:
        return (
            "TSan's per-thread traces"
            + (f" (here no access, {size}: room for more)" if r.kind == kinds.RESERVED else "")
            + ": each thread's latest events (memory accesses, function entries and "
            "exits, lock operations) in a ring buffer, from which a race report "
            "rebuilds the stack of the earlier of the two accesses (history_size sets "
            "how much is kept). One part and its header per thread, numbered in TSan's "
            "own order, at fixed places from 0x600000000000."
        )
    if obj == TSAN_PROTECTED:
        return (
            f"{_reserve(size)}a range ThreadSanitizer keeps unmapped (it maps it "
            "no-access at start-up): its layout allows the program's memory only in "
            "fixed ranges (the low 512 GiB, the executable's range from "
            "0x550000000000, its heap at 0x7b0000000000, libraries and stacks below "
            "the top), each with its shadow at a fixed place, and nothing else may be "
            f"mapped. {NOT_MEMORY}"
        )
    return _why_heap(r, tool, size)


def _why_asan_shadow(r: Region, size: str) -> str:
    which = (
        "the high shadow: the shadow of the memory above it, where the program, its "
        "libraries, heap and stacks are"
        if r.start >= HIGH_SHADOW_BEG
        else "the low shadow: the shadow of the memory below 0x7fff8000"
    )
    return (
        f"ASan's shadow memory, {which}. One shadow byte for every 8 bytes of memory, "
        "at (address >> 3) + 0x7fff8000, says how many of them may be accessed (0: all "
        "8, 1 to 7: the first few, negative: none, and why: a heap redzone, freed "
        "memory, a stack redzone, a global's redzone); every load and store the compiler "
        f"instrumented checks it first. The run-time reserves it whole at start-up, {size} "
        "here (MAP_NORESERVE), and it costs only the pages whose shadow was written: "
        "around heap blocks (their redzones poisoned), freed blocks in quarantine, "
        f"stack frames with redzones, globals. {ASAN_RSS}"
    )


def _why_tsan_shadow(r: Region, size: str) -> str:
    if r.kind != kinds.ANON:
        return (
            "TSan's shadow of read-only memory (a read-only mapping of a file, or of the "
            "program's constants): mapped from a file TSan fills with one marker value "
            "(TMPDIR/tsan.rodata.PID, removed at once), which tells its checks that no "
            "race is possible there; one small file's pages serve all of it."
        )
    return (
        "TSan's shadow memory: for every 8 bytes of memory, 4 shadow cells (8 bytes "
        "each in gcc 12's run-time) that hold the last accesses to them (which thread, "
        "when, read or write, which bytes); every instrumented access compares itself "
        f"with them to find data races. Reserved whole at start-up, {size} here "
        "(MAP_NORESERVE), it costs only what is touched, but that is several times the "
        "memory it shadows (measured with gcc 12's run-time: touching 64 MiB of heap "
        "made RSS grow by 320 MiB, 256 MiB of it shadow). A TSan process's RSS is "
        "often 5 to 10 times the plain program's."
    )


def _why_heap(r: Region, tool: str, size: str) -> str | None:
    heap = ALLOCATORS.get(tool)
    obj = r.object or ""
    if heap is None:
        return _why_named(r, tool)
    space = f"{heap.size // _TIB} TiB at {heap.beg:#x}"
    classes = (
        f"{tool}'s heap (sanitizer_common's size-class allocator, which {tool} puts "
        f"in place of malloc): {space}, reserved whole, one {heap.region_size >> 30} "
        "GiB region per size class (16 bytes to 128 KiB), each committed from its "
        "start as its chunks are needed"
    )
    chunk = chunks_size_of(obj)
    if chunk is not None:
        what = {
            "ASan": "one block each, with ASan's header and redzones: malloc(n) takes "
            "the smallest class that fits n plus at least 16 bytes of them (more for "
            "bigger blocks); a freed chunk waits in quarantine before it is reused",
            "TSan": "one block each, no header: malloc(n) takes the smallest class of n "
            "bytes or more (TSan keeps a block's size and stack in its meta shadow)",
            LSAN: "one block each: malloc(n) takes the smallest class of n bytes or "
            "more; LSan keeps each block's size and allocating stack at the other end "
            "of the class's region",
        }[tool]
        return f"Chunks of {chunk} bytes, {what}. {classes}."
    if obj == heap_name(tool):
        return f"{_reserve(size)}part of {tool}'s heap not committed yet. {classes}. {NOT_MEMORY}"
    if obj.endswith(METADATA_SUFFIX):
        if r.start >= heap.end:
            which = "its state of every size class (RegionInfo), right after the space"
        else:
            cls = heap.class_at(r.start)
            which = (
                f"the free array of the {chunk_size(cls) or '?'}-byte class (the "
                "addresses of its free chunks), the last eighth of that class's region"
            )
            if tool == LSAN:
                which += ", with LSan's record of each chunk (size, allocating stack) below it"
        return f"Metadata of {tool}'s heap: {which}. {classes}."
    if obj.endswith(LARGE_CHUNK_SUFFIX):
        return (
            f"A block of {tool}'s heap too big for its size classes (over 128 KiB with "
            "its header), mapped on its own by the allocator (LargeMmapAllocator, as the "
            "run-time names it) and unmapped when freed"
            + (" (when it leaves ASan's quarantine)." if tool == "ASan" else ".")
        )
    return _why_named(r, tool)


def _why_named(r: Region, tool: str) -> str:
    label = (r.object or "").partition(": ")[2] or "?"
    return (
        f"{tool}'s own memory, named by its run-time ({label}): with decorate_proc_maps=1 "
        "a sanitizer maps its memory from files it names /dev/shm/PID [WHAT] and removes "
        "at once, so that maps says what each is. A private mapping of an empty file: "
        "anonymous memory, as it would be without the option."
    )
