"""A thread ID given where a PID is asked for: vmtop reads the thread's process, as
pmap does (`pmap TID` prints the process's ID), and says so once.

The tree: the recording of tests/c/threads_ready.c (tests/fixtures/proc/7932, read
from /proc while it ran), and beside it one of its threads as /proc shows a thread:
the process's maps, smaps and command line, its own stat (its TID, its own start time)
and status (Pid its TID, Tgid the process's). The live tests (test_thread_of_process_
live.py) check the same against the kernel.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from tests.conftest import PROC_FIXTURES, run_vmtop
from vmtop import cli
from vmtop.procfs.errors import AccessDenied
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.thread_group import thread_of

PID = 7932  # threads_ready, recorded
TID = 7933  # one of its threads, as /proc would show it
COMM = "threads_ready"
THREAD_START = 999_999  # the thread started later than the process
NOTICE = f"{TID} is a thread of PID {PID} ({COMM})"


def process_start_time() -> int:
    """Field 22 of the recorded process's stat."""
    data = (PROC_FIXTURES / str(PID) / "stat").read_bytes()
    return int(data[data.rfind(b")") + 2 :].split()[22 - 3])


def thread_tree(root, *, with_process: bool = True):
    """``root`` with the process (unless ``with_process`` is false) and its thread."""
    recorded = PROC_FIXTURES / str(PID)
    if with_process:
        shutil.copytree(recorded, root / str(PID))
    thread = root / str(TID)
    thread.mkdir(parents=True)
    for name in ("maps", "smaps", "cmdline"):
        shutil.copy(recorded / name, thread / name)
    stat = (recorded / "stat").read_bytes()
    fields = stat[stat.rfind(b")") + 2 :].split()
    fields[22 - 3] = str(THREAD_START).encode()
    (thread / "stat").write_bytes(f"{TID} ({COMM}) ".encode() + b" ".join(fields) + b"\n")
    status = (recorded / "status").read_text()
    assert f"Tgid:\t{PID}\n" in status and f"\nPid:\t{PID}\n" in status
    (thread / "status").write_text(status.replace(f"\nPid:\t{PID}\n", f"\nPid:\t{TID}\n"))
    return root


def test_thread_of_names_the_process(tmp_path):
    procfs = ProcFS(str(thread_tree(tmp_path)))
    thread = thread_of(procfs, TID)
    assert (thread.tid, thread.pid, thread.name) == (TID, PID, COMM)
    assert thread.notice("watching") == f"{NOTICE}: watching the process"
    assert thread_of(procfs, PID) is None  # a process's own ID
    assert thread_of(procfs, 4242) is None  # nothing there: the command says so itself


def test_snapshot_of_a_thread_is_the_process(tmp_path):
    root = thread_tree(tmp_path)
    by_thread = run_vmtop("--proc-root", root, "snapshot", TID, "--format", "json")
    assert by_thread.returncode == 0, by_thread.stderr
    document = json.loads(by_thread.stdout)
    # The process's identity: its PID and start time, not the thread's.
    assert (document["pid"], document["start_time"]) == (PID, process_start_time())
    assert by_thread.stderr.decode().count(NOTICE) == 1
    # pmap's header, as pmap -x printed it for the process (`pmap TID` prints the same).
    pmap = run_vmtop("--proc-root", root, "snapshot", TID)
    expected = (PROC_FIXTURES / "expected" / f"{PID}.pmap-x").read_text().splitlines()[0]
    assert pmap.stdout.decode().splitlines()[0] == expected


def test_where_of_a_thread_is_the_process(tmp_path):
    root = thread_tree(tmp_path)
    result = run_vmtop("--proc-root", root, "where", TID, "0x1000", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pid"] == PID
    assert NOTICE in result.stderr.decode()


def test_a_thread_whose_process_is_not_in_the_copy_is_read_as_given(tmp_path):
    """A copied tree with the thread's directory only: its files are all there is."""
    root = thread_tree(tmp_path, with_process=False)
    result = run_vmtop("--proc-root", root, "snapshot", TID, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pid"] == TID
    assert b"is a thread" not in result.stderr


def test_advice_to_run_as_root_names_the_process(tmp_path, monkeypatch, capsys):
    """Refused the process's memory map, the command to run again is the one typed,
    with the process's PID (read as root, it is the same process)."""
    root = thread_tree(tmp_path)
    read_bytes = ProcFS.read_bytes

    def refuse_maps(self, pid, name, **kwargs):
        if name in ("maps", "smaps"):
            raise AccessDenied(pid, "alice")
        return read_bytes(self, pid, name, **kwargs)

    monkeypatch.setattr(ProcFS, "read_bytes", refuse_maps)
    monkeypatch.setattr(
        ProcFS, "read_pieces", lambda self, pid, name, *a: refuse_maps(self, pid, name)
    )
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    status = cli.main(["--proc-root", str(root), "where", str(TID), "0x1000"])
    assert status == 1
    err = capsys.readouterr().err
    assert f"memory map of process {PID}" in err
    assert f'vmtop)" --proc-root {root} where {PID} 0x1000' in err


def test_the_tui_opens_on_the_process_and_says_so(tmp_path, monkeypatch):
    from vmtop.tui.app import VmtopApp

    opened = []
    monkeypatch.setattr(VmtopApp, "run", lambda self, *a, **k: opened.append(self))
    monkeypatch.setattr("vmtop.tui.app.freeze_startup_objects", lambda: None)
    assert cli.run_tui(ProcFS(str(thread_tree(tmp_path))), TID) == 0
    (app,) = opened
    assert app.pid == PID
    assert [n.startswith(NOTICE) for n in app.notices] == [True]


@pytest.mark.asyncio
async def test_the_tui_notice_is_shown(tmp_path):
    from textual.widgets._toast import Toast

    from vmtop.tui.app import VmtopApp

    procfs = ProcFS(str(PROC_FIXTURES))
    app = VmtopApp(procfs, PID, notices=[f"{NOTICE}: showing the process"])
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        deadline = time.monotonic() + 30
        while not any(NOTICE in str(toast.render()) for toast in app.screen.query(Toast)):
            assert time.monotonic() < deadline, "no notice on the screen in 30 s"
            await pilot.pause(0.1)


def serve_started(root, monkeypatch, pid: int = TID) -> dict:
    """What `vmtop --proc-root ROOT serve PID` hands textual-serve's Server: its command
    (the shell command each visitor's vmtop runs) and its other arguments."""
    server = pytest.importorskip("textual_serve.server", reason="textual-serve is not installed")
    served = {}

    class Started(Exception):
        pass

    class Server(server.Server):
        def __init__(self, command, **kwargs) -> None:
            served.update(kwargs, command=command)
            raise Started

    monkeypatch.setattr(server, "Server", Server)
    with pytest.raises(Started):
        cli.main(["--proc-root", str(root), "serve", "--port", "1", str(pid)])
    return served


def test_serve_of_a_thread_serves_the_process(tmp_path, monkeypatch, capsys):
    """Each visitor's vmtop is given the process's PID, and the page is named after it."""
    served = serve_started(thread_tree(tmp_path), monkeypatch)
    assert served["title"] == f"vmtop {PID}"
    assert served["command"].endswith(f" {PID}")
    assert capsys.readouterr().err.count(NOTICE) == 1
