"""The PID a process has in its own PID namespace (a container's), from ``status``.

The kernel lists it in NSpid, outermost namespace first: "19547\t1" is PID 19547 here
and 1 in the container, where its logs, its own /proc and `ps` inside it say 1. vmtop
shows every PID and thread ID as the outermost namespace (its own) numbers them.
"""

from __future__ import annotations

from collections.abc import Mapping


def pid_in_namespace(status: Mapping[str, str | int]) -> int | None:
    """The PID in the process's innermost PID namespace, where that is not vmtop's own
    (NSpid lists more than one); None otherwise or when status does not say."""
    value = status.get("NSpid")
    if not isinstance(value, str):
        return None
    pids = value.split()
    if len(pids) < 2 or not pids[-1].isdigit():
        return None
    return int(pids[-1])
