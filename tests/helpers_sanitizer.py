"""What a program built with a sanitizer printed about its memory, read back: the ground
truth of the sanitizer tests (tests/test_sanitizer_*.py).

- ``printed_layout``: ASan's shadow layout, as ASAN_OPTIONS=verbosity=1 prints it
  (``|| `[0x02008fff7000, 0x10007fff7fff]` || HighShadow ||``), end made exclusive;
- ``printed_classes``: ASan's size classes in use, as __asan_print_accumulated_stats
  prints them (``  03 (    48): mapped: ... region: 0x603000000000``);
- ``printed_chunks``: the workload's CHUNK lines (two blocks of one size, one after the
  other: their distance is the chunk size);
- ``runtime_labels``: what the run-time named each of its mappings with
  decorate_proc_maps=1 (``/dev/shm/PID [WHAT]``), from the kernel's map;
- ``build_workload``: tests/fixtures/sanitizers/workload.c built with a sanitizer, or
  the test skipped where gcc cannot.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES

SANITIZER_FIXTURES = FIXTURES / "sanitizers"
WORKLOAD = SANITIZER_FIXTURES / "workload.c"

_LAYOUT = re.compile(r"^\|\| `\[0x([0-9a-f]+), 0x([0-9a-f]+)\]` \|\| (\w+)\s*\|\|$")
_CLASS = re.compile(r"^\s+(\d+) \(\s*(\d+)\): mapped: .* region: 0x([0-9a-f]+)$")
_DECORATED = re.compile(r"/dev/shm/\d+ \[(.*)\](?: \(deleted\))?")


def printed_layout(stderr: str) -> dict[str, tuple[int, int]]:
    """ASan's printed layout: name -> (start, end) with the end exclusive."""
    out = {}
    for line in stderr.splitlines():
        m = _LAYOUT.match(line)
        if m:
            out[m[3]] = (int(m[1], 16), int(m[2], 16) + 1)
    return out


def printed_classes(stderr: str) -> dict[int, tuple[int, int]]:
    """ASan's printed size classes: region start -> (class id, chunk size)."""
    out = {}
    for line in stderr.splitlines():
        m = _CLASS.match(line)
        if m:
            out[int(m[3], 16)] = (int(m[1]), int(m[2]))
    return out


def printed_chunks(stdout: str) -> list[tuple[int, int, int]]:
    """(size, first block, second block) of each CHUNK line."""
    out = []
    for line in stdout.splitlines():
        if line.startswith("CHUNK "):
            _, n, p, q = line.split()
            out.append((int(n), int(p, 16), int(q, 16)))
    return out


def runtime_label(path: str) -> str | None:
    """WHAT of a mapping the run-time named ``/dev/shm/PID [WHAT]``, or None."""
    m = _DECORATED.fullmatch(path)
    return m[1] if m else None


def label_hull(regions, label_test) -> tuple[int, int]:
    """From the lowest start to the highest end of the regions whose run-time label
    passes ``label_test``."""
    spans = [(r.start, r.end) for r in regions if label_test(runtime_label(r.path) or "")]
    assert spans, "no region has such a label"
    return min(s for s, _ in spans), max(e for _, e in spans)


def region_at(regions, address: int):
    found = [r for r in regions if r.start <= address < r.end]
    assert len(found) == 1, hex(address)
    return found[0]


def fixture_tree(name: str) -> tuple[Path, int]:
    root = SANITIZER_FIXTURES / name
    pid = int(next(p for p in root.iterdir() if p.name.isdigit()).name)
    return root, pid


def build_workload(sanitizer: str, out_dir: Path, *flags: str) -> Path:
    """workload.c built with -fsanitize=SANITIZER (and ``flags``); skips the test where
    gcc is missing or cannot link that sanitizer's run-time."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: this test compiles a sanitized C program")
    exe = out_dir / f"workload_{sanitizer}{''.join(flags).replace('-', '_')}"
    cmd = ["gcc", "-O1", "-g", "-pthread", f"-fsanitize={sanitizer}", *flags]
    result = subprocess.run([*cmd, str(WORKLOAD), "-o", str(exe)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"gcc cannot build with -fsanitize={sanitizer} here: {result.stderr[-300:]}")
    return exe
