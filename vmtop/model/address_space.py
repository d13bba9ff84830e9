"""How far a process's user address space reaches, from its map alone.

A 64-bit process on x86-64 has 128 TiB (4-level paging) or 64 PiB (5-level, once it maps
above 47 bits). A 32-bit one (i386 or x32 on a 64-bit kernel: Wine's 32-bit games,
Steam's runtime, old builds) has 4 GiB, and running out of it is what such a process
dies of: drawn against 128 TiB its whole map was one cell and the space it has left
read as 128 TiB. Its map tells it: every region ends at or below 4 GiB (a 64-bit
process's stack and vDSO sit near the top of its 47 bits) and it has no
``[vsyscall]``, which the kernel shows only to 64-bit processes.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmtop.model import kinds
from vmtop.model.region import Region

TOP_32 = 1 << 32  # a 32-bit process: 4 GiB
TOP_47 = 1 << 47  # x86-64 4-level paging: user space ends at 0x7fff_ffff_ffff
TOP_56 = 1 << 56  # 5-level paging


def user_top(regions: Sequence[Region]) -> int:
    """One past the highest user address the process can have: 2**32 for a 32-bit
    process, 2**56 when a region is above 47 bits, else 2**47. ``regions``: by start."""
    sixty_four = False  # [vsyscall], or anything above user space: 64-bit only
    for r in reversed(regions):
        if r.kind == kinds.VSYSCALL or r.start >= TOP_56:
            sixty_four = True
            continue
        if r.end <= TOP_32 and not sixty_four:
            return TOP_32
        return TOP_56 if r.end > TOP_47 else TOP_47
    return TOP_47
