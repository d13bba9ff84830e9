"""A SysV segment of a process in another IPC namespace: /proc/sysvipc/shm lists the
segments of vmtop's own namespace, where the same shmid is another segment. vmtop
named an unrelated process of its own namespace as the creator ("created by PID …,
1 attached"); it now says only what the maps line says (shmid and key).

Ground truth: the test creates a segment in its own namespace and the child one with
the same shmid in a namespace of its own (`unshare --ipc`, root only)."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import pytest
from helpers_elf import C_DIR, vmtop_json, vmtop_text

pytestmark = pytest.mark.live

IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0


@pytest.fixture
def outer_segment():
    """A segment of the test's own IPC namespace (the one vmtop reads), removed after."""
    libc = ctypes.CDLL(None, use_errno=True)
    shmid = libc.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
    if shmid < 0:
        pytest.skip(f"shmget: {os.strerror(ctypes.get_errno())}")
    yield shmid
    libc.shmctl(shmid, IPC_RMID, None)


def test_a_segment_of_another_ipc_namespace_gets_no_creator_of_ours(outer_segment, compile_c):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare (an IPC namespace of its own)")
    exe = compile_c(C_DIR / "sysv_in_namespace.c")
    child = subprocess.Popen(
        ["unshare", "--ipc", str(exe), str(outer_segment)], stdout=subprocess.PIPE, text=True
    )
    try:
        line = child.stdout.readline().split()
        if not line:
            pytest.skip(f"unshare --ipc refused here (exit {child.wait()})")
        shmid, address = int(line[1]), int(line[2], 16)
        assert shmid == outer_segment  # the premise: one number, two segments
        assert os.readlink(f"/proc/{child.pid}/ns/ipc") != os.readlink("/proc/self/ns/ipc")
        document = vmtop_json("snapshot", "--format", "json", child.pid)
        where = vmtop_text("where", child.pid, hex(address))
    finally:
        child.kill()
        child.wait()
    (segment,) = [r for r in document["regions"] if "sysv_shmid" in r]
    assert segment["sysv_shmid"] == shmid
    # Our namespace's segment shmid was made by this test (creator os.getpid()): not its.
    assert "sysv_creator_pid" not in segment and "sysv_attached" not in segment
    assert where.returncode == 0, where.stderr
    assert f"SysV shmid {shmid} key IPC_PRIVATE" in where.stdout
    assert "created by PID" not in where.stdout
