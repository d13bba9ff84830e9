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
                assert got["reason"] == "stripped: no symbols", (name, got)
            elif not expected_symbols:
                assert got["symbol"] is None, (name, got)  # a string literal has no name
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
