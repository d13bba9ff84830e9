"""The kernel's own read of a /proc file: the denominator of every benchmark ratio.

read() into one reused 1 MiB buffer until the end, keeping nothing, as a C loop would
(measured the same as one on this machine): nearly all of the time is the kernel's.
A Python loop of os.read() that keeps new bytes objects costs 1.4-1.6x this.
"""

from __future__ import annotations

import os


def kernel_read(path: str) -> int:
    """Read the file to the end; the number of bytes it had."""
    fd = os.open(path, os.O_RDONLY)
    buffer = bytearray(1 << 20)
    total = 0
    try:
        while count := os.readv(fd, [buffer]):
            total += count
        return total
    finally:
        os.close(fd)
