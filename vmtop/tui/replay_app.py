"""``vmtop replay FILE``: the app opened on a recording instead of a live process."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.screen import Screen

from vmtop.model.file_facts import NOT_RECORDED_FILES
from vmtop.procfs.reader import ProcFS
from vmtop.record.reader import Recording
from vmtop.tui.app import VmtopApp

# The replay reads nothing of this machine's /proc: the process may be long gone, or
# have been on another machine. Its procfs points nowhere.
NOWHERE = "/nonexistent/vmtop-replay"


class RecordingProcFS(ProcFS):
    """The /proc of a replay: the process is there (in the recording) but none of its
    files are, so what needs them (pagemap, ELF files) says it is not available
    rather than that the process exited."""

    def __init__(self) -> None:
        super().__init__(NOWHERE)

    def exists(self, pid: int) -> bool:
        return True

    @property
    def no_files_reason(self) -> str:
        return NOT_RECORDED_FILES


class ReplayApp(VmtopApp):
    SUB_TITLE = "replay of a recording"

    def __init__(
        self, recording: Recording, *, clock: Callable[[], float] = time.time, settings=None
    ):
        super().__init__(RecordingProcFS(), recording.pid, clock=clock, settings=settings)
        self.recording = recording

    def first_screen(self) -> Screen:
        from vmtop.tui.screens.replay import ReplayScreen

        return ReplayScreen(self.recording, self.procfs)
