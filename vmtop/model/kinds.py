"""Region kinds: what a range of the address space is, one colour each everywhere.

``kind_from_name`` is the first guess made while parsing, from the name, permissions
and inode alone. ``vmtop.model.classify`` refines it with what needs the whole map
(which files are ELF objects, where .bss spills into anonymous memory, which anonymous
region holds a thread's stack).
"""

from __future__ import annotations

TEXT = "text"
RODATA = "rodata"
DATA = "data"
RELRO = "relro"
BSS = "bss"
GAP = "gap"
HEAP = "heap"
STACK = "stack"
THREAD_STACK = "thread_stack"
ANON = "anon"
ARENA = "arena"
JIT = "jit"
FILE = "file"
SHM = "shm"
GUARD = "guard"
RESERVED = "reserved"
DEVICE = "device"
VDSO = "vdso"
VVAR = "vvar"
VSYSCALL = "vsyscall"
NAMED_ANON = "named_anon"
KERNEL = "kernel"
# The name the kernel gives anonymous memory in hugetlb pages (mmap MAP_HUGETLB).
HUGETLB_ANON_NAME = "/anon_hugepage"
# Where distributions mount hugetlbfs (systemd's dev-hugepages.mount).
HUGETLBFS_DIR = "/dev/hugepages/"
# memfd_secret (Linux 5.14+): a file of the kernel's secretmem file system, shared only.
SECRETMEM_NAME = "/secretmem"

# The kinds of a no-access region.
NO_ACCESS_KINDS = frozenset((RESERVED, GUARD, GAP))

# Order used by legends and summaries: the program's image first, then the dynamic
# parts, then what the kernel provides.
ALL_KINDS = (
    TEXT,
    RODATA,
    RELRO,
    DATA,
    BSS,
    GAP,
    HEAP,
    ARENA,
    ANON,
    JIT,
    STACK,
    THREAD_STACK,
    NAMED_ANON,
    FILE,
    SHM,
    DEVICE,
    GUARD,
    RESERVED,
    VDSO,
    VVAR,
    VSYSCALL,
    KERNEL,
)

KIND_DESCRIPTIONS = {
    TEXT: "executable code of the program or a library (r-x, file-backed)",
    RODATA: "read-only data of an ELF object: constants, string literals, ELF headers",
    RELRO: "data made read-only after relocation (RELRO): .data.rel.ro, .got, .dynamic, "
    ".init_array",
    DATA: "initialised writable globals and statics of an ELF object (.data; .got.plt "
    "with lazy binding)",
    BSS: "zero-initialised globals and statics (.bss), anonymous memory after .data",
    GAP: "no-access hole inside an ELF object's span, left by the loader's alignment",
    HEAP: "the brk heap: small malloc()s (the main arena); grows up through brk",
    ARENA: "a heap of a glibc malloc arena other than the main one (threads share up to "
    "8 a core): the usable part of a 64 MiB heap",
    STACK: "the main thread's stack; grows down as functions call deeper",
    THREAD_STACK: "a thread's stack (anonymous memory; its guard is a no-access region "
    "below it, or inside it with glibc 2.42+ on Linux 6.13+)",
    ANON: "anonymous private memory: malloc above its mmap threshold, direct mmap, "
    "runtime heaps (Java, V8, CPython)",
    JIT: "anonymous executable memory: JIT-compiled code (JVM code cache, V8, LLVM, PCRE2)",
    NAMED_ANON: "anonymous memory the program named ([anon:NAME], [anon_shmem:NAME])",
    FILE: "a mapped data file (not code): mmap() of a file, locale archives, fonts",
    SHM: "shared memory: SysV segments, memfd, /dev/shm, shared anonymous mappings, "
    "shared hugetlb pages",
    DEVICE: "a character device mapped in: GPU driver (NVIDIA, DRM, AMD KFD), framebuffer",
    GUARD: "a few no-access pages below a stack, beside JIT code or around an allocator's "
    "pages (PartitionAlloc): an overrun faults",
    RESERVED: "no-access address space: kept for growth (arena tails, JVM/V8 reserves, "
    "GPU address space), or kept inaccessible on purpose (a JVM's safepoint polling "
    "page): usually virtual only (pages made no-access by mprotect alone stay resident)",
    VDSO: "code the kernel maps in so some system calls need no kernel entry",
    VVAR: "kernel data read by the vDSO (clock values)",
    VSYSCALL: "legacy fixed-address system call page, above user space",
    KERNEL: "other kernel-provided mappings: [uprobes], anon_inode:… (io_uring, …)",
}


def kind_from_name(path: str, perms: str, inode: int) -> str:
    """A first classification from one maps line alone."""
    if path:
        first = path[0]
        if first == "[":
            if path == "[heap]":
                return HEAP
            if path == "[stack]" or path.startswith("[stack:"):
                return STACK
            if path.startswith("[anon:") or path.startswith("[anon_shmem:"):
                return NAMED_ANON
            if path == "[vdso]":
                return VDSO
            if path.startswith("[vvar"):
                return VVAR
            if path == "[vsyscall]":
                return VSYSCALL
            return KERNEL
        if first == "/":
            if path.startswith(HUGETLB_ANON_NAME):
                # MAP_HUGETLB anonymous memory: the kernel backs it with a file of an
                # internal hugetlbfs, like shared anonymous memory with /dev/zero.
                return SHM if perms[3:4] == "s" else ANON
            # A memfd or a /dev/shm file mapped private is a file like any other: a
            # library loaded from a memfd (dlopen of /proc/self/fd/N, runc's clone of
            # itself) has its segments mapped so by the loader.
            in_memory_file = path.startswith(("/memfd:", "/dev/shm/"))
            if (
                path.startswith("/SYSV")
                or (in_memory_file and perms[3:4] == "s")
                or path.startswith("/dev/zero")
                or path.startswith(HUGETLBFS_DIR)
                or path.startswith("/drm mm object")
                or path.startswith(SECRETMEM_NAME)
            ):
                return SHM
            if path.startswith("/dev/") and not in_memory_file:
                return DEVICE
            # A shared mapping of an ordinary file (MAP_SHARED: gconv caches, databases)
            # is still that file: it is shm only when the file is shared memory itself.
            if perms[:3] == "---":
                return RESERVED
            if "x" in perms[:3]:
                return TEXT
            return FILE
        if path.startswith("anon_inode:"):
            return KERNEL
        return FILE if inode else ANON
    # No access: reserved until classify finds the stack or code it guards.
    if perms[:3] == "---":
        return RESERVED
    if perms[3:4] == "s":
        return SHM
    if perms[2:3] == "x":
        return JIT
    return ANON


_SHF_WRITE = 0x1
_SHF_EXECINSTR = 0x4


def kind_of_section(sh_flags: int, nobits: bool) -> str:
    """The kind of the bytes of one allocated ELF section, from its flags."""
    if sh_flags & _SHF_EXECINSTR:
        return TEXT
    if not sh_flags & _SHF_WRITE:
        return RODATA
    return BSS if nobits else DATA
