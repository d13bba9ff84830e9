"""vmtop's own vDSO, parsed: the symbols of a target's ``[vdso]``.

The vDSO has no file to open, and vmtop never reads another process's memory
(``/proc/PID/mem``). But the kernel maps one and the same image into every process of
an ABI, so the image in vmtop's own address space names the target's symbols too
(gdb names ``clock_gettime`` there from the target's memory). It is used only where it
is sure to be the same image: a live target, its ``[vdso]`` above 4 GiB (a 64-bit
process; 32-bit processes get the kernel's 32-bit image, below 4 GiB) and of the size
of vmtop's own.
"""

from __future__ import annotations

import ctypes
import functools
import io
from typing import NamedTuple

from vmtop.model.elf import ElfObject, NotElf, parse_elf
from vmtop.model.region import Region

VDSO = "[vdso]"
NOT_OURS = "a vDSO of another ABI (32-bit): vmtop reads only its own, 64-bit one"
NONE_HERE = "vmtop's own process has no vDSO to read its symbols from"
FROM_OWN_IMAGE = "read from vmtop's own vDSO: the kernel maps one image into every 64-bit process"
_FOUR_GIB = 1 << 32


class OwnVdso(NamedTuple):
    elf: ElfObject
    size: int  # of the mapping, in bytes


def own_vdso_range(maps: bytes) -> tuple[int, int] | None:
    """``(start, end)`` of the ``[vdso]`` line of a maps file (vmtop's own)."""
    for line in maps.splitlines():
        if line.rstrip().endswith(b" " + VDSO.encode()):
            start, _, end = line.split(None, 1)[0].partition(b"-")
            return int(start, 16), int(end, 16)
    return None


@functools.cache
def own_vdso() -> OwnVdso | str:
    """vmtop's own vDSO image, parsed once, or why there is none."""
    try:
        with open("/proc/self/maps", "rb") as f:
            found = own_vdso_range(f.read())
    except OSError:
        return NONE_HERE
    if found is None or found[0] < _FOUR_GIB:
        return NONE_HERE
    start, end = found
    # Our own mapped, readable pages: a plain read of this process's memory.
    image = ctypes.string_at(start, end - start)
    try:
        return OwnVdso(parse_elf(io.BytesIO(image)), end - start)
    except NotElf:
        return NONE_HERE


def vdso_for(region: Region, own: OwnVdso | str) -> tuple[ElfObject | None, str | None]:
    """The parsed image of a live target's ``[vdso]`` region, when ``own`` (vmtop's
    image, or why there is none) is sure to be the same; else None and a reason."""
    if isinstance(own, str):
        return None, own
    if region.start < _FOUR_GIB or region.size != own.size:
        return None, NOT_OURS
    return own.elf, None
