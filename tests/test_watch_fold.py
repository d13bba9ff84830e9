"""`vmtop watch`: of one sample, regions mapped (or unmapped) alike are one line of its
text, every one of them a line of its JSON.

One growth of Node's JavaScript heap was 1 696 ``mapped`` lines of 256 KiB V8 pages in
one sample, 1 558 ``unmapped`` when it shrank (review): the rest of the sample was lost
among them. Here: events as the diff gives them, a /proc tree rewritten between two
snapshots, and a real Node process whose heap grows by 200 MB.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import signal
import subprocess
import textwrap
import time
from collections import Counter

import pytest
from helpers_diff import (
    HEAP,
    VMTOP,
    KiB,
    MiB,
    base_regions,
    maps_text,
    region,
    write_atomically,
)

from vmtop.commands.watch import format_size
from vmtop.model import kinds
from vmtop.model.event_words import size_text
from vmtop.model.events import Event

V8_GREW = "a V8 heap page: Node's JavaScript heap grew (V8 maps it in 256 KiB-aligned pages)"


def v8_pages(t: float, n: int) -> list[Event]:
    pages = []
    for i in range(n):
        start = 0x0019_0BF8_0000 + i * 0x3_0004_0000
        rss = 232 * KiB if i % 4 == 0 else 256 * KiB
        pages.append(Event(t, "mapped", start, start + 256 * KiB, kinds.ANON, 256 * KiB,
                           256 * KiB, detail=f"{V8_GREW}; {size_text(rss)} resident",
                           rss=rss, object="V8 heap page"))  # fmt: skip
    return pages


def test_the_text_says_the_pages_of_a_sample_in_one_line_the_json_each():
    from vmtop.commands.watch import _human_lines, _json_lines

    t = 1_790_000_000.0
    pages = v8_pages(t, 1696)
    heap = Event(t, "heap_grew", HEAP, HEAP + MiB, kinds.HEAP, MiB, MiB, "[heap]", detail="brk")
    sample = [heap, *pages]

    text = io.StringIO()
    _human_lines(sample, text)
    lines = text.getvalue().splitlines()
    assert len(lines) == 2 and "heap_grew" in lines[0]
    rss = sum(p.rss for p in pages)
    assert re.search(
        r"  mapped +\+424\.0 MiB in 1 696 regions  within 0x00190bf80000-0x13f626780000  anon +"
        rf"V8 heap page  \({re.escape(V8_GREW)}; {re.escape(size_text(rss))} resident\)$",
        lines[1],
    ), lines[1]

    scripts = io.StringIO()
    _json_lines(sample, scripts)
    records = [json.loads(line) for line in scripts.getvalue().splitlines()]
    assert len(records) == 1697  # every event, for scripts to sum as they like
    assert sum(r["size"] for r in records if r["event"] == "mapped") == 424 * MiB


# -- a /proc tree rewritten between two snapshots ----------------------------------------

PID = 4243


def watch(out, *args: str) -> subprocess.Popen:
    """`vmtop watch ARGS` writing to the file ``out`` (a pipe not read while it runs
    would fill, and stop it), once it has taken its first snapshot."""
    child = subprocess.Popen(
        [*VMTOP, "watch", *args], stdout=out, stderr=subprocess.PIPE, text=True
    )
    for line in child.stderr:  # (its first snapshot is taken before it says so)
        if "watching PID" in line:
            return child
    raise AssertionError(f"vmtop watch did not start (exit {child.wait()})")


def watched(child: subprocess.Popen, out) -> str:
    """What the watch wrote, once it has ended."""
    child.stderr.close()
    assert child.wait(20) == 0
    with out:
        out.seek(0)
        return out.read()


@pytest.mark.live
def test_watch_of_a_proc_tree_folds_blocks_mapped_alike_in_its_text(tmp_path):
    """Twelve blocks of 1 MiB mapped in one sample (a program's big mallocs): one line,
    which says them all; its JSON has the twelve."""
    pid_dir = tmp_path / str(PID)
    pid_dir.mkdir()
    fields = f"1 {PID} {PID} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1000"
    write_atomically(pid_dir / "stat", f"{PID} (demo) S {fields}" + " 0" * 20 + "\n")
    write_atomically(
        pid_dir / "status", f"Name:\tdemo\nPid:\t{PID}\nUid:\t0\t0\t0\t0\nThreads:\t1\n"
    )
    (pid_dir / "cmdline").write_bytes(b"./demo\0")
    write_atomically(pid_dir / "maps", maps_text(base_regions()))
    # Each watch's second sample must come after both have started and the map changed:
    # at 0.3 s the text's had come and gone while the JSON's started (CI, under load).
    common = [str(PID), "--proc-root", str(tmp_path), "--interval", "4", "--count", "2"]
    text_out, json_out = (open(tmp_path / name, "w+") for name in ("text", "json"))
    text, scripts = watch(text_out, *common), watch(json_out, *common, "--json")
    blocks = [0x7E00_0000_0000 + i * 4 * MiB for i in range(12)]
    write_atomically(
        pid_dir / "maps", maps_text(base_regions() + [region(b, b + MiB) for b in blocks])
    )
    out = watched(text, text_out)
    records = [json.loads(line) for line in watched(scripts, json_out).splitlines()]
    mapped = [r for r in records if r.get("event") == "mapped"]
    assert len(mapped) == 12 and sum(r["size"] for r in mapped) == 12 * MiB
    (line,) = out.splitlines()
    assert re.search(
        rf"  mapped +\+12\.0 MiB in 12 regions  within {blocks[0]:#014x}-{blocks[-1] + MiB:#014x}  "
        r"anon +\[anon\]  \(anonymous memory of 128 KiB or more",
        line,
    ), line


# -- a real Node process: its JavaScript heap grows by 200 MB -------------------------------

NODE = shutil.which("node")

# On "grow": 40 arrays of 50 000 small objects, kept (about 200 MB of heap); the heap
# sizes V8 says before and after, after a full GC.
GROW_JS = textwrap.dedent(
    """
    const readline = require('readline');
    const keep = [];
    const say = (what) => {
      global.gc();
      const m = process.memoryUsage();
      console.log(what, m.heapTotal);
    };
    say('ready');
    readline.createInterface({ input: process.stdin }).on('line', (line) => {
      if (line !== 'grow') process.exit(0);
      for (let i = 0; i < 40; i++) {
        const chunk = new Array(50000);
        for (let j = 0; j < chunk.length; j++) chunk[j] = { a: j, b: i, c: 'x' + j };
        keep.push(chunk);
      }
      say('grown');
    });
    """
)

# A text line of V8 heap pages that came or went: mapped or unmapped (one, or folded), or
# committed from (released to) address space V8 had reserved, which is one a line.
V8_LINE = re.compile(
    r"^(?P<time>\S+)  (?P<event>mapped|unmapped|reserve_committed|reserve_released) +"
    r"(?P<size>[+-]?[\d.]+ \w+)(?: in (?P<regions>[\d ]+) regions)?  (?:within )?"
    r"0x(?P<start>[0-9a-f]+)-0x(?P<end>[0-9a-f]+)  anon +V8 heap page  \("
)
CAME = ("mapped", "reserve_committed")
WENT = ("unmapped", "reserve_released")


def pages_came(event: str, n: int) -> int:
    return n if event in CAME else -n


@pytest.mark.live
@pytest.mark.skipif(NODE is None, reason="node is not installed: no V8 heap to watch")
def test_watch_of_node_says_its_heap_growth_in_a_line_a_sample(spawn, tmp_path):
    """Node's heap grows by 200 MB: V8 maps hundreds of 256 KiB pages in a sample. The
    text has a line or two of them a sample (it had one a page); its regions and bytes
    are those of the JSON's events, from a watch at the same time; and they add up to
    what V8 says its heap grew by. Node is stopped while the watches take their first
    and last looks, so both see the same two maps."""
    script = tmp_path / "grow.js"
    script.write_text(GROW_JS)
    node = spawn([NODE, "--expose-gc", str(script)], stdin=subprocess.PIPE)
    before = int(node.read_line(20).split()[1])
    node.stop()
    common = [str(node.pid), "--interval", "0.25"]
    text_out, json_out = (open(tmp_path / name, "w+") for name in ("text", "json"))
    text, scripts = watch(text_out, *common), watch(json_out, *common, "--json")
    try:
        node.cont()
        node.proc.stdin.write(b"grow\n")
        node.proc.stdin.flush()
        grown = int(node.read_line(60).split()[1])
        time.sleep(1.0)
        node.stop()
        time.sleep(1.0)  # both take a look at the map as it stays
    finally:
        for watcher in (text, scripts):
            watcher.send_signal(signal.SIGINT)
        out, by_json = watched(text, text_out), watched(scripts, json_out)
        node.cont()
        node.proc.stdin.close()  # (node exits on its end)
    records = [json.loads(line) for line in by_json.splitlines()[1:]]
    pages = [r for r in records if r.get("object") == "V8 heap page"
             and r["event"] in CAME + WENT]  # fmt: skip
    per_sample = Counter((r["time"], r["event"]) for r in pages)
    assert max(per_sample.values()) >= 100, per_sample  # the flood there was to fold
    assert {r["size"] for r in pages} == {256 * KiB}

    lines = [m for m in map(V8_LINE.match, out.splitlines()) if m]
    folded = [m for m in lines if m["event"] in ("mapped", "unmapped")]
    per_line = Counter((m["time"], m["event"]) for m in folded)
    assert max(per_line.values()) <= 2, per_line  # a line of them a sample, two at most
    regions = {m: int((m["regions"] or "1").replace(" ", "")) for m in lines}
    assert max(regions.values()) >= 100
    for m, n in regions.items():  # each line's bytes: its regions', 256 KiB each
        said = pages_came(m["event"], n) * 256 * KiB
        assert m["size"] in (format_size(said, signed=True), format_size(said)), m.group(0)
        assert int(m["end"], 16) - int(m["start"], 16) >= n * 256 * KiB

    # Both watches saw the same first and last map: the pages that came, less those that
    # went, are as many in the text's lines as in the JSON's events.
    pages_text = sum(pages_came(m["event"], n) for m, n in regions.items())
    pages_json = sum(pages_came(r["event"], 1) for r in pages)
    assert pages_text == pages_json > 0
    # And what V8 says: its heap (the pages, its large objects, a little code space)
    # grew by about as much.
    large = [r for r in records if r.get("object") == "V8 large object"
             and r["event"] in ("mapped", "unmapped")]  # fmt: skip
    v8_bytes = pages_json * 256 * KiB + sum(r["delta"] for r in large)
    assert abs(v8_bytes - (grown - before)) <= 0.1 * (grown - before), (v8_bytes, grown, before)


def test_a_recordings_events_and_its_diff_say_the_pages_of_a_sample_in_one_line(tmp_path):
    # `replay REC --events` and `diff REC` printed every page a line too, as watch did.
    from conftest import PROC_FIXTURES, run_vmtop

    from vmtop.procfs.reader import ProcFS
    from vmtop.procfs.snapshot import take_snapshot
    from vmtop.record.reader import Recording
    from vmtop.record.writer import RecordingWriter

    base = take_snapshot(ProcFS(str(PROC_FIXTURES)), 7925)
    t = 1_790_000_000.0
    snaps = [base._replace(taken_at=t + i) for i in range(3)]
    pages = v8_pages(t + 1, 40)
    path = tmp_path / "r.jsonl.gz"
    writer = RecordingWriter(str(path), interval=1.0)
    for i, snap in enumerate(snaps):
        writer.write_sample(snap, pages if i == 1 else [])
    writer.close()
    assert len([e for _, e in Recording.open(str(path)).events()]) == 40  # kept, each
    text = run_vmtop("replay", path, "--events").stdout.decode().splitlines()
    assert len(text) == 1 and " in 40 regions " in text[0], text
    as_json = run_vmtop("replay", path, "--events", "--json").stdout.decode().splitlines()
    assert len(as_json) == 41  # its header, then every event
    said = run_vmtop("diff", path, "start", "end").stdout.decode()
    assert [ln for ln in said.splitlines() if "V8 heap page" in ln] == [
        ln for ln in said.splitlines() if " in 40 regions " in ln
    ], said
    assert " in 40 regions " in said
