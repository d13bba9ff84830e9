"""Run vmtop as the user ``nobody``, wherever the checkout is.

A checkout nobody may not enter (cloned into root's mode-700 home, or CI's ``mktemp -d``)
cannot be imported as nobody, and neither can a virtual environment under such a
directory. So ``NobodyVmtop.prepare()`` copies the package, and every third-party module
the command loads when root runs it, into a fresh world-readable directory, and runs it
there with the interpreter the virtual environment was made from. Where even that
interpreter is out of nobody's reach (a Python built into a private home), the test is
skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
NOBODY_ENV = {"HOME": "/tmp", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}

# Run by root with the test's interpreter: which modules outside the standard library
# `vmtop snapshot` loads (the package itself aside), one path per line.
_WHAT_IT_LOADS = r"""
import contextlib, io, os, sys, sysconfig
from vmtop.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["snapshot", str(os.getpid())])
stdlib = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None)
    if "." in name or not path or name == "vmtop":
        continue
    if any(path.startswith(d + os.sep) for d in stdlib) and "site-packages" not in path:
        continue
    print(os.path.dirname(path) if hasattr(module, "__path__") else path)
"""


def _base_python() -> str:
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def _package_dir() -> Path:
    import vmtop

    return Path(vmtop.__file__).resolve().parent


class NobodyVmtop:
    """A world-readable copy of vmtop, and how to run it as nobody."""

    def __init__(self, root: Path, python: str) -> None:
        self.root = root
        self.python = python

    @classmethod
    def prepare(cls) -> NobodyVmtop:
        if os.geteuid() != 0:
            pytest.skip("running vmtop as nobody needs root to switch user")
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is missing")
        loaded = subprocess.run(
            [sys.executable, "-c", _WHAT_IT_LOADS], capture_output=True, text=True, timeout=60
        )
        if loaded.returncode != 0:
            raise AssertionError(f"vmtop snapshot failed as root: {loaded.stderr}")
        root = Path(tempfile.mkdtemp(prefix="vmtop-as-nobody-"))
        try:
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(_package_dir(), root / "vmtop", ignore=ignore)
            for line in loaded.stdout.splitlines():
                src = Path(line)
                if src.is_dir():
                    shutil.copytree(src, root / src.name, ignore=ignore)
                elif src.is_file():
                    shutil.copy2(src, root / src.name)
            _readable_by_all(root)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        made = cls(root, _base_python())
        check = made.run("-c", "import vmtop.cli", module=False)
        if check.returncode != 0:
            made.remove()
            reason = check.stderr.decode("utf-8", "replace").strip().splitlines()
            pytest.skip(
                f"nobody cannot run {made.python} with a copy of vmtop: "
                f"{reason[-1] if reason else check.returncode}"
            )
        return made

    def argv(self, *args: str, module: bool = True) -> list[str]:
        vmtop = ["-m", "vmtop"] if module else []
        return [*AS_NOBODY, self.python, "-s", *vmtop, *map(str, args)]

    def run(self, *args: str, module: bool = True, timeout: float = 60):
        return subprocess.run(
            self.argv(*args, module=module),
            capture_output=True,
            cwd=self.root,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": str(self.root),
                **NOBODY_ENV,
            },
            timeout=timeout,
        )

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _readable_by_all(root: Path) -> None:
    os.chmod(root, 0o755)
    for directory, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(directory, name), 0o755)
        for name in files:
            path = os.path.join(directory, name)
            os.chmod(path, os.stat(path).st_mode | 0o444)
