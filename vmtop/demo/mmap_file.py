"""The mmap demo: map a file and read it page by page.

Mapping a file takes address space only: nothing is resident until a page is touched.
Reading the mapping page by page faults each page in (from the page cache; a sparse
file's holes read as zeros), so the mapping's resident size climbs while its size stays
the same, like the 1 GB file in the lab text. munmap gives the range back; the file's
pages stay in the page cache, so the next round faults them in without disk reads.

The file is sparse (no disk blocks), in its own temporary directory, removed on exit
(or, if the demo was killed, by the next mmap demo).
"""

from __future__ import annotations

import ctypes
import mmap
import os
import shutil
import sys
import tempfile

from vmtop.demo.common import Demo, libc, run

DEFAULT_MIB = 256
STEPS = 8  # the file is read in this many steps per round
PAGE = mmap.PAGESIZE

libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
libc.munmap.restype = ctypes.c_int
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
MAP_FAILED = ctypes.c_void_p(-1).value


def size_from_argv() -> int:
    mib = DEFAULT_MIB
    if len(sys.argv) > 1 and sys.argv[1].isdigit() and int(sys.argv[1]) > 0:
        mib = int(sys.argv[1])
    return mib << 20


def touch_pages(start: int, end: int) -> int:
    """Read one byte of every page in [start, end): each read faults a page in."""
    total = 0
    for address in range(start, end, PAGE):
        total += ctypes.c_ubyte.from_address(address).value
    return total


DIRECTORY_PREFIX = "vmtop-demo-mmap-"


def remove_stale_directories(parent: str | None = None) -> list[str]:
    """Remove the directories of earlier mmap demos that were killed before they could
    (SIGKILL runs no cleanup): each is named after its demo's PID. Returns them."""
    parent = parent or tempfile.gettempdir()
    removed = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        pid_text = name[len(DIRECTORY_PREFIX) :].split("-", 1)[0]
        if not name.startswith(DIRECTORY_PREFIX) or not pid_text.isdigit():
            continue
        path = os.path.join(parent, name)
        try:
            os.kill(int(pid_text), 0)
            continue  # still running (or another user's, which we may not signal)
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        if os.stat(path).st_uid == os.getuid():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def main(demo: Demo) -> None:
    size = size_from_argv()
    mib = size >> 20
    remove_stale_directories()
    directory = tempfile.mkdtemp(prefix=f"{DIRECTORY_PREFIX}{os.getpid()}-")
    path = os.path.join(directory, "data.bin")
    try:
        with open(path, "wb") as f:
            f.truncate(size)
        demo.say(f"mmap demo (Python), PID {os.getpid()}: one step every {demo.pace:g} s")
        demo.say(f"created {path}: {size} bytes ({mib} MiB), sparse: no disk blocks yet")
        demo.wait_to_start()
        fd = os.open(path, os.O_RDONLY)
        try:
            round_no = 0
            while True:
                round_no += 1
                map_round(demo, fd, path, size, round_no)
        finally:
            os.close(fd)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def map_round(demo: Demo, fd: int, path: str, size: int, round_no: int) -> None:
    mib = size >> 20
    address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_PRIVATE, fd, 0)
    if address in (None, MAP_FAILED):
        raise SystemExit(f"mmap of {path} failed: errno {ctypes.get_errno()}")
    try:
        demo.say(
            f"-- round {round_no}: mmap({size}, PROT_READ, MAP_PRIVATE, {path}) = "
            f"{address:#x}: {mib} MiB of address space, nothing resident yet"
        )
        demo.pause(2)
        step = size // STEPS
        for k in range(STEPS):
            lo, hi = (
                address + k * step,
                address + (k + 1) * step if k < STEPS - 1 else (address + size),
            )
            touch_pages(lo, hi)
            done = hi - address
            demo.say(
                f"read {done >> 20} MiB of {mib} MiB, pages {lo:#x}-{hi:#x} "
                f"now resident ({done >> 20} MiB)"
            )
            demo.pause()
        demo.pause()
    finally:
        libc.munmap(address, size)
    demo.say(
        f"munmap({address:#x}, {size}): the range is gone, and its resident pages with it "
        "(the file stays in the page cache)"
    )
    demo.pause(2)


if __name__ == "__main__":
    run(main, "mmap")
