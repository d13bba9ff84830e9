"""A whole region madvised (MADV_DONTDUMP) or mlocked: the process screen marks its
row changed, as it marks any region that changed since the last sample.

Its maps line stays the same, only its smaps VmFlags change: the log said
flags_changed while the table showed the row as unchanged. The row of that region must
carry the mark of a change of the same bytes (``~``, the reshaped colour) in the sample
whose log says flags_changed, with a baseline set or not. On the recorded tree of
test_process_screen (its smaps' VmFlags line of the heap edited, the rest as recorded:
the map reads the same), in the replay of a recording of two such reads (the sample's
flags_changed as procfs said it), and live: a C program changes a whole mapping's
flags on a line on stdin, the kernel's VmFlags checked in /proc/PID/smaps.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_flags_changed import C_PROGRAM, kernel_block
from vmtop.model import events as ev
from vmtop.procfs.reader import ProcFS
from vmtop.tui import sampler
from vmtop.tui.app import VmtopApp
from vmtop.tui.screens.process import ProcessScreen
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.table_columns import CHANGE_MARK

from .conftest import TUI_PROC
from .test_process_screen import HEAP, PID, ScreenApp, copy_fixture, row_of, settle, step


def add_vm_flag(root: Path, start: int, flag: str, pid: int = PID) -> None:
    """Add ``flag`` to the VmFlags of the region at ``start`` in the tree's smaps."""
    path = root / str(pid) / "smaps"
    head, block = path.read_text().split(f"\n{start:x}-", 1)
    block = re.sub(r"^(VmFlags:.*?) *$", rf"\1 {flag} ", block, count=1, flags=re.M)
    path.write_text(f"{head}\n{start:x}-{block}")


async def test_the_recorded_heap_whose_vmflags_changed_is_marked(tmp_path):
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await step(pilot)  # a second read of the same tree: nothing changed
        assert row_of(app, HEAP[0]).startswith("▌")
        add_vm_flag(root, HEAP[0], "dd")  # madvise(MADV_DONTDUMP) of all of the heap
        await step(pilot)
        screen = app.screen
        assert said_flags_changed(screen, HEAP[0])
        assert row_of(app, HEAP[0]).startswith(CHANGE_MARK[sampler.RESHAPED])
        assert screen.query_one(RegionTable).recent == {HEAP[0]: sampler.RESHAPED}
        for _ in range(3):  # three refreshes later the mark is gone
            await step(pilot)
        assert row_of(app, HEAP[0]).startswith("▌")
        await pilot.press("b")  # with a baseline: the marks say the last sample's changes
        add_vm_flag(root, HEAP[0], "lo")  # mlock of all of it
        await step(pilot)
        assert row_of(app, HEAP[0]).startswith(CHANGE_MARK[sampler.RESHAPED])


def kernel_flags(pid: int, address: int) -> frozenset[str]:
    """The VmFlags of the region at ``address``, as the kernel prints them."""
    return kernel_block(pid, address)[0]


def said_flags_changed(screen: ProcessScreen, address: int) -> bool:
    log = screen.query_one(EventLog)
    return any(
        e.event == ev.FLAGS_CHANGED and e.start <= address < e.end
        for run in log.runs
        for e in (run.first, run.event)
    )


def row_line(table: RegionTable, address: int) -> str:
    """The text of the table's row of the region at ``address``, as drawn."""
    index = next(i for i, row in enumerate(table.rows) if getattr(row, "start", -1) == address)
    table.scroll_to(y=index, animate=False, immediate=True)
    return table.render_line(index + 1 - round(table.scroll_y)).text


async def marked_when_said(pilot, screen, child, command: str, address: int, flag: str):
    """Send ``command``; once the kernel shows ``flag`` set, wait for the sample whose
    log says flags_changed of the region: (the program's answer, the row's mark and
    its line as drawn then); (answer, None, "") where the program's call failed."""
    child.proc.stdin.write(f"{command}\n".encode())
    child.proc.stdin.flush()
    answer = child.read_line(timeout=30)
    if not answer.startswith("ok"):
        return answer, None, ""
    assert flag in kernel_flags(child.pid, address)  # the kernel's own word on it
    table = screen.query_one(RegionTable)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if said_flags_changed(screen, address):
            # (The log, the marks and the table are set in one step of the UI thread.)
            return answer, table.recent.get(address), row_line(table, address)
    raise AssertionError(f"the log never said flags_changed for {command}")


async def test_a_replay_marks_the_region_its_recorded_flags_changed_names(tmp_path):
    from vmtop.model.diff import diff_snapshots
    from vmtop.procfs.snapshot import take_snapshot
    from vmtop.procfs.vm_flag_changes import said_with_vm_flags
    from vmtop.record.reader import Recording
    from vmtop.record.writer import RecordingWriter
    from vmtop.tui.replay_app import ReplayApp

    pid = 4242  # tests/fixtures/tui_proc: a C program with a heap, read from /proc
    (heap,) = (
        int(line.split("-")[0], 16)
        for line in (TUI_PROC / str(pid) / "maps").read_text().splitlines()
        if line.endswith("[heap]")
    )
    reads = []
    for k, flag in enumerate((None, "dd")):  # then madvise(MADV_DONTDUMP) of the heap
        root = tmp_path / f"read{k}"
        shutil.copytree(TUI_PROC / str(pid), root / str(pid))
        if flag:
            add_vm_flag(root, heap, flag, pid)
        reads.append(take_snapshot(ProcFS(str(root)), pid)._replace(taken_at=1e9 + k))
    before, now = reads
    assert before.regions == now.regions  # the map reads the same
    events = said_with_vm_flags(diff_snapshots(before, now), before, now)
    assert [(e.event, e.start) for e in events] == [(ev.FLAGS_CHANGED, heap)]
    writer = RecordingWriter(str(tmp_path / "rec.jsonl.gz"), interval=1.0, keyframe_every=8)
    writer.write_sample(before, [])
    writer.write_sample(now, events)
    writer.close()
    app = ReplayApp(Recording.open(str(tmp_path / "rec.jsonl.gz")))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(RegionTable)
        assert table.recent == {}
        await pilot.press("full_stop")  # the second sample
        await settle(pilot)
        assert screen.source.position == 1 and said_flags_changed(screen, heap)
        assert table.recent == {heap: sampler.RESHAPED}
        assert row_line(table, heap).startswith(CHANGE_MARK[sampler.RESHAPED])


@pytest.mark.live
async def test_a_region_whose_vmflags_changed_is_marked_in_the_table(compile_c, spawn):
    exe = compile_c(C_PROGRAM)
    child = spawn([str(exe)], stdin=subprocess.PIPE)
    a, b = (int(x, 16) for x in child.read_line(timeout=30).split())
    app = VmtopApp(ProcFS(), child.pid)
    async with app.run_test(size=(220, 120)) as pilot:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await pilot.pause(0.1)
            screen = app.screen
            snap = getattr(screen, "snapshot", None)
            if isinstance(screen, ProcessScreen) and snap is not None and snap.has_smaps:
                if screen.tick >= 2 and snap.region_at(a) is not None:
                    break
        else:
            raise AssertionError("the process screen never read the program's smaps")
        # A line the program reads and answers (with no call): its first parse.
        child.proc.stdin.write(b"warm A\n")
        child.proc.stdin.flush()
        assert child.read_line(timeout=30) == "ok warm"  # (no call for that word)
        table = screen.query_one(RegionTable)
        assert table.recent.get(a) is None  # nothing changed it yet
        assert not row_line(table, a).startswith(CHANGE_MARK[sampler.RESHAPED])

        answer, status, line = await marked_when_said(pilot, screen, child, "dontdump A", a, "dd")
        assert answer == "ok dontdump"
        assert status == sampler.RESHAPED, (status, line)
        assert line.startswith(CHANGE_MARK[sampler.RESHAPED]), line
        assert table.recent.get(b) is None  # the other region: not marked

        # With a baseline set (b), the Δ columns compare with it; the marks still say
        # what changed since the last sample (once A's has gone, after a few samples).
        deadline = time.monotonic() + 60
        while table.recent.get(a) is not None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert table.recent.get(a) is None
        await pilot.press("b")
        await pilot.pause()
        assert screen.baseline is not None
        answer, status, line = await marked_when_said(pilot, screen, child, "lock B", b, "lo")
        if answer != "ok lock":
            pytest.skip(f"mlock of 64 KiB failed: {answer} (RLIMIT_MEMLOCK)")
        assert status == sampler.RESHAPED, (status, line)  # (its pages resident already)
        assert line.startswith(CHANGE_MARK[sampler.RESHAPED]), line
