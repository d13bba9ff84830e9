"""bss or not: the anonymous region right after an object's data is its bss only when
the object's program headers say so (vmtop/model/bss.py)."""

from __future__ import annotations

import re
import struct
import subprocess

import pytest
from conftest import needs_tool

from vmtop.model import kinds
from vmtop.model.bss import PAGE, ProgramHeader, bss_pages_after_data, in_relro
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot


def elf64(segments: list[tuple[int, int, int, int, int]], order: str = "<") -> bytes:
    """An ELF64 header and program headers: (type, flags, vaddr, filesz, memsz)."""
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02" + (b"\x01" if order == "<" else b"\x02")
    struct.pack_into(order + "Q", header, 32, 64)  # e_phoff
    struct.pack_into(order + "HH", header, 54, 56, len(segments))  # e_phentsize, e_phnum
    for p_type, flags, vaddr, filesz, memsz in segments:
        header += struct.pack(
            order + "IIQQQQQQ", p_type, flags, 0, vaddr, vaddr, filesz, memsz, PAGE
        )
    return bytes(header)


def elf32(segments: list[tuple[int, int, int, int, int]], order: str = ">") -> bytes:
    header = bytearray(52)
    header[:6] = b"\x7fELF\x01" + (b"\x01" if order == "<" else b"\x02")
    struct.pack_into(order + "I", header, 28, 52)
    struct.pack_into(order + "HH", header, 42, 32, len(segments))
    for p_type, flags, vaddr, filesz, memsz in segments:
        header += struct.pack(
            order + "IIIIIIII", p_type, 0, vaddr, vaddr, filesz, memsz, flags, PAGE
        )
    return bytes(header)


TEXT = (1, 5, 0, 0x1000, 0x1000)  # PT_LOAD r-x


def test_bss_is_what_memsz_reaches_past_the_file_pages():
    # data at 0x3e10 (filesz 0x200: its page ends at 0x5000), memsz to 0x9100 -> 0x5000.
    assert bss_pages_after_data(elf64([TEXT, (1, 6, 0x3E10, 0x200, 0x52F0)])) == 0x5000
    # .bss that fits in the last file-backed page: no bss region at all.
    assert bss_pages_after_data(elf64([TEXT, (1, 6, 0x3E10, 0x200, 0x300)])) == 0
    # No writable segment; and the highest writable one when there are two.
    assert bss_pages_after_data(elf64([TEXT])) == 0
    two = [(1, 6, 0x2000, 0x10, 0x3000), (1, 6, 0x8000, 0x10, 0x10), TEXT]
    assert bss_pages_after_data(elf64(two)) == 0
    # Big-endian, 32-bit.
    assert bss_pages_after_data(elf32([TEXT, (1, 6, 0x3E10, 0x200, 0x52F0)])) == 0x5000
    assert bss_pages_after_data(elf64([TEXT, (1, 6, 0x3E10, 0x200, 0x52F0)], ">")) == 0x5000
    # Not ELF, cut short.
    assert bss_pages_after_data(b"#!/bin/sh\n" * 10) is None
    assert bss_pages_after_data(elf64([TEXT, (1, 6, 0, 0, 0x5000)])[:100]) is None


@needs_tool("readelf")
@pytest.mark.parametrize("path", ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/bin/ls"])
def test_real_objects_agree_with_readelf(path):
    try:
        with open(path, "rb") as f:
            headers = f.read(4096)
    except OSError:
        pytest.skip(f"{path} is not on this machine")
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout
    loads = re.findall(
        r"^\s*LOAD\s+0x[0-9a-f]+ (0x[0-9a-f]+) 0x[0-9a-f]+ (0x[0-9a-f]+) (0x[0-9a-f]+) (.{3})",
        out,
        re.M,
    )
    writable = [(int(v, 16), int(f, 16), int(m, 16)) for v, f, m, flg in loads if "W" in flg]
    assert writable, out
    vaddr, filesz, memsz = max(writable)
    up = lambda x: -(-x // PAGE) * PAGE  # noqa: E731
    assert bss_pages_after_data(headers) == up(vaddr + memsz) - up(vaddr + filesz)


@pytest.mark.live
def test_a_mapping_placed_after_data_is_not_called_bss(compile_c, spawn):
    child = spawn([compile_c("after_data.c")])
    placed = int(child.read_line().split()[1], 16)
    assert child.read_line() == "READY"
    snap = take_snapshot(ProcFS(), child.pid)
    region = snap.region_at(placed)
    assert region is not None and region.start == placed
    before = snap.region_at(placed - 1)
    assert before.kind == kinds.DATA and before.end == placed  # right after the data
    assert region.kind == kinds.ANON and region.object is None


@pytest.mark.live
def test_a_real_bss_is_still_bss(compile_c, spawn):
    exe = compile_c("after_data.c", "-DBSS_BYTES=(1<<20)")
    child = spawn([str(exe)])
    assert child.read_line() in ("placed (nil)", "placed 0x0")
    assert child.read_line() == "READY"
    snap = take_snapshot(ProcFS(), child.pid)
    bss = [r for r in snap.regions if r.kind == kinds.BSS and r.object == str(exe)]
    assert len(bss) == 1 and bss[0].size >= 1 << 20


def test_relro_is_the_part_its_header_covers_rounded_down_to_pages():
    """glibc protects PT_GNU_RELRO from its start to its end, each rounded down to a page
    (_dl_protect_relro). A read-only region is RELRO where it lies in that range."""
    load = 0x6474E552
    rw = ProgramHeader(1, 6, 0x2DF0, 0x3DF0, 0x300, 0x400)  # data at 0x3df0, file 0x2df0
    relro = ProgramHeader(load, 4, 0x2DF0, 0x3DF0, 0x210, 0x210)  # 0x3df0-0x4000
    base = 0x5555_0000_0000
    data = (base + 0x4000, 0x3000)  # the rw- page: file 0x3000 at 0x4000
    assert in_relro([rw, relro], (base + 0x3000, base + 0x4000), data) is True
    # Rodata below it, sharing a file page (the static binary no loader relocates).
    assert in_relro([rw, relro], (base + 0x1000, base + 0x4000), data) is False
    assert in_relro([rw], (base + 0x3000, base + 0x4000), data) is False  # Go: none
    assert in_relro([relro], (base + 0x3000, base + 0x4000), data) is None  # no rw load
    # lld: RELRO a writable segment of its own sharing its last file page with the data
    # segment's first (hypothesis' _native.so, a Rust extension): the data is mapped
    # by the segment that starts on that page.
    lld = [
        ProgramHeader(1, 6, 0x59720, 0x5B720, 0x2800, 0x28E0),
        ProgramHeader(1, 6, 0x5BF20, 0x5EF20, 0xF20, 0xFB2),
        ProgramHeader(load, 4, 0x59720, 0x5B720, 0x2800, 0x28E0),
    ]
    data = (base + 0x5E000, 0x5B000)
    assert in_relro(lld, (base + 0x5B000, base + 0x5E000), data) is True


@pytest.mark.live
@needs_tool("readelf")
@pytest.mark.parametrize("flags", [(), ("-Wl,-z,norelro",)])
def test_the_read_only_part_below_the_data_is_relro_only_where_the_headers_have_it(
    compile_c, spawn, flags
):
    """Built with -z norelro, the read-only data's file offsets run on into the data's
    at the next address, as Go's linker lays them out (kubectl, docker): that shape was
    called RELRO, and the program headers tell it is not."""
    exe = compile_c("page_aligned_data.c", *flags)
    headers = subprocess.run(["readelf", "-lW", str(exe)], capture_output=True, text=True)
    has_it = "GNU_RELRO" in headers.stdout  # ground truth: the linker's own headers
    assert has_it == (not flags)
    child = spawn([str(exe)])
    assert child.read_line() == "READY"
    snap = take_snapshot(ProcFS(), child.pid)
    own = [r for r in snap.regions if r.path == str(exe)]
    data = next(r for r in own if r.perms == "rw-p")
    below = own[own.index(data) - 1]
    assert below.perms == "r--p" and below.end == data.start
    assert below.kind == (kinds.RELRO if has_it else kinds.RODATA), (below, data)


@pytest.mark.live
@needs_tool("readelf")
def test_a_relro_no_loader_applies_leaves_rodata_rodata(compile_c, spawn):
    """A static PIE with no C library: the linker writes PT_GNU_RELRO, nothing applies
    it, and the read-only data's last file page is the data's first. It was called
    relro for having the header (review); the header's range says it is not."""
    exe = compile_c("relro_unapplied.c", "-static-pie", "-nostdlib", "-fPIE",
                    "-fno-stack-protector")  # fmt: skip
    out = subprocess.run(["readelf", "-lW", str(exe)], capture_output=True, text=True).stdout
    assert "GNU_RELRO" in out, out
    child = spawn([str(exe)])
    assert child.read_line() == "READY"
    snap = take_snapshot(ProcFS(), child.pid)
    own = [r for r in snap.regions if r.path == str(exe)]
    data = next(r for r in own if r.perms == "rw-p")
    below = own[own.index(data) - 1]
    # Ground truth: the linker's headers put .rodata in the read-only PT_LOAD that
    # maps this region, and the RELRO range (its start rounded down) above it.
    relro = re.search(r"GNU_RELRO\s+0x[0-9a-f]+ (0x[0-9a-f]+)", out)
    first = min(r.start for r in own)
    assert below.end - first <= int(relro.group(1), 16) // PAGE * PAGE
    assert (below.perms, below.kind) == ("r--p", kinds.RODATA), below
