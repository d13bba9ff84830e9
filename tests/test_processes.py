"""The picker's process list, on the recorded fixture tree and on live children.

Expected values are read off the fixture files by hand (status VmRSS/VmSwap, stat
fields 20 and 23) or printed by the child itself; none come from vmtop.
"""

from __future__ import annotations

import errno
import os
import pwd
import sys
from pathlib import Path

import pytest
from helpers_proc_trees import leader_exited, zombie

import vmtop.procfs.processes as processes
from vmtop.procfs.processes import (
    ProcessLister,
    matches,
    parse_loadavg,
    parse_meminfo,
    parse_process,
    probe_access,
    read_system,
    sort_rows,
)
from vmtop.procfs.reader import ProcFS

TUI_PROC = Path(__file__).resolve().parent / "fixtures" / "tui_proc"


@pytest.fixture
def rows():
    return {row.pid: row for row in ProcessLister(ProcFS(str(TUI_PROC))).list()}


def test_fixture_rows_carry_status_and_stat_figures(rows):
    assert sorted(rows) == [2, 4242, 4343, 4444]
    c_prog = rows[4242]
    # 4242/status: VmRSS 2432 kB, VmSwap 0 kB; 4242/stat: field 20 = 2, field 23 = 11980800.
    assert c_prog.rss == 2432 * 1024
    assert c_prog.swap == 0
    assert c_prog.threads == 2
    assert c_prog.vsize == 11980800
    assert c_prog.user == "root"
    assert c_prog.state == "S"
    assert c_prog.command == "/tmp/vmtop-fixture/fixture_prog"
    assert c_prog.comm == "fixture_prog"
    assert rows[4343].rss == 18028 * 1024
    assert rows[4343].command.startswith("/root/.pyenv/versions/3.11.7/bin/python3 -c import")
    secret = rows[4444]
    assert (secret.rss, secret.swap, secret.threads) == (5120 * 1024, 1024 * 1024, 4)
    assert secret.uid == 65534
    assert secret.command == "/usr/sbin/secretd --foreground"


def test_kernel_thread_is_marked_and_cannot_be_opened(rows):
    kthreadd = rows[2]
    assert kthreadd.kernel_thread
    assert kthreadd.command == "[kthreadd]"
    assert "kernel thread" in kthreadd.denied
    assert not any(rows[pid].kernel_thread for pid in (4242, 4343, 4444))


def test_copied_process_without_maps_is_not_openable(rows):
    # 4444 was copied without maps or smaps: there is nothing to show.
    assert rows[4444].denied is not None
    assert "no memory map" in rows[4444].denied
    assert rows[4242].denied is None and rows[4343].denied is None


def test_permission_denied_names_the_owner(monkeypatch):
    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(processes, "open_maps", refuse)
    rows = {row.pid: row for row in ProcessLister(ProcFS(str(TUI_PROC))).list()}
    assert "permission denied" in rows[4444].denied
    assert "owned by nobody" in rows[4444].denied


def test_access_is_asked_again_on_every_refresh(monkeypatch):
    # A process can turn undumpable under the same PID and start time.
    lister = ProcessLister(ProcFS(str(TUI_PROC)))
    assert {r.pid: r.denied for r in lister.list()}[4242] is None

    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(processes, "open_maps", refuse)
    assert "permission denied" in {r.pid: r.denied for r in lister.list()}[4242]


def test_a_main_thread_that_exited_is_not_a_zombie_while_other_threads_run(tmp_path):
    """pthread_exit() in main: stat says Z, Threads 2. The process is alive: it opens,
    and its row shows what the living thread's files say (state, sizes, command line),
    not the empty ones of the exited main thread. A Z with one thread is a zombie."""
    leader_exited(tmp_path, 500)
    zombie(tmp_path, 600)
    rows = {row.pid: row for row in ProcessLister(ProcFS(str(tmp_path))).list()}
    alive = rows[500]
    assert alive.denied is None
    assert (alive.state, alive.threads) == ("S", 2)
    assert alive.rss == 4608 * processes.PAGE_SIZE  # task/501/statm, resident pages
    assert alive.vsize == 20480 * processes.PAGE_SIZE
    assert alive.command == "/opt/leaderexit --serve"
    assert "zombie" in rows[600].denied


def test_a_main_thread_that_exited_is_asked_through_a_living_thread(tmp_path, monkeypatch):
    """The exited main thread's maps opens for anyone (it has no memory to guard): the
    kernel's answer for the process is the living thread's maps."""
    tid = leader_exited(tmp_path, 500)
    asked = []

    def refuse_threads(path):
        asked.append(path)
        if "/task/" in path:
            raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(processes, "open_maps", refuse_threads)
    (row,) = ProcessLister(ProcFS(str(tmp_path))).list()
    assert asked == [str(tmp_path / "500" / "task" / str(tid) / "maps")]
    assert "permission denied" in row.denied and "process 500" in row.denied


def test_sorting_by_each_key():
    rows = [r for r in ProcessLister(ProcFS(str(TUI_PROC))).list() if not r.kernel_thread]
    pids = lambda key, desc: [r.pid for r in sort_rows(rows, key, desc)]  # noqa: E731
    assert pids("rss", True) == [4343, 4444, 4242]  # 18028, 5120, 2432 kB
    assert pids("rss", False) == [4242, 4444, 4343]
    assert pids("swap", True) == [4444, 4242, 4343]  # 1024 kB, then ties by PID
    assert pids("threads", True) == [4444, 4242, 4343]  # 4, 2, 1
    assert pids("vsize", True) == [4343, 4242, 4444]  # 22724608, then a tie
    assert pids("pid", False) == [4242, 4343, 4444]
    assert pids("command", False) == [4343, 4242, 4444]  # /root…, /tmp…, /usr…


def test_filter_by_name_command_line_and_pid():
    rows = [r for r in ProcessLister(ProcFS(str(TUI_PROC))).list() if not r.kernel_thread]
    found = lambda text: sorted(r.pid for r in rows if matches(r, text))  # noqa: E731
    assert found("") == [4242, 4343, 4444]
    assert found("PYTHON") == [4343]  # case-insensitive, name
    assert found("hashlib") == [4343]  # command line only
    assert found("--foreground") == [4444]
    assert found("43") == [4343]  # PID prefix
    assert found("4") == [4242, 4343, 4444]
    assert found("nothing-like-this") == []


def test_parse_process_tolerates_comm_with_spaces_and_parentheses():
    stat = b"77 (a b) c)) R 1 77 77 0 -1 0 0 0 0 0 5 7 0 0 20 0 3 0 100 4096 1 0"
    row = parse_process(77, stat, None, b"", user_of=lambda uid: None)
    assert row.comm == "a b) c)"
    assert row.command == "[a b) c)]"
    assert row.threads == 3
    assert row.cpu_ticks == 12
    assert row.vsize == 4096
    assert row.user == "?"


def test_parse_process_rejects_malformed_stat():
    with pytest.raises(ValueError):
        parse_process(1, b"garbage", None, None)


@pytest.mark.live
def test_live_child_is_listed_with_its_own_figures(spawn):
    code = (
        "import os, threading, time\n"
        "b = bytearray(48 << 20)\n"
        "for i in range(0, len(b), 4096): b[i] = 1\n"
        "ts = [threading.Thread(target=time.sleep, args=(30,), daemon=True) for _ in range(3)]\n"
        "[t.start() for t in ts]\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(30)\n"
    )
    child = spawn([sys.executable, "-c", code, "vmtop-picker-marker"])
    pid = int(child.read_line())
    row = next(r for r in ProcessLister(ProcFS()).list() if r.pid == pid)
    assert row.threads == 4
    assert row.rss >= 48 << 20
    assert "vmtop-picker-marker" in row.command
    assert row.denied is None
    assert probe_access(ProcFS(), row) is None
    assert row.user == pwd.getpwuid(os.getuid()).pw_name


@pytest.mark.live
def test_cpu_percent_of_a_busy_child(spawn):
    code = "import os\nprint(os.getpid(), flush=True)\nwhile True: pass\n"
    child = spawn([sys.executable, "-c", code])
    pid = int(child.read_line())
    lister = ProcessLister(ProcFS())
    lister.list([pid])
    import time

    time.sleep(0.5)
    (row,) = lister.list([pid])
    assert row.cpu_percent is not None and row.cpu_percent > 20


def test_meminfo_and_loadavg_parsing():
    meminfo = (
        b"MemTotal:       24684084 kB\nMemFree:         7932128 kB\n"
        b"MemAvailable:    8789728 kB\nSwapTotal:       1048576 kB\n"
        b"SwapFree:         524288 kB\nHugePages_Total:       0\n"
    )
    fields = parse_meminfo(meminfo)
    assert fields["MemTotal"] == 24684084 * 1024
    assert fields["HugePages_Total"] == 0
    assert parse_loadavg(b"4.93 3.70 1.76 5/120 30791\n") == (4.93, 3.70, 1.76)
    assert parse_loadavg(b"") is None


def test_system_summary_from_a_tree(tmp_path):
    (tmp_path / "meminfo").write_bytes(
        b"MemTotal: 1000 kB\nMemAvailable: 250 kB\nSwapTotal: 100 kB\nSwapFree: 40 kB\n"
    )
    (tmp_path / "loadavg").write_bytes(b"0.50 0.25 0.10 1/99 7\n")
    system = read_system(ProcFS(str(tmp_path)))
    assert system.mem_total == 1000 * 1024
    assert system.mem_used == 750 * 1024
    assert (system.swap_total, system.swap_used) == (100 * 1024, 60 * 1024)
    assert system.load == (0.5, 0.25, 0.1)
    assert read_system(ProcFS(str(TUI_PROC))) is None  # the fixture tree has no meminfo


# -- the live list through psutil ----------------------------------------------------------


def stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return data[data.rfind(b")") + 2 :].decode().split()


@pytest.mark.live
def test_live_list_comes_from_psutil_and_agrees_with_the_kernel(spawn, tmp_path):
    """A child with a name longer than the kernel's 15-character comm: psutil gives the
    whole name (the raw files give 15 characters); identity, state, threads and sizes
    are the kernel's (stat fields 3, 20, 22, 23)."""
    import shutil

    sleep = shutil.which("sleep")
    if sleep is None:
        pytest.skip("sleep (coreutils) is missing")
    program = tmp_path / "vmtop-a-very-long-program-name"
    shutil.copy(sleep, program)
    child = spawn([str(program), "60"])
    from conftest import wait_for_state

    wait_for_state(child.pid, "S")
    lister = ProcessLister(ProcFS())
    assert lister.use_psutil  # this machine's own /proc
    (row,) = lister.list([child.pid])
    fields = stat_fields(child.pid)
    assert row.comm == "vmtop-a-very-long-program-name"
    assert row.command == f"{program} 60"
    assert row.state == fields[0] == "S"
    assert row.threads == int(fields[17]) == 1
    assert row.start_time == int(fields[19])  # identity: (PID, start time in ticks)
    assert row.vsize == int(fields[20])
    assert row.uid == os.getuid() and row.user == pwd.getpwuid(os.getuid()).pw_name
    meminfo = parse_meminfo(open("/proc/meminfo", "rb").read())
    if meminfo.get("SwapTotal", 0) == meminfo.get("SwapFree", 0):
        assert row.swap == 0  # nothing swapped anywhere: no status was read for it
    assert not row.kernel_thread and row.denied is None
    assert matches(row, "long-program-name")
    (raw,) = ProcessLister(ProcFS(), use_psutil=False).list([child.pid])
    assert raw.comm == "vmtop-a-very-lo"  # what stat says; psutil's is the whole name
    assert raw.identity == row.identity


@pytest.mark.live
def test_live_process_whose_main_thread_exited_can_be_opened(compile_c_once, spawn):
    """tests/c/leader_exits.c: main() calls pthread_exit() while a thread holding a
    4 MiB block runs on. stat says Z; the process is alive and listed as such."""
    from conftest import wait_for_state

    child = spawn([compile_c_once("leader_exits.c", "-pthread")])
    child.read_until("READY")
    wait_for_state(child.pid, "Z")
    assert stat_fields(child.pid)[17] == "2"  # num_threads
    for lister in (ProcessLister(ProcFS()), ProcessLister(ProcFS(), use_psutil=False)):
        (row,) = lister.list([child.pid])
        assert row.denied is None
        assert row.state != "Z" and row.threads == 2
        assert row.rss >= 4 << 20 and "leader_exits" in row.command


@pytest.mark.live
def test_live_states_stopped_and_zombie_and_the_kernel_thread(spawn):
    import signal
    import subprocess

    from conftest import wait_for_state

    stopped = spawn(["sleep", "60"])
    os.kill(stopped.pid, signal.SIGSTOP)
    wait_for_state(stopped.pid, "T")
    zombie = subprocess.Popen(["true"])
    try:
        wait_for_state(zombie.pid, "Z")
        rows = {r.pid: r for r in ProcessLister(ProcFS()).list([stopped.pid, zombie.pid, 2])}
    finally:
        zombie.wait()
    assert rows[stopped.pid].state == "T" and rows[stopped.pid].denied is None
    assert rows[zombie.pid].state == "Z"
    assert "zombie" in rows[zombie.pid].denied
    with open("/proc/2/stat", "rb") as f:
        if b"(kthreadd)" in f.read():  # not in every container
            assert rows[2].kernel_thread and "kernel thread" in rows[2].denied


def test_live_rows_swap_comes_from_status_only_while_the_machine_swaps():
    from vmtop.procfs.live_processes import LiveProcess
    from vmtop.procfs.processes import row_from_live

    def process(pid: int, vsize: int = 1 << 20, argv=("prog",), state="S") -> LiveProcess:
        return LiveProcess(
            pid=pid,
            uid=0,
            state=state,
            comm="prog",
            argv=list(argv),
            rss=4096,
            vsize=vsize,
            threads=1,
            start_time=5,
            cpu_ticks=0,
        )

    asked = []

    def read_swap(pid: int) -> int:
        asked.append(pid)
        return 8192

    assert row_from_live(process(10), "root", None).swap == 0  # no swap in use
    assert row_from_live(process(10), "root", read_swap).swap == 8192
    # No memory and no command line, not a zombie: a kernel thread.
    kthread = row_from_live(process(11, vsize=0, argv=()), "root", read_swap)
    assert kthread.kernel_thread and kthread.swap == 0 and kthread.command == "[prog]"
    assert asked == [10]
    zombie = row_from_live(process(12, vsize=0, argv=(), state="Z"), None, None)
    assert not zombie.kernel_thread and zombie.user == "?"
    assert row_from_live(process(2, vsize=0, argv=()), None, None).kernel_thread


def test_a_costly_list_spaces_out_the_refreshes():
    now = [100.0]
    lister = ProcessLister(ProcFS(str(TUI_PROC)), clock=lambda: now[0])
    assert lister.due(2.0)
    lister.list()
    assert 0 <= lister.cost < 0.2  # four processes
    assert lister.interval(2.0) == 2.0
    now[0] += 1.9  # the timer's next tick, a little early
    assert lister.due(2.0)
    lister.cost = 0.3  # 2 000 processes on a slow machine: 15 % of a core at 2 s
    assert lister.interval(2.0) == pytest.approx(3.0)  # back to 10 %
    assert not lister.due(2.0)  # the tick at 2 s is skipped...
    now[0] += 2.0
    assert lister.due(2.0)  # ...the one at 4 s lists


@pytest.mark.live
def test_a_reused_pid_is_listed_with_the_new_process_identity(spawn):
    """A process ends and another gets its PID between two refreshes (ns_last_pid makes
    the kernel hand out that PID again): the second list shows the new process, with
    its own start time, at once."""
    import subprocess
    import time

    if os.geteuid() != 0 or not os.access("/proc/sys/kernel/ns_last_pid", os.W_OK):
        pytest.skip("choosing the next PID (ns_last_pid) needs root")
    lister = ProcessLister(ProcFS())
    first = spawn(["sleep", "60"])
    old = {r.pid: r for r in lister.list()}[first.pid]
    first.kill()
    time.sleep(0.05)  # a start time in another clock tick
    second = None
    for _ in range(20):  # another process may take the PID first: try again
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(first.pid - 1))
        candidate = subprocess.Popen(["sleep", "60"])
        if candidate.pid == first.pid:
            second = candidate
            break
        candidate.kill()
        candidate.wait()
    if second is None:
        pytest.skip("the PID could not be had again")
    try:
        new = {r.pid: r for r in lister.list()}.get(first.pid)
        assert new is not None, "the process that took the PID is not listed"
        assert new.start_time == int(stat_fields(second.pid)[19]) != old.start_time
        assert new.identity != old.identity
    finally:
        second.kill()
        second.wait()
