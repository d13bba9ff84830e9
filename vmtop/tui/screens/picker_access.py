"""The picker's dialog for a process vmtop may not open: why, and what to do about it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from vmtop.model.names import display_name
from vmtop.procfs.errors import running_as
from vmtop.procfs.processes import ProcessRow


class AccessExplanation(ModalScreen[None]):
    """Why a process cannot be opened and what to do; any of Esc/Enter/q closes it."""

    BINDINGS = [
        Binding("escape,enter,q,space", "dismiss", "Close", priority=True),
    ]

    def __init__(self, row: ProcessRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical(id="explain-box"):
            yield Static(
                Text(
                    f"Cannot open process {self.row.pid} ({display_name(self.row.comm)})",
                    style="bold",
                ),
                id="explain-title",
            )
            yield Static(
                Text(display_name(reason_only(self.row.denied or ""))), id="explain-reason"
            )
            yield Static(Text(what_to_do(self.row)), id="explain-advice", classes="muted")
            yield Static(Text("Esc / Enter: back to the list", style="dim"), id="explain-keys")

    def action_dismiss(self, result=None) -> None:
        self.dismiss(None)


def reason_only(message: str) -> str:
    """The "why" of an access message, without the advice the dialog spells out below."""
    head, sep, _advice = message.partition("): ")
    return head + ")" if sep and message.startswith("permission denied") else message


def short_reason(row: ProcessRow) -> str:
    """Why the process cannot be opened, short enough for the picker's status line at
    80 columns (the dialog says it whole, with what to do): a refusal in a few words,
    any other reason (a kernel thread, a zombie) as it is."""
    reason = row.denied or ""
    if not reason.startswith("permission denied"):
        return reason
    owner = row.user if row.user not in ("?", "") else None
    if owner is None:
        return "permission denied (owned by another user)"
    dumpable = ", not dumpable" if owner == running_as() else ""
    return f"permission denied (owned by {owner}{dumpable})"


def what_to_do(row: ProcessRow) -> str:
    """The advice under the reason, for the person at the keyboard."""
    import os

    reason = row.denied or ""
    if "kernel thread" in reason:
        return "Kernel threads run only in the kernel: there is no user memory map to show."
    if "zombie" in reason:
        return "A zombie has already exited; wait for its parent to reap it, or pick another."
    if "permission denied" not in reason:
        return "Pick another process."
    if os.geteuid() == 0:
        return (
            "vmtop already runs as root, so the kernel refuses for another reason: the "
            "process may be undumpable (setuid programs, prctl(PR_SET_DUMPABLE, 0)), in "
            "another user namespace, or protected by a security module (Yama "
            "ptrace_scope, SELinux, AppArmor)."
        )
    owner = row.user if row.user not in ("?", "") else None
    if owner is not None and owner == running_as():
        return (
            "Only root may read the memory map of a process that is not dumpable (it set "
            "PR_SET_DUMPABLE to 0, or runs a setuid program or one its user may not read) "
            "or is in a user namespace of its own, even your own: run "
            f"'sudo \"$(command -v vmtop)\" {row.pid}'."
        )
    if owner and owner != "root":
        return (
            f"Reading another process's memory map needs the same user or root: run "
            f"'sudo -u {owner} \"$(command -v vmtop)\" {row.pid}' or "
            f"'sudo \"$(command -v vmtop)\" {row.pid}'."
        )
    return (
        "Reading another user's memory map needs root: run "
        f"'sudo \"$(command -v vmtop)\" {row.pid}'."
    )
