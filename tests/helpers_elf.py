"""Ground truth for the ELF tests, from binutils (nm, readelf, size) and gcc.

Nothing here uses vmtop: these are the independent answers vmtop is compared with.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

TESTS = Path(__file__).resolve().parent
C_DIR = TESTS / "c"
REPO = TESTS.parent


def require_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def gcc(source: Path | str, out: Path, *flags: str, skip_on_failure: bool = False) -> Path:
    """Compile ``source`` (a path, or a name under tests/c/) into ``out``."""
    require_tools("gcc")
    src = Path(source)
    if not src.is_absolute():
        src = C_DIR / src
    cmd = ["gcc", "-O0", "-o", str(out), str(src), *flags]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        if skip_on_failure:
            pytest.skip(f"this machine cannot build with {' '.join(flags)}: {result.stderr}")
        raise AssertionError(f"gcc failed: {' '.join(cmd)}\n{result.stderr}")
    return out


class Symbol(NamedTuple):
    name: str  # version suffix removed: printf@@GLIBC_2.2.5 -> printf
    value: int
    size: int


def nm_symbols(path: Path | str, dynamic: bool = False) -> list[Symbol]:
    """Defined symbols with a size, from ``nm -S``."""
    require_tools("nm")
    cmd = ["nm", "-S", "--defined-only"] + (["-D"] if dynamic else []) + [str(path)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    out = []
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            value, size, _type, name = parts
            out.append(Symbol(name.split("@")[0], int(value, 16), int(size, 16)))
    return out


def tls_symbol_names(path: Path | str, dynamic: bool = False) -> set[str]:
    """Names of thread-local symbols (their values are offsets in the TLS block, not
    addresses), from ``readelf -s`` / ``--dyn-syms``."""
    require_tools("readelf")
    option = "--dyn-syms" if dynamic else "--syms"
    result = subprocess.run(["readelf", option, "-W", str(path)], capture_output=True, text=True)
    names = set()
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0].endswith(":") and parts[3] == "TLS":
            names.add(parts[7].split("@")[0])
    return names


def symbols_containing(symbols: list[Symbol], vaddr: int) -> dict[str, int]:
    """name -> offset for every sized symbol that holds ``vaddr``."""
    return {s.name: vaddr - s.value for s in symbols if s.value <= vaddr < s.value + s.size}


def plt_symbols(path: Path | str) -> dict[int, str]:
    """Undefined functions with a canonical PLT address, from ``readelf --dyn-syms``:
    address -> "name@plt"."""
    require_tools("readelf")
    result = subprocess.run(
        ["readelf", "--dyn-syms", "-W", str(path)], capture_output=True, text=True
    )
    out = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(parts) >= 8 and parts[0].endswith(":") and parts[6] == "UND":
            value = int(parts[1], 16)
            if value:
                out[value] = parts[7].split("@")[0] + "@plt"
    return out


def first_load_vaddr(path: Path | str) -> int:
    """p_vaddr of the first PT_LOAD, from ``readelf -lW``."""
    require_tools("readelf")
    result = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True)
    for line in result.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            return int(parts[2], 16)
    raise AssertionError(f"no PT_LOAD in {path}")


def lowest_mapping(pid: int, path: str) -> int:
    """Start of the lowest region of ``path`` in /proc/PID/maps."""
    with open(f"/proc/{pid}/maps") as f:
        starts = [int(line.split("-")[0], 16) for line in f if line.rstrip("\n").endswith(path)]
    assert starts, f"{path} is not mapped in {pid}"
    return min(starts)


class Section(NamedTuple):
    name: str
    addr: int
    size: int
    flags: str
    type: str


_SECTION_LINE = re.compile(
    r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+"
    r"([A-Za-z]*)\s+\d+\s+\d+\s+\d+\s*$"
)


def readelf_sections(path: Path | str) -> list[Section]:
    require_tools("readelf")
    result = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True)
    out = []
    for line in result.stdout.splitlines():
        m = _SECTION_LINE.match(line)
        if m:
            name, sh_type, addr, size, flags = m.groups()
            out.append(Section(name, int(addr, 16), int(size, 16), flags, sh_type))
    return out


def section_containing(sections: list[Section], vaddr: int) -> str | None:
    for s in sections:
        if "A" not in s.flags or ("T" in s.flags and s.type == "NOBITS"):
            continue  # not loaded, or .tbss (takes no address space)
        if s.addr <= vaddr < s.addr + s.size:
            return s.name
    return None


def binutils_size(paths: list[str]) -> dict[str, tuple[int, int, int]]:
    """path -> (text, data, bss) as ``size`` (Berkeley format) prints them."""
    require_tools("size")
    result = subprocess.run(["size", *paths], capture_output=True, text=True)
    out = {}
    for line in result.stdout.splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 6:
            out[parts[5].strip()] = (int(parts[0]), int(parts[1]), int(parts[2]))
    return out


def parse_addresses(lines: list[str]) -> dict[str, int]:
    """ "name 0xADDR" lines -> {name: address}."""
    out = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("0x"):
            out[parts[0]] = int(parts[1], 16)
    return out


def vmtop_json(*args: str) -> object:
    """Run the vmtop CLI in a separate process and parse its JSON output."""
    result = subprocess.run(
        [sys.executable, "-m", "vmtop", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def vmtop_text(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vmtop", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def where_results(*args: str) -> list:
    """`vmtop where --json ARGS`: the results list, after checking the document's header
    (the process it names is the one asked about, started when /proc says)."""
    document = vmtop_json("where", "--json", *args)
    assert document["format"] == "vmtop-where" and document["format_version"] == 1
    pid = next(a for a in args if str(a).isdigit())
    assert document["pid"] == int(pid)
    with open(f"/proc/{pid}/stat") as f:
        assert document["start_time"] == int(f.read().rsplit(")", 1)[1].split()[19])
    return document["results"]
