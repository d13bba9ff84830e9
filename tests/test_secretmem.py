"""Secret memory (memfd_secret) is shared memory kept from the kernel, not a deleted file.

The kernel names its mappings ``/secretmem (deleted)``: vmtop called one a data file
removed while mapped, whose "blocks stay in use on disk". It is RAM taken out of the
kernel's direct map, locked, never swapped or dumped, and no file was removed. A
hand-made region, then live (skipped where the kernel refuses memfd_secret).
"""

from __future__ import annotations

import subprocess

import pytest

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.explain import why_kind
from vmtop.model.region import Region

NAME = "/secretmem (deleted)"
SECRET = Region(
    0x2_8000_0000, 0x2_8040_0000, "rw-s", 0, "00:0e", 826048, NAME,
    kind=kinds.kind_from_name(NAME, "rw-s", 826048),
)  # fmt: skip


def test_secret_memory_is_shm_and_said_to_be_secret():
    (region,) = classify_regions([SECRET])
    assert region.kind == kinds.SHM
    why = why_kind(region)
    assert "memfd_secret" in why and "locked" in why
    assert "on disk" not in why and "package upgrade" not in why


@pytest.mark.live
def test_a_live_secret_mapping_is_named_so(compile_c):
    import sys

    from helpers_elf import C_DIR

    exe = compile_c(C_DIR / "secretmem.c")
    child = subprocess.Popen(
        [str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    try:
        word, value = child.stdout.readline().split()
        if word == "UNSUPPORTED":
            pytest.skip(f"memfd_secret refused here (errno {value})")
        address = int(value, 16)
        with open(f"/proc/{child.pid}/smaps") as f:
            text = f.read()
        # Ground truth: the kernel's own line and flags for it (locked, not dumped).
        block = text[text.index(f"{address:x}-") :].split("VmFlags:")[1].split("\n")[0]
        assert "/secretmem (deleted)" in text and {"lo", "dd"} <= set(block.split())
        out = subprocess.run(
            [sys.executable, "-m", "vmtop", "snapshot", str(child.pid), "--format", "csv"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        child.stdin.close()
        child.kill()
        child.wait()
    (line,) = [row for row in out.splitlines() if row.startswith(f"{address:#x},")]
    assert f",{kinds.SHM}," in line
