"""The files of a chroot'ed process (vmtop.procfs.mapped_file): found, not "file gone".

For a process chroot'ed into a directory vmtop can reach, the kernel prints the paths
in its maps from vmtop's root (``/srv/jail/usr/lib/libc.so.6``) and /proc/PID/root
links to ``/srv/jail``. Joining the two (``/proc/PID/root/srv/jail/usr/...``) leads
nowhere, or to whatever the jailed process put there; the mapped file is
``/proc/PID/root/usr/...``, or the printed name itself in vmtop's view. Whatever the
route, only the inode maps printed is taken.

Before, when map_files could not be used (vmtop not root, or its main thread exited),
every ELF lookup in such a process said "file gone".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import C_DIR, Child, needs_root, needs_tool, run_vmtop, wait_for_state

from vmtop.model.file_facts import FILE_GONE, NOT_LIVE
from vmtop.model.region import Region
from vmtop.procfs.java_facts import read_java_facts
from vmtop.procfs.mapped_file import MappedFileError, _routes, stat_mapped_file
from vmtop.procfs.reader import ProcFS

PID = 4242
JVM_FIXTURES = Path(__file__).parent / "fixtures" / "jvm_layouts"


class LiveTree(ProcFS):
    """A hand-made /proc tree that vmtop takes for the live one: its routes to files
    are those of a live process, on a situation made to order."""

    is_live = True  # type: ignore[assignment]


def region_of(path: Path, printed: str) -> Region:
    st = os.stat(path)
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    return Region(0x1000, 0x2000, "r-xp", 0, dev, st.st_ino, printed, kind="text")


def jailed(tmp_path: Path) -> tuple[LiveTree, Path, Path]:
    """/proc/PID/root links to a jail; the jail holds usr/lib/libfoo.so. Returns the
    tree, the jail and the file."""
    jail = tmp_path / "jail"
    lib = jail / "usr" / "lib" / "libfoo.so"
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"\x7fELF the mapped one")
    (tmp_path / "proc" / str(PID)).mkdir(parents=True)
    (tmp_path / "proc" / str(PID) / "root").symlink_to(jail)
    return LiveTree(str(tmp_path / "proc")), jail, lib


def reason(procfs, region: Region) -> str:
    try:
        return stat_mapped_file(procfs, PID, region, use_map_files=False).path
    except MappedFileError as e:
        return str(e)


# -- the routes, on hand-made situations --------------------------------------------------


def test_a_chroot_printed_name_is_found_inside_the_target_root(tmp_path):
    procfs, _jail, lib = jailed(tmp_path)
    # maps prints the name from vmtop's root: the jail's directory, then the file.
    found = reason(procfs, region_of(lib, str(lib)))
    assert found == procfs.path(PID, "root") + "/usr/lib/libfoo.so"


def test_a_file_planted_at_the_doubled_path_is_not_taken(tmp_path):
    procfs, jail, lib = jailed(tmp_path)
    # The jailed process controls its root: it can put another file where root + the
    # printed name leads. Not the inode mapped: passed over for the right one.
    planted = jail / str(lib).lstrip("/")
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"\x7fELF another")
    assert (
        reason(procfs, region_of(lib, str(lib))) == procfs.path(PID, "root") + "/usr/lib/libfoo.so"
    )
    # And when only the planted one is there, it is "replaced", never used.
    lib.unlink()
    lib.write_bytes(b"\x7fELF a new file at the name")
    region = region_of(planted, str(lib))._replace(inode=os.stat(planted).st_ino + 1)
    assert reason(procfs, region) == "replaced since mapped"


def test_the_printed_name_in_vmtops_own_view_is_the_last_route(tmp_path):
    # A root that is no link to read (here a plain directory, empty): the name as
    # printed, in vmtop's view, is tried last, and taken only for the inode mapped.
    (tmp_path / "proc" / str(PID) / "root").mkdir(parents=True)
    procfs = LiveTree(str(tmp_path / "proc"))
    lib = tmp_path / "elsewhere" / "libfoo.so"
    lib.parent.mkdir()
    lib.write_bytes(b"\x7fELF")
    assert reason(procfs, region_of(lib, str(lib))) == str(lib)
    # Another file at that name in vmtop's view says nothing about the mapped one:
    # the name only led there by a guess, so the reason stays "file gone".
    other = region_of(lib, str(lib))._replace(inode=os.stat(lib).st_ino + 1)
    assert reason(procfs, other) == FILE_GONE


def test_a_copied_tree_never_leads_to_the_readers_own_files(tmp_path):
    lib = tmp_path / "libfoo.so"
    lib.write_bytes(b"\x7fELF")
    (tmp_path / "copy" / str(PID) / "root").mkdir(parents=True)
    procfs = ProcFS(str(tmp_path / "copy"))
    region = region_of(lib, str(lib))
    assert reason(procfs, region) == NOT_LIVE
    routes = [route[0] for route in _routes(procfs, PID, region, True)]
    assert routes and all(p.startswith(procfs.root + "/") for p in routes)


# -- live: a program chroot'ed in its own mount and PID namespaces -----------------------


def build_rootfs(compile_c, tmp_path: Path) -> tuple[Path, Path]:
    """A root holding the program and the libraries ldd names (the loader too)."""
    prog = compile_c(C_DIR / "chroot_leader_exits.c", "-pthread")
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    shutil.copy(prog, rootfs / "prog")
    listed = subprocess.run(["ldd", str(prog)], capture_output=True, text=True, check=True)
    for word in listed.stdout.split():
        if word.startswith("/"):
            target = rootfs / word.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(word, target)  # follows links: the file itself
    return rootfs, rootfs / "prog"


def children_of(pid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        try:
            data = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        if name.isdigit() and int(data[data.rfind(b")") + 2 :].split()[1]) == pid:
            out.append(int(name))
    return out


@pytest.fixture
def run_jailed():
    """``run_jailed(rootfs, *args) -> (pid, marker address)``: /prog run chroot'ed in
    new mount and PID namespaces, its main thread exited. Every process is killed after."""
    started: list[tuple[Child, list[int]]] = []

    def start(rootfs: Path, *args: str) -> tuple[int, int]:
        argv = ["unshare", "--mount", "--pid", "--fork", "--mount-proc"]
        child = Child([*argv, "chroot", str(rootfs), "/prog", *args])
        inits: list[int] = []
        started.append((child, inits))
        marker = int(child.read_line().split()[1], 16)
        assert child.read_line() == "READY"
        deadline = time.monotonic() + 5
        while not inits and time.monotonic() < deadline:
            inits.extend(children_of(child.pid))  # the namespace's init: the program
        (pid,) = inits
        wait_for_state(pid, "Z")  # its main thread exited, another one runs on
        return pid, marker

    yield start
    for child, inits in started:
        for pid in inits:  # SIGKILL to a PID namespace's init ends all of it
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        child.kill()


@needs_root("chroot and new namespaces need root")
@needs_tool("unshare")
@needs_tool("chroot")
@needs_tool("ldd")
@needs_tool("nm")
def test_where_names_a_function_of_a_chrooted_program(compile_c, tmp_path, run_jailed):
    rootfs, prog = build_rootfs(compile_c, tmp_path)
    pid, marker = run_jailed(rootfs)
    assert os.listdir(f"/proc/{pid}/map_files") == []  # so the names must serve
    done = run_vmtop("where", "--json", pid, hex(marker))
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert result["region"]["path"] == str(prog)  # printed from vmtop's root
    assert result.get("reason") is None, result
    # nm's symbol at the marker's offset in the file, against the load base.
    base = marker - result_offset(pid, marker)
    symbols = subprocess.run(["nm", "--defined-only", str(prog)], capture_output=True, text=True)
    names = {int(v, 16): n for v, _t, n in (s.split() for s in symbols.stdout.splitlines())}
    assert names[marker - base] == "chroot_marker_function"
    assert (result["symbol"], result["symbol_offset"]) == ("chroot_marker_function", 0)


def result_offset(pid: int, address: int) -> int:
    """The address's offset from the program's load base (its first mapping's start),
    from the maps of the thread still running."""
    tid = max(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    first = None
    for line in Path(f"/proc/{pid}/task/{tid}/maps").read_text().splitlines():
        if line.endswith("/prog") and first is None:
            first = int(line.split("-")[0], 16)
    assert first is not None
    return address - first


@needs_root("chroot and new namespaces need root")
@needs_tool("unshare")
@needs_tool("chroot")
@needs_tool("ldd")
def test_a_chrooted_jvms_hsperfdata_is_read(compile_c, tmp_path, run_jailed):
    # F5: a JVM's hsperfdata in a chroot, /tmp/hsperfdata_root/1 in its view, printed
    # as ROOTFS/tmp/hsperfdata_root/1: its heap size is read (the program maps it as
    # a JVM does; the figures are a real JVM's, tests/fixtures/jvm_layouts).
    rootfs, _prog = build_rootfs(compile_c, tmp_path)
    hsperf = rootfs / "tmp" / "hsperfdata_root" / "1"
    hsperf.parent.mkdir(parents=True)
    shutil.copy(JVM_FIXTURES / "g1_default" / "hsperfdata", hsperf)
    pid, _marker = run_jailed(rootfs, "/tmp/hsperfdata_root/1")
    paths = {str(hsperf), "/usr/lib/jvm/java-17/lib/server/libjvm.so"}
    java = read_java_facts(ProcFS(), pid, paths)
    assert java is not None and java.source == "hsperfdata"
    assert java.heap_sizes == (6320816128,)
