"""`vmtop diff REC FROM TO` puts its answer first: the totals and what is different at B,
then the events recorded between, folded as watch folds them and bounded.

Before, every recorded event came first: 60 s of a Node process were 292 lines with the
answer at line 278, and minutes of it thousands of lines. Ground truth is a recording
written by the real writer from fixture snapshots (the map of a real process, one
anonymous region mapped a sample, then 40 at once): the events the reader gives back
are counted against the lines printed; ``--json`` keeps every one of them.
"""

from __future__ import annotations

import json
import re
import shlex

import pytest
from conftest import run_vmtop
from test_recording import fixture_sequence, write

from vmtop.record.reader import Recording

STEPS = 70  # samples, each mapping one region: more lines than the default bound (40)
AT_ONCE = 40  # regions mapped in one sample: one line, "in 40 regions"
FOLDED_AT = 10  # the step that maps them (among the first lines printed)
# An event line: its time, the event and its change (of regions alike, how many).
EVENT_LINE = re.compile(
    r"^  \d\d:\d\d:\d\d\.\d{3}  (?P<event>\w+) +[+-]?[\d.]+ \w+(?: in (?P<n>[\d ]+) regions)?"
)
NOT_PRINTED = re.compile(r"^  … (?P<n>[\d ]+) (?:more )?events? \((?P<lines>[\d ]+) lines?\)")


def _mapping_snapshots() -> list:
    """The fixture process's map, then a new anonymous region every sample (40 at
    once in one of them), each 128 KiB above the last."""
    base = fixture_sequence()[0]
    regions = list(base.regions)
    top = regions[-3]  # (below the stack, vdso and vsyscall)
    snaps = [base]
    at = top.end + 0x100000
    for step in range(1, STEPS + 1):
        for _ in range(AT_ONCE if step == FOLDED_AT else 1):
            regions.append(
                top._replace(
                    start=at, end=at + 0x20000, path="", inode=0, dev="00:00", kind="anon", rss=8192
                )
            )
            at += 0x40000  # (apart: neighbours of the same permissions would merge)
        regions.sort(key=lambda r: r.start)
        snaps.append(base._replace(taken_at=base.taken_at + step, regions=tuple(regions)))
    return snaps


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """The recording, and the events the reader gives back of it (all after sample 1)."""
    path = tmp_path_factory.mktemp("difftext") / "r.jsonl.gz"
    write(path, _mapping_snapshots())
    events = [e for _i, e in Recording.open(str(path)).events()]
    assert len(events) == STEPS - 1 + AT_ONCE
    return path, events


def _diff(path, *words) -> list[str]:
    out = run_vmtop("diff", path, *words)
    assert out.returncode == 1, out.stderr.decode()
    return out.stdout.decode().splitlines()


def _events_of(lines: list[str]) -> tuple[list[re.Match], list[re.Match]]:
    """The event lines and the lines saying how many were not printed."""
    said = [m for m in map(EVENT_LINE.match, lines) if m]
    left_out = [m for m in map(NOT_PRINTED.match, lines) if m]
    return said, left_out


def _count(m: re.Match, group: str = "n") -> int:
    return int((m[group] or "1").replace(" ", ""))


def test_the_answer_comes_before_the_events_recorded(recording):
    path, events = recording
    lines = _diff(path, "start", "end")
    different = next(k for k, ln in enumerate(lines) if ln.startswith("What is different at B"))
    recorded = next(k for k, ln in enumerate(lines) if ln.startswith("Recorded between A and B"))
    said, _ = _events_of(lines)
    # Header, totals, what is different at B (the new regions), then the events.
    assert lines[0].startswith("Recording ") and lines[1].startswith("A  ")
    assert lines[2].startswith("B  ") and lines[3].lstrip().startswith("size ")
    assert different < recorded < lines.index(said[0].string)
    assert f"{len(events)} events: mapped {len(events)}" in lines[recorded]
    # (The answer: every region mapped since A, new at B.)
    assert lines[different].startswith(
        f"What is different at B, region by region: {len(events)} new"
    )


def test_the_events_are_bounded_and_say_how_many_are_left_out(recording):
    path, events = recording
    lines = _diff(path)
    said, left_out = _events_of(lines)
    assert len(said) == 40  # the default: the first 20 and the last 20
    (gap,) = left_out
    k = lines.index(gap.string)
    assert lines.index(said[19].string) == k - 1 and lines.index(said[20].string) == k + 1
    shown = sum(map(_count, said))
    assert _count(gap) == len(events) - shown  # every event printed or counted
    # The alike regions of one sample (40) are one line: among the first 20 lines.
    assert [_count(m) for m in said].count(AT_ONCE) == 1
    runs = STEPS - 1 + 1  # a line a sample (those 40 in one)
    assert _count(gap, "lines") == runs - 40
    # The line says how to print them all, and that command does.
    command = shlex.split(gap.string.split(": ", 1)[1])
    assert command[:2] == ["vmtop", "diff"] and command[-2:] == ["--events", "all"]
    every, none_left = _events_of(_diff(*command[2:]))
    assert not none_left and len(every) == runs
    assert sum(map(_count, every)) == len(events)


@pytest.mark.parametrize("bound", ["6", "7"])
def test_events_n_prints_the_first_and_the_last_of_n_lines(recording, bound):
    path, events = recording
    lines = _diff(path, "start", "end", "--events", bound)
    said, (gap,) = _events_of(lines)
    n = int(bound)
    assert len(said) == n
    first = lines.index(gap.string) - lines.index(said[0].string)
    assert first == n - n // 2
    assert sum(map(_count, said)) + _count(gap) == len(events)
    # The last line printed is of the last sample: the very last event.
    assert said[-1].string.startswith("  " + _clock(events[-1].time))


def test_events_none_prints_only_how_many_and_all_every_one(recording):
    path, events = recording
    said, (gap,) = _events_of(_diff(path, "--events", "none"))
    assert not said and _count(gap) == len(events)
    said, left_out = _events_of(_diff(path, "--events", "all"))
    assert not left_out and sum(map(_count, said)) == len(events)


def test_json_keeps_every_event_whatever_the_bound(recording):
    path, events = recording
    for words in ((), ("--events", "2"), ("--events", "none")):
        out = run_vmtop("diff", path, "--json", *words)
        assert out.returncode == 1, out.stderr.decode()
        doc = json.loads(out.stdout)
        assert len(doc["events"]) == len(events)
        assert [r["start"] for r in doc["events"]] == [f"0x{e.start:x}" for e in events]


@pytest.mark.parametrize("word", ["some", "-3", "1.5"])
def test_a_bad_bound_is_a_usage_error(recording, word):
    path, _events = recording
    out = run_vmtop("diff", path, "--events", word)
    assert out.returncode == 2 and b"all, none or a number of lines" in out.stderr, out


def test_the_help_says_what_events_does():
    out = run_vmtop("diff", "--help").stdout.decode()
    assert "--events all|none|N" in out and "--json keeps every event" in " ".join(out.split())


def _clock(t: float) -> str:
    import time

    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"
