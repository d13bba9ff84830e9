"""The malloc demo: libc's own malloc and free (through ctypes), step by step.

Small blocks come from the heap: when the heap's free space runs out, glibc moves the
end of the heap up with brk. Blocks of at least the mmap threshold (128 KiB) each get
their own anonymous mapping, and free() unmaps them at once. Freed heap memory stays
in the heap until malloc_trim() gives the top of it back with brk.

glibc raises its mmap threshold after the first free() of a big block (so later blocks
of that size would come from the heap): the demo fixes it with mallopt, and keeps
free() from trimming the heap on its own, so each effect has its own step.
"""

from __future__ import annotations

import ctypes

from vmtop.demo.common import Demo, libc, run

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
SMALL = 100 * 1024  # below the threshold: from the heap
SMALL_COUNT = 5
BIG_SIZES = (1 << 20, 4 << 20)  # each becomes its own mapping

libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.restype = None
libc.free.argtypes = [ctypes.c_void_p]
libc.malloc_trim.restype = ctypes.c_int
libc.malloc_trim.argtypes = [ctypes.c_size_t]
libc.mallopt.restype = ctypes.c_int
libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
libc.sbrk.restype = ctypes.c_void_p
libc.sbrk.argtypes = [ctypes.c_ssize_t]


def heap_end() -> int:
    """The program break: where the heap ends (sbrk(0) moves nothing)."""
    return libc.sbrk(0) or 0


def malloc(size: int) -> int:
    address = libc.malloc(size)
    if not address:
        raise MemoryError(f"malloc({size}) failed")
    ctypes.memset(address, 0xA5, size)  # touch every page: it becomes resident
    return address


def main(demo: Demo) -> None:
    import os

    demo.say(
        f"malloc demo (Python), PID {os.getpid()}: libc malloc/free, one step every {demo.pace:g} s"
    )
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    demo.say(
        f"mallopt(M_MMAP_THRESHOLD, {MMAP_THRESHOLD}): blocks of 128 KiB and more get their "
        "own mmap; free() leaves the heap alone until malloc_trim()"
    )
    demo.wait_to_start()
    round_no = 0
    while True:
        round_no += 1
        demo.say(f"-- round {round_no}: heap end (sbrk(0)) = {heap_end():#x}")
        small = []
        for _ in range(SMALL_COUNT):
            before = heap_end()
            address = malloc(SMALL)
            small.append(address)
            after = heap_end()
            how = (
                f"brk moved the heap end up by {after - before}"
                if after != before
                else ("fits in the heap's free space")
            )
            demo.say(f"malloc({SMALL}) = {address:#x}  heap end = {after:#x}  ({how})")
            demo.pause()
        big = []
        for size in BIG_SIZES:
            address = malloc(size)
            big.append((address, size))
            demo.say(
                f"malloc({size}) = {address:#x}  (at least {MMAP_THRESHOLD}: "
                "its own anonymous mapping, by mmap)"
            )
            demo.pause()
        for address, size in big:
            libc.free(address)
            demo.say(f"free({address:#x})  (a {size}-byte block: its mapping is unmapped)")
            demo.pause()
        for address in reversed(small):
            libc.free(address)
        demo.say(
            f"free() of the {SMALL_COUNT} small blocks: heap end = {heap_end():#x}  "
            "(still there: free memory at the top of the heap)"
        )
        demo.pause()
        released = libc.malloc_trim(0)
        demo.say(
            f"malloc_trim(0) = {released}  heap end = {heap_end():#x}  "
            "(brk moved the heap end down: memory given back)"
        )
        demo.pause(2)


if __name__ == "__main__":
    run(main, "malloc")
