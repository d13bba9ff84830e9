"""Pure parsers for /proc/PID/stat, status and cmdline."""

from __future__ import annotations

from typing import NamedTuple


class StatFields(NamedTuple):
    pid: int
    comm: str
    state: str
    ppid: int
    num_threads: int
    start_time: int  # field 22, clock ticks after boot
    vsize: int  # field 23, bytes
    rss_pages: int  # field 24
    start_stack: int  # field 28
    kstkesp: int  # field 29 (0 unless the task is stopped/being dumped on new kernels)
    flags: int = 0  # field 9: PF_* task flags (PF_EXITING, PF_KTHREAD, ...)


def parse_stat(data: bytes) -> StatFields:
    """/proc/PID/stat. ``comm`` may hold spaces and parentheses: split at the last ')'."""
    open_paren = data.find(b"(")
    close_paren = data.rfind(b")")
    if open_paren < 0 or close_paren < open_paren:
        raise ValueError("malformed stat")
    pid = int(data[:open_paren])
    comm = data[open_paren + 1 : close_paren].decode("utf-8", "surrogateescape")
    rest = data[close_paren + 2 :].split()
    # rest[0] is field 3 (state); field N is rest[N - 3].
    if rest and not (len(rest[0]) == 1 and rest[0].isalpha()):
        raise ValueError("malformed stat")  # the state is one letter

    def field(n: int) -> int:
        try:
            return int(rest[n - 3])
        except (IndexError, ValueError):
            return 0

    return StatFields(
        pid=pid,
        comm=comm,
        state=rest[0].decode("ascii", "replace") if rest else "?",
        ppid=field(4),
        num_threads=field(20),
        start_time=field(22),
        vsize=field(23),
        rss_pages=field(24),
        start_stack=field(28),
        kstkesp=field(29),
        flags=field(9),
    )


def parse_status(data: bytes) -> dict[str, str | int]:
    """/proc/PID/status as a dict. ``kB`` fields become bytes; the rest stay text."""
    result: dict[str, str | int] = {}
    for line in data.split(b"\n"):
        key, sep, value = line.partition(b":")
        if not sep:
            continue
        value = value.strip()
        name = key.decode("ascii", "replace")
        number = value[:-3].strip() if value.endswith(b" kB") else b""
        if number.isdigit():  # bytes.isdigit: ASCII digits only
            result[name] = int(number) * 1024
        else:
            result[name] = value.decode("utf-8", "surrogateescape")
    return result


def parse_cmdline(data: bytes) -> list[str]:
    """NUL-separated arguments. Trailing NULs make no empty arguments: a process that
    rewrites its title over its argv (postgres, setproctitle) leaves the rest of the old
    arguments as NUL padding, and ps, top and pmap drop it the same way (procps'
    ``read_unvectored``)."""
    data = data.rstrip(b"\0")
    if not data:
        return []
    return [arg.decode("utf-8", "surrogateescape") for arg in data.split(b"\0")]


def status_uid(status: dict[str, str | int]) -> int | None:
    """The real UID from a parsed status."""
    uid = status.get("Uid")
    if isinstance(uid, str) and uid.split():
        try:
            return int(uid.split()[0])
        except ValueError:
            return None
    return None
