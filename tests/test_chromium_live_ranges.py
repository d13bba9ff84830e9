"""A live headless Chromium: PartitionAlloc's low reserve in its browser process, V8's
code and trusted ranges in its renderer, named where the kernel's smaps has the
regions, with the resident sizes the kernel gives them (vmtop.model.chromium_v8_ranges,
tests/test_chromium_processes.py for the recorded processes)."""

from __future__ import annotations

import os
import re
import time

import pytest
from helpers_chromium import headless_chromium

from vmtop.model import chromium_heaps as ch
from vmtop.model import chromium_v8_ranges as cr
from vmtop.model import kinds
from vmtop.model.v8_reservations import CODE_RANGE
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

pytestmark = pytest.mark.live

MiB, GiB = 1 << 20, 1 << 30
# The page runs a hot function (compiled code for the code range), then says READY on
# the console (stderr with --enable-logging=stderr) and allocates nothing more.
PAGE = """<!doctype html><script>
function f(x) { return x * 2 + 1; }
let s = 0;
for (let i = 0; i < 3e6; i++) s += f(i);
globalThis.keep = Array.from({length: 50000}, (_, i) => ({i, s: "x" + i}));
console.log("VMTOP READY " + s);
</script>"""
START_TIMEOUT = 120  # a loaded 2-core machine starts Chromium slowly


def _parent(pid: int) -> int:
    data = open(f"/proc/{pid}/stat", "rb").read()
    return int(data[data.rfind(b")") + 2 :].split()[1])


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = _parent(pid)
        except OSError:
            return False
    return False


def _processes(ancestor: int, needle: bytes) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = open(f"/proc/{name}/cmdline", "rb").read()
            except OSError:
                continue
            if needle in cmdline and _descends_from(int(name), ancestor):
                out.append(int(name))
    return out


def _smaps(pid: int) -> list[tuple[int, int, str, int]]:
    """The kernel's regions of ``pid``: (start, end, perms, Rss in bytes)."""
    out = []
    for text in open(f"/proc/{pid}/smaps"):
        head = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) ", text)
        if head:
            out.append([int(head[1], 16), int(head[2], 16), head[3], 0])
        elif text.startswith("Rss:"):
            out[-1][3] = int(text.split()[1]) * 1024
    return [tuple(r) for r in out]


@pytest.fixture
def chromium(tmp_path):
    with headless_chromium(tmp_path, PAGE) as child:
        yield child


def _wait_ready(child) -> bool:
    os.set_blocking(child.stderr.fileno(), False)
    deadline, seen = time.monotonic() + START_TIMEOUT, b""
    while time.monotonic() < deadline and child.poll() is None:
        seen = (seen + (child.stderr.read() or b""))[-100_000:]
        if b"VMTOP READY" in seen:
            return True
        time.sleep(0.2)
    return False


def _wait_for(find, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find()
        if found:
            return found
        time.sleep(0.2)
    return find()


def _browser(child) -> int:
    """The browser process: the launcher itself, or what it exec'd or started."""
    if os.path.basename(os.readlink(f"/proc/{child.pid}/exe")).startswith("chrom"):
        return child.pid
    (pid,) = [p for p in _processes(child.pid, b"--user-data-dir=") if b"--type=" not in
              open(f"/proc/{p}/cmdline", "rb").read()]  # fmt: skip
    return pid


def test_a_live_chromium_s_ranges_are_named_with_the_kernel_s_figures(chromium):
    if not _wait_ready(chromium):
        pytest.skip(f"headless chromium did not run its page within {START_TIMEOUT} s")
    renderers = _wait_for(lambda: _processes(chromium.pid, b"--type=renderer"))
    assert renderers, "the page said READY but no renderer is there"

    browser = _browser(chromium)
    regions = take_snapshot(ProcFS(), browser).regions
    (low,) = [r for r in regions if r.start == 0x10000]
    assert (low.kind, low.object) == (kinds.RESERVED, ch.PA_LOW_RESERVE)
    assert not [r for r in regions if r.object in (CODE_RANGE, cr.TRUSTED_RANGE)]

    # Every renderer runs V8: each has its code range, trusted range and pointer tables.
    named = 0
    for pid in renderers:
        try:
            snapshot, kernel = _agreeing_views(pid)
        except OSError:
            continue  # a spare renderer that ended
        if not any(r.object == ch.V8_SANDBOX for r in snapshot.regions):
            continue  # a spare renderer that has not started V8 yet
        (code,) = [r for r in snapshot.regions if r.object == CODE_RANGE]
        assert (code.kind, code.end - code.start) == (kinds.JIT, 512 * MiB)
        assert (code.start, code.end, "rwxp") in [k[:3] for k in kernel]
        trusted = [r for r in snapshot.regions if r.object == cr.TRUSTED_RANGE]
        base, end = trusted[0].start, trusted[-1].end
        assert (base % (4 * GiB), end - base) == (0, GiB)
        assert any(r.kind == kinds.ANON and r.perms == "rw-p" for r in trusted)
        # What vmtop gives the names is what the kernel has there: the same regions,
        # their Rss summed (a few pages of slack: V8 keeps working between the reads).
        for obj in (CODE_RANGE, cr.TRUSTED_RANGE, cr.POINTER_TABLES, ch.PA_LOW_RESERVE):
            mine = [r for r in snapshot.regions if r.object == obj]
            assert mine, obj
            theirs = [k for k in kernel if any(r.start <= k[0] < r.end for r in mine)]
            assert sum(k[1] - k[0] for k in theirs) == sum(r.size for r in mine), obj
            assert abs(sum(k[3] for k in theirs) - sum(r.rss for r in mine)) <= MiB, obj
        named += 1
    assert named >= 1, renderers


def _agreeing_views(pid: int, tries: int = 20):
    """A snapshot of ``pid`` and the kernel's smaps read right after it, once they have
    the same regions (V8 commits and frees pages as it runs: retried until a quiet
    moment; the last pair when none came)."""
    for _ in range(tries):
        snapshot, kernel = take_snapshot(ProcFS(), pid), _smaps(pid)
        if [(r.start, r.end) for r in snapshot.regions] == [k[:2] for k in kernel]:
            break
        time.sleep(0.2)
    return snapshot, kernel
