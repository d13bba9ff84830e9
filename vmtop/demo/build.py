"""Build the C demo program (``demo.c``, shipped in the package) once per user.

The executable, ``vmtop-demo``, goes in the user's cache directory
(``$XDG_CACHE_HOME/vmtop``, else ``~/.cache/vmtop``), in a directory named after a hash of
the source and the flags, so a new vmtop with a changed demo builds anew and an unchanged
one never does. The compiler writes into a temporary directory beside it, renamed into
place when it succeeded: two vmtops starting at once never run a half-written program. An executable there is used only if
it is a regular file of this user that nobody else may write.

No compiler, a failed build or a cache directory that cannot be written: ``build_demo``
says why, and the runner falls back to the Python versions.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

SOURCE = Path(__file__).with_name("demo.c")
FLAGS = ("-O1", "-g", "-pthread")
COMPILERS = ("cc", "gcc", "clang")
BUILD_TIMEOUT = 120.0  # seconds


class Build(NamedTuple):
    """The built program, or why there is none (``path`` None, ``reason`` says)."""

    path: Path | None
    reason: str = ""
    built_now: bool = False


def cache_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CACHE_HOME", "")
    # The XDG spec: a relative path is invalid and must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else Path(os.path.expanduser("~")) / ".cache"
    return base / "vmtop"


def find_compiler(environ: dict[str, str] | None = None) -> list[str] | None:
    """``$CC`` (split as a shell would), else the first of cc, gcc, clang on PATH."""
    env = os.environ if environ is None else environ
    if env.get("CC", "").strip():
        argv = shlex.split(env["CC"])
        if shutil.which(argv[0]):
            return argv
    for name in COMPILERS:
        path = shutil.which(name)
        if path:
            return [path]
    return None


PROGRAM = "vmtop-demo"  # the file name: what ps, the picker and the header show


def program_dir_name(source: bytes) -> str:
    key = hashlib.sha256(source + b"\0" + " ".join(FLAGS).encode() + platform.machine().encode())
    return f"demo-{key.hexdigest()[:16]}"


def usable(path: Path) -> bool:
    """A regular executable file of this user, writable by nobody else."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return (
        stat.S_ISREG(st.st_mode)
        and st.st_uid == os.geteuid()
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        and bool(st.st_mode & stat.S_IXUSR)
    )


def build_demo(directory: Path | None = None, compiler: list[str] | None = None) -> Build:
    """The demo program, built if it is not in the cache yet."""
    try:
        source = SOURCE.read_bytes()
    except OSError as e:
        return Build(None, f"the demo's C source is missing ({e.strerror})")
    directory = directory or cache_dir()
    final = directory / program_dir_name(source)
    exe = final / PROGRAM
    if usable(exe):
        return Build(exe)
    compiler = compiler or find_compiler()
    if compiler is None:
        return Build(None, "no C compiler (cc, gcc or clang) on PATH")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=directory))
    except OSError as e:
        return Build(None, f"cannot write {directory}: {e.strerror}")
    try:
        # The source goes in on stdin: what is compiled is exactly what was hashed.
        result = subprocess.run(
            [*compiler, *FLAGS, "-x", "c", "-", "-o", str(building / PROGRAM)],
            input=source,
            capture_output=True,
            timeout=BUILD_TIMEOUT,
        )
        if result.returncode != 0:
            errors = result.stderr.decode("utf-8", "replace").strip().splitlines()
            first = next((line for line in errors if "error" in line), errors[0] if errors else "")
            return Build(None, f"{Path(compiler[0]).name} failed: {first}".rstrip(": "))
        os.chmod(building / PROGRAM, 0o755)
        os.chmod(building, 0o755)
        try:
            # Atomic: the directory appears whole. If another vmtop got there first,
            # its program (built from the same source) is used.
            os.rename(building, final)
        except OSError:
            if not usable(exe):
                # What is there is not ours to trust (another owner, writable by others,
                # not a program): replace it.
                shutil.rmtree(final, ignore_errors=True)
                if final.is_symlink() or final.exists():
                    final.unlink()
                os.rename(building, final)
        return Build(exe, built_now=True)
    except (OSError, subprocess.TimeoutExpired) as e:
        return Build(None, f"building the demo failed: {e}")
    finally:
        shutil.rmtree(building, ignore_errors=True)
