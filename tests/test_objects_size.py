"""Per-object text/data/bss: the numbers binutils `size` prints, for the program and
libc of a live process and for every shared library of this machine."""

from __future__ import annotations

import csv
import glob
import io
import os
import struct
import subprocess

import pytest
from helpers_elf import (
    binutils_size,
    gcc,
    parse_addresses,
    require_tools,
    vmtop_json,
    vmtop_text,
)

from vmtop.model.elf import NotElf, parse_elf
from vmtop.model.objects import object_sizes
from vmtop.procfs.elf_files import ProcessElfFiles
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    out = tmp_path_factory.mktemp("sizes")
    return {
        "pie": gcc("where_target.c", out / "where_pie", "-fPIE", "-pie"),
        "nopie": gcc("where_target.c", out / "where_nopie", "-fno-pie", "-no-pie"),
    }


@pytest.mark.live
@pytest.mark.parametrize("variant", ["pie", "nopie"])
def test_live_objects_match_size(programs, spawn, variant):
    exe = programs[variant]
    child = spawn([exe], stdin=subprocess.PIPE)
    parse_addresses(child.read_until("ready"))
    snapshot = take_snapshot(ProcFS(), child.pid)
    sizes = object_sizes(snapshot, ProcessElfFiles(ProcFS()))
    paths = [s.path for s in sizes]
    assert os.path.realpath(exe) in paths
    assert any(os.path.basename(p).startswith("libc.so") for p in paths)
    assert any("ld-linux" in p for p in paths)
    assert len(paths) == len(set(paths)), "each object once"
    expected = binutils_size(paths)
    for s in sizes:
        assert s.reason is None
        assert (s.text, s.data, s.bss) == expected[s.path], s.path
    # The program's .bss holds the 256 KiB array: bss is at least that.
    program = next(s for s in sizes if s.path == os.path.realpath(exe))
    assert program.bss >= 256 * 1024

    # The same numbers in `vmtop snapshot --format json`.
    record = vmtop_json("snapshot", "--format", "json", child.pid)
    by_path = {o["path"]: (o["text"], o["data"], o["bss"]) for o in record["objects"]}
    assert by_path == expected
    # ...and each region names its ELF sections; the .bss spill region is .bss.
    regions = {int(r["start"], 16): r for r in record["regions"]}
    spill = next(r for r in record["regions"] if r["kind"] == "bss" and r["path"] == "")
    assert spill["sections"] == [".bss"] and spill["object"] == os.path.realpath(exe)
    text = [r for r in regions.values() if r["kind"] == "text" and r["object"] == spill["object"]]
    assert len(text) == 1 and ".text" in text[0]["sections"]
    assert all(r["sections"] == [] for r in regions.values() if r["object"] is None)

    # CSV has the same columns, sections separated by spaces.
    out = vmtop_text("snapshot", "--format", "csv", child.pid)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {"kind", "object", "sections"} <= set(rows[0])
    csv_spill = next(r for r in rows if int(r["start"], 16) == int(spill["start"], 16))
    assert (csv_spill["kind"], csv_spill["sections"]) == ("bss", ".bss")
    child.kill()


def test_snapshot_of_a_copied_tree_has_kinds_but_no_files(tmp_path):
    proc = tmp_path / "4321"
    proc.mkdir()
    (proc / "maps").write_bytes(
        b"55d0c0a00000-55d0c0a01000 r-xp 00000000 fe:00 100 /bin/prog\n"
        b"55d0c0a01000-55d0c0a02000 rw-p 00001000 fe:00 100 /bin/prog\n"
        b"55d0c0a02000-55d0c0a03000 rw-p 00000000 00:00 0 \n"
    )
    record = vmtop_json("--proc-root", tmp_path, "snapshot", "--format", "json", "4321")
    assert [(r["kind"], r["object"], r["sections"]) for r in record["regions"]] == [
        ("text", "/bin/prog", []),
        ("data", "/bin/prog", []),
        ("bss", "/bin/prog", []),
    ]
    # The object is named, but a copied tree has no files: no sizes, and a reason.
    assert [(o["path"], o["text"], o["data"], o["bss"]) for o in record["objects"]] == [
        ("/bin/prog", None, None, None)
    ]
    assert "copied" in record["objects"][0]["reason"]


def _system_libraries(limit: int = 150) -> list[str]:
    found = []
    for pattern in ("/usr/lib/x86_64-linux-gnu/*.so*", "/usr/lib/*/*.so*", "/lib64/*.so*"):
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path) and not os.path.islink(path) and path not in found:
                found.append(path)
    return found[:limit]


def test_every_system_library_matches_size():
    require_tools("size")
    paths = _system_libraries()
    if len(paths) < 5:
        pytest.skip("too few shared libraries here to compare")
    expected = binutils_size(paths)
    compared = 0
    for path in paths:
        if path not in expected:
            continue  # `size` could not read it either (a linker script, not ELF)
        with open(path, "rb") as f:
            try:
                elf = parse_elf(f)
            except NotElf:
                continue
        assert tuple(elf.sizes) == expected[path], path
        compared += 1
    assert compared >= 5


def test_a_file_without_section_headers_is_zero_as_size_says(programs, tmp_path):
    require_tools("size")
    copy = tmp_path / "no_section_headers"
    copy.write_bytes(programs["pie"].read_bytes())
    with open(copy, "r+b") as f:
        f.seek(0x28)  # e_shoff
        f.write(struct.pack("<Q", 0))
        f.seek(0x3C)  # e_shnum, e_shstrndx
        f.write(struct.pack("<HH", 0, 0))
    expected = binutils_size([str(copy)])[str(copy)]
    with open(copy, "rb") as f:
        elf = parse_elf(f)
    assert tuple(elf.sizes) == expected
    assert not elf.has_section_headers and elf.loads, "program headers are still read"


def test_not_elf_is_refused_with_a_reason(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just some text\n" * 100)
    truncated = tmp_path / "truncated.so"
    truncated.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9)
    with open(text, "rb") as f, pytest.raises(NotElf, match="not an ELF file"):
        parse_elf(f)
    with open(truncated, "rb") as f, pytest.raises(NotElf, match="unreadable ELF"):
        parse_elf(f)


def test_shared_memory_is_no_object_even_where_it_cannot_be_opened():
    """As a user other than root, map_files cannot be followed: a SysV segment's file
    could not be found, and `objects` listed "/SYSV00000000 (deleted)" as an ELF file
    gone (deleted since mapped). Root read it, found no ELF, and left it out."""
    from helpers_diff import base_regions, region, snapshot

    from vmtop.model import kinds

    class NothingOpens:
        def lookup(self, pid, r):
            return None, "file gone (deleted since mapped)"

    shm = region(0x7F50_0000_0000, 0x7F50_0010_0000, "rw-s", "/SYSV00000000 (deleted)",
                 inode=786447, dev="00:01", kind=kinds.SHM)._replace(object="SysV shmid 786447")  # fmt: skip
    snap = snapshot(base_regions() + [shm])
    paths = [o.path for o in object_sizes(snap, NothingOpens())]
    assert shm.path not in paths
    assert paths  # (the program and libc are still listed, with their reason)
