"""A process that is read, then refused while it still runs; one refused although it
is the user's own; one whose main thread exited while others run. What vmtop decides
about each, and what it says, on copies of /proc.

The kernel refuses a maps file at open (EACCES) when the reader may not ptrace-read the
process: as root, file modes cannot make that happen, so ``deny`` makes opening the
maps and smaps of a copied process fail so. Its stat stays readable, as /proc's is for
anyone. The identity of the user vmtop runs as (``os.geteuid``) and the owner of the
process (``ProcFS.owner``, the owner of /proc/PID) are set by each test.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from helpers_proc_trees import leader_exited, zombie

import vmtop.procfs.reader as reader
from vmtop.cli import main
from vmtop.procfs.errors import (
    AccessDenied,
    NoLongerReadable,
    PidReused,
    ProcError,
    ProcessGone,
    ZombieProcess,
)
from vmtop.procfs.maps_ticks import MapsTicks
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.tui.sampler import Sampler

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "process_screen"
PID = 6025
START = 34674  # field 22 of the fixture's stat
SUDO = 'sudo "$(command -v vmtop)"'


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "proc"
    shutil.copytree(FIXTURE / str(PID), root / str(PID))
    return root


def deny(monkeypatch, pid: int = PID) -> None:
    """From now on, opening the process's maps or smaps fails with EACCES."""
    real = reader.open_regular

    def open_regular(path, *, inside=None):
        if os.path.basename(path) in ("maps", "smaps") and f"/{pid}/" in path:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real(path, inside=inside)

    monkeypatch.setattr(reader, "open_regular", open_regular)


def rewrite_stat(root: Path, *, comm: str | None = None, exited: bool = False) -> None:
    """The process ran another program (a new comm), or exited (state Z, one thread)."""
    stat = root / str(PID) / "stat"
    head, rest = stat.read_text().split(") ", 1)
    if comm is not None:
        head = head.split(" (", 1)[0] + f" ({comm}"
    fields = rest.split(" ")
    if exited:
        fields[3 - 3], fields[20 - 3] = "Z", "1"  # state, num_threads
    stat.write_text(f"{head}) {' '.join(fields)}")


def run_as(monkeypatch, uid: int, owner: str | None) -> None:
    """vmtop runs as ``uid``; the process is owned by ``owner``."""
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    monkeypatch.setattr(ProcFS, "owner", lambda self, pid: owner)


# -- the decision ----------------------------------------------------------------------


def test_refused_at_the_first_read_is_permission_denied(tree, monkeypatch):
    deny(monkeypatch)
    with pytest.raises(AccessDenied) as denied:
        take_snapshot(ProcFS(str(tree)), PID)
    assert not isinstance(denied.value, NoLongerReadable)


def test_refused_later_with_the_same_start_time_is_still_running(tree, monkeypatch):
    """exec keeps the PID and the start time: the same process, running a program
    vmtop may not read; its name now is stat's."""
    procfs = ProcFS(str(tree))
    first = take_snapshot(procfs, PID)
    rewrite_stat(tree, comm="passwd")
    deny(monkeypatch)
    with pytest.raises(NoLongerReadable) as denied:
        take_snapshot(procfs, PID, expected_start_time=first.info.start_time)
    assert denied.value.comm == "passwd" and denied.value.pid == PID
    # The maps-only reads between two smaps reads decide the same.
    with pytest.raises(NoLongerReadable):
        MapsTicks(procfs, PID, START).take(first)


def test_refused_later_but_gone_or_another_process_is_not_running(tree, monkeypatch):
    procfs = ProcFS(str(tree))
    deny(monkeypatch)
    with pytest.raises(PidReused):
        take_snapshot(procfs, PID, expected_start_time=START + 1)
    rewrite_stat(tree, exited=True)  # exited meanwhile; not reaped yet
    with pytest.raises(ProcessGone):
        take_snapshot(procfs, PID, expected_start_time=START)


# -- what is said --------------------------------------------------------------------------


def test_no_longer_readable_says_it_runs_another_program(monkeypatch):
    run_as(monkeypatch, 1000, None)
    message = NoLongerReadable(PID, "root", "passwd").message_for(["watch", str(PID)])
    assert message == (
        f"process {PID} is still running but can no longer be read: it exec'd passwd, "
        f"which vmtop may not read (now owned by root): run vmtop as root: "
        f"{SUDO} watch {PID}"
    )
    assert "exited" not in message


def test_denied_by_its_own_user_says_not_dumpable_and_only_root(monkeypatch):
    """As nobody, a process of nobody's that set PR_SET_DUMPABLE to 0: "run vmtop as
    nobody" is what the user already does."""
    run_as(monkeypatch, 65534, None)
    message = AccessDenied(30472, "nobody").message_for(["snapshot", "30472"])
    assert message == (
        "permission denied reading the memory map of process 30472 (owned by nobody, but "
        "refused all the same: it is not dumpable (it set PR_SET_DUMPABLE to 0, or runs a "
        "setuid or setgid program or one its user may not read) or is in a user namespace "
        f"of its own; only root may read it): run vmtop as root: {SUDO} snapshot 30472"
    )
    # Another user's process: as before.
    other = AccessDenied(30472, "daemon").message_for(["30472"])
    assert "not dumpable" not in other and f"run vmtop as daemon or as root: {SUDO} 30472" in (
        other
    )
    later = NoLongerReadable(30472, "nobody", "worker").message
    assert later.startswith("process 30472 (worker) is still running but can no longer be read")
    assert "not dumpable now" in later and later.endswith(f"run vmtop as root: {SUDO} 30472")


# -- the TUI's sampler and `vmtop watch` -----------------------------------------------


def test_the_sampler_stops_with_an_exec_event_not_an_exit(tree, monkeypatch):
    run_as(monkeypatch, 1000, "root")
    sampler = Sampler(ProcFS(str(tree)), PID, clock=lambda: 1_700_000_000.0)
    assert sampler.sample().snapshot is not None
    rewrite_stat(tree, comm="passwd")
    deny(monkeypatch)
    result = sampler.sample()
    assert result.exited and result.snapshot is None  # nothing more to sample...
    assert isinstance(result.error, NoLongerReadable)  # ...but it did not exit
    (event,) = result.events
    assert event.event == "exec"
    assert event.detail == (
        f"process {PID} ran a new program: fixture_prog -> passwd, which vmtop may not "
        "read (now owned by root)"
    )


def test_watch_prints_the_exec_and_fails_saying_it_still_runs(tree, monkeypatch, capsys):
    run_as(monkeypatch, 1000, "root")
    import vmtop.commands.watch as watch

    real_first = watch._first_snapshot

    def first_then_exec(*args):  # the process runs passwd right after the first read
        first = real_first(*args)
        rewrite_stat(tree, comm="passwd")
        deny(monkeypatch)
        return first

    monkeypatch.setattr(watch, "_first_snapshot", first_then_exec)
    rc = main(["--proc-root", str(tree), "watch", str(PID), "--interval", "0.05"])
    out, err = capsys.readouterr()
    assert rc == 1
    (line,) = out.splitlines()
    assert " exec " in line and "fixture_prog -> passwd, which vmtop may not read" in line
    assert err.splitlines()[-1] == (
        f"vmtop: process {PID} is still running but can no longer be read: it exec'd "
        f"passwd, which vmtop may not read (now owned by root): run vmtop as root: "
        f"{SUDO} --proc-root {tree} watch {PID} --interval 0.05"
    )


def test_record_ends_unreadable_not_exited_and_says_it_still_runs(
    tree, monkeypatch, capsys, tmp_path
):
    """`vmtop record` on a process that exec's a setuid program: the recording keeps
    what was read and the exec event, ends "unreadable", and the CLI says it still runs
    (as watch does), not "the process exited"."""
    run_as(monkeypatch, 1000, "root")
    monkeypatch.setattr(ProcFS, "is_live", property(lambda self: True))  # samples go on
    real_sample = Sampler.sample
    taken = []

    def sample_then_exec(self, interval=1.0):
        result = real_sample(self, interval)
        taken.append(result)
        if len(taken) == 2:  # passwd runs after the second read
            rewrite_stat(tree, comm="passwd")
            deny(monkeypatch)
        return result

    monkeypatch.setattr(Sampler, "sample", sample_then_exec)
    out = tmp_path / "r.jsonl.gz"
    rc = main(["--proc-root", str(tree), "record", str(PID), "-o", str(out), "--interval", "0.05"])
    err = capsys.readouterr().err.splitlines()
    assert rc == 1
    assert "exited" not in err[-2] and err[-2].startswith(
        "vmtop: stopped, the process can no longer be read: 2 samples"
    ), err
    assert err[-1].startswith(
        f"vmtop: process {PID} is still running but can no longer be read: it exec'd passwd"
    ), err
    from vmtop.record.reader import Recording

    rec = Recording.open(str(out))
    assert len(rec) == 2 and rec.end_reason == "unreadable"
    (event,) = rec.end_events
    assert event.event == "exec" and "fixture_prog -> passwd" in event.detail


# -- a main thread that exited while others run -------------------------------------------


def test_snapshot_of_a_process_whose_main_thread_exited(tmp_path):
    leader_exited(tmp_path, 500)
    zombie(tmp_path, 600)
    procfs = ProcFS(str(tmp_path))
    snap = take_snapshot(procfs, 500)
    assert [r.start for r in snap.regions] == [0x55D4C7A00000, 0x55D4C7A01000, 0x7F3A10000000]
    assert snap.info.command == "/opt/leaderexit --serve"
    with pytest.raises(ZombieProcess):
        take_snapshot(procfs, 600)


def test_a_copy_without_its_living_thread_is_not_called_a_zombie(tmp_path):
    tid = leader_exited(tmp_path, 500)
    shutil.rmtree(tmp_path / "500" / "task" / str(tid))
    with pytest.raises(ProcError) as error:
        take_snapshot(ProcFS(str(tmp_path)), 500)
    assert not isinstance(error.value, ZombieProcess)
    assert "main thread had exited" in str(error.value)
