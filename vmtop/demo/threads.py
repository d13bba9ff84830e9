"""The threads demo: start threads one by one, then end them.

Each thread gets its own stack: glibc maps it (8 MiB, the stack size limit, by
default) with a guard page below it that has no access, so an overflow faults instead
of running into the next mapping. The first malloc() in a thread gives it its own
malloc arena (glibc reserves 64 MiB of address space and makes the first part
usable), so threads do not contend for one heap.

When a thread ends, glibc keeps its stack for reuse (up to 40 MiB of them) instead of
unmapping it; the runner turns that cache off for this demo (GLIBC_TUNABLES), so an
ended thread's stack is unmapped when the next thread exits (a thread cannot unmap the
stack it is still running on). Arenas are kept for the next threads.
"""

from __future__ import annotations

import ctypes
import os
import queue
import threading

from vmtop.demo.common import Demo, libc, run

THREADS = 4
ARENA_MALLOC = 64 * 1024
STACK_CACHE_TUNABLE = "glibc.pthread.stack_cache_size=0"

libc.pthread_self.restype = ctypes.c_ulong
libc.pthread_getattr_np.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
libc.pthread_attr_getstack.argtypes = [
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_void_p),
    ctypes.POINTER(ctypes.c_size_t),
]
libc.pthread_attr_getguardsize.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
libc.pthread_attr_destroy.argtypes = [ctypes.c_void_p]
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

_ATTR_BYTES = 256  # pthread_attr_t is 56 bytes on x86-64; leave room elsewhere


def own_stack() -> tuple[int, int, int]:
    """(lowest address, size, guard size) of the calling thread's stack."""
    attr = ctypes.create_string_buffer(_ATTR_BYTES)
    if libc.pthread_getattr_np(libc.pthread_self(), attr) != 0:
        return 0, 0, 0
    try:
        address, size, guard = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_size_t()
        libc.pthread_attr_getstack(attr, ctypes.byref(address), ctypes.byref(size))
        libc.pthread_attr_getguardsize(attr, ctypes.byref(guard))
        return address.value or 0, size.value, guard.value
    finally:
        libc.pthread_attr_destroy(attr)


class Worker:
    def __init__(self, number: int) -> None:
        self.number = number
        self.stop = threading.Event()
        self.ready: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name=f"demo-{number}", daemon=True)

    def _run(self) -> None:
        stack, size, guard = own_stack()
        block = libc.malloc(ARENA_MALLOC) or 0
        if block:
            ctypes.memset(block, 0x5A, ARENA_MALLOC)
        self.ready.put((threading.get_native_id(), stack, size, guard, block))
        self.stop.wait()
        if block:
            libc.free(block)


def main(demo: Demo) -> None:
    cache_off = STACK_CACHE_TUNABLE in os.environ.get("GLIBC_TUNABLES", "")
    demo.say(
        f"threads demo (Python), PID {os.getpid()}: {THREADS} threads started one by one, then "
        f"ended; one step every {demo.pace:g} s"
    )
    demo.wait_to_start()
    round_no = 0
    while True:
        round_no += 1
        demo.say(f"-- round {round_no}")
        workers = []
        for number in range(1, THREADS + 1):
            worker = Worker(number)
            worker.thread.start()
            tid, stack, size, guard, block = worker.ready.get()
            workers.append((worker, tid, stack, size))
            demo.say(
                f"thread {number} started (TID {tid}): stack {stack:#x}-{stack + size:#x} "
                f"({size >> 10} KiB) above a {guard >> 10} KiB guard page"
            )
            demo.say(f"thread {number}: malloc({ARENA_MALLOC}) = {block:#x} (its malloc arena)")
            demo.pause()
        demo.pause(2)
        for worker, tid, stack, size in workers:
            worker.stop.set()
            worker.thread.join()
            if cache_off:
                fate = "unmapped when the next thread exits (glibc's stack cache is off)"
            else:
                fate = "kept by glibc for the next thread (its stack cache)"
            demo.say(
                f"thread {worker.number} ended (TID {tid}): its stack "
                f"{stack:#x}-{stack + size:#x} is {fate}"
            )
            demo.pause()
        demo.pause(2)


if __name__ == "__main__":
    run(main, "threads")
