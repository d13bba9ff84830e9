"""The ELF overlay: symbols and sections against nm/readelf, the parse-once cache, and
files that vanish, are replaced after mapping, or are not ELF (a reason, never a crash).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from helpers_elf import (
    gcc,
    nm_symbols,
    parse_addresses,
    readelf_sections,
    section_containing,
    tls_symbol_names,
    vmtop_text,
)

from vmtop.model import elf as elf_mod
from vmtop.model.elf import parse_elf, region_sections, symbolize
from vmtop.model.objects import object_sizes
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
from vmtop.model.where import where
from vmtop.procfs.elf_files import ElfCache, ProcessElfFiles
from vmtop.procfs.mapped_file import MappedFileError, stat_mapped_file
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

LIBC_CANDIDATES = ("/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("elf")
    return {
        "target": gcc("where_target.c", out / "where_target", "-fPIE", "-pie"),
        "lib": gcc("where_lib.c", out / "libwhere.so", "-shared", "-fPIC"),
        "files": gcc("where_files.c", out / "where_files", "-ldl"),
    }


# -- symbols and sections of files, against binutils ---------------------------------------


def test_every_sized_symbol_resolves_to_itself_or_an_alias(built):
    with open(built["target"], "rb") as f:
        elf = parse_elf(f)
    symbols = [s for s in nm_symbols(built["target"]) if s.size]
    assert len(symbols) > 10
    names_at = {}
    for s in symbols:
        names_at.setdefault(s.value, set()).add(s.name)
    for s in symbols:
        for vaddr in (s.value, s.value + s.size - 1):
            name, offset = elf.symbol_at(vaddr)
            assert name in names_at[s.value] and offset == vaddr - s.value, (s, name)


def test_libc_dynamic_symbols_and_sections():
    libc = next((p for p in LIBC_CANDIDATES if os.path.exists(p)), None)
    if libc is None:
        pytest.skip("no glibc here")
    with open(libc, "rb") as f:
        elf = parse_elf(f)
    assert not elf.has_symtab  # distributions strip it: .dynsym is what is left
    tls = tls_symbol_names(libc, dynamic=True)
    symbols = [s for s in nm_symbols(libc, dynamic=True) if s.size and s.name not in tls]
    names_at = {}
    for s in symbols:
        names_at.setdefault(s.value, set()).add(s.name)
    for s in symbols:
        found = elf.symbol_at(s.value + s.size // 2)
        assert found is not None, s
        assert found[0] in names_at[s.value] and found[1] == s.size // 2, (s, found)
    assert elf.symbol_at(next(s.value for s in symbols if s.name == "printf")) == ("printf", 0)
    sections = readelf_sections(libc)
    for vaddr in range(0, max(s.addr + s.size for s in sections), 4099):
        got = elf.section_at(vaddr)
        assert (got.name if got else None) == section_containing(sections, vaddr), hex(vaddr)


# -- regions of a live process --------------------------------------------------------------


def start_target(built, spawn):
    child = spawn([built["target"]], stdin=subprocess.PIPE)
    printed = parse_addresses(child.read_until("ready"))
    return child, printed


@pytest.mark.live
def test_region_sections_have_absolute_addresses(built, spawn):
    child, printed = start_target(built, spawn)
    procfs = ProcFS()
    snapshot = take_snapshot(procfs, child.pid)
    main = next(s for s in nm_symbols(built["target"]) if s.name == "main")
    bias = printed["main"] - main.value
    expected = {
        s.name: (s.addr + bias, s.addr + s.size + bias) for s in readelf_sections(built["target"])
    }
    text_region = snapshot.region_at(printed["main"])
    sections, reason = region_sections(snapshot, text_region, ProcessElfFiles(procfs))
    assert reason is None
    assert ".text" in [s.name for s in sections]
    for s in sections:
        assert (s.start, s.end) == expected[s.name]
    # The anonymous region past the data page is .bss of the program, and only that.
    spill = snapshot.region_at(printed["big_zeroed_end"])
    assert spill.path == "" and spill.kind == "bss"
    sections, reason = region_sections(snapshot, spill, ProcessElfFiles(procfs))
    assert [(s.name, s.start, s.end) for s in sections] == [(".bss", *expected[".bss"])]
    heap = snapshot.region_at(printed["malloc_small"])
    assert region_sections(snapshot, heap, ProcessElfFiles(procfs)) == ([], "not file-backed")
    assert symbolize(snapshot, printed["main"] + 5, ProcessElfFiles(procfs)) == ("main", 5)
    assert symbolize(snapshot, printed["malloc_small"], ProcessElfFiles(procfs)) == (None, None)
    child.kill()


@pytest.mark.live
def test_each_object_is_parsed_once_even_from_many_threads(built, spawn):
    child, printed = start_target(built, spawn)
    procfs = ProcFS()
    snapshot = take_snapshot(procfs, child.pid)
    cache = ElfCache()
    libc_region = snapshot.region_at(printed["printf"])
    results = []

    def look():
        results.append(cache.lookup(procfs, child.pid, libc_region))

    threads = [threading.Thread(target=look) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.parses == 1
    assert len({id(elf) for elf, _reason in results}) == 1 and results[0][1] is None
    for region in snapshot.regions:
        region_sections(snapshot, region, ProcessElfFiles(procfs, cache))
        region_sections(snapshot, region, ProcessElfFiles(procfs, cache))
    # ELF objects: their regions carry their path as object (a SysV segment its shmid).
    objects = {(r.dev, r.inode) for r in snapshot.regions if r.object == r.path}
    assert cache.parses == len(objects) == 3  # the program, libc, ld.so
    child.kill()


def test_a_copied_proc_tree_has_no_files_to_open(tmp_path):
    proc = tmp_path / "77"
    proc.mkdir()
    (proc / "maps").write_bytes(
        b"55d0c0a00000-55d0c0a01000 r-xp 00000000 fe:00 100 /bin/true\n"
        b"55d0c0a01000-55d0c0a02000 rw-p 00000000 00:00 0 \n"
    )
    procfs = ProcFS(str(tmp_path))
    snapshot = take_snapshot(procfs, 77)
    sections, reason = region_sections(snapshot, snapshot.regions[0], ProcessElfFiles(procfs))
    assert sections == [] and reason.startswith("not a live process")
    result = where(snapshot, 0x55D0C0A00010, ProcessElfFiles(procfs))
    assert result.kind == "text" and result.section is None
    assert result.reason.startswith("not a live process")


class ParsedFiles:
    """The ``ElfFiles`` a test hands the model: files it parsed itself, by path."""

    def __init__(self, parsed: dict) -> None:
        self.parsed = parsed
        self.asked: list[tuple[int, str]] = []

    def lookup(self, pid, region):
        self.asked.append((pid, region.path))
        return (self.parsed[region.path], None) if region.path in self.parsed else (None, "gone")


def test_the_overlay_works_on_parsed_files_and_a_copied_map(built, tmp_path):
    """No process and no /proc files: the map is copied text, the ELF file is parsed by
    the test and handed in, and sections and symbols land where binutils says."""
    exe = str(built["target"])
    with open(exe, "rb") as f:
        elf = parse_elf(f)
    base = 0x5600_0000_0000
    page = 4096
    lines = []
    for seg in elf.loads:  # as the loader maps each PT_LOAD of a PIE at ``base``
        start = base + seg.vaddr - seg.vaddr % page
        end = base + -(-(seg.vaddr + seg.filesz) // page) * page
        perms = ("r" if seg.flags & 4 else "-") + ("w" if seg.flags & 2 else "-")
        perms += ("x" if seg.flags & 1 else "-") + "p"
        offset = seg.offset - seg.offset % page
        lines.append(f"{start:x}-{end:x} {perms} {offset:08x} fe:01 4242 {exe}\n")
    proc = tmp_path / "proc" / "88"
    proc.mkdir(parents=True)
    (proc / "maps").write_text("".join(lines))
    snapshot = take_snapshot(ProcFS(str(tmp_path / "proc")), 88)
    files = ParsedFiles({exe: elf})

    main = next(s for s in nm_symbols(exe) if s.name == "main")
    result = where(snapshot, base + main.value + 3, files)
    assert (result.kind, result.section, result.symbol, result.symbol_offset) == (
        "text",
        ".text",
        "main",
        3,
    )
    assert symbolize(snapshot, base + main.value, files) == ("main", 0)
    text = snapshot.region_at(base + main.value)
    sections, reason = region_sections(snapshot, text, files)
    expected = {s.name: (s.addr + base, s.addr + s.size + base) for s in readelf_sections(exe)}
    assert reason is None and ".text" in [s.name for s in sections]
    assert all((s.start, s.end) == expected[s.name] for s in sections)
    assert files.asked and {pid for pid, _ in files.asked} == {88}
    # A file the ElfFiles cannot give: its reason, the region's kind still known.
    result = where(snapshot, base + main.value, ParsedFiles({}))
    assert (result.kind, result.symbol, result.reason) == ("text", None, "gone")
    assert where(snapshot, base + main.value, elf_mod.NO_FILES).reason.startswith(
        "not a live process"
    )


# -- files that vanish, are replaced, or are not ELF ----------------------------------------


@pytest.fixture
def mapped_files(built, spawn):
    """A child that dlopened two copies of a library and mapped a text and a data file;
    then one library is deleted and the other replaced by renaming a file over it."""
    # A directory others may enter, so a non-root vmtop can be tried on it too.
    work = Path(tempfile.mkdtemp(prefix="vmtop_elf_"))
    os.chmod(work, 0o755)
    try:
        gone, replaced = work / "gone.so", work / "replaced.so"
        shutil.copy(built["lib"], gone)
        shutil.copy(built["lib"], replaced)
        notes = work / "notes.txt"
        notes.write_text("not a program\n" * 200)
        data = work / "data.bin"
        data.write_bytes(bytes(range(256)) * 64)
        for path in work.iterdir():
            os.chmod(path, 0o755)
        yield work, gone, replaced, notes, data
    finally:
        shutil.rmtree(work, ignore_errors=True)


def spawn_files(built, spawn, work, gone, replaced, notes, data, **kwargs):
    child = spawn(
        [built["files"], f"dl:{gone}", f"dl:{replaced}", f"x:{notes}", f"r:{data}"],
        stdin=subprocess.PIPE,
        **kwargs,
    )
    printed = parse_addresses(child.read_until("ready"))
    gone.unlink()
    other = work / "other"
    other.write_bytes(b"something else entirely\n")
    os.chmod(other, 0o755)
    os.rename(other, replaced)  # "replaced": a new file under the old name
    return child, printed


@pytest.mark.live
def test_vanished_replaced_and_not_elf_files_give_reasons(built, spawn, mapped_files):
    _work, gone, replaced, notes, _data = mapped_files
    child, printed = spawn_files(built, spawn, *mapped_files)
    procfs = ProcFS()
    snapshot = take_snapshot(procfs, child.pid)
    by_path = {r.path: r for r in snapshot.regions}
    assert f"{gone} (deleted)" in by_path and f"{replaced} (deleted)" in by_path

    # As a user without map_files (not root), the names are all there is.
    by_name = ElfCache(use_map_files=False)
    expectations = {
        "dl1_func": "file gone (deleted since mapped)",
        "dl2_func": "replaced since mapped",
        "x3": "not an ELF file",
        "r4": "not an ELF file",
    }
    for name, reason in expectations.items():
        result = where(snapshot, printed[name], ProcessElfFiles(procfs, by_name))
        assert result.mapped and result.reason == reason, (name, result)
        assert result.section is None and result.symbol is None
        sections, why = region_sections(snapshot, result.region, ProcessElfFiles(procfs, by_name))
        assert sections == [] and why == reason
    assert where(snapshot, printed["x3"], ProcessElfFiles(procfs, by_name)).kind == "text"
    assert where(snapshot, printed["r4"], ProcessElfFiles(procfs, by_name)).kind == "file"
    sizes = {s.path: s for s in object_sizes(snapshot, ProcessElfFiles(procfs, by_name))}
    assert sizes[f"{gone} (deleted)"].reason == "file gone (deleted since mapped)"
    assert sizes[f"{replaced} (deleted)"].reason == "replaced since mapped"
    assert sizes[f"{gone} (deleted)"].text is None
    assert str(notes) not in sizes  # not ELF: not an object with sizes

    if os.geteuid() == 0:
        # map_files reaches the very file that was mapped, deleted or not.
        through_map_files = ElfCache()
        for name in ("dl1_func", "dl2_func"):
            result = where(snapshot, printed[name], ProcessElfFiles(procfs, through_map_files))
            assert (result.symbol, result.symbol_offset) == ("where_lib_func", 0)
            assert result.section == ".text" and result.reason is None
        result = where(snapshot, printed["dl2_data"], ProcessElfFiles(procfs, through_map_files))
        assert (result.kind, result.section, result.symbol) == ("data", ".data", "where_lib_data")

    # The CLI: one line each, the reasons shown, no traceback.
    names = ["dl1_func", "dl2_func", "x3", "r4"]
    out = vmtop_text("where", child.pid, *(hex(printed[n]) for n in names))
    assert out.returncode == 0 and out.stderr == ""
    lines = out.stdout.splitlines()
    assert len(lines) == 4
    assert "(not an ELF file)" in lines[2] and "(not an ELF file)" in lines[3]
    child.kill()


@pytest.mark.live
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run both sides as another user")
def test_vmtop_as_an_ordinary_user_says_why(built, spawn, mapped_files):
    """Target and vmtop both run as nobody: map_files is closed to them, so the reasons
    come from the names. vmtop runs in a forked child that drops to nobody (the venv's
    interpreter may live where nobody can execute it)."""
    work = mapped_files[0]
    exe = work / "where_files"
    shutil.copy(built["files"], exe)
    os.chmod(exe, 0o755)
    child, printed = spawn_files(
        {"files": exe}, spawn, *mapped_files, user=65534, group=65534, extra_groups=[]
    )
    names = ["dl1_func", "dl2_func", "x3"]
    lines = run_where_as_nobody(child.pid, [printed[n] for n in names])
    assert len(lines) == 3, lines
    assert "(file gone (deleted since mapped))" in lines[0]
    assert "(replaced since mapped)" in lines[1]
    assert "(not an ELF file)" in lines[2]
    child.kill()


def run_where_as_nobody(pid: int, addresses: list[int]) -> list[str]:
    import argparse
    import io

    from vmtop.commands.where import cmd_where

    read_end, write_end = os.pipe()
    fork = os.fork()
    if fork == 0:  # the child: drop to nobody, run `vmtop where`, report, leave
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            out = io.StringIO()
            args = argparse.Namespace(pid=pid, addresses=addresses, json=False)
            cmd_where(ProcFS(), args, out=out)
            os.write(write_end, out.getvalue().encode())
            status = 0
        except BaseException as e:  # report anything to the parent, never return
            os.write(write_end, f"ERROR {type(e).__name__}: {e}".encode())
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(fork, 0)
    text = b"".join(chunks).decode()
    assert os.waitstatus_to_exitcode(status) == 0, text
    return text.splitlines()


def test_region_of_a_snapshot_without_it_has_a_reason():
    region = Region(0x1000, 0x2000, "r-xp", 0, "fe:00", 5, "/x", kind="text", object="/x")
    info = ProcessInfo(1, 1, "x", "x", "S", 0, 0, 1, None)
    snapshot = Snapshot(info, 0.0, (), Totals(0, 0, 0, 0, 0, 0), False, {})
    obj = elf_mod.loaded_object(snapshot, region, ProcessElfFiles(ProcFS()))
    assert obj.elf is None and obj.reason == "region not in this snapshot"


# -- finding a mapped file by its name, without map_files ----------------------------------


def _region_for(path: Path, printed_name: str | None = None, inode: int | None = None) -> Region:
    st = os.stat(path)
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    name = printed_name if printed_name is not None else str(path)
    return Region(0x1000, 0x2000, "r--p", 0, dev, inode or st.st_ino, name, kind="file")


def _reason(region: Region) -> str:
    try:
        stat_mapped_file(ProcFS(), os.getpid(), region, use_map_files=False)
    except MappedFileError as e:
        return str(e)
    return "found"


def test_names_the_kernel_mangles_are_found(tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    assert _reason(_region_for(plain)) == "found"
    newline = tmp_path / "a\nb"
    newline.write_bytes(b"x")
    assert _reason(_region_for(newline, str(tmp_path / "a\\012b"))) == "found"
    really = tmp_path / "really (deleted)"
    really.write_bytes(b"x")
    assert _reason(_region_for(really)) == "found"


def test_names_that_lead_elsewhere_give_reasons(tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    st = os.stat(plain)
    assert _reason(_region_for(plain, inode=st.st_ino + 1)) == "replaced since mapped"
    gone = _region_for(plain)._replace(path=str(tmp_path / "nothing"))
    assert _reason(gone) == "file gone"
    deleted = _region_for(plain)._replace(path=str(tmp_path / "nothing") + " (deleted)")
    assert _reason(deleted) == "file gone (deleted since mapped)"
    replaced = _region_for(plain, str(plain) + " (deleted)", inode=st.st_ino + 1)
    assert _reason(replaced) == "replaced since mapped"
    # A device is never opened, only stat()ed: it is not a regular file.
    assert _reason(_region_for(Path("/dev/null"))) == "not a regular file"
    anonymous = Region(0x1000, 0x2000, "rw-p", 0, "00:00", 0, "", kind="anon")
    assert _reason(anonymous) == "not file-backed"


def test_a_file_of_a_process_that_exited_says_so(spawn):
    """The way to its files (map_files, root) went with the process; the file did not."""
    import shutil as sh

    from vmtop.model.file_facts import PROCESS_EXITED

    child = subprocess.Popen([sh.which("sleep"), "60"])
    procfs = ProcFS("/proc")
    snapshot = take_snapshot(procfs, child.pid)
    text = next(r for r in snapshot.regions if r.is_file_backed and "x" in r.perms)
    child.kill()
    child.wait()
    elf, reason = ElfCache().lookup(procfs, child.pid, text)
    assert elf is None and reason == PROCESS_EXITED
    assert Path(text.path).exists()  # the file is still there
