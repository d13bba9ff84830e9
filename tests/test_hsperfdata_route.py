"""A JVM's hsperfdata is read only if it is the file the JVM maps (vmtop.procfs.java_facts).

The heap size comes from the ``rw-s`` mapping named ``.../hsperfdata_<user>/<pid>``.
Before, vmtop read ``/proc/PID/root`` + that name, following symlinks, with no inode
check: a container could plant ``/tmp/hsperfdata_root -> /some/host/dir`` (an absolute
link, resolved against vmtop's root) and have root's vmtop open a host file of its
choice and use its figures; and in a chroot the name, printed from vmtop's root, was
joined to the root twice and never found. Now the file is reached as every mapped file
is (vmtop.procfs.mapped_file): map_files, or a name whose file has the device and inode
of the maps line, checked to be a regular file before it is opened.

In every test below the file mapped holds zeros, no hsperfdata; a real JVM's file
(tests/fixtures/jvm_layouts) is where a name would lead instead: its figures must not
come back.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import needs_root, needs_tool

from vmtop.model.file_facts import NOT_REGULAR
from vmtop.procfs import mapped_file
from vmtop.procfs.java_facts import read_java_facts
from vmtop.procfs.mapped_file import MappedFileError
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS

PID = 4242
REAL = Path(__file__).parent / "fixtures" / "jvm_layouts" / "g1_default" / "hsperfdata"
REAL_HEAP = 6320816128  # what REAL says: MaxHeapSize of that JVM
LIBJVM = "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so"
ZEROS = bytes(32 << 10)
OPENAT = {"x86_64": 257, "aarch64": 56}.get(platform.machine())  # its system call number


class LiveTree(ProcFS):
    """A hand-made /proc tree that vmtop takes for the live one."""

    is_live = True  # type: ignore[assignment]


def maps_line(path: Path, printed: str) -> str:
    st = os.stat(path)
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    return f"7f0000000000-7f0000008000 rw-s 00000000 {dev} {st.st_ino}    {printed}\n"


def tree_mapping(tmp_path: Path, mapped: Path, printed: str) -> LiveTree:
    """/proc/PID of a process whose maps has ``mapped`` at the name ``printed``."""
    pid_dir = tmp_path / "proc" / str(PID)
    pid_dir.mkdir(parents=True)
    (pid_dir / "maps").write_text(maps_line(mapped, printed))
    return LiveTree(str(tmp_path / "proc"))


def facts(procfs, pid: int, printed: str):
    return read_java_facts(procfs, pid, {printed, LIBJVM})


def zeros_at(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ZEROS)
    return path


# -- hand-made trees ------------------------------------------------------------------------


def test_a_planted_absolute_symlink_is_not_followed_to_another_file(tmp_path):
    # The JVM maps /tmp/hsperfdata_root/4242 (zeros). Its side then makes the way
    # through its root, root/tmp/hsperfdata_root, an absolute link to a directory of
    # vmtop's view holding a real hsperfdata: followed, it would give that file's heap.
    mapped = zeros_at(tmp_path / "jvm" / "hsperfdata_root" / str(PID))
    host_dir = tmp_path / "host_dir"
    host_dir.mkdir()
    shutil.copy(REAL, host_dir / str(PID))
    procfs = tree_mapping(tmp_path, mapped, str(mapped))
    planted = Path(procfs.path(PID, "root")) / str(mapped.parent).lstrip("/")
    planted.parent.mkdir(parents=True)
    planted.symlink_to(host_dir)  # absolute: resolved against vmtop's root
    assert (planted / str(PID)).read_bytes() == REAL.read_bytes()  # where a name leads
    java = facts(procfs, PID, str(mapped))
    assert java.source != "hsperfdata" and REAL_HEAP not in java.heap_sizes


def test_another_file_at_the_name_in_the_root_is_not_read(tmp_path):
    mapped = zeros_at(tmp_path / "jvm" / "hsperfdata_root" / str(PID))
    procfs = tree_mapping(tmp_path, mapped, str(mapped))
    other = Path(procfs.path(PID, "root")) / str(mapped).lstrip("/")
    other.parent.mkdir(parents=True)
    shutil.copy(REAL, other)
    assert facts(procfs, PID, str(mapped)).source != "hsperfdata"


def test_the_mapped_file_itself_is_read_through_the_root(tmp_path):
    # The control: when the name leads to the very file mapped, its figures are used.
    mapped = tmp_path / "jvm" / "hsperfdata_root" / str(PID)
    mapped.parent.mkdir(parents=True)
    shutil.copy(REAL, mapped)
    procfs = tree_mapping(tmp_path, mapped, str(mapped))
    Path(procfs.path(PID, "root")).symlink_to("/")
    java = facts(procfs, PID, str(mapped))
    assert java.source == "hsperfdata" and java.heap_sizes == (REAL_HEAP,)


def test_a_chrooted_jvms_hsperfdata_is_found_in_its_root(tmp_path):
    # F5: chroot'ed into JAIL, the JVM's /tmp/hsperfdata_root/4242 is printed from
    # vmtop's root, JAIL/tmp/...; /proc/PID/root links to JAIL.
    jail = tmp_path / "jail"
    mapped = jail / "tmp" / "hsperfdata_root" / str(PID)
    mapped.parent.mkdir(parents=True)
    shutil.copy(REAL, mapped)
    procfs = tree_mapping(tmp_path, mapped, str(mapped))
    Path(procfs.path(PID, "root")).symlink_to(jail)
    assert facts(procfs, PID, str(mapped)).heap_sizes == (REAL_HEAP,)


# -- live processes -----------------------------------------------------------------------

# Maps argv[1] shared, as a JVM maps its hsperfdata; with more arguments, then bind-mounts
# argv[2] over argv[1]'s directory (in its own mount namespace). Prints READY, then waits.
MAPPER = """
import mmap, os, subprocess, sys
f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED)
if len(sys.argv) > 2:
    subprocess.run(["mount", "--bind", sys.argv[2], os.path.dirname(sys.argv[1])], check=True)
print("READY", flush=True)
sys.stdin.read()
"""


def live_facts(pid: int):
    """The facts as a snapshot reads them (its map's regions handed in), checked to be
    those read with maps read again (no regions given)."""
    regions = parse_maps(Path(f"/proc/{pid}/maps").read_bytes())
    paths = {r.path for r in regions} | {LIBJVM}
    given = read_java_facts(ProcFS(), pid, paths, regions)
    assert read_java_facts(ProcFS(), pid, paths) == given
    return given


def test_a_file_renamed_over_the_mapped_name_is_not_read(tmp_path, spawn):
    mapped = zeros_at(tmp_path / f"hsperfdata_{os.getuid()}" / "1")
    child = spawn([sys.executable, "-c", MAPPER, str(mapped)], stdin=subprocess.PIPE)
    child.read_until("READY")
    shutil.copy(REAL, tmp_path / "real")
    os.rename(tmp_path / "real", mapped)  # maps now says "... (deleted)"
    assert live_facts(child.pid).source != "hsperfdata"


def test_the_mapped_file_of_a_live_process_is_read(tmp_path, spawn):
    mapped = tmp_path / f"hsperfdata_{os.getuid()}" / "1"
    mapped.parent.mkdir()
    shutil.copy(REAL, mapped)
    child = spawn([sys.executable, "-c", MAPPER, str(mapped)], stdin=subprocess.PIPE)
    child.read_until("READY")
    assert live_facts(child.pid).heap_sizes == (REAL_HEAP,)


@needs_root("a mount namespace needs root")
@needs_tool("unshare")
@needs_tool("mount")
def test_a_file_mounted_over_the_mapped_name_is_not_read(tmp_path, spawn):
    # In its own mount namespace the process covers the directory of the file it maps
    # with another one: /proc/PID/root + the name leads to a real hsperfdata there.
    mapped = zeros_at(tmp_path / "hsperfdata_root" / "1")
    cover = tmp_path / "cover"
    cover.mkdir()
    shutil.copy(REAL, cover / "1")
    argv = ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", MAPPER]
    child = spawn(
        [*argv, str(mapped), str(cover)], stdin=subprocess.PIPE
    )  # unshare execs: same PID
    child.read_until("READY")
    covered = Path(f"/proc/{child.pid}/root") / str(mapped).lstrip("/")
    assert covered.read_bytes() == REAL.read_bytes()  # where the name leads in its view
    assert live_facts(child.pid).source != "hsperfdata"


# -- a name swapped between stat and open ---------------------------------------------------


def test_a_name_swapped_for_a_fifo_is_not_opened_before_it_is_checked(tmp_path, monkeypatch):
    # Checked, the name was the mapped file; then it became a FIFO (a device, whose
    # open can act, is the same case). Held with O_PATH, it is refused unopened: a
    # writer waiting for a reader on it is still waiting.
    if OPENAT is None:
        pytest.skip(f"openat's number on {platform.machine()} is not known here")
    mapped = zeros_at(tmp_path / "hsperfdata_root" / "1")
    region = parse_maps(maps_line(mapped, str(mapped)).encode())[0]
    identity = mapped_file._identity(os.stat(mapped))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    found = mapped_file.FoundFile(str(fifo), identity, False)
    monkeypatch.setattr(mapped_file, "stat_mapped_file", lambda *a, **k: found)
    writer_fd: list[int] = []
    writer = threading.Thread(target=lambda: writer_fd.append(os.open(fifo, os.O_WRONLY)))
    writer.start()
    try:
        syscall = Path(f"/proc/self/task/{writer.native_id}/syscall")
        deadline = time.monotonic() + 5
        while not syscall.read_text().startswith(f"{OPENAT} "):  # openat, waiting for a reader
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with pytest.raises(MappedFileError, match=NOT_REGULAR):
            with mapped_file.open_mapped_file(LiveTree(str(tmp_path)), PID, region, identity):
                pass
        writer.join(0.5)
        assert writer.is_alive(), "the FIFO was opened for reading"
    finally:
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer go
        writer.join()
        os.close(reader)
        for fd in writer_fd:
            os.close(fd)
