"""Live: of one sample, a figure that moved alike in many regions is one line of
`vmtop watch`'s text, of `vmtop replay --events`, of `vmtop diff REC` and of the TUI's
log; every event stays in --json and in the recording.

Node's heap grows by 250 MB (V8 fills its 256 KiB pages as it goes: hundreds of
``rss_changed`` a sample), and a C program with 500 regions forks (each region shared,
then copied), then frees them with MADV_FREE. Ground truth: the kernel's smaps, read
here while the programs are stopped or idle, and what V8 says of its heap.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import textwrap
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import run_vmtop, start_recording
from helpers_diff import WatchProcess, commanded
from test_watch_fold import watch, watched

from vmtop.commands.watch import format_size
from vmtop.model import event_runs
from vmtop.model.event_words import size_text
from vmtop.model.events import Event

NODE = shutil.which("node")
KiB = 1024
V8_PAGE = 256 * KiB

# On "grow": 60 arrays of 50 000 small objects, kept (about 250 MB of heap). Before and
# after, V8's heap after a full GC: the memory its spaces hold (physical_space_size).
GROW_JS = textwrap.dedent(
    """
    const readline = require('readline');
    const v8 = require('v8');
    const keep = [];
    const say = (what) => {
      global.gc();
      let physical = 0;
      for (const s of v8.getHeapSpaceStatistics()) physical += s.physical_space_size;
      console.log(what, physical);
    };
    say('ready');
    readline.createInterface({ input: process.stdin }).on('line', (line) => {
      if (line !== 'grow') process.exit(0);
      for (let i = 0; i < 60; i++) {
        const chunk = new Array(50000);
        for (let j = 0; j < chunk.length; j++) chunk[j] = { a: j, b: i, c: 'x' + j };
        keep.push(chunk);
      }
      say('grown');
    });
    """
)

# A line of the text: its time, event, change, and how many regions it stands for.
LINE = re.compile(
    r"^(?P<time>\S+)  (?P<event>\w+) +(?:RSS |shared |lazyfree )?(?P<size>[+-]?[\d.]+ \w+)"
    r"(?: in (?P<regions>[\d ]+) regions  within)?  ?0x(?P<start>[0-9a-f]+)-0x(?P<end>[0-9a-f]+)  "
    r"(?P<kind>\S+) +(?P<name>.*?)  \((?P<words>.*)\)$"
)


def v8_resident(pid: int) -> int:
    """The kernel's Rss of V8's heap pages and large objects in ``pid``: private rw
    anonymous regions starting 256 KiB aligned below 2^46 (vmtop.model.v8_pages)."""
    total, inside = 0, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                start = int(head[0].split("-")[0], 16)
                inside = (
                    head[1] == "rw-p" and head[4] == "0" and len(head) == 5
                    and start < 1 << 46 and not start % V8_PAGE
                )  # fmt: skip
            elif inside and head[0] == "Rss:":
                total += int(head[1]) * KiB
    return total


def text_lines(text: str) -> list[re.Match]:
    return [m for m in map(LINE.match, text.splitlines()) if m]


def regions_of(m: re.Match) -> int:
    return int((m["regions"] or "1").replace(" ", ""))


def as_events(records: list[dict]) -> list[Event]:
    """Events back from their JSON (`watch --json`, `replay --events --json`)."""
    return [
        Event(r["time"], r["event"], int(r.get("start", "0x0"), 16), int(r.get("end", "0x0"), 16),
              r.get("kind", ""), r["size"], r["delta"], r.get("path", ""), r.get("tid"),
              r.get("detail", ""), r.get("rss"), r.get("object"))
        for r in records
    ]  # fmt: skip


@pytest.mark.live
@pytest.mark.skipif(NODE is None, reason="node is not installed: no V8 heap to watch")
def test_node_heap_growth_is_a_line_a_sample_in_every_text(spawn, tmp_path):
    """Recorded (the TUI's sampler) and watched every 0.05 s: smaps is read every few
    samples, and V8's pages say what they hold a page at a time. Each text has a line a
    sample for them; the replay's text says, line by line, what its JSON's events of
    the sample sum to; and all of it adds up to what the kernel and V8 say."""
    script = tmp_path / "grow.js"
    script.write_text(GROW_JS)
    node = spawn([NODE, "--expose-gc", str(script)], stdin=subprocess.PIPE)
    before_v8 = int(node.read_line(20).split()[1])
    before = v8_resident(node.pid)
    rec = tmp_path / "grow.jsonl.gz"
    recorder = start_recording(node.pid, rec, 0.05)
    text_out = open(tmp_path / "text", "w+")
    text = watch(text_out, str(node.pid), "--interval", "0.05")
    try:
        node.proc.stdin.write(b"grow\n")
        node.proc.stdin.flush()
        grown_v8 = int(node.read_line(60).split()[1])
        time.sleep(0.5)
        node.stop()
        now = v8_resident(node.pid)
        time.sleep(1.0)  # read as it stays
    finally:
        recorder.send_signal(signal.SIGINT)
        text.send_signal(signal.SIGINT)
        recorder.wait(30)
        watched_text = watched(text, text_out)
        node.cont()
        node.proc.stdin.close()

    records = [json.loads(r) for r in run_vmtop("replay", rec, "--events", "--json")
               .stdout.decode().splitlines()[1:]]  # fmt: skip
    pages = [r for r in records if r.get("object") == "V8 heap page"]
    filled = Counter(r["time"] for r in pages if r["event"] == "rss_changed")
    assert max(filled.values()) >= 20, filled  # the flood there was to fold

    # What the kernel says V8's pages and large objects came to hold, and V8: the
    # events' resident changes (those of a region mapped with it, then its rises).
    v8 = [r for r in records if r.get("object") in ("V8 heap page", "V8 large object")]
    came = sum(r["delta"] for r in v8 if r["event"] == "rss_changed")
    came += sum((r.get("rss") or 0) * (1 if r["event"] == "mapped" else -1)
                for r in v8 if r["event"] in ("mapped", "unmapped"))  # fmt: skip
    assert abs(came - (now - before)) <= 0.03 * (now - before), (came, now - before)
    assert abs((now - before) - (grown_v8 - before_v8)) <= 0.05 * (grown_v8 - before_v8)

    # The replay's text: a line a sample for the pages that filled, which says what the
    # sample's events of them sum to.
    replayed = text_lines(run_vmtop("replay", rec, "--events").stdout.decode())
    assert len(replayed) < len(records) / 5, (len(replayed), len(records))
    by_sample: dict[tuple, list[dict]] = defaultdict(list)
    for r in pages:
        if r["event"] == "rss_changed":
            by_sample[(_clock(r["time"]), r["delta"] > 0)].append(r)
    lines = [m for m in replayed if m["event"] == "rss_changed" and m["name"] == "V8 heap page"]
    assert a_line_a_sample(lines)
    assert sum(map(regions_of, lines)) == sum(map(len, by_sample.values()))
    for m in lines:
        theirs = by_sample[(m["time"], m["size"].startswith("+"))]
        assert regions_of(m) == len(theirs), m.group(0)
        assert m["size"] == format_size(sum(r["delta"] for r in theirs), signed=True)
        if len(theirs) >= event_runs.ALIKE_FROM:
            assert re.search(
                r"pages faulted in( since they were mapped)?, in [\d ]+ regions", m["words"]
            )

    # `vmtop watch`'s text, and the recording's diff: a line a sample too.
    for said in (text_lines(watched_text), _recorded_between(rec)):
        lines = [m for m in said if m["event"] == "rss_changed" and m["name"] == "V8 heap page"]
        assert a_line_a_sample(lines)
        assert max(map(regions_of, lines)) >= event_runs.ALIKE_FROM

    # What is different at the recording's end from its start: the pages mapped since,
    # a line (they were a line a page), its regions and bytes those of the JSON.
    changes = json.loads(run_vmtop("diff", rec, "--json").stdout)["changes"]
    new = [r for r in changes if r["event"] == "mapped" and r.get("object") == "V8 heap page"]
    out = run_vmtop("diff", rec).stdout.decode().splitlines()
    first = next(k for k, line in enumerate(out) if line.startswith("What is different at B"))
    last = next(k for k, line in enumerate(out) if line.startswith("Recorded between"))
    # (A net change is of no one moment: its line has no time.)
    net = text_lines("\n".join("-  " + line[2:] for line in out[first + 1 : last]))
    (line,) = [m for m in net if m["event"] == "mapped" and m["name"] == "V8 heap page"]
    assert len(new) >= 100 and regions_of(line) == len(new)
    assert line["size"] == format_size(sum(r["delta"] for r in new), signed=True)

    # The TUI's log, given the recording's events as the replay gives them.
    runs: list[event_runs.EventRun] = []
    event_runs.add_events(runs, as_events(records), 5000)
    log = [r for r in runs if r.event.event == "rss_changed" and r.event.object == "V8 heap page"]
    per_sample = Counter((r.event.time, r.event.delta > 0) for r in log if r.regions > 1)
    assert per_sample and max(per_sample.values()) == 1
    assert sum(r.count for r in log) == sum(map(len, by_sample.values()))


def a_line_a_sample(lines: list[re.Match]) -> bool:
    """Whether of each sample, the rises (falls) of V8's pages are one line, or lines
    of their own where fewer than ``ALIKE_FROM`` (two, each with its size, say more than
    their sum)."""
    by_sample: dict[tuple, list[re.Match]] = defaultdict(list)
    for m in lines:
        by_sample[(m["time"], m["size"].startswith("+"))].append(m)
    for theirs in by_sample.values():
        alone = len(theirs) < event_runs.ALIKE_FROM and all(regions_of(m) == 1 for m in theirs)
        assert len(theirs) == 1 or alone, [m.group(0) for m in theirs]
    return bool(by_sample)


def _clock(t: float) -> str:
    """The time as the text prints it."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


def _recorded_between(rec) -> list[re.Match]:
    """The lines of `vmtop diff REC` after "Recorded between": every event (they come
    after the net changes, bounded unless asked for all)."""
    out = run_vmtop("diff", rec, "--events", "all").stdout.decode().splitlines()
    first = next(k for k, line in enumerate(out) if line.startswith("Recorded between"))
    return text_lines("\n".join(line[2:] for line in out[first + 1 :]))


# -- a fork of a process with 500 regions -------------------------------------------------


def regions_figure(pid: int, first: int, count: int, stride: int, name: str) -> int:
    """The kernel's figure ``name`` of the program's regions, summed."""
    total, inside = 0, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                start = int(head[0].split("-")[0], 16)
                inside = first <= start < first + count * stride
            elif inside and head[0] == name + ":":
                total += int(head[1]) * KiB
    return total


@pytest.mark.live
def test_five_hundred_regions_shared_copied_and_freed_are_a_line_each_time(compile_c, tmp_path):
    """500 regions of 256 KiB: forked (each shared with the child), copied on write by
    the child, freed with MADV_FREE. The text says each of the three in a line ("in 500
    regions"), its sum what the kernel's smaps says; --json has the 1 500 events."""
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.sampler import Sampler

    child = commanded(compile_c("fork_regions.c"))
    try:
        _, first, count, size, stride = child.stdout.readline().split()
        first, count, stride = int(first, 16), int(count), int(stride)
        scripts = WatchProcess(child.pid, interval=0.2)
        scripts.wait_ready()
        text_out = open(tmp_path / "text", "w+")
        text = watch(text_out, str(child.pid), "--interval", "0.2")
        sampler = Sampler(ProcFS(), child.pid)
        sampler.sample()
        log: list[event_runs.EventRun] = []
        truth = {}
        for command, figure in (("fork", "Shared_Dirty"), ("write", "Shared_Dirty"),
                                ("free", "LazyFree")):  # fmt: skip
            before = regions_figure(child.pid, first, count, stride, figure)
            child.stdin.write(command + "\n")
            while not child.stdout.readline().startswith("DONE"):
                pass
            time.sleep(1.0)  # the watches take a look, twice at least
            event_runs.add_events(log, sampler.sample().events, 5000)
            truth[command] = regions_figure(child.pid, first, count, stride, figure) - before
    finally:
        child.stdin.close()
        child.wait(20)
    scripts.stop()
    out = watched(text, text_out)
    assert truth["fork"] == count * int(size) == -truth["write"]
    assert truth["free"] >= count * int(size) - 64 * KiB  # (LazyFree: a batch may lag)

    # Every event in the JSON: a region each (a region the child was copying as a
    # sample was read is two: copied before it, and after).
    events = [e for e in scripts.events if first <= int(e.get("start", "0x0"), 16) < first
              + count * stride]  # fmt: skip
    for (event, sign), command in (
        (("shared_changed", 1), "fork"),
        (("shared_changed", -1), "write"),
        (("lazyfree_changed", 1), "free"),
    ):
        theirs = [e for e in events if e["event"] == event and (e["delta"] > 0) == (sign > 0)]
        assert len({e["start"] for e in theirs}) == count and len(theirs) <= count + 1
        assert abs(sum(e["delta"] for e in theirs) - truth[command]) < 64 * KiB
    # The text: a line each time, "in 500 regions" (two, where a sample cut the copying or
    # the freeing in two).
    lines = [m for m in text_lines(out) if first <= int(m["start"], 16) < first + count * stride]
    said = Counter((m["event"], m["size"][0]) for m in lines)
    assert said[("shared_changed", "+")] == 1 and said[("shared_changed", "-")] <= 2, said
    assert said[("lazyfree_changed", "+")] <= 2 and len(lines) <= 5, said
    for event, sign in (("shared_changed", "-"), ("lazyfree_changed", "+")):
        theirs = [m for m in lines if (m["event"], m["size"][0]) == (event, sign)]
        assert count <= sum(map(regions_of, theirs)) <= count + 1, theirs
    # The fork shares every region at once: its line says what the kernel says.
    (line,) = [m for m in lines if m["event"] == "shared_changed" and m["size"][0] == "+"]
    assert regions_of(line) == count and line["size"] == format_size(truth["fork"], signed=True)
    assert line["words"].startswith("pages now shared with another process, in 500 regions: ")
    assert line["words"].endswith(
        f": now {size_text(truth['fork'])} shared, the Rss unchanged by it"
    )
    # The TUI's sampler and log, a sample after each: a line each time.
    mine = [r for r in log if first <= r.event.start < first + count * stride]
    assert sorted((r.event.event, r.event.delta > 0, r.regions) for r in mine) == [
        ("lazyfree_changed", True, count),
        ("shared_changed", False, count),
        ("shared_changed", True, count),
    ]


# -- a JVM growing its heap ---------------------------------------------------------------

GROW_JAVA = textwrap.dedent(
    """
    import java.io.*;
    import java.util.*;
    public class Grow {
        public static void main(String[] a) throws Exception {
            List<byte[]> keep = new ArrayList<>();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
            System.out.println("READY");
            while (in.readLine() != null) {
                for (int i = 0; i < 300; i++) {
                    byte[] b = new byte[1 << 20];
                    Arrays.fill(b, (byte) 1);
                    keep.add(b);
                    Thread.sleep(5);
                }
                System.out.println("GROWN " + Runtime.getRuntime().totalMemory());
            }
        }
    }
    """
)
JAVAS = ["java", "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"]


def nmt_committed(jcmd: str, pid: int, what: str) -> int:
    """NMT's committed bytes of ``what`` ("Java Heap", "GC") in the JVM ``pid``."""
    out = subprocess.run(
        [jcmd, str(pid), "VM.native_memory", "summary"], capture_output=True, text=True,
        timeout=60,
    ).stdout  # fmt: skip
    found = re.search(rf"- +{re.escape(what)} \(reserved=\d+KB, committed=(\d+)KB\)", out)
    if found is None:
        pytest.skip(f"no NMT summary of {what}: {out[:200]}")
    return int(found[1]) * KiB


@pytest.mark.live
@pytest.mark.parametrize("java", JAVAS)
def test_a_jvm_committing_its_heap_and_tables_in_pieces_is_a_line_an_object(spawn, tmp_path, java):
    """The JVM grows its heap by 300 MiB, committing it and its collector's tables from
    their reserves a piece each (JDK 17's G1: five pieces of its tables a sample).
    Recorded: the replay's text has a line a sample for each object's pieces, which
    says what the sample's events of it sum to; the heap's add up to what NMT says."""
    jcmd = str(Path(java).with_name("jcmd")) if "/" in java else "jcmd"
    if not shutil.which(java) or not shutil.which(jcmd):
        pytest.skip(f"no {java} and jcmd here")
    source = tmp_path / "Grow.java"
    source.write_text(GROW_JAVA)
    jvm = spawn([java, "-Xms16m", "-Xmx2g", "-XX:NativeMemoryTracking=summary", str(source)],
                stdin=subprocess.PIPE)  # fmt: skip
    jvm.read_until("READY", timeout=120)
    before = nmt_committed(jcmd, jvm.pid, "Java Heap")
    rec = tmp_path / "grow.jsonl.gz"
    recorder = start_recording(jvm.pid, rec, 0.1)
    try:
        jvm.proc.stdin.write(b"grow\n")
        jvm.proc.stdin.flush()
        jvm.read_until("GROWN", timeout=60)
        time.sleep(0.5)
        grown = nmt_committed(jcmd, jvm.pid, "Java Heap")
        time.sleep(0.3)
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(30)
        jvm.proc.stdin.close()
    records = [json.loads(r) for r in run_vmtop("replay", rec, "--events", "--json")
               .stdout.decode().splitlines()[1:]]  # fmt: skip
    committed = [r for r in records if r["event"] == "reserve_committed"]
    heap = sum(r["size"] for r in committed if r.get("object") == "Java heap")
    assert heap == grown - before > 0, (heap, grown, before)

    by_sample: dict[tuple, list[dict]] = defaultdict(list)
    for r in committed:
        by_sample[(_clock(r["time"]), r.get("object") or "[anon]")].append(r)
    replayed = text_lines(run_vmtop("replay", rec, "--events").stdout.decode())
    lines = [m for m in replayed if m["event"] == "reserve_committed"]
    assert sum(map(regions_of, lines)) == len(committed)
    per_sample = Counter((m["time"], m["name"]) for m in lines)
    for (when, name), n in per_sample.items():
        theirs = by_sample[(when, name)]
        if len(theirs) >= event_runs.ALIKE_FROM:
            assert n == 1, (when, name, n)
            (m,) = [m for m in lines if (m["time"], m["name"]) == (when, name)]
            assert regions_of(m) == len(theirs)
            assert m["size"] == format_size(sum(r["size"] for r in theirs))
        else:
            assert n == len(theirs)
