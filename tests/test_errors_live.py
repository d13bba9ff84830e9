"""Every way reading a live process can fail: one line on stderr, exit 1, no traceback.

Usage errors exit 2. Each case is a real process on this machine: a zombie child,
PID 2 (kthreadd), a root-owned process read as `nobody`, a child killed while vmtop
reads its 60 000-region smaps, a PID nobody has.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, run_vmtop, wait_for_state
from helpers_nobody import AS_NOBODY, NOBODY_ENV, NobodyVmtop, _readable_by_all

from vmtop.procfs.errors import AccessDenied, NoSuchProcess, ProcessGone
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

pytestmark = pytest.mark.live


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> str:
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1, (result.returncode, stderr)
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert stderr.startswith("vmtop: ")
    assert result.stdout == b""
    for word in words:
        assert word in stderr, stderr
    return stderr


def unused_pid() -> int:
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise AssertionError("every PID is in use")


def test_no_such_process():
    pid = unused_pid()
    assert_one_line_error(run_vmtop("snapshot", pid), "no such process", str(pid))
    with pytest.raises(NoSuchProcess):
        take_snapshot(ProcFS(), pid)


def test_zombie(spawn):
    child = subprocess.Popen(["true"])  # exits at once; not reaped until wait()
    try:
        wait_for_state(child.pid, "Z")
        stderr = assert_one_line_error(run_vmtop("snapshot", child.pid), "zombie")
        assert str(child.pid) in stderr
    finally:
        child.wait()


def test_kernel_thread():
    assert_one_line_error(run_vmtop("snapshot", 2), "kernel thread", "kthreadd")


@pytest.fixture(scope="module")
def nobody():
    """vmtop runnable as nobody, from a copy nobody can read (helpers_nobody)."""
    made = NobodyVmtop.prepare()
    # prepare() copies what `vmtop snapshot` loads; `vmtop where` also loads pyelftools.
    import elftools

    shutil.copytree(
        Path(elftools.__file__).parent,
        made.root / "elftools",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    _readable_by_all(made.root)
    yield made
    made.remove()


def test_another_users_process(spawn, nobody):
    target = spawn(["sleep", "60"])  # owned by root, like this test
    result = nobody.run("snapshot", str(target.pid))
    stderr = assert_one_line_error(result, "permission denied", "owned by root")
    assert "run vmtop as root" in stderr
    assert str(target.pid) in stderr


# What an ordinary user types, and the arguments sudo must be given back: the command
# itself, not the TUI on the PID. "{pid}" is the process; quoting is shlex's.
DENIED_COMMANDS = [
    (["where", "{pid}", "0x1000"], "where {pid} 0x1000"),
    (["watch", "{pid}", "--count", "1"], "watch {pid} --count 1"),
    (["record", "{pid}", "-o", "{out}"], "record {pid} -o {out}"),
    (["snapshot", "{pid}", "--format", "json"], "snapshot {pid} --format json"),
]


@pytest.mark.parametrize(
    ("command", "again"), DENIED_COMMANDS, ids=[c[0] for c, _again in DENIED_COMMANDS]
)
def test_advice_repeats_the_command_that_was_denied(spawn, nobody, command, again):
    target = spawn(["sleep", "60"])  # owned by root
    out = f"/tmp/vmtop-denied-{os.getpid()}-{command[0]}.jsonl.gz"
    fill = {"pid": target.pid, "out": out}
    try:
        result = nobody.run(*(arg.format(**fill) for arg in command))
    finally:
        if os.path.exists(out):
            os.unlink(out)
    stderr = assert_one_line_error(result, "permission denied", "owned by root")
    want = 'run vmtop as root: sudo "$(command -v vmtop)" ' + again.format(**fill)
    assert stderr.rstrip("\n").endswith(want), stderr


def test_advice_quotes_the_command_for_a_shell(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # the advice of an ordinary user
    denied = AccessDenied(4321, "alice")
    command = ["record", "4321", "-o", "my run; rm -rf ~.gz", "--duration", "$(id)"]
    sudo = 'sudo "$(command -v vmtop)" '
    expected = sudo + "record 4321 -o 'my run; rm -rf ~.gz' --duration '$(id)'"
    assert denied.message_for(command).endswith(f"run vmtop as alice or as root: {expected}")
    assert shlex.split(expected)[2:] == command  # a shell gets the same words back
    # A command about another process (the TUI's picker, started as `vmtop`): the
    # TUI on this one, as before.
    assert denied.message_for([]).endswith(sudo + "4321")
    assert denied.message_for(["43210"]).endswith(sudo + "4321")
    assert denied.message == denied.message_for(["4321"])


def test_same_user_as_nobody_works(spawn, nobody):
    """The other side of the permission check: nobody may read nobody's process."""
    target = spawn([*AS_NOBODY, "sleep", "60"])
    wait_for_state(target.pid, "S")
    result = nobody.run("snapshot", str(target.pid))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{target.pid}:   sleep 60\n".encode())


@pytest.fixture
def undumpable(compile_c):
    """tests/c/undumpable.c, where nobody may run it: (as "undumpable", as "hidden_prog")."""
    import tempfile

    built = compile_c("undumpable.c")
    where = Path(tempfile.mkdtemp(prefix="vmtop-undumpable-"))
    try:
        os.chmod(where, 0o755)
        for name in ("undumpable", "hidden_prog"):
            shutil.copy(built, where / name)
            os.chmod(where / name, 0o755)
        yield where / "undumpable", where / "hidden_prog"
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_own_undumpable_process_needs_root(spawn, nobody, undumpable):
    """nobody's own process that set PR_SET_DUMPABLE to 0: "run vmtop as nobody" is
    what was done; only root gets past it."""
    target = spawn([*AS_NOBODY, undumpable[0], "hide"])
    assert target.read_line() == "READY"
    stderr = assert_one_line_error(
        nobody.run("snapshot", str(target.pid)), "permission denied", "owned by nobody"
    )
    assert "refused all the same: it is not dumpable (it set PR_SET_DUMPABLE to 0" in stderr
    assert "run vmtop as nobody" not in stderr
    assert stderr.rstrip("\n").endswith(
        f'run vmtop as root: sudo "$(command -v vmtop)" snapshot {target.pid}'
    )


def test_watch_of_a_process_that_execs_what_it_may_not_read(spawn, nobody, undumpable):
    """Watched as nobody, nobody's process exec's a program that makes itself
    undumpable: the watch prints the exec, says the process still runs but can no
    longer be read, and fails; it never says the process exited."""
    target = spawn([*AS_NOBODY, undumpable[0], str(undumpable[1])])
    assert target.read_line() == "READY"
    watch = subprocess.Popen(
        nobody.argv("watch", str(target.pid), "--interval", "0.1"),
        cwd=nobody.root,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(nobody.root), **NOBODY_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert b"watching PID" in watch.stderr.readline()
        os.kill(target.pid, signal.SIGUSR1)
        assert target.read_line() == "READY"  # hidden_prog runs, not dumpable
        stdout, stderr = watch.communicate(timeout=30)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    out, err = stdout.decode(), stderr.decode()
    assert watch.returncode == 1, err
    assert "Traceback" not in err and "exited" not in out + err
    assert [line for line in out.splitlines() if "  exec  " in line], out
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith(
        f"vmtop: process {target.pid} (hidden_prog) is still running but can no longer be "
        "read: it is not dumpable now"
    ), last
    assert last.endswith(f'sudo "$(command -v vmtop)" watch {target.pid} --interval 0.1')


MANY_REGIONS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]), page = sysconf(_SC_PAGESIZE);
    char *base = mmap(NULL, n * page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return 1;
    for (long i = 0; i < n; i += 2) mprotect(base + i * page, page, PROT_READ);
    printf("READY\n");
    fflush(stdout);
    pause();
}
"""


def test_process_exits_while_being_read(compile_c, spawn):
    """A real race: kill a child with 60 000 regions while vmtop reads its smaps.

    Reading that smaps takes the kernel a few hundred milliseconds, so a kill a few
    milliseconds after vmtop starts usually lands mid-read. Whatever the timing, vmtop
    must print one line and exit 1 (or succeed, if it won the race); the test needs
    the mid-read case to happen at least once.
    """
    exe = compile_c(MANY_REGIONS)
    outcomes = []
    for attempt in range(5):
        child = spawn([exe, "60000"])
        child.read_until("READY")
        reader = subprocess.Popen(
            [sys.executable, "-m", "vmtop", "snapshot", str(child.pid), "--format", "pmap"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        # Wait until vmtop has the smaps file open, then kill the child.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _has_open(reader.pid, child.pid, "smaps"):
            time.sleep(0.0005)
        time.sleep(0.002 * attempt)
        os.kill(child.pid, signal.SIGKILL)
        if attempt % 2:
            child.reap()  # sometimes the PID vanishes, sometimes it stays a zombie
        stdout, stderr = reader.communicate(timeout=60)
        stderr = stderr.decode()
        assert "Traceback" not in stderr
        if reader.returncode == 0:
            # Won the race: then the map must be whole, never cut where the exit hit.
            assert stdout.count(b"\n") >= 60_000 + 4, "a truncated map printed as success"
            outcomes.append("won")
            continue
        assert stdout == b""
        assert reader.returncode == 1 and stderr.count("\n") == 1, stderr
        assert "exited while being read" in stderr, stderr
        outcomes.append("gone")
    print("race outcomes:", outcomes)
    assert "gone" in outcomes, outcomes


def _has_open(reader_pid: int, target_pid: int, name: str) -> bool:
    want = f"/proc/{target_pid}/{name}"
    try:
        fds = os.listdir(f"/proc/{reader_pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{reader_pid}/fd/{fd}") == want:
                return True
        except OSError:
            continue
    return False


def test_process_vanishes_between_reads(tmp_path, monkeypatch):
    """Deterministic twin of the race: the tree disappears right after stat is read."""
    tree = tmp_path / "4321"
    tree.mkdir()
    (tree / "stat").write_bytes(b"4321 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77\n")
    (tree / "maps").write_bytes(b"00400000-00401000 r--p 00000000 fe:00 5 /x\n")
    (tree / "smaps").write_bytes(b"00400000-00401000 r--p 00000000 fe:00 5 /x\nRss: 4 kB\n")
    procfs = ProcFS(str(tmp_path))
    real_read_status = ProcFS.read_status

    def read_status_then_exit(self, pid):
        status = real_read_status(self, pid)
        shutil.rmtree(tree)
        return status

    monkeypatch.setattr(ProcFS, "read_status", read_status_then_exit)
    with pytest.raises(ProcessGone) as gone:
        take_snapshot(procfs, 4321)
    assert "exited while being read" in str(gone.value)


def test_zombie_after_the_read_is_gone(monkeypatch, spawn):
    """Killed after smaps was read but before the check: it is a zombie, not a map."""
    target = spawn(["sleep", "60"])
    wait_for_state(target.pid, "S")
    real_read_optional = ProcFS.read_optional

    def read_then_die(self, pid, name, consume=None):
        data = real_read_optional(self, pid, name, consume)
        if name in ("smaps", "maps"):
            os.kill(pid, signal.SIGKILL)
            wait_for_state(pid, "Z")
        return data

    monkeypatch.setattr(ProcFS, "read_optional", read_then_die)
    with pytest.raises(ProcessGone):
        take_snapshot(ProcFS(), target.pid)


def test_exiting_after_the_read_is_gone(monkeypatch, spawn):
    """Killed mid-read, a process tears its memory down before it is a zombie: the
    kernel then ends smaps early while stat still says R. PF_EXITING tells."""
    from vmtop.procfs.reader import PF_EXITING

    target = spawn(["sleep", "60"])
    wait_for_state(target.pid, "S")
    real_read_stat = ProcFS.read_stat
    calls = []

    def read_stat(self, pid, *, seen=False):
        stat = real_read_stat(self, pid, seen=seen)
        calls.append(stat)
        return stat._replace(flags=stat.flags | PF_EXITING) if len(calls) > 1 else stat

    monkeypatch.setattr(ProcFS, "read_stat", read_stat)
    with pytest.raises(ProcessGone):
        take_snapshot(ProcFS(), target.pid)
    assert len(calls) == 2


@pytest.mark.parametrize(
    "args",
    [
        ["snapshot"],
        ["snapshot", "abc"],
        ["snapshot", "0"],
        ["snapshot", "-5"],
        ["snapshot", "1", "--format", "xml"],
        ["snapshot", "1", "--bogus"],
        ["nonsense-command"],
    ],
)
def test_usage_errors_exit_2(args):
    result = run_vmtop(*args)
    stderr = result.stderr.decode()
    assert result.returncode == 2, (result.returncode, stderr)
    assert "Traceback" not in stderr
    assert "usage:" in stderr


def test_proc_root_that_does_not_exist(tmp_path):
    """Said as it is: not "no such process: 1" (a usage error: status 2)."""
    result = run_vmtop("--proc-root", tmp_path / "nowhere", "snapshot", "1")
    stderr = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b""
    assert stderr == f"vmtop: --proc-root {tmp_path / 'nowhere'}: no such directory\n"
