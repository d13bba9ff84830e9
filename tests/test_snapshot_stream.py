"""`vmtop snapshot` streams: the map is read and written a piece at a time.

Ground truth is the whole-snapshot path (take_snapshot and the renderers, themselves
checked against pmap and the fixtures' recorded expectations): in one piece the
streamed output is the same, byte for byte (JSON: the same object); in many small
pieces the same regions, figures, kinds, totals and objects.
"""

from __future__ import annotations

import io
import json

import pytest
from conftest import PROC_FIXTURES

from vmtop.output.csv_out import write_csv
from vmtop.output.json_out import write_json
from vmtop.output.pmap import render_pmap
from vmtop.output.streamed import HeldBack, write_snapshot
from vmtop.procfs.errors import ProcError
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

PROCFS = ProcFS(str(PROC_FIXTURES))


def _readable() -> list[tuple[int, bool]]:
    out = []
    for pid in PROCFS.pids():
        for smaps in (True, False):
            try:
                take_snapshot(PROCFS, pid, smaps=smaps)
            except ProcError:
                continue
            out.append((pid, smaps))
    return out


CASES = _readable()


def _whole(pid: int, smaps: bool, fmt: str) -> str:
    snap = take_snapshot(PROCFS, pid, smaps=smaps)
    if fmt == "pmap":
        return render_pmap(snap)
    out = io.StringIO()
    (write_json if fmt == "json" else write_csv)(snap, out, procfs=PROCFS)
    return out.getvalue()


def _streamed(pid: int, smaps: bool, fmt: str, chunk: int = 4 << 20) -> str:
    out = io.StringIO()
    write_snapshot(PROCFS, pid, fmt, out, smaps=smaps, chunk=chunk)
    return out.getvalue()


def _without_time(text: str) -> dict:
    record = json.loads(text)
    del record["taken_at"]
    return record


def test_there_are_cases() -> None:
    assert len(CASES) >= 12


@pytest.mark.parametrize(("pid", "smaps"), CASES)
def test_one_piece_is_the_whole_snapshot(pid: int, smaps: bool) -> None:
    assert _streamed(pid, smaps, "pmap") == _whole(pid, smaps, "pmap")
    assert _streamed(pid, smaps, "csv") == _whole(pid, smaps, "csv")
    assert _without_time(_streamed(pid, smaps, "json")) == _without_time(_whole(pid, smaps, "json"))


@pytest.mark.parametrize(("pid", "smaps"), [c for c in CASES if c[0] != 90001])
@pytest.mark.parametrize("chunk", [300, 2000])
def test_many_pieces_give_the_same_regions(pid: int, smaps: bool, chunk: int) -> None:
    # 90001 is a torn read: across pieces, what was written stays (see snapshot_stream).
    assert _streamed(pid, smaps, "pmap", chunk) == _whole(pid, smaps, "pmap")
    ours = _without_time(_streamed(pid, smaps, "json", chunk))
    whole = _without_time(_whole(pid, smaps, "json"))
    assert ours == whole


def test_json_says_what_it_is_first() -> None:
    pid, smaps = CASES[0]
    text = _streamed(pid, smaps, "json")
    assert text.startswith('{"format": "vmtop-snapshot", "format_version": 1, "pid": ')
    assert text.endswith("}\n")


def test_held_back_output_is_written_only_past_its_limit() -> None:
    out = io.StringIO()
    sink = HeldBack(out, limit=10)
    sink.write("12345")
    assert out.getvalue() == ""
    sink.write("678901")
    assert out.getvalue() == "12345678901"
    sink.write("x")
    assert out.getvalue() == "12345678901x"


def test_an_error_before_the_limit_writes_nothing(tmp_path) -> None:
    out = io.StringIO()
    with pytest.raises(ProcError):
        write_snapshot(ProcFS(str(tmp_path)), 12345, "json", out)
    assert out.getvalue() == ""
