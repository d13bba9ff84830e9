"""Shared memory vmtop named is called by that name where its file is only the kernel's
name for anonymous memory: a DBA read PostgreSQL's shared buffers as "/dev/zero
(deleted)" in the watch text, the region table and the report (review)."""

from __future__ import annotations

from vmtop.commands.watch import human_line
from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.events import Event
from vmtop.model.memory_files import is_memory_file, shown_name
from vmtop.model.region import Region
from vmtop.tui.widgets.table_columns import region_name

PG = "PostgreSQL shared memory"


def test_the_kernels_names_for_anonymous_memory():
    for path in (
        "/dev/zero (deleted)",
        "/anon_hugepage (deleted)",
        "/SYSV0022e4c4 (deleted)",
        "/memfd:java_heap (deleted)",
    ):
        assert is_memory_file(path), path
    for path in ("/dev/zero", "/usr/lib/libc.so.6", "/tmp/data (deleted)", "/dev/shm/x"):
        assert not is_memory_file(path), path


def test_named_shared_memory_is_shown_by_its_name_with_its_file():
    assert shown_name("/dev/zero (deleted)", kinds.SHM, PG) == f"{PG} (/dev/zero)"
    assert shown_name("/dev/zero (deleted)", kinds.SHM, None) == "/dev/zero (deleted)"
    # A memfd'd library (private, a file's kind) keeps its file's name.
    assert shown_name("/memfd:lib (deleted)", kinds.TEXT, "libx.so") == "/memfd:lib (deleted)"
    region = Region(0x7F0000000000, 0x7F0008000000, "rw-s", 0, "00:01", 724,
                    "/dev/zero (deleted)", kind=kinds.SHM, object=PG)  # fmt: skip
    assert region_name(region) == (f"{PG} (/dev/zero)", True)
    event = Event(0.0, ev.RSS_CHANGED, region.start, region.end, kinds.SHM, 1 << 20,
                  1 << 20, region.path, object=PG)  # fmt: skip
    assert f"shm          {PG} (/dev/zero)" in human_line(event)


def test_the_report_names_named_shared_memory():
    from vmtop.commands.report import _region_name

    region = Region(0x7F0000000000, 0x7F0008000000, "rw-s", 0, "00:11", 9,
                    "/anon_hugepage (deleted)", kind=kinds.SHM, object=PG)  # fmt: skip
    assert _region_name(region) == f"{PG} (/anon_hugepage)"


def test_the_tui_event_log_names_named_shared_memory():
    from vmtop.tui.widgets.event_log import event_segments

    event = Event(0.0, ev.RSS_CHANGED, 0x7F0000000000, 0x7F0008000000, kinds.SHM,
                  1 << 20, 1 << 20, "/dev/zero (deleted)", object=PG)  # fmt: skip
    text = "".join(seg.text for seg in event_segments(event))
    assert f"{PG} (/dev/zero)" in text, text
