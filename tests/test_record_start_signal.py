"""A Ctrl-C the moment `vmtop record` says "Ctrl-C stops": the recording ends with its
first sample and its end mark. Before, the signal handlers were installed after that
line: a SIGINT right after it raised KeyboardInterrupt, the file was left empty (no
header, no sample: "not a vmtop recording"), vmtop exited 130 and said nothing.

The Ctrl-C is sent by the stream vmtop writes that line to, as it is written: the
moment a person reading it would press the keys."""

from __future__ import annotations

import io
import os
import signal
import sys

from vmtop import cli
from vmtop.record.reader import Recording


class _CtrlCOnStart(io.StringIO):
    def write(self, text: str) -> int:
        n = super().write(text)
        if "Ctrl-C stops" in text:
            os.kill(os.getpid(), signal.SIGINT)
        return n


def test_ctrl_c_as_the_recording_starts_keeps_its_first_sample(tmp_path, monkeypatch, spawn):
    child = spawn(["sleep", "60"])
    path = tmp_path / "r.jsonl.gz"
    said = _CtrlCOnStart()
    monkeypatch.setattr(sys, "stderr", said)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        status = cli.main(["record", str(child.pid), "-o", str(path), "--interval", "5"])
    finally:
        signal.signal(signal.SIGINT, old)
    text = said.getvalue()
    assert status == 0, text
    assert "for" not in text.split("Ctrl-C stops")[0].split("every")[1]  # no limit given
    rec = Recording.open(str(path))
    assert len(rec) == 1 and rec.end_reason == "stopped", rec.notes
    assert rec.pid == child.pid
    assert "stopped: 1 sample" in text


def test_the_start_line_says_until_when(tmp_path, monkeypatch, spawn):
    child = spawn(["sleep", "60"])
    said = io.StringIO()
    monkeypatch.setattr(sys, "stderr", said)
    path = tmp_path / "r.jsonl.gz"
    argv = ["record", str(child.pid), "-o", str(path), "--interval", "0.1", "--count", "2"]
    assert cli.main(argv) == 0
    assert "every 0.1 s for 2 samples; Ctrl-C stops" in said.getvalue()
