"""A copy of the recorded huge_pages process (tests/fixtures/real/huge_pages) whose
regions in hugetlb pages hold other amounts, as the kernel would print them: their
smaps lines (Shared_Hugetlb, Private_Hugetlb) and status' HugetlbPages rewritten.

Ground truth is read back from that text by plain line parsing (``smaps_hugetlb``,
``status_kib``), never from vmtop's parser.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

from conftest import FIXTURES

ROOT = FIXTURES / "real" / "huge_pages"
PID = int(next(p.name for p in ROOT.iterdir() if p.name.isdigit()))
READY = dict(f.split("=") for f in (ROOT / "ready.txt").read_text().split()[1:])
SHARED, PRIVATE = int(READY["hugetlb_shared"], 16), int(READY["hugetlb_private"], 16)
MiB = 1 << 20


def hugetlb_tree(dest: Path, figures: dict[int, int]) -> Path:
    """A proc tree at ``dest`` (created or rewritten) in which the region starting at
    each key of ``figures`` holds that many bytes of hugetlb pages (in the field the
    recorded process had them in); every other figure as recorded. Returns the root."""
    proc = dest / str(PID)
    if not proc.exists():
        shutil.copytree(ROOT / str(PID), proc)
    text = (ROOT / str(PID) / "smaps").read_text()
    for start, size in figures.items():
        head, block = text.split(f"\n{start:x}-", 1)
        block, sep, rest = block.partition("VmFlags:")
        block = re.sub(r"^(Shared|Private)_Hugetlb:\s+[1-9]\d* kB", _with(size), block, flags=re.M)
        text = f"{head}\n{start:x}-{block}{sep}{rest}"
    (proc / "smaps").write_text(text)
    total = sum(smaps_hugetlb(dest).values())
    status = (ROOT / str(PID) / "status").read_text()
    status = re.sub(
        r"^HugetlbPages:\s+\d+ kB", f"HugetlbPages:\t{total >> 10:>8} kB", status, flags=re.M
    )
    (proc / "status").write_text(status)
    return dest


def _with(size: int):
    return lambda m: f"{m.group(1)}_Hugetlb:  {size >> 10:>6} kB"


def smaps_hugetlb(root: Path) -> dict[int, int]:
    """Shared_Hugetlb + Private_Hugetlb of each region with some, in bytes, by start."""
    out: dict[int, int] = {}
    start = None
    for line in (root / str(PID) / "smaps").read_text().splitlines():
        head = re.match(r"^([0-9a-f]+)-[0-9a-f]+ ", line)
        if head:
            start = int(head.group(1), 16)
            continue
        m = re.match(r"^(?:Shared|Private)_Hugetlb:\s+(\d+) kB", line)
        if m and int(m.group(1)):
            out[start] = out.get(start, 0) + (int(m.group(1)) << 10)
    return out


def status_kib(root: Path, field: str) -> int:
    """A kB field of the tree's status, in bytes."""
    text = (root / str(PID) / "status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1)) << 10


def region_field(root: Path, start: int, field: str) -> int:
    """A kB field of the region at ``start`` in the tree's smaps, in bytes."""
    text = (root / str(PID) / "smaps").read_text()
    block = text.split(f"\n{start:x}-", 1)[1].split("VmFlags:", 1)[0]
    return int(re.search(rf"^{field}:\s+(\d+) kB", block, re.M).group(1)) << 10


class HugetlbChild:
    """tests/c/hugetlb_touch.c running, with 8 hugetlb pages raised in the pool for it:
    where its pages are (``start``, ``size``), and ``touch()`` to fault in half of them
    (the bytes it says it touched)."""

    def __init__(self, child) -> None:
        self.child = child
        self.pid = child.pid
        ready = child.read_line().split()
        assert ready[0] == "READY", ready
        self.start, self.size = int(ready[1], 16), int(ready[2])

    def command(self, word: str) -> list[str]:
        self.child.proc.stdin.write(word.encode() + b"\n")
        self.child.proc.stdin.flush()
        return self.child.read_line().split()

    def touch(self) -> int:
        said = self.command("touch")
        assert said[0] == "TOUCHED", said
        return int(said[1])


@contextlib.contextmanager
def hugetlb_child(compile_c, spawn):
    """A ``HugetlbChild``; the pool is put back as it was after it (skip where the pool
    cannot be raised: it needs root and free memory)."""
    import subprocess

    import pytest
    from conftest import hugetlb_pool_raised

    exe = compile_c("hugetlb_touch.c")
    old = hugetlb_pool_raised(8)
    if old is None:
        pytest.skip("raising /proc/sys/vm/nr_hugepages needs root and free memory")
    try:
        yield HugetlbChild(spawn([exe], stdin=subprocess.PIPE))
    finally:
        Path("/proc/sys/vm/nr_hugepages").write_text(str(old))
