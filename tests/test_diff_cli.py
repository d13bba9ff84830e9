"""`vmtop diff`: two snapshots, or two moments of a recording, compared headless.

Before, `vmtop diff A.json B.json` said "unknown command or PID: 'diff'": nothing
compared two moments without the TUI.

Ground truth is a live C child (tests/c/diff_moments.c) that prints the address and
size of everything it maps: a 100 MiB malloc, freed; a file mapped; 32 MiB mapped;
four threads; libm opened. Snapshots of it are taken with `vmtop snapshot --format json`
between the steps, and a recording is made with `vmtop record` while it runs them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, VMTOP, Child, run_vmtop

from vmtop.record.reader import Recording
from vmtop.record.timespec import clock_label

BIG = 100 << 20
FILE_SIZE = 4 << 20
PAGE = 4096


def _snapshot(pid: int, path) -> None:
    out = run_vmtop("snapshot", pid, "--format", "json")
    assert out.returncode == 0, out.stderr
    path.write_bytes(out.stdout)


def _step(child: Child, word: str) -> list[str]:
    child.proc.stdin.write(f"{word}\n".encode())
    child.proc.stdin.flush()
    return child.read_line().split()


def _diff(*args) -> tuple[int, str, str]:
    out = run_vmtop("diff", *args)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def _diff_json(*args) -> tuple[int, dict]:
    code, out, err = _diff("--json", *args)
    assert code in (0, 1), err
    return code, json.loads(out)


def _covers(change: dict, address: int) -> bool:
    return int(change["start"], 16) <= address < int(change["end"], 16)


def _maps_the_stack(event: dict, stack) -> bool:
    """Is ``event`` the mapping of ``stack`` (with its guard page or not)?"""
    lo, hi = int(event["start"], 16), int(event["end"], 16)
    return stack.start - 64 * 1024 <= lo <= stack.start and hi == stack.end


@pytest.fixture(scope="module")
def moments(tmp_path_factory, compile_c_once):
    """Snapshots of the child: s0 at the start, s1 with the 100 MiB block, s2 after it
    was freed and the file, the 32 MiB and libm were mapped; and what the child said."""
    exe = compile_c_once("diff_moments.c", "-lpthread", "-ldl")
    where = tmp_path_factory.mktemp("diff")
    data = where / "data.bin"
    data.write_bytes(b"\1" * FILE_SIZE)
    child = Child([exe, data], stdin=subprocess.PIPE)
    said: dict[str, list[str]] = {}
    try:
        assert child.read_line() == "ready"
        _snapshot(child.pid, where / "s0.json")
        said["big"] = _step(child, "big")
        _snapshot(child.pid, where / "s1.json")
        for word in ("free", "file", "anon", "dlopen"):
            said[word] = _step(child, word)
        _snapshot(child.pid, where / "s2.json")
    finally:
        child.kill()
    return where, said


def test_two_snapshots_the_block_malloc_mapped(moments):
    where, said = moments
    block = int(said["big"][1], 16)
    code, doc = _diff_json(where / "s0.json", where / "s1.json")
    assert code == 1 and doc["changed"] and doc["compared"]
    assert doc["format"] == "vmtop-diff" and doc["format_version"] == 1
    assert doc["a"]["pid"] == doc["b"]["pid"] and doc["a"]["file"].endswith("s0.json")
    # The block is its own mapping or merged into the anonymous region next to it: a
    # region new or grown by the 100 MiB (and malloc's header page), holding its address.
    grown = [c for c in doc["changes"] if c["event"] in ("mapped", "grew") and _covers(c, block)]
    assert len(grown) == 1, doc["changes"]
    assert BIG <= grown[0]["delta"] <= BIG + 2 * PAGE
    assert doc["b"]["totals"]["rss"] - doc["a"]["totals"]["rss"] >= BIG
    # The field names of `watch --json` and `replay --events --json`.
    assert set(grown[0]) >= {"time", "event", "start", "end", "size", "delta", "kind", "path"}


def test_two_snapshots_the_block_freed_and_the_file_mapped(moments):
    where, said = moments
    block = int(said["big"][1], 16)
    file_at, file_size = int(said["file"][1], 16), int(said["file"][2])
    anon_at = int(said["anon"][1], 16)
    code, out, err = _diff(where / "s1.json", where / "s2.json")
    assert code == 1, err
    assert "What is different at B, region by region:" in out
    code, doc = _diff_json(where / "s1.json", where / "s2.json")
    changes = doc["changes"]
    files = [c for c in changes if c["event"] == "mapped" and c["path"].endswith("data.bin")]
    assert len(files) == 1
    assert (int(files[0]["start"], 16), files[0]["size"]) == (file_at, file_size)
    assert files[0]["kind"] == "file"
    # The freed block: gone, or cut from its neighbour; or, where the 32 MiB went where
    # it was, that region is the block's split (two maps cannot tell which happened).
    freed = [c for c in changes if _covers(c, block) or _covers(c, anon_at)]
    assert freed, changes
    assert any(c["delta"] <= -BIG for c in freed) or any(
        c["event"] == "split" and "cannot tell" in c["detail"] for c in freed
    ), freed
    if said["dlopen"][1] != "(nil)":
        assert any("libm" in c["path"] and c["event"] == "mapped" for c in changes)
    assert not any("MAP_FIXED" in c.get("detail", "") for c in changes)


def test_the_same_snapshot_twice_is_no_change(moments):
    where, _said = moments
    code, out, err = _diff(where / "s0.json", where / "s0.json")
    assert code == 0, err
    assert "nothing (the same regions" in out
    code, doc = _diff_json(where / "s0.json", where / "s0.json")
    assert code == 0 and doc["changes"] == [] and doc["changed"] is False


def test_snapshots_of_two_processes_are_compared_by_their_totals_only(moments, tmp_path):
    where, _said = moments
    other = tmp_path / "other.json"
    _snapshot(os.getpid(), other)
    code, out, err = _diff(where / "s0.json", other)
    assert code == 1, err
    assert "Regions not compared: they are of two processes" in out
    assert "RSS " in out and "regions " in out
    # The processes' start times are their identity, in clock ticks: no time to print.
    ticks = json.loads(other.read_text())["start_time"]
    assert f"started at {ticks}" not in out and "after boot" in out
    code, doc = _diff_json(where / "s0.json", other)
    assert doc["compared"] is False and "two processes" in doc["not_compared"]
    assert doc["changes"] == []


# -- a recording ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, compile_c_once):
    """A recording of the child running every step, a second apart: (path, what the
    child said)."""
    exe = compile_c_once("diff_moments.c", "-lpthread", "-ldl")
    where = tmp_path_factory.mktemp("diff_rec")
    data = where / "data.bin"
    data.write_bytes(b"\1" * FILE_SIZE)
    path = where / "rec.jsonl.gz"
    child = Child([exe, data], stdin=subprocess.PIPE)
    said: dict[str, list[str]] = {}
    try:
        assert child.read_line() == "ready"
        recorder = subprocess.Popen(
            [*VMTOP, "record", str(child.pid), "-o", str(path), "--interval", "0.1"],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            time.sleep(1.0)
            for word in ("big", "free", "file", "anon", "threads", "dlopen"):
                said[word] = _step(child, word)
                time.sleep(1.0)
        finally:
            recorder.send_signal(signal.SIGINT)
            _out, err = recorder.communicate(timeout=30)
        assert recorder.returncode == 0, err
    finally:
        child.kill()
    return path, said


def _moments_of(path, block: int) -> tuple[str, str, str, Recording]:
    """Times (as the replay prints them) of the last sample before the 100 MiB block was
    mapped, the last one with it, and the last sample."""
    rec = Recording.open(str(path))

    def sample_of(name: str) -> int:
        return next(i for i, e in rec.events() if e.event == name and e.start <= block < e.end)

    mapped, unmapped = sample_of("mapped"), sample_of("unmapped")
    assert mapped > 0, "the recording started late"
    times = [rec.time_of(i) for i in (mapped - 1, unmapped - 1, len(rec) - 1)]
    before, during, end = (clock_label(t, rec.digits, trim=True) for t in times)
    return before, during, end, rec


def test_a_recording_between_two_moments_says_what_happened_between(recorded):
    """A before the 100 MiB malloc, B at the end: the block came and went between, so
    the two ends alone show nothing of it; the recording's events and peak do."""
    path, said = recorded
    block = int(said["big"][1], 16)
    before, _during, end, rec = _moments_of(path, block)
    code, doc = _diff_json(path, before, end)
    assert code == 1
    assert doc["recording"] == str(path)
    events = doc["events"]
    mapped = [e for e in events if e["event"] == "mapped" and _covers(e, block)]
    unmapped = [e for e in events if e["event"] == "unmapped" and _covers(e, block)]
    assert mapped and unmapped
    assert doc["counts"]["mapped"]["count"] == sum(e["event"] == "mapped" for e in events)
    assert doc["counts"]["unmapped"]["delta"] <= -BIG
    # The four thread stacks mapped between. (By where the stacks are at B: a sample
    # taken between a stack's mmap and its thread's start saw memory of a stack's shape
    # that no thread ran on yet, mapped as that.)
    at_b = [r for r in rec.snapshot(len(rec) - 1).regions if r.kind == "thread_stack"]
    stacks = [
        e for e in events if e["event"] == "mapped" and any(_maps_the_stack(e, r) for r in at_b)
    ]
    assert len(at_b) == 4 and len(stacks) == 4, (at_b, stacks)
    assert doc["rss_peak"]["rss"] >= BIG
    assert doc["a"]["totals"]["rss"] < BIG // 2 and doc["b"]["totals"]["rss"] < BIG // 2
    # The net change: new regions only where something was mapped; the thread stacks and
    # their guards are new, never the freed block's region split nor mprotected.
    changes = doc["changes"]
    assert not any(c["event"] in ("split", "protection_changed") for c in changes), changes
    new_stacks = [c for c in changes if c["event"] == "mapped" and c["kind"] == "thread_stack"]
    assert len(new_stacks) == 4
    file_at = int(said["file"][1], 16)
    assert any(c["event"] == "mapped" and int(c["start"], 16) == file_at for c in changes)
    assert not any(_covers(c, block) and abs(c["delta"]) >= BIG for c in changes)
    # The text says the same, with the peak.
    code, out, err = _diff(path, before, end)
    assert code == 1, err
    assert "RSS peak between A and B: " in out
    assert "Recorded between A and B: " in out, out
    # (the block's munmap, and under load now and then another one in between)
    tally = out.split("Recorded between A and B: ")[1].splitlines()[0]
    unmapped = re.search(r"unmapped (\d+) \(-(\d+)M\)", tally)
    assert unmapped and int(unmapped.group(2)) >= BIG >> 20, tally
    assert "split" not in out.split("What is different at B")[1]


def test_a_recording_from_the_block_to_the_end(recorded):
    path, said = recorded
    block = int(said["big"][1], 16)
    _before, during, end, _rec = _moments_of(path, block)
    code, doc = _diff_json(path, during, end)
    gone = [c for c in doc["changes"] if _covers(c, block) and c["delta"] <= -BIG]
    assert len(gone) == 1 and gone[0]["event"] in ("unmapped", "shrank"), doc["changes"]
    stacks = [c for c in doc["changes"] if c["kind"] == "thread_stack"]
    assert len(stacks) == 4 and all(c["event"] == "mapped" for c in stacks)


def test_a_recording_s_default_moments_are_its_start_and_end(recorded):
    path, _said = recorded
    _code, whole = _diff_json(path)
    _code, given = _diff_json(path, "start", "end")
    assert whole == given
    assert whole["a"]["sample"] == 1 and whole["b"]["sample"] == len(Recording.open(str(path)))


def test_a_time_before_the_end_is_no_option(recorded):
    path, _said = recorded
    code, out, err = _diff(path, "-2s", "-0s")
    assert code in (0, 1), err
    assert out.startswith("Recording ")


# -- trouble: exit status 2 -----------------------------------------------------------------


def test_snapshots_in_other_formats_say_which_format_is_read(moments, tmp_path):
    where, _said = moments
    pid = os.getpid()
    for form in ("pmap", "csv"):
        path = tmp_path / f"s.{form}"
        path.write_bytes(run_vmtop("snapshot", pid, "--format", form).stdout)
        code, out, err = _diff(where / "s0.json", path)
        assert code == 2 and out == ""
        assert f"is a --format {form} snapshot" in err
        assert "reads --format json snapshots only" in err and "--format json > FILE" in err


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"{not json", "is not JSON"),
        (b'{"format": "vmtop-where", "format_version": 1}', "JSON but not a vmtop snapshot"),
        (b'{"format": "vmtop-snapshot", "format_version": 2}', "format version 2"),
        (b'{"format": "vmtop-snapshot"}', "has no format_version"),
        (b'{"format": "vmtop-snapshot", "format_version": 1, "pid": 1}', "a bad field"),
    ],
)
def test_files_that_are_not_snapshots(moments, tmp_path, content, says):
    where, _said = moments
    path = tmp_path / "b.json"
    if content is not None:
        path.write_bytes(content)
    code, out, err = _diff(where / "s0.json", path)
    assert (code, out) == (2, ""), err
    assert err.startswith("vmtop: ") and says in err and err.count("\n") == 1


def test_a_recording_where_a_snapshot_was_expected(moments, recorded):
    where, _said = moments
    path, _ = recorded
    code, _out, err = _diff(where / "s0.json", path)
    assert code == 2
    assert "a recording, not a snapshot" in err and "vmtop diff REC FROM TO" in err


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (["nonsense"], "not a time"),
        (["start", "99m"], "TO 99m is outside the recording"),
    ],
)
def test_bad_times_of_a_recording(recorded, words, says):
    path, _ = recorded
    code, out, err = _diff(path, *words)
    assert (code, out) == (2, ""), err
    assert says in err


def test_usage_errors(moments):
    where, _said = moments
    code, _out, err = _diff(where / "s0.json")
    assert code == 2 and "two snapshots to compare" in err and err.startswith("usage: vmtop diff")
    code, _out, err = _diff(where / "s0.json", where / "s1.json", "5s")
    assert code == 2 and "a time TO follows a recording" in err


def test_diff_is_in_the_help_completion_and_man_page():
    out = subprocess.run(
        [sys.executable, "-m", "vmtop", "diff", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert out.returncode == 0
    assert "A.json B.json | REC [FROM [TO]]" in out.stdout and "diff(1)" in out.stdout
    man = run_vmtop("man").stdout.decode()
    assert ".SS diff" in man
