"""Hand-made /proc trees of processes whose main thread has exited, for the tests of
what is a zombie (nothing to read) and what is not.

- ``stat_line(pid, comm, state, threads)``: a stat line as the kernel prints it.
- ``leader_exited(root, pid)``: a process whose main thread called pthread_exit()
  while a second thread (``pid + 1``) runs on: as on this kernel (tests/c/leader_exits.c),
  its own stat says Z with 2 threads, and its maps, statm and cmdline are empty; the
  living thread's ``task/TID`` files show the process's memory map and command line.
- ``zombie(root, pid)``: a process that exited and was not reaped: Z, 1 thread.
"""

from __future__ import annotations

from pathlib import Path

START_TIME = 4321
LIVING_MAPS = (
    b"55d4c7a00000-55d4c7a01000 r--p 00000000 fd:01 1234 /opt/leaderexit\n"
    b"55d4c7a01000-55d4c7a02000 r-xp 00001000 fd:01 1234 /opt/leaderexit\n"
    b"7f3a10000000-7f3a11000000 rw-p 00000000 00:00 0 \n"
)
LIVING_STATM = b"20480 4608 300 1 0 5000 0\n"  # pages: size, resident, ...


def stat_line(pid: int, comm: str, state: str, threads: int, start: int = START_TIME) -> bytes:
    """A stat line with the fields the tests read: 3 state, 20 num_threads, 22 start."""
    fields = [state, "1", str(pid), str(pid), "0", "-1", "4194560"]  # 3-9
    fields += ["0"] * 10  # 10-19
    fields += [str(threads), "0", str(start), "0", "0"]  # 20-24
    fields += ["0"] * 28  # 25-52
    return f"{pid} ({comm}) {' '.join(fields)}\n".encode()


def status_text(comm: str, state: str, threads: int) -> bytes:
    letter = {"Z": "Z (zombie)", "S": "S (sleeping)"}[state]
    return (
        f"Name:\t{comm}\nState:\t{letter}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
        f"Threads:\t{threads}\n"
    ).encode()


def leader_exited(root: Path, pid: int, comm: str = "leaderexit") -> int:
    """The tree of a process whose main thread exited; returns the living thread's TID."""
    tid = pid + 1
    base = root / str(pid)
    base.mkdir(parents=True)
    (base / "stat").write_bytes(stat_line(pid, comm, "Z", 2))
    (base / "status").write_bytes(status_text(comm, "Z", 2))
    for name in ("maps", "smaps", "cmdline"):
        (base / name).write_bytes(b"")
    (base / "statm").write_bytes(b"0 0 0 0 0 0 0\n")
    leader = base / "task" / str(pid)
    leader.mkdir(parents=True)
    (leader / "stat").write_bytes(stat_line(pid, comm, "Z", 2))
    thread = base / "task" / str(tid)
    thread.mkdir()
    (thread / "stat").write_bytes(stat_line(tid, comm, "S", 2))
    (thread / "maps").write_bytes(LIVING_MAPS)
    (thread / "statm").write_bytes(LIVING_STATM)
    (thread / "cmdline").write_bytes(b"/opt/leaderexit\0--serve\0")
    return tid


def zombie(root: Path, pid: int, comm: str = "true") -> None:
    base = root / str(pid)
    base.mkdir(parents=True)
    (base / "stat").write_bytes(stat_line(pid, comm, "Z", 1))
    (base / "status").write_bytes(status_text(comm, "Z", 1))
    for name in ("maps", "smaps", "cmdline"):
        (base / name).write_bytes(b"")
