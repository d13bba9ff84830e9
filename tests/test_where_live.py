"""`vmtop where` on a live C program that prints where its own things are.

Ground truth: the addresses the child prints about itself, the kernel's maps, and
binutils (nm, readelf) on the very files mapped. Built as PIE, non-PIE, static (when
this machine can) and stripped.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from helpers_elf import (
    first_load_vaddr,
    gcc,
    lowest_mapping,
    nm_symbols,
    parse_addresses,
    plt_symbols,
    readelf_sections,
    section_containing,
    symbols_containing,
    vmtop_text,
    where_results,
)

pytestmark = pytest.mark.live

STRIPPED = "stripped: no symbols"

# What each printed address is, by hand: kind, and section for those in the program.
EXPECTED = {
    "main": ("text", ".text"),
    "literal": ("rodata", ".rodata"),
    "const_message": ("rodata", ".rodata"),
    "global_initialised": ("data", ".data"),
    "global_uninitialised": ("bss", ".bss"),
    "static_initialised": ("data", ".data"),
    "static_uninitialised": ("bss", ".bss"),
    "big_zeroed_end": ("bss", ".bss"),
    "malloc_small": ("heap", None),
    "malloc_1mib": ("anon", None),
    "shm": ("shm", None),
    "local": ("stack", None),
    "argv0": ("stack", None),
    "printf": ("text", None),  # section checked separately: .text of libc, or .plt
}
IN_PROGRAM = [name for name, (_kind, section) in EXPECTED.items() if section]


class Program(NamedTuple):
    variant: str
    exe: Path
    symbols_from: Path  # the unstripped twin, for the stripped build


def build(variant: str, tmp_path_factory) -> Program:
    out = tmp_path_factory.mktemp(f"where_{variant}")
    flags = {
        "pie": ("-fPIE", "-pie"),
        "nopie": ("-fno-pie", "-no-pie"),
        "static": ("-static",),
        "stripped": ("-fPIE", "-pie"),
    }[variant]
    exe = gcc("where_target.c", out / "where_target", *flags, skip_on_failure=variant == "static")
    if variant != "stripped":
        return Program(variant, exe, exe)
    stripped = out / "where_target_stripped"
    subprocess.run(["strip", "-o", str(stripped), str(exe)], check=True)
    return Program(variant, stripped, exe)


@pytest.fixture(scope="module", params=["pie", "nopie", "static", "stripped"])
def program(request, tmp_path_factory) -> Program:
    return build(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def pie(tmp_path_factory) -> Program:
    return build("pie", tmp_path_factory)


def start(program: Program, spawn):
    child = spawn([program.exe], stdin=subprocess.PIPE)
    printed = parse_addresses(child.read_until("ready"))
    assert set(EXPECTED) <= set(printed), f"child printed only {sorted(printed)}"
    return child, printed


def test_where_gives_kind_section_and_symbol(program, spawn):
    child, printed = start(program, spawn)
    names = list(EXPECTED)
    results = where_results(child.pid, *(hex(printed[n]) for n in names))
    by_name = dict(zip(names, results, strict=True))

    symbols = nm_symbols(program.symbols_from)
    main = next(s for s in symbols if s.name == "main")
    bias = printed["main"] - main.value
    if program.variant in ("nopie", "static"):
        assert bias == 0, "a non-PIE executable runs at its link address"
    sections = readelf_sections(program.exe)
    exe = os.path.realpath(program.exe)
    # strip keeps .dynsym: with a symbol defined there (stdout, a copy relocation, with
    # glibc) the program has symbols, none of them where asked; without, none at all.
    exported = subprocess.run(
        ["nm", "-D", "--defined-only", program.exe], capture_output=True, text=True
    ).stdout.strip()
    stripped_reason = (
        "no symbol covers it (only exported symbols: .dynsym)" if exported else STRIPPED
    )

    for name, (kind, section) in EXPECTED.items():
        got = by_name[name]
        assert got["address"] == hex(printed[name])
        assert got["mapped"] is True, name
        assert got["kind"] == kind, (name, got)
        if name in IN_PROGRAM:
            vaddr = printed[name] - bias
            assert got["section"] == section == section_containing(sections, vaddr), (name, got)
            assert got["object"] == exe, (name, got)
            expected_symbols = symbols_containing(symbols, vaddr)
            if program.variant == "stripped":
                assert got["symbol"] is None, (name, got)
                assert got["reason"] == stripped_reason, (name, got)
            elif not expected_symbols:
                assert got["symbol"] is None, (name, got)  # a string literal has no name
                assert got["reason"] == "no symbol covers it", (name, got)
            else:
                assert got["symbol"] in expected_symbols, (name, got, expected_symbols)
                assert got["symbol_offset"] == expected_symbols[got["symbol"]], (name, got)
        elif name != "printf":
            assert got["section"] is None and got["symbol"] is None, (name, got)
            if kind == "shm" and got["object"] is not None:
                assert got["object"].startswith("SysV shmid "), (name, got)  # its shmid
            else:
                assert got["object"] is None, (name, got)

    # The hand-written answers, so the comparison above cannot pass on both sides wrong.
    if program.variant != "stripped":
        assert (by_name["main"]["symbol"], by_name["main"]["symbol_offset"]) == ("main", 0)
        assert by_name["const_message"]["symbol"] == "const_message"
        assert by_name["global_uninitialised"]["symbol"] == "global_uninitialised"
        assert by_name["static_initialised"]["symbol"] == "static_initialised"
        assert by_name["big_zeroed_end"]["symbol"] == "big_zeroed"
        assert by_name["big_zeroed_end"]["symbol_offset"] == 256 * 1024 - 1

    # .bss spilling past the file-backed page: an anonymous region that is the
    # program's bss, not plain anon.
    spill = by_name["big_zeroed_end"]["region"]
    assert spill["path"] == "" and spill["kind"] == "bss"
    assert by_name["malloc_small"]["region"]["path"] == "[heap]"
    assert by_name["local"]["region"]["path"] == "[stack]"
    assert by_name["shm"]["region"]["path"].startswith("/SYSV")

    printf = by_name["printf"]
    if program.variant == "nopie":
        # Taking printf's address in a non-PIE program makes a canonical PLT entry.
        assert printf["object"] == exe
        assert printf["section"] == section_containing(sections, printed["printf"]) == ".plt"
        assert printf["symbol"] == plt_symbols(program.exe)[printed["printf"]] == "printf@plt"
    else:
        library = Path(printf["object"])
        assert (library.name.startswith("libc.so")) == (program.variant != "static")
        lib_symbols = nm_symbols(library, dynamic=program.variant != "static")
        # The library's load bias from the kernel's maps and its program headers.
        lib_bias = lowest_mapping(child.pid, str(library)) - first_load_vaddr(library)
        if program.variant == "static":
            lib_bias = 0
        vaddr = printed["printf"] - lib_bias
        assert printf["section"] == section_containing(readelf_sections(library), vaddr)
        assert printf["section"] == ".text"
        assert symbols_containing(lib_symbols, vaddr).get(printf["symbol"]) == 0
        assert printf["symbol"] == "printf" and printf["symbol_offset"] == 0
    child.kill()


@pytest.fixture(scope="module")
def nopie(tmp_path_factory) -> Program:
    return build("nopie", tmp_path_factory)


def test_an_address_as_maps_prints_it_is_hex_even_without_a_letter(nopie, spawn):
    """A non-PIE program's text is at 00401000 in maps: digits alone, zero-padded.
    It was read as decimal (0x61e68, not mapped). Digits without the zero are still
    decimal, and then `where` says what they would be as hex."""
    child, printed = start(nopie, spawn)
    page = printed["main"] & ~0xFFF  # the start of main's page: 0x401000 or so
    assert page < 0x1000000, "a non-PIE program runs at its low link address"
    padded = f"{page:016x}"  # as nm and pmap print it
    (got,) = where_results(child.pid, padded)
    assert got["mapped"] and got["address"] == hex(page) and got["kind"] == "text"
    text = f"{page:x}"
    if not text.isdigit():
        child.kill()
        pytest.skip(f"main's page is at {page:#x}: its hex has letters, so it is not ambiguous")
    result = vmtop_text("where", child.pid, text)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{int(text):#x}") and "not mapped" in result.stdout
    assert f"{text} was read as decimal" in result.stderr
    assert f"as hex, {page:#x} is mapped: write 0x{text}" in result.stderr
    child.kill()


def test_unmapped_address_names_neighbours(pie, spawn):
    child, printed = start(pie, spawn)
    maps = []
    with open(f"/proc/{child.pid}/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            maps.append((lo, hi))
    # The first hole between two regions, and an address in its middle.
    below, above = next((a, b) for a, b in zip(maps, maps[1:], strict=False) if a[1] < b[0])
    hole = (below[1] + above[0]) // 2
    lowest = 0x1000  # below mmap_min_addr: nothing can be mapped there
    results = where_results(child.pid, hex(hole), str(lowest))
    got = results[0]
    assert got["mapped"] is False and got["kind"] is None and got["region"] is None
    assert (int(got["below"]["start"], 16), int(got["below"]["end"], 16)) == below
    assert (int(got["above"]["start"], 16), int(got["above"]["end"], 16)) == above
    assert results[1]["address"] == hex(lowest)
    assert results[1]["below"] is None
    assert int(results[1]["above"]["start"], 16) == maps[0][0]
    child.kill()


def test_human_output_is_one_line_per_address(pie, spawn):
    child, printed = start(pie, spawn)
    addresses = [hex(printed["main"]), str(printed["global_initialised"]), "0x1000"]
    result = vmtop_text("where", child.pid, *addresses)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    main, data, hole = lines
    assert main.startswith(hex(printed["main"]) + " ")
    assert main.split()[1:4] == ["text", ".text", "main+0x0"]
    assert str(pie.exe) in main and "r-xp" in main
    # The decimal address is the same address, printed in hex.
    assert data.startswith(hex(printed["global_initialised"]) + " ")
    assert data.split()[1:4] == ["data", ".data", "global_initialised+0x0"]
    assert hole.startswith("0x1000 ") and "not mapped" in hole
    assert "below: (none)" in hole and "above: " in hole
    child.kill()


def test_where_on_a_process_that_is_gone_is_one_line_error():
    result = vmtop_text("where", "999999999", "0x1000")
    assert result.returncode == 1
    assert result.stderr.startswith("vmtop: ") and result.stderr.count("\n") == 1


WAITS = r"""
#include <stdio.h>
#include <unistd.h>
int main(void) {
    printf("ready\n");
    fflush(stdout);
    pause();
}
"""


def test_a_gap_between_exported_symbols_is_not_called_stripped(compile_c, spawn):
    """libc as distributions ship it: .symtab stripped, .dynsym kept. An address in
    its .text that no exported symbol covers (an internal function) has no symbol,
    but the object has symbols, so "stripped: no symbols" would be false."""
    child = spawn([compile_c(WAITS)])
    child.read_until("ready")  # past the dynamic loader: libc is mapped
    with open(f"/proc/{child.pid}/maps") as f:
        paths = {line.split()[-1] for line in f if len(line.split()) == 6}
    libc = next((p for p in paths if os.path.basename(p).startswith("libc.so")), None)
    if libc is None:
        pytest.skip("the program is not linked with a glibc here")
    bias = lowest_mapping(child.pid, libc) - first_load_vaddr(libc)
    text = next(s for s in readelf_sections(libc) if s.name == ".text")
    # Every defined symbol's address (sized or not, from nm), and the sized ones.
    listed = subprocess.run(
        ["nm", "-D", "--defined-only", libc], capture_output=True, text=True
    ).stdout
    starts = sorted({int(line.split()[0], 16) for line in listed.splitlines()})
    sized = [s for s in nm_symbols(libc, dynamic=True) if s.size]
    # The first address in .text past the end of a sized symbol, before the next
    # symbol starts: no symbol, sized or a label, can be said to cover it.
    gap = next(
        s.value + s.size
        for s in sorted(sized, key=lambda s: s.value)
        if text.addr <= s.value + s.size < text.addr + text.size
        and not symbols_containing(sized, s.value + s.size)
        and not any(s.value < v <= s.value + s.size for v in starts)
    )
    malloc = next(s for s in sized if s.name == "malloc")
    results = where_results(child.pid, hex(gap + bias), hex(malloc.value + 0x10 + bias))
    inside, in_malloc = results
    assert (in_malloc["symbol"], in_malloc["symbol_offset"]) == ("malloc", 0x10)
    assert inside["section"] == ".text" and inside["symbol"] is None, inside
    assert inside["reason"] == "no symbol covers it (only exported symbols: .dynsym)"
    line = vmtop_text("where", child.pid, hex(gap + bias)).stdout
    assert "stripped" not in line and "only exported symbols: .dynsym" in line, line


# No C library, no symbol table once stripped: not even a .dynsym. It waits in pause(2).
SYMBOL_LESS = r"""
void _start(void) {
    for (;;)
        __asm__ volatile("syscall" : : "a"(34) : "rcx", "r11", "memory");
}
"""


def test_an_object_without_any_symbol_table_is_stripped(compile_c, spawn):
    if os.uname().machine != "x86_64":
        pytest.skip("the symbol-less program is written for x86-64 Linux")
    exe = compile_c(SYMBOL_LESS, "-nostdlib", "-static", "-fno-pie", "-no-pie")
    subprocess.run(["strip", str(exe)], check=True)
    tables = {s.type for s in readelf_sections(exe)}
    assert not tables & {"SYMTAB", "DYNSYM"}, tables
    child = spawn([exe])
    header = subprocess.run(["readelf", "-hW", str(exe)], capture_output=True, text=True)
    entry = next(
        int(line.split()[-1], 16) for line in header.stdout.splitlines() if "Entry point" in line
    )
    lowest_mapping(child.pid, os.path.realpath(exe))  # the kernel has mapped it
    (got,) = where_results(child.pid, hex(entry))
    assert got["section"] == ".text" and got["symbol"] is None, got
    assert got["reason"] == STRIPPED, got


@pytest.mark.parametrize("variant", ["nopie", "pie"])
def test_code_mapped_again_elsewhere_is_still_its_section_and_symbol(variant, spawn, tmp_path):
    """V8 maps its embedded builtins a second time near each isolate's heap: a region of
    the executable far from it, at the same file offset. Its addresses were looked up as
    if at the link address (a non-PIE program) or with the bias of the program below:
    "not in any section (ELF headers or padding)"."""
    flags = ("-fno-pie", "-no-pie") if variant == "nopie" else ("-fPIE", "-pie")
    exe = gcc("remapped_text.c", tmp_path / "remapped_text", *flags)
    child = spawn([exe], stdin=subprocess.PIPE)
    printed = parse_addresses(child.read_until("ready"))
    main, copy = printed["main"], printed["main_copy"]
    assert abs(copy - main) > 1 << 30, "the copy is far from the program (premise)"
    text = section_containing(readelf_sections(exe), _main_symbol(exe))  # link-time
    results = where_results(child.pid, hex(copy), hex(main), hex(copy + 4))
    for got in results:
        assert got["kind"] == "text" and got["object"] == os.path.realpath(exe), got
        assert got["section"] == text == ".text", got
        assert got["symbol"] == "main", got
    assert [got["symbol_offset"] for got in results] == [0, 0, 4]
    child.kill()


def _main_symbol(exe: Path) -> int:
    return next(s.value for s in nm_symbols(exe) if s.name == "main")


def test_where_says_the_offset_in_its_region_and_in_the_file(pie, spawn):
    """Ground truth: the kernel's maps for the region, and the program's own file: its
    first bytes of main() read at the file offset vmtop gives are the bytes the ELF
    program headers put at main's address (readelf's LOAD segments, by pyelftools)."""
    from elftools.elf.elffile import ELFFile

    child, printed = start(pie, spawn)
    main, local = printed["main"], printed["local"]
    results = where_results(str(child.pid), hex(main), hex(local))
    maps = [
        (int(a, 16), int(b, 16), int(off, 16))
        for a, b, off in (
            (*line.split()[0].split("-"), line.split()[2])
            for line in Path(f"/proc/{child.pid}/maps").read_text().splitlines()
        )
    ]
    (start_, _, offset) = next(m for m in maps if m[0] <= main < m[1])
    assert int(results[0]["region_offset"], 16) == main - start_
    file_offset = int(results[0]["file_offset"], 16)
    assert file_offset == offset + main - start_
    with open(pie.exe, "rb") as f:
        elf = ELFFile(f)
        (sym,) = elf.get_section_by_name(".symtab").get_symbol_by_name("main")
        (seg,) = [
            s
            for s in elf.iter_segments("PT_LOAD")
            if s["p_vaddr"] <= sym["st_value"] < s["p_vaddr"] + s["p_filesz"]
        ]
        assert file_offset == sym["st_value"] - seg["p_vaddr"] + seg["p_offset"]
    # Anonymous memory has no file: the offset in its region only.
    stack = next(m for m in maps if m[0] <= local < m[1])
    assert int(results[1]["region_offset"], 16) == local - stack[0]
    assert "file_offset" not in results[1]
    line = vmtop_text("where", child.pid, hex(main)).stdout
    assert f"+{main - start_:#x} (file offset {file_offset:#x})" in line
    child.kill()
