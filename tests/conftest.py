"""Shared test helpers: compile a C program, run it as a child, read what it prints.

Generic on purpose, for every test module:

- ``compile_c(source, *flags)``: build a C program with gcc into ``tmp_path`` and return
  the executable's path. ``source`` is a path to a ``.c`` file (absolute, or relative to
  ``tests/c/``) or the C source text itself. Skips the test when gcc is missing.
- ``compile_c_once(source, *flags)``: the same, built once per test session (for a
  program many tests run).
- ``spawn(argv, **popen_kwargs)``: start a child whose stdout is a pipe and get a
  ``Child`` back; every child still running at the end of the test is killed and reaped.
- ``Child.read_line(timeout)`` / ``Child.read_until(prefix)`` / ``Child.read_lines(n)``:
  the lines it prints (bytes decoded with surrogateescape, newline removed), with a
  timeout so a wedged child fails the test instead of hanging it.
- ``Child.stop()`` / ``Child.cont()``: SIGSTOP / SIGCONT, waiting until /proc says the
  child really is stopped, so its memory map is frozen while a test compares readers.
- ``FIXTURES`` / ``PROC_FIXTURES`` / ``C_DIR``: where fixture files live.
"""

from __future__ import annotations

import hashlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
C_DIR = TESTS / "c"
FIXTURES = TESTS / "fixtures"
PROC_FIXTURES = FIXTURES / "proc"
REPO = TESTS.parent

# The vmtop command as the tests run it: this interpreter, this checkout.
VMTOP = [sys.executable, "-m", "vmtop"]


def is_root() -> bool:
    return os.geteuid() == 0


def proc_state(pid: int) -> str | None:
    """The one-letter state of a process from /proc/PID/stat, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :][:1].decode()


def wait_for_state(pid: int, states: str, timeout: float = 5.0) -> str:
    """Wait until the process is in one of ``states`` (e.g. "tT" or "Z")."""
    deadline = time.monotonic() + timeout
    while True:
        state = proc_state(pid)
        if state is not None and state in states:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} is in state {state!r}, not one of {states!r}")
        time.sleep(0.005)


class ChildTimeout(AssertionError):
    pass


class Child:
    """A running child process whose stdout we read line by line."""

    def __init__(self, argv: list[str], **popen_kwargs) -> None:
        popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
        popen_kwargs.setdefault("stderr", None)
        self.argv = [str(a) for a in argv]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, **popen_kwargs)
        self.pid = self.proc.pid
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        self._eof = False

    # -- reading what it prints -------------------------------------------------------

    def read_line(self, timeout: float = 10.0) -> str:
        """The next line the child prints (newline removed). Raises at EOF or timeout."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if self._eof:
                raise ChildTimeout(
                    f"{self.argv[0]} closed its output (exit {self.proc.poll()}) "
                    f"after {self._buffer!r}"
                )
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                raise ChildTimeout(f"{self.argv[0]} printed nothing for {timeout}s")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                self._eof = True
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "surrogateescape")

    def read_lines(self, count: int, timeout: float = 10.0) -> list[str]:
        return [self.read_line(timeout) for _ in range(count)]

    def read_until(self, prefix: str, timeout: float = 10.0) -> list[str]:
        """Every line up to and including the first one starting with ``prefix``."""
        lines = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(max(0.01, deadline - time.monotonic()))
            lines.append(line)
            if line.startswith(prefix):
                return lines

    # -- controlling it ---------------------------------------------------------------

    def stop(self) -> None:
        """SIGSTOP, and wait until the kernel reports it stopped."""
        os.kill(self.pid, signal.SIGSTOP)
        wait_for_state(self.pid, "tT")

    def cont(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.reap()

    def reap(self, timeout: float = 10.0) -> int:
        returncode = self.proc.wait(timeout)
        self._selector.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return returncode

    @property
    def running(self) -> bool:
        return self.proc.poll() is None


def _build(source: str | os.PathLike, flags: tuple[str, ...], out_dir: Path) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: this test compiles a C child process")
    text_given = isinstance(source, str) and ("\n" in source or not source.endswith(".c"))
    if text_given:
        digest = hashlib.sha1(source.encode()).hexdigest()[:12]
        src = out_dir / f"prog_{digest}.c"
        src.write_text(source)
    else:
        src = Path(source)
        if not src.is_absolute():
            src = C_DIR / src
    exe = out_dir / (src.stem + "_" + hashlib.sha1(" ".join(flags).encode()).hexdigest()[:8])
    cmd = ["gcc", "-O1", "-g", "-Wall", "-o", str(exe), str(src), *flags]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"gcc failed: {' '.join(cmd)}\n{result.stderr}")
    return exe


@pytest.fixture
def compile_c(tmp_path):
    """``compile_c(source, *flags) -> Path`` of the built executable (see module doc)."""

    def build(source: str | os.PathLike, *flags: str) -> Path:
        return _build(source, tuple(flags), tmp_path)

    return build


@pytest.fixture(scope="session", autouse=True)
def demo_cache_of_the_session(tmp_path_factory):
    """Demos that tests run (and the vmtop processes they start) are built into a cache
    of this session, not the user's ~/.cache/vmtop: a test run leaves nothing in the
    home directory it runs in."""
    cache = tmp_path_factory.mktemp("xdg_cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    yield cache
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def compile_c_once(tmp_path_factory):
    """``compile_c_once(source, *flags) -> Path``, built once per session and source."""
    built: dict[tuple, Path] = {}
    out_dir = tmp_path_factory.mktemp("c_once")

    def build(source: str | os.PathLike, *flags: str) -> Path:
        key = (str(source), flags)
        if key not in built:
            built[key] = _build(source, tuple(flags), out_dir)
        return built[key]

    return build


@pytest.fixture
def spawn():
    """``spawn(argv, **popen_kwargs) -> Child``; children are killed when the test ends."""
    children: list[Child] = []

    def start(argv, **popen_kwargs) -> Child:
        child = Child(list(argv), **popen_kwargs)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


def run_vmtop(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """Run the vmtop CLI as a separate process, capturing bytes."""
    return subprocess.run(
        [*VMTOP, *map(str, args)],
        capture_output=True,
        timeout=timeout,
        cwd=REPO,
        **kwargs,
    )


def start_recording(pid: int, path, interval: float) -> subprocess.Popen:
    """`vmtop record PID -o PATH --interval I` started, once it says it records (its
    first sample read): the test's changes after that are in the recording."""
    recorder = subprocess.Popen(
        [*VMTOP, "record", str(pid), "-o", str(path), "--interval", str(interval)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for line in recorder.stderr:
        if "recording PID" in line:
            break
    return recorder


def needs_root(reason: str = "this test needs root"):
    return pytest.mark.skipif(not is_root(), reason=reason)


def needs_tool(name: str):
    return pytest.mark.skipif(shutil.which(name) is None, reason=f"{name} is not installed")


def hugetlb_pool_raised(pages: int) -> int | None:
    """Raise the hugetlb pool by ``pages`` (root): the old size, or None if not possible."""
    path = Path("/proc/sys/vm/nr_hugepages")
    if os.geteuid() != 0 or not path.exists():
        return None
    old = int(path.read_text())
    try:
        path.write_text(str(old + pages))
    except OSError:
        return None
    if int(path.read_text()) < old + pages:
        path.write_text(str(old))
        return None
    return old


@pytest.fixture(params=["tuples", "columns"])
def held_as(request):
    """A function holding a snapshot's regions as a tuple, or as columns (huge maps)."""
    from vmtop.model.columns import RegionColumns

    def hold(snap):
        if request.param == "columns":
            return snap._replace(regions=RegionColumns.from_regions(snap.regions))
        return snap

    return hold
