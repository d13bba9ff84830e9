"""Live: tests/c/fold_pages.c mprotects every other page of a mapping of 1 000 pages
(500 regions given other permissions in one sample: one line of `vmtop watch`'s text,
where they were 500), and writes the next 256 KiB of four blocks, step after step (four
regions' resident memory rising alike every sample: one line of the TUI's log, its
samples counted, where it was a line a sample).

Ground truth: the kernel's maps and smaps of the child, and what the child says it did.
"""

from __future__ import annotations

import subprocess
import time
from itertools import groupby

import pytest
from helpers_diff import WatchProcess, span
from test_event_floods_live import as_events, regions_of, text_lines
from test_watch_fold import watch, watched

from vmtop.commands.watch import format_size
from vmtop.model import event_runs
from vmtop.model import events as ev

pytestmark = pytest.mark.live

PAGE = 4096
PAGES = 1000
BLOCKS = 4
BLOCK = 16 << 20
STEP = 256 << 10
STEPS = 6


def kernel_lines(pid: int, lo: int, hi: int) -> list[tuple[int, int, str, int]]:
    """The child's smaps lines over [lo, hi), cut to it (the kernel joins the last page
    to anonymous memory after it): start, end, permissions, Rss bytes (the line's)."""
    out = []
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                start, end = (int(x, 16) for x in head[0].split("-"))
                inside = start < hi and end > lo
                if inside:
                    out.append([max(start, lo), min(end, hi), head[1], 0])
            elif inside and head[0] == "Rss:":
                out[-1][3] = int(head[1]) * 1024
    return [tuple(x) for x in out]


def start(compile_c, spawn):
    child = spawn([compile_c("fold_pages.c")], stdin=subprocess.PIPE)
    word, pages, blocks = child.read_line(20).split()
    assert word == "ready"
    return child, int(pages, 16), int(blocks, 16)


def ask(child, word: str) -> int:
    child.proc.stdin.write(f"{word}\n".encode())
    child.proc.stdin.flush()
    answer, number = child.read_line(20).split()
    assert answer.startswith(word[:4])
    return int(number)


def wait_until(what, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError("the watch did not see it in time")
        time.sleep(0.05)


def test_pages_given_other_permissions_in_a_sample_are_one_line(compile_c, spawn, tmp_path):
    child, pages, _ = start(compile_c, spawn)
    end = pages + PAGES * PAGE
    scripts = WatchProcess(child.pid, interval=0.2)
    scripts.wait_ready()
    text_out = open(tmp_path / "text", "w+")
    text = watch(text_out, str(child.pid), "--interval", "0.2")
    try:
        assert ask(child, "protect") == PAGES // 2

        def changed() -> list[dict]:
            return [r for r in scripts.events if r["event"] == ev.PROTECTION_CHANGED
                    and pages <= span(r)[0] < end]  # fmt: skip

        wait_until(lambda: len(changed()) == PAGES // 2)
        wait_until(lambda: (tmp_path / "text").read_text().count("protection_changed") > 0)
        time.sleep(0.5)  # (the text's watch: a sample or two more)
    finally:
        text.send_signal(2)
        out = watched(text, text_out)
        scripts.stop()
    # The kernel: 1 000 regions of a page, every other one read-only.
    lines = kernel_lines(child.pid, pages, end)
    assert len(lines) == PAGES
    made = [(s, e) for s, e, perms, _ in lines if perms == "r--p"]
    assert len(made) == PAGES // 2 and all(e - s == PAGE for s, e in made)
    # --json: every region's event.
    assert sorted(map(span, changed())) == made
    assert {r["detail"] for r in changed()} == {"rw-p -> r--p (mprotect)"}
    # The text: each sample's in one line (a read in the middle of the 500 calls sees
    # part: two samples), the 500 in all, each line's size its regions' pages.
    said = [m for m in text_lines(out) if m["event"] == ev.PROTECTION_CHANGED
            and pages <= int(m["start"], 16) < end]  # fmt: skip
    assert sum(map(regions_of, said)) == PAGES // 2, out
    assert all(m["size"] == format_size(regions_of(m) * PAGE) for m in said)
    assert all(m["words"] == "rw-p -> r--p (mprotect)" for m in said)
    times = [m["time"] for m in said]
    assert len(said) <= 2 * len(set(times)) and len(said) < 10, out


def test_regions_growing_alike_every_sample_are_one_line_of_the_log(compile_c, spawn):
    child, _, blocks = start(compile_c, spawn)
    stride = BLOCK + PAGE
    hi = blocks + BLOCKS * stride
    starts = [blocks + b * stride for b in range(BLOCKS)]
    scripts = WatchProcess(child.pid, interval=0.2)
    scripts.wait_ready()

    def theirs() -> list[dict]:
        return [r for r in scripts.events if r["event"] == ev.RSS_CHANGED
                and span(r)[0] in starts]  # fmt: skip

    try:
        for step in range(1, STEPS + 1):
            grown = ask(child, "grow")
            assert grown == step * STEP
            # Each step seen before the next: a sample (or two) of its own.
            wait_until(lambda n=grown: sum(r["delta"] for r in theirs()) == BLOCKS * n)
    finally:
        scripts.stop()
    # The kernel: each block holds what the child wrote of it.
    rss = {s: r for s, _, perms, r in kernel_lines(child.pid, blocks, hi) if perms == "rw-p"}
    assert sorted(rss) == starts and set(rss.values()) == {STEPS * STEP}
    # The samples that saw three or more of them grow: those the log folds.
    events = as_events(scripts.events)
    ours = as_events(theirs())
    alike = [list(g) for _, g in groupby(ours, key=lambda e: e.time)]
    alike = [sample for sample in alike if len(sample) >= event_runs.ALIKE_FROM]
    assert len(alike) >= 2
    # The TUI's log, given the events sample by sample as the sampler does.
    runs: list[event_runs.EventRun] = []
    for _, sample in groupby(events, key=lambda e: e.time):
        event_runs.add_events(runs, list(sample), 5000)
    folded = [r for r in runs if r.regions > 1 and r.event.event == ev.RSS_CHANGED]
    assert len(folded) == 1, [(r.event.time, r.regions, r.count) for r in runs]
    (line,) = folded
    assert line.samples == len(alike)
    assert line.count == sum(map(len, alike))
    assert line.event.delta == sum(e.delta for sample in alike for e in sample)
    assert (line.event.start, line.event.end) == (blocks, starts[-1] + BLOCK)
    # A replay's log, given them all at once, reads the same.
    at_once: list[event_runs.EventRun] = []
    event_runs.add_events(at_once, events, 5000)
    assert at_once == runs
