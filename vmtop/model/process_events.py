"""Events about the process rather than its regions: it ran a new program (exec), its
PID went to another process, it exited. ``diff_snapshots`` asks these first: regions of
two different address spaces are never compared."""

from __future__ import annotations

from collections.abc import Sequence
from operator import ne

from vmtop.model import events as ev
from vmtop.model.column_steps import steps, where_value
from vmtop.model.columns import RegionColumns
from vmtop.model.events import Event
from vmtop.model.region import Region, Snapshot


def main_image(snapshot: Snapshot) -> Region | None:
    """The program's first file-backed region: where its executable is mapped."""
    return first_file_region(snapshot.regions)


def first_file_region(regions: Sequence[Region]) -> Region | None:
    """The first file-backed region of ``regions`` (of columns, looked for by inode in
    C: near the start, but a chunk of Regions each sample at a million regions
    otherwise; V8's pages can come first, below a PIE executable)."""
    if isinstance(regions, RegionColumns):
        for lo, hi in steps(len(regions)):
            for k in where_value(ne, regions.column("inode", lo, hi), 0):
                if regions[lo + k].path.startswith("/"):
                    return regions[lo + k]
        return None
    return next((r for r in regions if r.inode and r.path.startswith("/")), None)
    for r in regions:
        if r.inode and r.path.startswith("/"):
            return r
    return None


def _named_start(snapshot: Snapshot, name: str) -> int | None:
    # The kernel's own mappings ([vdso], [vvar]) sit at the top of the list.
    for r in reversed(snapshot.regions):
        if r.path == name:
            return r.start
    return None


def exec_event(prev: Snapshot, cur: Snapshot) -> Event | None:
    """An exec event when ``cur`` is a new program in the same process, else None.

    exec replaces the whole address space, and the vDSO, which never moves within one
    address space, gets a new random address; the executable mapped first changes too
    (or, for the same program, moves). A changed ``comm`` alone is not enough: a
    program can rename itself with prctl(PR_SET_NAME) without exec.
    """
    before, after = main_image(prev), main_image(cur)
    vdso_before, vdso_after = _named_start(prev, "[vdso]"), _named_start(cur, "[vdso]")
    vdso_known = vdso_before is not None and vdso_after is not None
    if vdso_known and vdso_before != vdso_after:
        changed = True
    elif before is not None and after is not None:
        # Without address randomisation the vDSO stays put: the program's file tells.
        changed = before.identity != after.identity or (
            not vdso_known and before.start != after.start
        )
    else:
        changed = prev.info.comm != cur.info.comm
    if not changed:
        return None
    path = after.path if after is not None else ""
    old, new = prev.info.comm or "?", cur.info.comm or "?"
    return Event(
        cur.taken_at,
        ev.EXEC,
        0,
        0,
        "",
        cur.totals.size,
        cur.totals.size - prev.totals.size,
        path,
        None,
        f"process {cur.info.pid} ran a new program: {old} -> {new} ({cur.info.command})",
    )


# Stopped by a signal (SIGSTOP, SIGTSTP: Ctrl-Z, SIGTTIN, SIGTTOU). A tracing stop ("t")
# is left out: strace stops its tracee at every system call, so samples would catch it
# stopped and running by turns.
STOPPED_STATE = "T"


def state_event(prev: Snapshot, cur: Snapshot) -> Event | None:
    """A stopped or continued event when ``cur`` (of the same process as ``prev``) was
    stopped by a signal and ``prev`` was not, or the other way round; else None."""
    was, now = prev.info.state == STOPPED_STATE, cur.info.state == STOPPED_STATE
    if was == now:
        return None
    who = f"process {cur.info.pid} ({cur.info.comm or cur.info.command})"
    if now:
        name = ev.STOPPED
        detail = (
            f"{who} was stopped (SIGSTOP, or Ctrl-Z in its terminal): its map cannot "
            "change until it is continued (SIGCONT, fg)"
        )
    else:
        name, detail = ev.CONTINUED, f"{who} was continued"
    return Event(cur.taken_at, name, 0, 0, "", 0, 0, "", None, detail)


def pid_reused_event(prev: Snapshot, cur: Snapshot) -> Event:
    return Event(
        cur.taken_at,
        ev.PID_REUSED,
        0,
        0,
        "",
        0,
        0,
        "",
        None,
        f"PID {cur.info.pid} now belongs to another process ({cur.info.command}); "
        f"the one watched ({prev.info.command}) exited",
    )


def exited_event(last: Snapshot, when: float) -> Event:
    """The event for a process that exited after its last snapshot ``last``."""
    info = last.info
    return Event(
        when,
        ev.EXITED,
        0,
        0,
        "",
        last.totals.size,
        -last.totals.size,
        "",
        None,
        f"process {info.pid} ({info.comm or info.command}) exited",
    )


def unreadable_exec_event(last: Snapshot, comm: str, why: str, when: float) -> Event | None:
    """The exec event for a process that ran a program vmtop may not read (a setuid
    program: its map is refused from then on), when its name (stat's comm, which anyone
    may read) tells that it did: ``comm`` is not the one of ``last``, its last
    snapshot. ``why``: in a few words, why the new program cannot be read. None when
    the name did not change (it may have made itself undumpable without exec)."""
    info = last.info
    if not comm or comm == info.comm:
        return None
    return Event(
        when,
        ev.EXEC,
        0,
        0,
        "",
        0,
        0,
        "",
        None,
        f"process {info.pid} ran a new program: {info.comm or '?'} -> {comm}, which vmtop "
        f"may not read ({why})",
    )
