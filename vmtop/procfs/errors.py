"""The ways reading a process can fail, translated once at the /proc boundary.

Each carries a one-line message fit for a person: the CLI prints it to stderr and
exits 1, the TUI shows it and keeps running.
"""

from __future__ import annotations

import os
import pwd
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
        owner = self.owner
        who = f"owned by {owner}" if owner else "owned by another user"
        if owner is not None and owner == running_as():
            # The same user and still refused: not dumpable, or another user namespace.
            who += f", but refused all the same: {NOT_DUMPABLE_WHY}; only root may read it"
        return (
            f"permission denied reading the {self.what} of process {self.pid} ({who}): "
            f"{self.advice(command)}"
        )

    def advice(self, command: Sequence[str]) -> str:
        """What to run instead: vmtop as the owner or as root, ``command`` again."""
        if not any(arg.isascii() and arg.isdigit() and int(arg) == self.pid for arg in command):
            command = [str(self.pid)]
        # sudo's PATH does not include ~/.local/bin, where pipx and uv put vmtop; the
        # arguments are quoted so that the line can be pasted into a shell as it is.
        again = f'sudo "$(command -v vmtop)" {shlex.join(command)}'
        owner = self.owner
        if os.geteuid() == 0:
            return (
                "vmtop already runs as root, so the kernel refuses for another reason "
                "(the process may be undumpable or in another user namespace)"
            )
        if owner in (None, "root") or owner == running_as():
            return f"run vmtop as root: {again}"
        return f"run vmtop as {owner} or as root: {again}"


# Why the kernel refuses vmtop a process of its own user; only root gets past it. The
# kernel makes a process undumpable itself when it runs a program its user may not read
# (chmod 711); a process in a user namespace of its own is refused by the capability
# check, dumpable or not.
NOT_DUMPABLE_WHY = (
    "it is not dumpable (it set PR_SET_DUMPABLE to 0, or runs a setuid or setgid program "
    "or one its user may not read) or is in a user namespace of its own"
)


def running_as() -> str | None:
    """The name of the user vmtop runs as (its effective UID), as ``owner`` gives names
    (``uid N`` for a UID without one); None as root, who is never refused for this."""
    uid = os.geteuid()
    if uid == 0:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class NoLongerReadable(AccessDenied):
    """Read before, refused now, and still the same process (the same PID and start
    time: exec keeps both): it ran a program vmtop may not read (a setuid program, now
    owned by root), or made itself undumpable. It has not exited. ``comm``: its name
    now, from stat (readable by anyone), "" when unknown."""

    def __init__(self, pid: int, owner: str | None, comm: str = "", what: str = "memory map"):
        self.comm = comm
        super().__init__(pid, owner, what)

    @property
    def not_dumpable(self) -> bool:
        """Owned by the user vmtop runs as, and refused all the same."""
        return self.owner is not None and self.owner == running_as()

    @property
    def why(self) -> str:
        """Why the program it runs now cannot be read, in a few words."""
        if self.not_dumpable:
            return "not dumpable"
        return f"now owned by {self.owner}" if self.owner else "now owned by another user"

    def message_for(self, command: Sequence[str]) -> str:
        if self.not_dumpable:
            name = f" ({self.comm})" if self.comm else ""
            return (
                f"process {self.pid}{name} is still running but can no longer be read: it "
                "is not dumpable now (it set PR_SET_DUMPABLE to 0, or exec'd a setuid or "
                "setgid program or one its user may not read), and only root may read it: "
                f"{self.advice(command)}"
            )
        program = self.comm or "a program"
        return (
            f"process {self.pid} is still running but can no longer be read: it exec'd "
            f"{program}, which vmtop may not read ({self.why}): {self.advice(command)}"
        )


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
