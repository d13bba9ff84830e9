"""Keys first: a long parse in the sampling worker steps aside while input comes in."""

from __future__ import annotations

import threading
import time

from vmtop.procfs import pieces
from vmtop.procfs.parse_maps import parse_maps, parse_maps_parts
from vmtop.tui import input_first

LINE = b"7f0000%06x-7f0000%06x rw-p 00000000 00:00 0 \n"


def maps_text(count: int) -> bytes:
    return b"".join(LINE % (2 * i * 4096, (2 * i + 1) * 4096) for i in range(count))


def test_the_parse_calls_the_hook_between_pieces(monkeypatch):
    text = maps_text(3000)  # 135 000 bytes: parts of about 10 000 bytes
    monkeypatch.setattr(pieces, "PARSE_PIECE", 10_000)
    monkeypatch.setattr(pieces._pieces, "__defaults__", (10_000,))
    calls = []
    pieces.set_between_pieces(lambda: calls.append(1))
    try:
        columns = pieces.parse_in_pieces_to_columns([text], parse_maps, parse_maps_parts)
    finally:
        pieces.set_between_pieces(None)
    assert list(columns) == parse_maps(text)
    assert len(calls) >= len(text) // 15_000  # once a part, and there are many


def in_a_thread(function):
    out = []
    worker = threading.Thread(target=lambda: out.append(function()))
    worker.start()
    worker.join()
    return out[0]


def test_step_aside_waits_only_while_input_is_recent(monkeypatch):
    monkeypatch.setattr(input_first, "_last_input", float("-inf"))
    assert in_a_thread(input_first.step_aside) == 0.0  # nobody typing: no wait at all
    input_first.note_input()
    t0 = time.monotonic()
    slept = in_a_thread(input_first.step_aside)
    waited = time.monotonic() - t0
    assert slept > 0
    assert input_first.QUIET * 0.5 <= waited < input_first.LONGEST + 0.2
    input_first.note_input()
    assert input_first.step_aside() == 0.0  # the UI thread itself never waits


def test_a_held_key_delays_a_read_at_most_so_long(monkeypatch):
    # A key held down (auto-repeat) never lets QUIET pass: still, each step is bounded.
    monkeypatch.setattr(input_first.time, "monotonic", lambda: 100.0)
    monkeypatch.setattr(input_first.time, "sleep", lambda s: None)
    input_first.note_input()
    assert in_a_thread(input_first.step_aside) <= input_first.LONGEST + input_first._STEP


async def test_the_app_notes_keys(monkeypatch):
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.app import VmtopApp

    from .conftest import TUI_PROC

    app = VmtopApp(ProcFS(str(TUI_PROC)), 4242)
    async with app.run_test(size=(100, 30)) as pilot:
        monkeypatch.setattr(input_first, "_last_input", float("-inf"))
        await pilot.press("j")
        assert time.monotonic() - input_first._last_input < 5
    assert pieces._between_pieces is input_first.step_aside
