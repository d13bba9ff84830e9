"""Start a demo workload as a child process and read what it says.

``start_demo(name)`` runs the demo as a small C program (``demo.c``, built once into the
user's cache directory by ``vmtop.demo.build``) where a C compiler is present, so the
watched map is a lab's map: the program, libc, the loader, heap and stack, about 20
regions. Without a compiler it runs the Python version (``python -m vmtop.demo.<module>``),
whose map also holds the interpreter's 50-odd regions and whose heap moves on its own;
``DemoProcess.language`` says which runs, and a first narration line says why Python.
Both print the same narration, one line per step, on a pipe: a background thread reads
it into a queue, and ``read_narration()`` hands over the lines that arrived since the last
call without blocking.

A demo never outlives the vmtop that started it:
- the child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG), and
  checks its parent at every step (``vmtop.demo.common``);
- the kernel's "parent" there is the *thread* that forked the child, so the child is
  always forked from a thread that lives as long as vmtop (the main thread, or a
  spawner thread kept for that purpose), never from a short-lived worker;
- vmtop stops every demo it started at exit (atexit).
"""

from __future__ import annotations

import atexit
import os
import queue
import signal
import subprocess
import sys
import threading
from typing import IO

from vmtop.demo.build import Build, build_demo
from vmtop.demo.common import PACE_ENV, PARENT_ENV, START_ENV

DEMOS = {
    "malloc": "vmtop.demo.malloc",
    "mmap": "vmtop.demo.mmap_file",
    "stack": "vmtop.demo.stack",
    "threads": "vmtop.demo.threads",
}
DEFAULT_MMAP_MIB = 256
STOP_TIMEOUT = 3.0  # seconds a demo gets to exit after SIGTERM before SIGKILL
C, PYTHON = "C", "Python"
LANGUAGES = (C, PYTHON)


class DemoProcess:
    """A running demo: its PID, its narration, and a way to stop it."""

    def __init__(
        self,
        name: str,
        process: subprocess.Popen,
        language: str = PYTHON,
        program: str | None = None,
        first_lines: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.process = process
        self.pid = process.pid
        self.language = language  # C or Python: which version of the demo runs
        self.program = program  # the C program's path
        self._lines: queue.Queue[str] = queue.Queue()
        for line in first_lines:
            self._lines.put(line)
        self._stopped = False
        self._lock = threading.Lock()
        self._reader = threading.Thread(
            target=self._read, args=(process.stdout,), name=f"vmtop-demo-{name}", daemon=True
        )
        self._reader.start()

    def _read(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        try:
            for raw in iter(stream.readline, b""):
                self._lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        except (OSError, ValueError):
            pass  # the pipe was closed by stop()

    def read_narration(self) -> list[str]:
        """The lines the demo printed since the last call (never blocks)."""
        lines = []
        while True:
            try:
                lines.append(self._lines.get_nowait())
            except queue.Empty:
                return lines

    def wait_narration(self, timeout: float) -> str | None:
        """The next line, waiting up to ``timeout`` seconds; None if none came."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def begin(self) -> None:
        """Make the demo take its first step now instead of after its start delay.

        Only once the demo has printed its first line (it handles SIGUSR1 from then on).
        """
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGUSR1)

    def poll(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        """End the demo: SIGTERM, then SIGKILL if it does not exit. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if self.process.poll() is None:
            try:
                self.process.terminate()
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            except ProcessLookupError:
                pass
        self._reader.join(timeout=1.0)
        if self.process.stdout is not None:
            try:
                self.process.stdout.close()
            except OSError:
                pass
        _running.discard(self)

    def __enter__(self) -> DemoProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_running: set[DemoProcess] = set()


def _stop_all() -> None:
    for demo in list(_running):
        demo.stop()


atexit.register(_stop_all)


def demo_command(name: str, size_mib: int | None = None, program: str | None = None) -> list[str]:
    """The demo's argv: the C ``program`` when given, else the Python version."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}: choose from {', '.join(DEMOS)}")
    argv = [str(program), name] if program else [sys.executable, "-u", "-m", DEMOS[name]]
    if name == "mmap":
        argv.append(str(size_mib or DEFAULT_MMAP_MIB))
    return argv


def choose_program(language: str | None) -> tuple[Build | None, tuple[str, ...]]:
    """The C program to run (None: the Python version), and narration lines saying why
    the Python version runs when C was wanted but could not be built."""
    if language not in (None, *LANGUAGES):
        raise ValueError(f"unknown demo language {language!r}: choose from C, Python")
    if language == PYTHON:
        return None, ()
    build = build_demo()
    if build.path is not None:
        return build, ()
    if language == C:
        raise RuntimeError(f"the C demo cannot be built: {build.reason}")
    return None, (
        f"running the Python version of the demo ({build.reason}): its map also holds "
        "the interpreter's regions, and its heap moves on its own",
    )


def demo_environment(
    name: str, pace: float | None = None, start_delay: float | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    env[PARENT_ENV] = str(os.getpid())
    env["PYTHONUNBUFFERED"] = "1"
    if pace is not None:
        env[PACE_ENV] = str(pace)
    if start_delay is not None:
        env[START_ENV] = str(start_delay)
    if name == "threads":
        # Without this, glibc keeps ended threads' stacks mapped for reuse (up to
        # 40 MiB): nothing would be unmapped when the demo's threads end.
        tunables = env.get("GLIBC_TUNABLES", "")
        extra = "glibc.pthread.stack_cache_size=0"
        env["GLIBC_TUNABLES"] = f"{tunables}:{extra}" if tunables else extra
    return env


def start_demo(
    name: str,
    *,
    size_mib: int | None = None,
    pace: float | None = None,
    start_delay: float | None = None,
    language: str | None = None,
) -> DemoProcess:
    """Start demo ``name`` (malloc, mmap, stack, threads) as a child process.

    ``size_mib`` is the mmap demo's file size; ``pace`` the seconds per step (default:
    the demo's own, about one step a second); ``start_delay`` the seconds before its
    first step (default two steps; ``DemoProcess.begin()`` cuts it short); ``language``
    "C" or "Python" (default: C where it can be built, else Python).
    """
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}: choose from {', '.join(DEMOS)}")
    build, why_python = choose_program(language)
    program = str(build.path) if build is not None and build.path else None
    argv = demo_command(name, size_mib, program)
    env = demo_environment(name, pace, start_delay)
    if program and name == "mmap":
        # The Python version does this itself: files of mmap demos killed outright.
        from vmtop.demo.mmap_file import remove_stale_directories

        remove_stale_directories()

    def spawn() -> subprocess.Popen:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            close_fds=True,
        )

    process = _spawn_from_long_lived_thread(spawn)
    demo = DemoProcess(name, process, C if program else PYTHON, program, why_python)
    _running.add(demo)
    return demo


# -- forking from a thread that lives as long as vmtop ------------------------------------

_spawn_requests: queue.Queue = queue.Queue()
_spawner: threading.Thread | None = None
_spawner_lock = threading.Lock()


def _spawn_from_long_lived_thread(spawn):
    """Run ``spawn()`` on the main thread if we are on it, else on the spawner thread.

    PR_SET_PDEATHSIG fires when the thread that forked the child exits, not the
    process: a demo started from a Textual worker thread would be killed as soon as the
    worker finished.
    """
    if threading.current_thread() is threading.main_thread():
        return spawn()
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(
                target=_serve_spawns, name="vmtop-demo-spawner", daemon=True
            )
            _spawner.start()
    reply: queue.Queue = queue.Queue(maxsize=1)
    _spawn_requests.put((spawn, reply))
    ok, value = reply.get()
    if not ok:
        raise value
    return value


def _serve_spawns() -> None:
    while True:
        spawn, reply = _spawn_requests.get()
        try:
            reply.put((True, spawn()))
        except BaseException as e:  # handed to the caller, raised there
            reply.put((False, e))
