"""A replay reads no files of this machine (the process may be gone, or have run on
another machine), and says so in its own words: "a recording holds no files", not
the copied /proc tree's "a copied /proc tree has no files"."""

from __future__ import annotations

from vmtop.model.file_facts import NOT_LIVE, NOT_RECORDED_FILES
from vmtop.model.region import Region
from vmtop.procfs.elf_files import ProcessElfFiles
from vmtop.procfs.reader import ProcFS
from vmtop.tui.replay_app import RecordingProcFS

LIBC = Region(
    0x7F00_0000_0000, 0x7F00_0002_8000, "r-xp", 0x28000, "fe:00", 1234,
    "/usr/lib/x86_64-linux-gnu/libc.so.6", kind="text",
)  # fmt: skip


def test_a_replays_files_are_said_to_be_in_no_recording():
    _, reason = ProcessElfFiles(RecordingProcFS()).lookup(4242, LIBC)
    assert reason == NOT_RECORDED_FILES and "recording" in reason


def test_a_copied_tree_says_its_own_words(tmp_path):
    (tmp_path / "4242").mkdir()
    _, reason = ProcessElfFiles(ProcFS(str(tmp_path))).lookup(4242, LIBC)
    assert reason == NOT_LIVE and "copied /proc tree" in reason
