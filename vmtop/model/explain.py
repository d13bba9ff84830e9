"""Why a region got its kind: one or two sentences from the evidence, for the region
detail. Pure: the region alone (classification put what it knew into ``object``)."""

from __future__ import annotations

from vmtop.model import cuda, kinds
from vmtop.model.classify import ARENA_HEAP
from vmtop.model.devices import device_meaning
from vmtop.model.region import Region
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
            f"memory up to the next one ({_size(ARENA_HEAP)} heap): glibc's malloc heap for "
            f"other threads, {r.object}. It grows into the reserved rest with mprotect."
        )
    if kind == kinds.JIT:
        return (
            "Anonymous memory that is executable: code generated at run time (a JIT "
            "compiler's code cache: JVM, V8, PCRE2, libffi trampolines)."
        )
    if kind == kinds.DEVICE:
        return f"A mapping of the device {r.path}: {device_meaning(r.path)}."
    if kind == kinds.RELRO:
        return (
            "Read-only, right below the object's writable data and mapped from the same "
            "segment: RELRO (.got, .dynamic, .init_array), writable while the loader "
            "relocated it, then made read-only against overwrites."
        )
    if kind == kinds.THREAD_STACK:
        if r.object and r.object.startswith("threads "):
            return (
                f"Holds the stack pointers of {r.object}: the kernel merged their "
                "adjacent stacks into one mapping."
            )
        if r.tid is not None:
            return f"Holds the stack pointer of thread {r.tid}."
        return (
            "Read-write anonymous memory above a guard page, the layout pthread_create "
            "makes; which thread's it is could not be read."
        )
    if kind == kinds.SHM:
        return _why_shm(r)
    if kind == kinds.ANON and not r.path and r.size >= 128 * 1024:
        return (
            "Anonymous memory of 128 KiB or more: a malloc above its mmap threshold, a "
            "direct mmap, or a runtime's heap (the map alone cannot tell which)."
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
            # The object already says it was removed and goes with its last detach.
            return text + " '(deleted)' in its name: the segment is marked for removal."
        return text + " The key is in its name and the shmid is its inode." + deleted
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
        return "A POSIX shared memory object (shm_open), a file in /dev/shm."
    return ""
