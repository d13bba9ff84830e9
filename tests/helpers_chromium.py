"""Headless Chromium on a page of a test's, and every process of it ended after."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import is_root


@contextmanager
def headless_chromium(tmp_path, page: str) -> Iterator[subprocess.Popen]:
    """Chromium (headless, no GPU) showing ``page``, its log on the child's stderr;
    skipped where it is not installed."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed")
    path = tmp_path / "page.html"
    path.write_text(page)
    config = tmp_path / "config"  # crashpad's handlers leave the group: their database
    argv = [exe, "--headless=new", "--disable-gpu", "--no-first-run", "--enable-logging=stderr",
            "--v=0", f"--user-data-dir={tmp_path / 'profile'}",
            *(["--no-sandbox"] if is_root() else []), path.as_uri()]  # fmt: skip
    child = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "XDG_CONFIG_HOME": str(config)},
    )
    try:
        yield child
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        for name in os.listdir("/proc"):
            try:
                if (
                    name.isdigit()
                    and str(config).encode() in open(f"/proc/{name}/cmdline", "rb").read()
                ):
                    os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass
