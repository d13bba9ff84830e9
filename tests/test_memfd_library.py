"""A library loaded from a memfd is a library: its private segments of
"/memfd:NAME (deleted)" are text, rodata, relro and data with their ELF sections and
symbols, not "shared memory, not an ELF object". A memfd or /dev/shm file mapped shared
stays shared memory.

Ground truth: the symbol's address the program prints after dlopen, and nm of the
library it copied into the memfd."""

from __future__ import annotations

import subprocess

import pytest
from helpers_elf import C_DIR, require_tools, vmtop_json, where_results

from vmtop.model import kinds
from vmtop.model.kinds import kind_from_name

LIBRARY = r"""
int plugin_counter = 7;
char plugin_scratch[100000];
int plugin_entry(int x) { plugin_scratch[x] = 1; return x + plugin_counter; }
"""


@pytest.mark.parametrize(
    "path, perms, kind",
    [
        ("/memfd:plugin (deleted)", "r-xp", kinds.TEXT),
        ("/memfd:plugin (deleted)", "r--p", kinds.FILE),
        ("/memfd:plugin (deleted)", "rw-s", kinds.SHM),
        ("/memfd:java_heap (deleted)", "rw-s", kinds.SHM),  # ZGC's heap
        ("/dev/shm/cache", "rw-s", kinds.SHM),
        ("/dev/shm/cache", "rw-p", kinds.FILE),
        ("/SYSV00000000 (deleted)", "rw-s", kinds.SHM),
    ],
)
def test_only_a_shared_mapping_of_an_in_memory_file_is_shared_memory(path, perms, kind):
    assert kind_from_name(path, perms, 77) == kind


@pytest.mark.live
def test_where_finds_the_symbol_of_a_library_loaded_from_a_memfd(tmp_path, compile_c):
    import os

    require_tools("gcc", "nm", "size")
    if os.geteuid() != 0:  # (a memfd is reached only through map_files: root's, or CAP_*)
        pytest.skip("a memfd's file is read through /proc/PID/map_files, which needs root")
    source = tmp_path / "plugin.c"
    source.write_text(LIBRARY)
    library = tmp_path / "libplugin.so"
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    nm = subprocess.run(["nm", str(library)], capture_output=True, text=True, check=True)
    assert any(line.endswith(" T plugin_entry") for line in nm.stdout.splitlines())
    exe = compile_c(C_DIR / "memfd_dlopen.c", "-ldl")
    child = subprocess.Popen([str(exe), str(library), "plugin_entry"], stdout=subprocess.PIPE)
    try:
        address = int(child.stdout.readline().split()[1], 16)
        (result,) = where_results(str(child.pid), hex(address))
        document = vmtop_json("snapshot", "--format", "json", child.pid)
    finally:
        child.kill()
        child.wait()
    assert result["region"]["path"] == "/memfd:vmtop_plugin (deleted)"
    assert (result["kind"], result["section"]) == (kinds.TEXT, ".text")
    assert (result["symbol"], result["symbol_offset"]) == ("plugin_entry", 0)
    mine = [r for r in document["regions"] if r["path"].startswith("/memfd:vmtop_plugin")]
    assert kinds.SHM not in {r["kind"] for r in mine}
    assert {kinds.TEXT, kinds.DATA} <= {r["kind"] for r in mine}
    (sizes,) = [o for o in document["objects"] if o["path"].startswith("/memfd:vmtop_plugin")]
    # As size(1) counts the library's text, data and bss (plugin_scratch).
    counted = subprocess.run(["size", str(library)], capture_output=True, text=True, check=True)
    text, data, bss = map(int, counted.stdout.splitlines()[1].split()[:3])
    assert (sizes["text"], sizes["data"], sizes["bss"]) == (text, data, bss)
    assert bss >= 100000
