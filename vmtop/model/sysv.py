"""SysV shared memory segments: the table in ``/proc/sysvipc/shm``, parsed, and what
a ``/SYSV…`` mapping is.

A process maps a SysV segment as ``/SYSVkkkkkkkk (deleted)``: the kernel keeps every
segment as a file of an internal shared-memory filesystem that is linked in no
directory, so its name always ends in ``(deleted)``; the hex digits are the segment's
key and the inode is its shmid (what ``pmap`` prints as ``[ shmid=0x… ]``). The table
(readable by anyone) adds the creator, the attach count and whether ``IPC_RMID``
marked it for removal. ``procfs`` reads the file; this module only parses bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

SYSV_PREFIX = "/SYSV"
SHM_DEST = 0o1000  # in the perms column: IPC_RMID was called, it goes with its last detach


class SysvSegment(NamedTuple):
    key: int
    shmid: int
    perms: int  # mode bits, plus SHM_DEST (0o1000) once marked for removal
    size: int
    cpid: int  # the process that created it
    lpid: int  # the last process that attached or detached it
    nattch: int  # how many attachments it has now
    uid: int

    @property
    def marked_for_removal(self) -> bool:
        return bool(self.perms & SHM_DEST)


def parse_sysv_shm(data: bytes) -> dict[int, SysvSegment]:
    """The segments of /proc/sysvipc/shm by shmid. Lines that do not parse are skipped."""
    out: dict[int, SysvSegment] = {}
    lines = data.splitlines()
    if not lines:
        return out
    header = lines[0].split()
    try:
        col = {name: header.index(name) for name in (b"key", b"shmid", b"perms", b"size")}
        for name in (b"cpid", b"lpid", b"nattch", b"uid"):
            col[name] = header.index(name)
    except ValueError:
        return out
    for line in lines[1:]:
        fields = line.split()
        try:
            seg = SysvSegment(
                key=int(fields[col[b"key"]]),
                shmid=int(fields[col[b"shmid"]]),
                perms=int(fields[col[b"perms"]], 8),
                size=int(fields[col[b"size"]]),
                cpid=int(fields[col[b"cpid"]]),
                lpid=int(fields[col[b"lpid"]]),
                nattch=int(fields[col[b"nattch"]]),
                uid=int(fields[col[b"uid"]]),
            )
        except (IndexError, ValueError):
            continue
        out[seg.shmid] = seg
    return out


def key_from_name(path: str) -> int | None:
    """The key printed in a ``/SYSVkkkkkkkk`` name, None when it is not one."""
    if not path.startswith(SYSV_PREFIX):
        return None
    digits = path[len(SYSV_PREFIX) : len(SYSV_PREFIX) + 8]
    try:
        return int(digits, 16)
    except ValueError:
        return None


def describe_sysv(path: str, inode: int, table: Mapping[int, SysvSegment]) -> str | None:
    """The ``object`` of a SysV mapping: "SysV shmid 35 key 0x00000000 …", or None
    when ``path`` is no SysV name."""
    key = key_from_name(path)
    if key is None:
        return None
    key_text = "IPC_PRIVATE" if key == 0 else f"0x{key:08x}"
    text = f"SysV shmid {inode} key {key_text}"
    seg = table.get(inode)
    # IPC_RMID sets the table's key to IPC_PRIVATE (0) while processes are attached:
    # the name keeps the key it had.
    if seg is None or (seg.key != key and not (seg.marked_for_removal and seg.key == 0)):
        return text
    text += f", created by PID {seg.cpid}, {seg.nattch} attached"
    if seg.marked_for_removal:
        text += ", removed (IPC_RMID): goes with its last detach"
    return text
