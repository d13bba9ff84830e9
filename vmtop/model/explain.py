"""Why a region got its kind: one or two sentences from the evidence, for the region
detail. Pure: the region alone (classification put what it knew into ``object``), and
for what its pages are (``huge_pages_note``) its smaps fields."""

from __future__ import annotations

from vmtop.model import (
    cuda,
    go_heap,
    java_native_regions,
    java_regions,
    kinds,
    v8_pages,
    v8_reservations,
    valgrind,
)
from vmtop.model.cached_stacks import is_cached_stack
from vmtop.model.chromium_words import why_chromium
from vmtop.model.classify import ARENA_HEAP, HUGETLB
from vmtop.model.devices import device_meaning
from vmtop.model.postgres_words import why_postgres
from vmtop.model.python_words import why_python
from vmtop.model.region import Region
from vmtop.model.sanitizer_words import why_sanitizer
from vmtop.model.stacks import GUARD_MAX

DELETED = " (deleted)"


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return (
                f"{value:.0f} {unit}"
                if value >= 10 or value == int(value)
                else f"{value:.1f} {unit}"
            )
    return f"{n} B"


def why_kind(region: Region) -> str:
    """The evidence for the region's kind, in plain words ("" when the name says all)."""
    r, kind, size = region, region.kind, _size(region.size)
    chromium = why_chromium(r, size)
    if chromium is not None:
        return chromium
    postgres = why_postgres(r, size)
    if postgres is not None:  # what it is to PostgreSQL, then how it is mapped
        plain = why_kind(r._replace(object=None))
        return f"{postgres} {plain}" if plain else postgres
    if r.object == java_regions.CDS_ARCHIVE:
        return (
            f"No access, {size}: part of the reservation of the JVM's CDS archive "
            "(classes.jsa: class metadata shared between JVMs) that holds no file: the "
            "rest past the file, up to a 16 MiB boundary, or (JDK 24 and later) the page "
            "below it, kept no-access so that no class's compressed pointer is 0."
        )
    if r.object == java_regions.CLASS_SPACE:
        return (
            "The JVM's compressed class space: class metadata that objects point to with "
            "32-bit offsets, one reservation (1 GiB by default, CompressedClassSpaceSize, "
            "size read from the JVM's hsperfdata) right after the CDS archive (without "
            "it: after the heap, or on its own, low), committed in parts as classes are "
            "loaded."
        )
    if r.object == java_native_regions.METASPACE:
        return _why_metaspace(r, size)
    if r.object == java_native_regions.GC_DATA:
        return _why_gc_data(r, size)
    if r.object == java_native_regions.GC_DATA_AND_MORE:
        return (
            "Part of the garbage collector's data (the committed edge of one of its "
            "tables, whose rest beside it is no-access, or G1's 32 MiB mark stack, "
            "committed whole, at the region's top) and memory right beside it (a "
            "malloc'd block, a thread's stack, another table), merged by the kernel into "
            "one mapping: anonymous memory of the same protection side by side is one "
            "region in maps. NMT (jcmd PID VM.native_memory detail) tells them apart."
        )
    if r.object and r.object.startswith(java_regions.JAVA_HEAP):
        return _why_java_heap(r)
    python = why_python(r, size)
    if python is not None:
        return python
    sanitizer = why_sanitizer(r, size)
    if sanitizer is not None:
        return sanitizer
    if r.object == valgrind.VALGRIND_MEMORY:
        return valgrind.VALGRIND_WHY
    if r.object == valgrind.VALGRIND_CLIENT_STACK:
        return valgrind.VALGRIND_CLIENT_STACK_WHY
    if r.object == valgrind.VALGRIND_OWN_STACK:
        return valgrind.VALGRIND_OWN_STACK_WHY
    if r.object in (v8_pages.V8_PAGE, v8_pages.V8_LARGE):
        what = "one page" if r.object == v8_pages.V8_PAGE else "a large object's own pages"
        return (
            f"Node's JavaScript heap (V8), {what}: V8 maps each 256 KiB page of its heap "
            "on its own, at a random address below 2^46, away from other mappings. "
            "Which space it is in (old, new, large objects) the map cannot tell; not code "
            "space, whose pages V8 keeps in its code range (JIT code). The heap's limit "
            "(--max-old-space-size) leaves no trace in it."
        )
    v8_reserved = _why_v8_reservation(r, size)
    if v8_reserved is not None:
        return v8_reserved
    if r.object == go_heap.GO_HEAP:
        if kind == kinds.RESERVED:
            return (
                f"No access, {size}: the rest of a 64 MiB arena of the Go heap, reserved "
                "for the heap to grow into. Address space, not memory."
            )
        return (
            "The Go runtime's heap: its objects and its goroutines' stacks (told by the "
            "name Go 1.25+ gives it, [anon: Go: heap], or by where Go before 1.26 puts "
            "it: from 0xc000000000 up, in 64 MiB arenas). RSS here falls only when the "
            "scavenger gives free pages back (in the background, or at "
            "debug.FreeOSMemory); GOGC and GOMEMLIMIT set how far the heap grows."
        )
    if r.object and r.object.startswith(java_regions.CODE_CACHE):
        part = "its compiled code" if kind == kinds.JIT else "reserved for it to grow into"
        return (
            f"The JVM's JIT {r.object}, {part}: HotSpot reserves the code cache whole (240 MiB "
            "by default, ReservedCodeCacheSize) in three segments, going up: methods "
            "compiled with profiling, the JVM's own code, methods compiled for speed; each "
            "is committed from its base as code is compiled."
        )
    if kind == kinds.RESERVED:
        if r.object and r.object.startswith("arena"):
            return (
                f"No access, {size}, up to the 64 MiB boundary above {r.object}: the part "
                "of that arena's heap not in use yet. malloc makes it usable (mprotect) "
                "as the arena grows; until then it costs no memory."
            )
        if r.object == cuda.RESERVE:
            return (
                f"No access, {size}, beside the NVIDIA driver's mappings in a process that "
                "uses CUDA: address space the CUDA driver keeps. With unified addressing a "
                "GPU allocation (cudaMalloc, cuMemAlloc, a tensor on the GPU) gets an "
                "address the host never uses, from ranges like this one; its memory is on "
                "the GPU, so this costs the host no memory."
            )
        if r.path:
            return f"No access, {size}, of a file that is no loaded program: reserved."
        small = r.size <= GUARD_MAX
        return f"No-access anonymous region, {size}: reserved address space. " + (
            "Too small to be a reserve for growth, and no stack or code beside it "
            "to guard: a trap page or a placeholder."
            if small
            else "A runtime keeps it for later (Java heap, class space, code cache, "
            "V8 cages, a GPU's unified address space) and commits parts of it as it "
            "grows; nothing is resident until then."
        )
    if kind == kinds.GUARD:
        return (
            f"No access, {size}, right beside {r.object or 'a stack or code'}: a guard. "
            "An overrun faults here instead of corrupting its neighbour."
        )
    if kind == kinds.GAP:
        return (
            f"No access, inside the span of {r.object}: the loader reserves the whole span "
            "of an object, then maps its segments at their aligned addresses; the "
            "alignment padding between them stays inaccessible. Not a guard."
        )
    if kind == kinds.ARENA:
        return (
            f"Read-write anonymous memory starting on a 64 MiB boundary with no-access "
            f"memory up to the next one ({_size(ARENA_HEAP)} heap): {r.object}, a heap "
            "of one of glibc's malloc arenas other than the main one, which threads share "
            "(up to 8 a core; an arena whose heap is full maps another). It grows into the "
            "reserved rest with mprotect."
        )
    if kind == kinds.JIT:
        return (
            "Anonymous memory that is executable: code generated at run time (a JIT "
            "compiler's code cache: JVM, V8, LLVM's ORC JIT as in PostgreSQL's jit, PCRE2, "
            "libffi trampolines)."
        )
    if kind == kinds.DEVICE:
        return f"A mapping of the device {r.path}: {device_meaning(r.path)}."
    if kind == kinds.RELRO:
        return (
            "Read-only, right below the object's writable data, the file mapped on from "
            "it into the data: RELRO (.data.rel.ro, .got, .dynamic, .init_array), "
            "writable while the loader relocated it, then made read-only against "
            "overwrites."
        )
    if kind == kinds.DATA and r.perms[1] != "w":
        return (
            "Read-only, inside the object's writable data (its .data is mapped on both "
            "sides): pages the program made read-only itself at run time with mprotect, "
            "as Chromium does with its protected_memory section. Not RELRO, which the "
            "loader protects below the data."
        )
    if kind == kinds.THREAD_STACK:
        if is_cached_stack(r):
            return (
                f"The {r.object}: glibc keeps a finished thread's stack, guard page and "
                "all, for the next pthread_create to reuse (up to 40 MiB of them, "
                "glibc.pthread.stack_cache_size; past that it unmaps the oldest). No "
                "thread runs on it now: glibc gave back almost all of its pages as the "
                "thread exited (madvise), keeping a few KiB at its top."
            )
        if r.object and r.object.startswith("threads "):
            return (
                f"Holds the stack pointers of {r.object}: the kernel merged their "
                "adjacent stacks into one mapping."
            )
        if r.tid is not None:
            name = f", named {r.object!r}" if r.object else ""
            return f"Holds the stack pointer of thread {r.tid}{name}."
        return (
            "Read-write anonymous memory above a guard page, the layout pthread_create "
            "makes (glibc 2.42+ on Linux 6.13+ puts the guard inside the stack's own "
            "region instead: VmFlag gu on 6.19+, guard pages in the page strip); which "
            "thread's it is could not be read."
        )
    if r.object == HUGETLB:
        return _why_hugetlb(r)
    if kind == kinds.SHM:
        return _why_shm(r)
    if r.path.endswith(DELETED) and kind in _FILE_KINDS:
        return _why_deleted_file(r)
    if kind == kinds.ANON and not r.path and r.size >= 128 * 1024:
        return (
            "Anonymous memory of 128 KiB or more: a malloc above its mmap threshold, a "
            "direct mmap, or a runtime's heap: the JVM's, V8's, CPython's object "
            "allocator (1 MiB arenas since 3.10, 256 KiB before, which the kernel merges "
            "when they are adjacent). "
            "The map alone cannot tell which."
        )
    return ""


_FILE_KINDS = frozenset(
    (kinds.TEXT, kinds.RODATA, kinds.RELRO, kinds.DATA, kinds.FILE, kinds.GAP, kinds.RESERVED)
)


def _why_metaspace(r: Region, size: str) -> str:
    if r.kind == kinds.RESERVED:
        return (
            f"No access, {size}: part of a node of the JVM's metaspace (64 MiB each) not "
            "committed yet, or given back after classes were unloaded. Address space, not "
            "memory; metaspace commits it in 64 KiB granules as classes are loaded."
        )
    return (
        "The JVM's metaspace: the metadata of loaded classes (methods and their bytecode, "
        "constant pools, annotations; the classes themselves are in the class space when "
        "there is one). It grows with every class loaded (frameworks, proxies, lambdas, "
        "generated classes) and shrinks only when a class loader is collected and its "
        "classes unloaded; HotSpot reserves it in 64 MiB nodes, adds nodes as it grows "
        "(no cap unless -XX:MaxMetaspaceSize), and commits them in 64 KiB granules. "
        "jcmd PID VM.metaspace shows it by class loader."
    )


def _why_gc_data(r: Region, size: str) -> str:
    if r.kind == kinds.RESERVED:
        return (
            f"No access, {size}: the part of one of the garbage collector's tables kept "
            "for the Java heap's reserve, committed as the heap grows into it (or of "
            "ZGC's mark stack space, committed as marking needs it)."
        )
    return (
        "The garbage collector's own data for the Java heap: card tables and block "
        "offset tables (a byte for every 512 heap bytes), mark bitmaps (a bit for every "
        "8 bytes with G1, 4 with Shenandoah), ZGC's mark stacks, G1's mark stack. "
        "HotSpot reserves each for the whole maximum heap (-Xmx) and commits it where the "
        "heap is committed, so it grows with the committed heap (with G1 about 1/27 of it "
        "in JDK 17, 1/51 from JDK 20, and a 32 MiB mark stack) and its pages are "
        "written by every collection or marking cycle. Some are committed whole from "
        "the start: Parallel's mark bitmap (heap/32 in JDK 17, heap/64 in JDK 25), "
        "ZGC's page and forwarding tables (16 MiB each in JDK 17), G1's mark stack."
    )


def _why_java_heap(r: Region) -> str:
    if r.object == java_regions.JAVA_HEAP_ZGC and r.kind == kinds.RESERVED:
        return (
            f"No access, {_size(r.size)}: address space ZGC reserved for the Java heap, 16 "
            "times the maximum heap (-Xmx), where it maps the heap's memory (a memfd "
            "named java_heap) as the heap grows. Address space, not memory."
        )
    if r.object == java_regions.JAVA_HEAP_ZGC:
        return (
            "The Java heap of ZGC: shared memory (a memfd named java_heap), mapped once "
            "by generational ZGC (JDK 21 and later), and by the older ZGC (JDK 17) at "
            "three addresses, one view per colour of ZGC's pointers; the views are the "
            "same pages, so their RSS is one set of pages counted three times."
        )
    if r.object in (java_regions.JAVA_HEAP_AND_GC_DATA, java_regions.JAVA_HEAP_AND_MORE):
        rest = (
            "the garbage collector's tables (G1's card and block offset tables, mark "
            "bitmaps, with its mark stack or not), committed whole too: the rest is "
            "exactly their size"
            if r.object == java_regions.JAVA_HEAP_AND_GC_DATA
            else "other memory (a malloc'd block, a thread's stack, another of the "
            "JVM's reservations)"
        )
        return (
            "The Java heap, committed whole (-Xms = -Xmx, or grown to its maximum), "
            f"and {rest} right beside it. Each was mapped on its own, but the kernel "
            "merges adjacent anonymous memory of the same protection into one mapping, "
            "so maps shows one region; the heap (MaxHeapSize bytes) is in it. NMT (jcmd PID VM.native_memory detail) tells them apart."
        )
    what = {
        kinds.RESERVED: "its part not committed yet (or, the no-access prefix below a "
        "heap based above zero, never: a null's offset faults there): no access, no memory",
        kinds.FILE: "objects archived in the CDS file (classes.jsa), mapped into it",
    }.get(r.kind, "a part the collector committed")
    return (
        f"The Java heap, {what}. HotSpot reserves the heap whole, MaxHeapSize bytes "
        "(-Xmx; read from the JVM's hsperfdata counters, which jstat reads), and commits "
        "and uncommits parts of it as the heap grows and shrinks; this run of regions "
        "spans exactly that size."
    )


def _why_deleted_file(r: Region) -> str:
    """A mapped file that was unlinked (or replaced by a new file of its name)."""
    text = (
        "'(deleted)': the file was removed, or replaced by a new file of the same name "
        "(a package upgrade, an editor's save), after it was mapped. The mapping keeps "
        "the old file alive: its blocks stay in use on disk until the last mapping and "
        "descriptor go (`grep '(deleted)' /proc/*/maps` finds such mappings; "
        "lsof +L1 lists only files still open by a descriptor)."
    )
    if r.kind == kinds.TEXT or (r.object and r.kind != kinds.FILE):
        text += " The process runs the old code; only a restart loads the new file."
    return text


def _why_hugetlb(r: Region) -> str:
    how = (
        "a file on hugetlbfs"
        if r.path.startswith(kinds.HUGETLBFS_DIR)
        else "mmap with MAP_HUGETLB, which the kernel names /anon_hugepage"
    )
    return (
        f"Memory in hugetlb pages ({how}): huge pages taken from the pool reserved in "
        "/proc/sys/vm/nr_hugepages for the default size (other sizes under "
        "/sys/kernel/mm/hugepages/; surplus pages as nr_overcommit_hugepages allows; "
        "HugePages_* in /proc/meminfo), never swapped. Rss "
        "and Pss leave them out: what is resident is Shared_Hugetlb + Private_Hugetlb "
        "(the HugeTLB column)."
    )


def huge_pages_note(fields: dict[str, int | str]) -> str:
    """What the region's smaps fields say about huge pages ("" when nothing): hugetlb
    pages (not in Rss), transparent huge pages, and whether the program asked for them."""
    flags = str(fields.get("VmFlags", "")).split()
    page = fields.get("KernelPageSize")
    hugetlb = sum(
        v for k in ("Shared_Hugetlb", "Private_Hugetlb") if isinstance(v := fields.get(k), int)
    )
    # VmFlag ht says it (since Linux 3.8); KernelPageSize alone would call every region
    # hugetlb where the base page is 16 or 64 KiB (arm64, ppc64le).
    if "ht" in flags or (not flags and isinstance(page, int) and page > 4096):
        size = f"{_size(page)} " if isinstance(page, int) else ""
        return (
            f"Backed by {size}hugetlb pages: {_size(hugetlb)} resident (Shared_Hugetlb + "
            "Private_Hugetlb; not in Rss)."
        )
    thp = sum(
        v
        for k in ("AnonHugePages", "ShmemPmdMapped", "FilePmdMapped")
        if isinstance(v := fields.get(k), int)
    )
    if thp:
        why = (
            "the program asked for them (madvise MADV_HUGEPAGE)"
            if "hg" in flags
            else "without madvise MADV_HUGEPAGE: transparent_hugepage 'always', a "
            "shmem or tmpfs huge= setting, the file system's large folios, or an "
            "explicit MADV_COLLAPSE"
        )
        return (
            f"{_size(thp)} of it in transparent huge pages (one page table entry maps 2 MiB "
            f"on x86-64: fewer TLB misses): {why}."
        )
    if "hg" in flags:
        eligible = fields.get("THPeligible")
        return "The program asked for transparent huge pages (madvise MADV_HUGEPAGE)" + (
            ", but this region cannot get them (THPeligible 0)."
            if eligible == 0
            else "; none yet (the region may be too small or not 2 MiB aligned, or "
            "khugepaged has not got to it)."
        )
    if "nh" in flags:
        return (
            "No transparent huge pages here (VM_NOHUGEPAGE): the program asked (madvise "
            "MADV_NOHUGEPAGE), or the kernel set it on a stack mapped with MAP_STACK "
            "(Linux 6.7+), as every thread stack is."
        )
    return ""


def _why_shm(r: Region) -> str:
    path = r.path
    deleted = (
        " '(deleted)' does not mean something was removed by the program: shared "
        "memory lives in the kernel's internal tmpfs, linked in no directory."
    )
    if path.startswith("/SYSV"):
        text = f"A SysV shared memory segment ({r.object or 'shmid ' + str(r.inode)})."
        if r.object and "IPC_RMID" in r.object:
            # The object says it was removed and goes with its last detach.
            return text + (
                " Its key no longer finds it (shmget), but on Linux a process that knows "
                "the shmid can still attach it. ('(deleted)' is in every SysV "
                "mapping's name: segments are files of the kernel's internal tmpfs, "
                "linked in no directory.)"
            )
        return text + " The key is in its name and the shmid is its inode." + deleted
    if path.startswith(kinds.SECRETMEM_NAME):
        return (
            "Secret memory (memfd_secret): taken out of the kernel's own mapping of RAM, "
            "so that not even the kernel reads it by accident; locked (never swapped, "
            "counted in Locked), left out of core dumps, unreadable through "
            "/proc/PID/mem and ptrace. No file was removed: '(deleted)' is in every such "
            "mapping's name."
        )
    if path.startswith("/memfd:"):
        return "A memfd (memfd_create): a file in memory, shared by passing its fd." + (
            deleted if path.endswith(DELETED) else ""
        )
    if r.object == cuda.PINNED:
        return (
            "Shared anonymous memory (shown as /dev/zero) in a process that uses CUDA: "
            "most likely host memory the CUDA driver allocated page-locked for the GPU to "
            "reach (cudaHostAlloc, cuMemHostAlloc, pinned tensors). It stays resident; a "
            "program's own shared anonymous mapping would look the same."
        )
    if path.startswith("/dev/zero"):
        return (
            "Shared anonymous memory (mmap MAP_SHARED|MAP_ANONYMOUS), shown by the kernel as /dev/zero."
            + (deleted if path.endswith(DELETED) else "")
        )
    if path.startswith("/dev/shm/"):
        text = "A POSIX shared memory object (shm_open), a file in /dev/shm."
        if path.endswith(DELETED):
            text += (
                " '(deleted)': it was removed (shm_unlink) while mapped. Its memory stays "
                "until the last mapping and descriptor go."
            )
        return text
    return ""


def _why_v8_reservation(r: Region, size: str) -> str | None:
    """The words for a part of a WebAssembly memory's or a V8 code range's reservation
    (``v8_reservations``); None for any other region."""
    reserved = r.kind == kinds.RESERVED
    if r.object == v8_reservations.WASM_MEMORY:
        if reserved:
            return (
                f"No access, {size}: part of a WebAssembly memory's 10 GiB reservation, "
                "the 2 GiB guard in front of it or the room behind it, up to 8 GiB past "
                "its start, for memory.grow and as a guard: compiled WebAssembly needs no "
                "bounds checks, an access out of bounds faults here. Address space, not "
                "memory."
            )
        return (
            "A WebAssembly memory (new WebAssembly.Memory, or a module's own): the pages it "
            "has, its initial size and what memory.grow added, in the 10 GiB V8 reserves "
            "for each (2 GiB of no access in front, the rest behind). Counted in "
            "process.memoryUsage().external; freed when the memory is garbage collected."
        )
    if r.object == v8_reservations.CODE_RANGE:
        if reserved:
            return (
                f"No access, {size}: the unused part of a V8 isolate's code range, 512 MiB "
                "reserved whole for the main thread and for each worker, so that all its "
                "compiled code is in reach of near calls; code-space pages are committed in "
                "it as functions are compiled. Address space, not memory."
            )
        if r.kind == kinds.JIT:
            return (
                "V8's JIT-compiled code, its code space (functions compiled by its "
                "baseline and optimizing compilers, compiled regular expressions), in the "
                "isolate's 512 MiB code range; the embedded builtins sit near its end, "
                "remapped from the executable."
            )
        return (
            "The read-write header of a code page in a V8 isolate's code range: V8's "
            "bookkeeping of the compiled code that follows it, behind a guard page."
        )
    return None
