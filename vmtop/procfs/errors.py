"""The ways reading a process can fail, translated once at the /proc boundary.

Each carries a one-line message fit for a person: the CLI prints it to stderr and
exits 1, the TUI shows it and keeps running.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence


class ProcError(Exception):
    """Base class: something about the process stops vmtop from reading it."""

    def __init__(self, pid: int, message: str) -> None:
        super().__init__(message)
        self.pid = pid
        self.message = message

    def __str__(self) -> str:
        return self.message

    def message_for(self, command: Sequence[str]) -> str:
        """The message as the CLI prints it after running ``command`` (its arguments,
        without the program name). Only advice that names a command depends on it."""
        return self.message


class NoSuchProcess(ProcError):
    def __init__(self, pid: int) -> None:
        super().__init__(pid, f"no such process: {pid}")


class ProcessGone(ProcError):
    """The process existed when we started and exited (or was replaced) while we read."""

    def __init__(self, pid: int, detail: str = "") -> None:
        text = f"process {pid} exited while being read"
        super().__init__(pid, f"{text}: {detail}" if detail else text)


class PidReused(ProcessGone):
    def __init__(self, pid: int) -> None:
        ProcError.__init__(
            self, pid, f"process {pid} exited and its PID now belongs to another process"
        )


class AccessDenied(ProcError):
    def __init__(self, pid: int, owner: str | None, what: str = "memory map") -> None:
        self.pid = pid
        self.owner = owner
        self.what = what
        super().__init__(pid, self.message_for([str(pid)]))

    def message_for(self, command: Sequence[str]) -> str:
        """The advice repeats ``command``: ``where PID ADDR`` run again with sudo must
        not open the TUI instead. A command that does not name this process (the
        TUI's picker reading another one) gets ``vmtop PID``, the TUI on it."""
        if not any(arg.isascii() and arg.isdigit() and int(arg) == self.pid for arg in command):
            command = [str(self.pid)]
        # sudo's PATH does not include ~/.local/bin, where pipx and uv put vmtop; the
        # arguments are quoted so that the line can be pasted into a shell as it is.
        again = f'sudo "$(command -v vmtop)" {shlex.join(command)}'
        owner = self.owner
        who = f"owned by {owner}" if owner else "owned by another user"
        if os.geteuid() == 0:
            advice = (
                "vmtop already runs as root, so the kernel refuses for another reason "
                "(the process may be undumpable or in another user namespace)"
            )
        elif owner in (None, "root"):
            advice = f"run vmtop as root: {again}"
        else:
            advice = f"run vmtop as {owner} or as root: {again}"
        return f"permission denied reading the {self.what} of process {self.pid} ({who}): {advice}"


class ZombieProcess(ProcError):
    def __init__(self, pid: int) -> None:
        super().__init__(
            pid,
            f"process {pid} is a zombie: it has exited and has no memory map left "
            "(its parent has not collected it yet)",
        )


class KernelThread(ProcError):
    def __init__(self, pid: int, comm: str = "") -> None:
        name = f" [{comm}]" if comm else ""
        super().__init__(
            pid,
            f"process {pid}{name} is a kernel thread: it has no user address space",
        )


class UnreadableFile(ProcError):
    """A file of the tree that vmtop will not read: not a regular file (a FIFO, a
    device), a symbolic link leading out of a copied tree, larger than any real one, or
    not what the kernel prints. The message names the file."""

    def __init__(self, pid: int, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(pid, f"cannot read {path}: {reason}")
