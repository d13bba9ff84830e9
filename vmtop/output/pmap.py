"""`pmap -x` output, byte for byte the layout procps-ng 4 prints, from a Snapshot."""

from __future__ import annotations

from vmtop.model.names import display_name
from vmtop.model.region import Region, Snapshot


def pmap_mapping_name(region: Region, start_stack: int | None) -> str:
    """The Mapping column as procps pmap computes it.

    pmap looks for the last '/' in the whole maps line: a path shows as its basename
    (so ``/memfd:x (deleted)`` shows ``memfd:x (deleted)``); a SysV segment shows its
    shmid (the inode); anything without a '/' is ``[ anon ]``, or ``[ stack ]`` when
    the process's start-of-stack address falls inside it (so ``[heap]`` is ``[ anon ]``).
    """
    path = region.path
    major, _ = region.dev_major_minor
    if major == 0 and "/SYSV" in path:
        return f"  [ shmid=0x{region.inode:x} ]"
    slash = path.rfind("/")
    if slash >= 0:
        base = path[slash + 1 :]
        return _printable(base if base else "/")
    if start_stack is not None and region.start <= start_stack <= region.end:
        return "  [ stack ]"
    return "  [ anon ]"


def _printable(name: str) -> str:
    # pmap turns bytes that are not valid multibyte characters into '?'; control
    # characters we escape as everywhere else in vmtop.
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in name):
        name = "".join("?" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in name)
    return display_name(name)


def pmap_mode(perms: str) -> str:
    """"r-xp" -> "r-x--", "rw-s" -> "rw-s-" (the fifth column is Solaris' 'R', unused)."""
    shared = "s" if perms[3:4] == "s" else "-"
    return f"{perms[:3]}{shared}-"


def _kb(value: int | None) -> str:
    return "-" if value is None else str(value // 1024)


def render_pmap(snapshot: Snapshot) -> str:
    info = snapshot.info
    lines = [f"{info.pid}:   {_printable(info.command)}"]
    lines.append("Address           Kbytes     RSS   Dirty Mode  Mapping")
    total_size = total_rss = total_dirty = 0
    for r in snapshot.regions:
        size = r.end - r.start
        total_size += size
        total_rss += (r.rss or 0) // 1024
        dirty = r.dirty
        total_dirty += (dirty or 0) // 1024
        name = pmap_mapping_name(r, info.start_stack)
        lines.append(
            f"{r.start:016x} {size >> 10:7d} {_kb(r.rss):>7} {_kb(dirty):>7} "
            f"{pmap_mode(r.perms):>5} {name}"
        )
    lines.append("---------------- ------- ------- ------- ")
    lines.append(f"{'total kB':<16} {total_size >> 10:7d} {total_rss:7d} {total_dirty:7d}")
    return "\n".join(lines) + "\n"
