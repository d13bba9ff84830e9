"""Symbols in the vDSO: ``where`` names ``clock_gettime+0x5`` there, as gdb does.

The vDSO has no file. vmtop parses the image in its own address space (the kernel maps
the same one into every 64-bit process) and never reads the target's memory. Ground
truth here comes from outside vmtop: the test dumps images itself (its own, through
ctypes; a child's, through /proc/PID/mem, which only the test reads) and asks ``nm``.
"""

from __future__ import annotations

import ctypes
import io
import subprocess
from pathlib import Path

import pytest
from helpers_elf import nm_symbols, require_tools, vmtop_text, where_results

from vmtop.model import elf as elf_mod
from vmtop.model.elf import parse_elf, region_sections
from vmtop.model.where import where
from vmtop.procfs.own_vdso import NOT_OURS, OwnVdso, own_vdso_range, vdso_for
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

FIXTURE_PROC = Path(__file__).resolve().parent / "fixtures" / "proc"


def vdso_range(maps_text: str) -> tuple[int, int]:
    for line in maps_text.splitlines():
        if line.endswith("[vdso]"):
            start, end = line.split()[0].split("-")
            return int(start, 16), int(end, 16)
    pytest.skip("no [vdso] in this process (vdso=0 on the kernel command line?)")


def dump_own_vdso(tmp_path: Path) -> tuple[Path, int]:
    start, end = vdso_range(Path("/proc/self/maps").read_text())
    path = tmp_path / "vdso.so"
    path.write_bytes(ctypes.string_at(start, end - start))
    return path, end - start


def nm_function(path: Path, name: str):
    """A function of the image and every name nm gives its address (aliases: the
    __vdso_ name and the plain one)."""
    symbols = nm_symbols(path, dynamic=True)
    found = [s for s in symbols if s.name.removeprefix("__vdso_") == name]
    if not found:
        pytest.skip(f"this kernel's vDSO has no {name}")
    value = found[0].value
    return value, {s.name for s in symbols if s.value == value}


def test_where_in_a_copied_map_with_the_image_handed_in(tmp_path):
    """The model alone: a map with a [vdso] line, the image parsed by the test."""
    require_tools("nm")
    path, size = dump_own_vdso(tmp_path)
    value, names = nm_function(path, "clock_gettime")
    base = 0x7F00_1234_5000
    proc = tmp_path / "proc" / "99"
    proc.mkdir(parents=True)
    (proc / "maps").write_text(
        f"{base:x}-{base + size:x} r-xp 00000000 00:00 0                          [vdso]\n"
    )
    snapshot = take_snapshot(ProcFS(str(tmp_path / "proc")), 99)
    image = parse_elf(io.BytesIO(path.read_bytes()))

    class TheImage:
        def lookup(self, pid, region):
            assert region.path == "[vdso]"
            return image, None

    result = where(snapshot, base + value + 5, TheImage())
    assert result.symbol in names and result.symbol_offset == 5
    # The kind stays the vDSO's: its .text is not the program's text.
    assert (result.kind, result.section, result.object) == ("vdso", ".text", "[vdso]")
    sections, reason = region_sections(snapshot, snapshot.regions[0], TheImage())
    assert reason is None and ".text" in [s.name for s in sections]
    # Without a live process there is no image, and the reason says so.
    result = where(snapshot, base + value + 5, elf_mod.NO_FILES)
    assert result.symbol is None and result.reason.startswith("not a live process")


def test_only_an_image_sure_to_be_the_targets_is_used(tmp_path):
    path, size = dump_own_vdso(tmp_path)
    own = OwnVdso(parse_elf(io.BytesIO(path.read_bytes())), size)

    pids = iter(range(100, 200))

    def region_at(start: int, length: int):
        pid = next(pids)
        proc = tmp_path / "p" / str(pid)
        proc.mkdir(parents=True)
        (proc / "maps").write_text(f"{start:x}-{start + length:x} r-xp 00000000 00:00 0 [vdso]\n")
        return take_snapshot(ProcFS(str(tmp_path / "p")), pid).regions[0]

    high = region_at(0x7F00_0000_0000, size)
    assert vdso_for(high, own) == (own.elf, None)
    assert vdso_for(region_at(0x7F00_0010_0000, size + 4096), own) == (None, NOT_OURS)
    assert vdso_for(region_at(0xF7F0_0000, size), own) == (None, NOT_OURS)  # 32-bit
    assert vdso_for(high, "no vDSO here") == (None, "no vDSO here")


def test_own_vdso_range_reads_the_maps_line():
    maps = (
        b"7ffc1000-7ffc2000 r--p 00000000 00:00 0                          [vvar]\n"
        b"7ffc2000-7ffc4000 r-xp 00000000 00:00 0                          [vdso]\n"
    )
    assert own_vdso_range(maps) == (0x7FFC2000, 0x7FFC4000)
    assert own_vdso_range(b"1000-2000 r-xp 00000000 00:00 0  /tmp/[vdso]x\n") is None


@pytest.mark.live
def test_where_names_the_vdso_function_of_a_live_process(tmp_path, spawn):
    require_tools("nm")
    child = subprocess.Popen(["sleep", "60"])
    try:
        start, end = vdso_range(Path(f"/proc/{child.pid}/maps").read_text())
        with open(f"/proc/{child.pid}/mem", "rb") as mem:  # the test's ground truth only
            mem.seek(start)
            image = mem.read(end - start)
        path = tmp_path / "child-vdso.so"
        path.write_bytes(image)
        value, names = nm_function(path, "clock_gettime")
        results = where_results(str(child.pid), hex(start + value + 5), hex(start + 0x10))
        got = results[0]
        assert got["symbol"] in names and got["symbol_offset"] == 5, got
        assert (got["kind"], got["section"]) == ("vdso", ".text"), got
        assert results[1]["symbol"] is None  # the ELF header: no function there
        text = vmtop_text("where", str(child.pid), hex(start + value)).stdout
        assert f"{got['symbol']}+0x0" in text and "[vdso]" in text
    finally:
        child.kill()
        child.wait()


def test_a_copied_tree_has_no_vdso_image():
    """A copied tree may come from another kernel: its vDSO is not vmtop's."""
    maps = (FIXTURE_PROC / "7936" / "maps").read_text()
    start, _ = vdso_range(maps)
    result = vmtop_text("--proc-root", FIXTURE_PROC, "where", "7936", hex(start + 0xAF5))
    assert result.returncode == 0, result.stderr
    assert "not a live process" in result.stdout
    # No section and no symbol+offset: their columns say "-" (the +0xaf5 after the
    # region is the offset in it).
    assert result.stdout.split()[1:5] == ["vdso", "-", "-", "-"], result.stdout
    assert result.stdout.count("+0x") == 1 and "[vdso] +0xaf5" in result.stdout
