"""Ctrl-C while Python imports vmtop (its first ~50 ms) ends it quietly with status 130,
as an interrupt later does: no traceback. The interrupt is made to happen during an
import (a finder that raises KeyboardInterrupt there), not left to a race."""

from __future__ import annotations

import re
import subprocess
import sys

from helpers_elf import REPO

INTERRUPT_DURING_IMPORT = """
import sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, Interrupt())
sys.argv = ["vmtop", "watch", "1"]
from vmtop.entry import main
sys.exit(main())
"""


def interrupted_while_importing(module: str) -> subprocess.CompletedProcess:
    script = INTERRUPT_DURING_IMPORT.format(module=module)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60
    )


def test_an_interrupt_while_importing_the_command_line_ends_quietly():
    result = interrupted_while_importing("vmtop.config")  # imported by vmtop.cli
    assert (result.returncode, result.stderr) == (130, "")


def test_an_interrupt_while_importing_a_command_ends_quietly():
    result = interrupted_while_importing("vmtop.commands.watch")
    assert (result.returncode, result.stderr) == (130, "")


def test_the_vmtop_command_and_python_m_vmtop_start_at_the_entry():
    scripts = (REPO / "pyproject.toml").read_text()
    assert re.search(r'^vmtop = "vmtop\.entry:main"$', scripts, re.M)
    assert "from vmtop.entry import main" in (REPO / "vmtop" / "__main__.py").read_text()
