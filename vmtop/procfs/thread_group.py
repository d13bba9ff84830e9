"""A thread ID given where a process ID is asked for.

/proc/TID exists for every thread, not only the main one: not listed in /proc, but
opened all the same, with the process's memory map in it. Read as a process, its
identity would be the thread's (its stat's start time is the thread's) and its end the
thread's, though the process goes on. pmap and top show the thread group instead, and
so does vmtop: status's Tgid names the process, in the PID namespace of the /proc tree
read (as its directory names are), and a copied tree has the same file.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmtop.procfs.parse_proc import parse_status
from vmtop.procfs.reader import ProcFS


@dataclass(frozen=True)
class ThreadOf:
    """``tid`` is a thread, other than the main one, of process ``pid``."""

    tid: int
    pid: int
    name: str  # the process's name (its main thread's), "" when unknown

    def notice(self, doing: str = "showing") -> str:
        """What to say once: the ID given was a thread's, and what is done instead."""
        name = f" ({self.name})" if self.name else ""
        return f"{self.tid} is a thread of PID {self.pid}{name}: {doing} the process"


def thread_of(procfs: ProcFS, pid: int) -> ThreadOf | None:
    """The process whose thread ``pid`` is, when it is not a process's own ID; None for
    a process, and when it cannot be told: no such ID (the command then says so as it
    does for any PID), no status (a copied tree may lack it), or a copied tree without
    the process's own directory (its thread's files are then all there is)."""
    status = _status(procfs, pid)
    tgid = status.get("Tgid")
    if not isinstance(tgid, str) or not tgid.isascii() or not tgid.isdigit():
        return None
    process = int(tgid)
    if process in (0, pid) or not procfs.exists(process):
        return None
    name = _status(procfs, process).get("Name", "")
    return ThreadOf(pid, process, name if isinstance(name, str) else "")


def _status(procfs: ProcFS, pid: int) -> dict[str, str | int]:
    data = procfs.read_any(procfs.path(pid, "status"))
    return parse_status(data) if data else {}
