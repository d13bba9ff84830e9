"""Recording from the process screen: ``R`` (or the palette) starts and stops writing
what the screen samples to a file; the header shows its name and size meanwhile.

A mixin for the process screen (``self.sampler`` is its snapshot source): only a source
that can record (the live one) offers it. The writing happens in the sampling worker
(vmtop.tui.sources.LiveSource), never on the UI thread.
"""

from __future__ import annotations

import errno
import os
import time

from vmtop.tui.formatting import format_bytes
from vmtop.tui.named_commands import NamedCommands

RECORDINGS_DIR_ENV = "VMTOP_RECORDINGS"  # where R writes; the current directory otherwise


def default_recording_path(pid: int, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    folder = os.environ.get(RECORDINGS_DIR_ENV) or os.getcwd()
    return os.path.join(folder, f"vmtop-{pid}-{stamp}.jsonl.gz")


def fallback_recording_path(pid: int, now: float | None = None) -> str | None:
    """Where R writes when the current directory will not take the file (vmtop started
    from / or a read-only tree): $XDG_STATE_HOME/vmtop, else ~/.local/state/vmtop,
    made private. None when $VMTOP_RECORDINGS was set: that choice is kept."""
    if os.environ.get(RECORDINGS_DIR_ENV):
        return None
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    folder = os.path.join(state, "vmtop")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return os.path.join(folder, f"vmtop-{pid}-{stamp}.jsonl.gz")


def _start(source, path: str, interval: float) -> OSError | None:
    try:
        source.start_recording(path, interval)
    except OSError as e:
        return e
    return None


class RecordingControls:
    """``action_record``, ``can_record``, ``recording_label`` for a screen with a source."""

    def can_record(self) -> bool:
        return hasattr(self.sampler, "start_recording")

    @property
    def is_recording(self) -> bool:
        return getattr(self.sampler, "recorder", None) is not None

    def recording_label(self) -> str | None:
        source = self.sampler
        error = getattr(source, "record_error", None)
        if error:
            source.record_error = None
            self.notify(error, severity="error", timeout=10, markup=False)  # names a path
        recorder = getattr(source, "recorder", None)
        if recorder is None:
            return None
        return f"REC {os.path.basename(recorder.path)} {format_bytes(recorder.size)}"

    def action_record(self) -> None:
        source = self.sampler
        if not self.can_record():
            return
        if source.recorder is None:
            path = default_recording_path(self.pid)
            error = _start(source, path, self.interval)
            if error is not None and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                elsewhere = fallback_recording_path(self.pid)
                if elsewhere is not None:
                    path, error = elsewhere, _start(source, elsewhere, self.interval)
            if error is not None:
                self.notify(
                    f"cannot record to {path}: {error.strerror or error}",
                    severity="error",
                    markup=False,
                )
                return
            said = f"Recording to {path} — R stops"
            if not getattr(self, "live", True):
                said += "; paused: nothing is recorded until space resumes"
            self.notify(said, timeout=5, markup=False)
        else:
            writer = source.stop_recording()
            if writer is not None and writer.samples == 0:
                # The writer removes a file of its own with no sample in it: there is
                # nothing to replay, so no command to replay it is given.
                why = "paused" if not getattr(self, "live", True) else "stopped before one"
                self.notify(f"Nothing recorded: no sample was taken ({why}), no file kept")
            elif writer is not None:
                self.notify(
                    f"Saved {writer.path}: {writer.samples} samples, "
                    f"{format_bytes(writer.size)}. Replay it with: vmtop replay {writer.path}",
                    timeout=10,
                    markup=False,  # a path is shown as it is
                )
        self._update_header()

    def end_recording(self) -> None:
        """Close the recording, if one is being written, with its end mark; said nowhere
        (the screen is going away, or the terminal with it). Waits for a sample being
        written in the worker to be out first (the source's lock)."""
        stop = getattr(self.sampler, "stop_recording", None)
        if stop is not None:
            stop()

    def on_unmount(self) -> None:
        self.end_recording()


def end_recordings(screens) -> None:
    """Close the recording of every screen in ``screens`` that writes one: vmtop is
    ending (a SIGHUP, a SIGTERM, the terminal gone) and what comes next may never run."""
    for screen in screens:
        if isinstance(screen, RecordingControls):
            screen.end_recording()


class RecordingCommands(NamedCommands):
    """Start / stop recording in the command palette."""

    def _commands(self):
        screen = self.screen
        if not isinstance(screen, RecordingControls) or not screen.can_record():
            return []
        if screen.is_recording:
            return [("Stop recording", screen.action_record, "R: close the file")]
        return [
            (
                "Record this process to a file",
                screen.action_record,
                "R: every sample from now, to vmtop-PID-TIME.jsonl.gz (vmtop replay FILE)",
            )
        ]
