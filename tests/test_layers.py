"""Below vmtop.tui nothing imports Textual or Rich (DESIGN.md: one-way flow).

Every module of the headless packages, found with pkgutil so new ones are covered
without editing this test, is imported in a fresh interpreter; then neither textual nor
rich may be in sys.modules.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest
from conftest import REPO

import vmtop

HEADLESS = ("procfs", "model", "output", "commands", "demo", "record")


def headless_modules() -> list[str]:
    names = []
    for package in HEADLESS:
        path = [str(p) for p in vmtop.__path__]
        found = [m for m in pkgutil.iter_modules(path) if m.name == package]
        if not found:
            continue
        names.append(f"vmtop.{package}")
        package_path = [f"{p}/{package}" for p in path]
        for module in pkgutil.walk_packages(package_path, prefix=f"vmtop.{package}."):
            names.append(module.name)
    return sorted(names)


def test_the_layers_exist():
    modules = headless_modules()
    for must in ("vmtop.procfs.parse_maps", "vmtop.model.region", "vmtop.output.pmap"):
        assert must in modules


@pytest.mark.parametrize("entry", ["modules", "cli snapshot"])
def test_headless_code_never_imports_textual_or_rich(entry):
    modules = headless_modules()
    if entry == "modules":
        code = (
            "import importlib, json, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
        )
    else:
        # What `vmtop snapshot` imports on its way, the headless command people script.
        code = (
            "import json, sys\n"
            "from vmtop import cli\n"
            "from vmtop.procfs.snapshot import take_snapshot\n"
            "from vmtop.output import pmap, json_out, csv_out\n"
        )
    code += (
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(json.dumps(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_the_check_can_fail():
    """The same probe does see textual when the TUI is imported."""
    code = (
        "import json, sys\n"
        "import vmtop.tui.app\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    if result.returncode != 0:
        pytest.skip(f"the TUI does not import yet: {result.stderr.strip().splitlines()[-1:]}")
    assert "textual" in json.loads(result.stdout)


def test_the_model_imports_nothing_above_it():
    """The model is pure (DESIGN.md): the facts it needs are read by procfs and handed
    in. No module of it imports procfs, output or the TUI, not even inside a function
    (a lazy import running back up the layers)."""
    above = ("vmtop.procfs", "vmtop.output", "vmtop.tui", "vmtop.commands", "vmtop.cli")
    found = []
    for path, node in _model_nodes(REPO / "vmtop" / "model"):
        found += [f"{path.name}: {n}" for n in _imported(node) if n.startswith(above)]
    assert found == []


def _model_nodes(model_dir):
    """Every syntax node of every module in ``model_dir``, with its file."""
    import ast

    for path in sorted(model_dir.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            yield path, node


def _imported(node) -> list[str]:
    """The modules an import statement names (none for other nodes)."""
    import ast

    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    return []


# What reaching files takes: the model must get its facts handed in instead.
_FILE_MODULES = ("os", "io", "pathlib", "shutil", "glob", "tempfile")


def model_file_access(model_dir) -> list[str]:
    """Where a module of the model could reach a file itself: an import of a module
    that opens, stats or lists files, or a call of the builtin ``open``."""
    found = []
    for path, node in _model_nodes(model_dir):
        names = _imported(node)
        found += [f"{path.name}: import {n}" for n in names if n.split(".")[0] in _FILE_MODULES]
        if type(node).__name__ == "Call" and getattr(node.func, "id", None) == "open":
            found.append(f"{path.name}:{node.lineno}: open()")
    return found


def test_the_model_opens_no_files():
    """ELF program headers, section tables and symbols are files' facts: procfs opens
    the files (``procfs.mapped_file``, ``procfs.elf_files``, ``procfs.bss_sizes``) and
    hands the parsed objects in, so the overlay can be tested on parsed files alone."""
    assert model_file_access(REPO / "vmtop" / "model") == []


def test_the_file_access_check_can_fail(tmp_path):
    (tmp_path / "reads.py").write_text("import os\n\ndef f(p):\n    return open(p).read()\n")
    assert model_file_access(tmp_path) == ["reads.py: import os", "reads.py:4: open()"]
