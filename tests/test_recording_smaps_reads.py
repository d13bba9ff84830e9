"""A recording says when each sample's resident figures were read, and replay and diff
say it too.

smaps is read on a budget: on a big map (tens of thousands of regions) a sample in
between keeps the last read's figures for each region. Before, the recording stored
them as that sample's own: `replay --at` gave a region 40 MiB where the kernel had
72 MiB, and `diff` of two such samples said "nothing" and exited 0 while RSS grew by
24 MiB (review, /tmp/rev_rec section 1).

Ground truth is a live C child that faults in 4 MiB of its block each time the test
asks, and the kernel's smaps and status read by the test after each sample (the child
is idle in between: they hold what the sampler read). The recording is written by the
real sampler and writer, with smaps read every third sample (the plan forced: the
budget itself is tested in test_watch_budget.py).
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess

import pytest
from conftest import FIXTURES, VMTOP, Child, run_vmtop

from vmtop.procfs.reader import ProcFS
from vmtop.record.reader import Recording
from vmtop.record.timespec import clock_label
from vmtop.record.writer import RecordingWriter
from vmtop.tui.sampler import Sampler

pytestmark = pytest.mark.live

STEP = 4 << 20
SAMPLES = 9
EVERY = 3  # smaps read at samples 0, 3, 6
T0 = 1_700_000_000.0
SLACK = 512 << 10  # status' RSS counters are per-CPU batched: what it may be off by

TOUCH_ON_REQUEST = r"""
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    size_t size = 64u << 20, step = 4u << 20, done = 0;
    char *block = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char line[16];
    if (block == MAP_FAILED) return 1;
    printf("%p\n", (void *)block);
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        if (done + step <= size) {
            memset(block + done, 1, step);
            done += step;
        }
        printf("touched %zu\n", done);
        fflush(stdout);
    }
    return 0;
}
"""


class EveryThird(Sampler):
    """The real sampler, with its smaps plan forced to every third sample."""

    def plan_smaps(self, interval: float) -> None:
        self.smaps_every = EVERY


def _kernel(pid: int, address: int) -> dict:
    """What the kernel says now: the block's Rss and every region's Rss summed (smaps),
    VmRSS (status), in bytes."""
    block = total = 0
    inside = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(None, 1)[0]
            if "-" in head and ":" not in head:
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif head == "Rss:":
                kb = int(line.split()[1]) * 1024
                total += kb
                if inside:
                    block = kb
    with open(f"/proc/{pid}/status") as f:
        vmrss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    return {"block": block, "total": total, "vmrss": vmrss}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, compile_c_once):
    """(path, block address, per sample: whether the sampler read smaps, and the
    kernel's figures right after it)."""
    exe = compile_c_once(TOUCH_ON_REQUEST)
    child = Child([exe], stdin=subprocess.PIPE)
    path = tmp_path_factory.mktemp("smaps_reads") / "rec.jsonl.gz"
    now = [T0]
    read, truth = [], []
    try:
        block = int(child.read_line(), 16)
        sampler = EveryThird(ProcFS(), child.pid, clock=lambda: now[0])
        with RecordingWriter(str(path), interval=1.0) as writer:
            for k in range(SAMPLES):
                if k:
                    child.proc.stdin.write(b"t\n")
                    child.proc.stdin.flush()
                    assert child.read_line() == f"touched {k * STEP}"
                now[0] = T0 + k
                result = sampler.sample(1.0)
                writer.write_sample(result.snapshot, result.events)
                read.append(result.smaps_read)
                truth.append(_kernel(child.pid, block))
    finally:
        child.kill()
    assert read == [k % EVERY == 0 for k in range(SAMPLES)]  # the plan held
    return path, block, truth


def _label(t: float) -> str:
    return clock_label(t, 0, trim=True)


def _last_read(k: int) -> int:
    return k - k % EVERY


def test_a_carried_sample_says_when_its_figures_were_read(recorded):
    path, _block, _truth = recorded
    with gzip.open(path, "rt") as f:
        lines = [json.loads(line) for line in f]
    samples = [line for line in lines if line["type"] == "sample"]
    assert len(samples) == SAMPLES
    for k, line in enumerate(samples):
        if k % EVERY == 0:
            assert "smaps_read_at" not in line, k
        else:
            assert line["smaps_read_at"] == T0 + _last_read(k), k
    rec = Recording.open(str(path))
    for k in range(SAMPLES):
        snap = rec.snapshot(k)
        assert snap.figures_read_at == T0 + _last_read(k)


def test_the_figures_of_a_carried_sample_are_its_last_reads(recorded):
    path, block, truth = recorded
    rec = Recording.open(str(path))
    for k in range(SAMPLES):
        snap = rec.snapshot(k)
        region = snap.region_at(block)
        assert region is not None
        assert region.rss == truth[_last_read(k)]["block"], k
        if k % EVERY:
            assert region.rss != truth[k]["block"]  # the kernel had more by then
        assert abs(snap.totals.rss - truth[k]["vmrss"]) <= SLACK, k  # status: its own


def test_replay_at_a_carried_sample_says_when_its_figures_were_read(recorded):
    path, block, truth = recorded
    out = run_vmtop("replay", path, "--at", "+4s", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["taken_at"] == T0 + 4 and doc["smaps_read_at"] == T0 + 3
    region = next(r for r in doc["regions"] if int(r["start"], 16) <= block < int(r["end"], 16))
    assert region["rss"] == truth[3]["block"] != truth[4]["block"]
    assert abs(doc["totals"]["rss"] - truth[4]["vmrss"]) <= SLACK
    stderr = out.stderr.decode()
    assert "smaps was not read with this sample" in stderr
    assert f"read at {_label(T0 + 3)}, 1s before" in stderr
    # Every format says it (pmap and CSV have no place for it but stderr).
    for form in ("pmap", "csv"):
        out = run_vmtop("replay", path, "--at", "+4s", "--format", form)
        assert out.returncode == 0 and f"read at {_label(T0 + 3)}" in out.stderr.decode()
    # A sample that read smaps says nothing of the kind.
    out = run_vmtop("replay", path, "--at", "+3s", "--format", "json")
    assert "smaps_read_at" not in json.loads(out.stdout)
    assert "not read" not in out.stderr.decode()


def test_diff_between_one_read_does_not_say_nothing_changed(recorded):
    """Samples 1 and 2 both carry the read of sample 0: the kernel's block grew by
    4 MiB between them, which no region's figures can show."""
    path, _block, truth = recorded
    out = run_vmtop("diff", path, "+1s", "+2s")
    text = out.stdout.decode()
    assert out.returncode == 1, text
    assert "nothing" not in text
    assert "not compared region by region" in text
    assert f"smaps was read at {_label(T0)}, not again up to B" in text
    assert re.search(r"Not seen region by region: RSS \+(3\.9|4\.0|4\.1)M", text)
    doc = json.loads(run_vmtop("diff", path, "+1s", "+2s", "--json").stdout)
    assert doc["changed"] and not doc["resident_compared"]
    assert doc["a"]["smaps_read_at"] == doc["b"]["smaps_read_at"] == T0
    grew = truth[2]["vmrss"] - truth[1]["vmrss"]
    assert abs(grew - STEP) <= SLACK
    assert abs(doc["unseen_rss"] - grew) <= SLACK


def test_diff_of_two_replayed_snapshots_knows_when_their_figures_were_read(recorded, tmp_path):
    """The same two moments through `replay --at … --format json`: the documents say
    when their figures were read, and `diff` reads it back."""
    path, _block, truth = recorded
    files = []
    for when in ("+1s", "+2s"):
        out = run_vmtop("replay", path, "--at", when, "--format", "json")
        assert out.returncode == 0, out.stderr
        files.append(tmp_path / f"{when}.json")
        files[-1].write_bytes(out.stdout)
    out = run_vmtop("diff", *files, "--json")
    assert out.returncode == 1, out.stdout
    doc = json.loads(out.stdout)
    assert not doc["resident_compared"] and doc["a"]["smaps_read_at"] == T0
    assert abs(doc["unseen_rss"] - (truth[2]["vmrss"] - truth[1]["vmrss"])) <= SLACK


def test_the_parts_for_the_replays_a_to_b_line(recorded):
    from vmtop.commands.diff_lines import figures_parts

    path, _block, _truth = recorded
    rec = Recording.open(str(path))
    one, two, three, five = (rec.snapshot(k) for k in (1, 2, 3, 5))
    digits = rec.digits
    at = {k: clock_label(T0 + k, digits, trim=True) for k in (0, 3)}
    # (RSS from status: its per-CPU counters can be a few pages off)
    unseen = re.compile(r"RSS \+(3\.9|4\.0|4\.1)M not seen by region")
    first, second = figures_parts(one, two, 65536, digits)
    assert first == f"resident figures of one smaps read ({at[0]}): not compared"
    assert unseen.fullmatch(second)
    first, second = figures_parts(one, five, 65536, digits)
    assert first == f"resident figures read at {at[0]} and {at[3]}"
    assert unseen.fullmatch(second)
    assert figures_parts(rec.snapshot(0), three, 65536, digits) == []  # both read
    # The replay's A→B line says it (where a screen has room for it).
    from vmtop.tui.replay_compare import ab_text

    assert f"resident figures of one smaps read ({at[0]}): not compared" in ab_text(rec, 1, 2)
    assert "resident figures" not in ab_text(rec, 0, 3)


def of_block(doc: dict, block: int) -> list[dict]:
    """The diff's rss_changed of the region holding the block the child touches (on a
    loaded machine another region's resident memory moves too: clean pages of a
    library reclaimed, CI)."""
    return [
        c
        for c in doc["changes"]
        if c["event"] == "rss_changed" and int(c["start"], 16) <= block < int(c["end"], 16)
    ]


def test_diff_between_two_reads_compares_what_those_reads_saw(recorded):
    """Samples 1 and 5 carry the reads of samples 0 and 3: the block's resident change
    is the kernel's between those reads, and the rest of RSS's change is said apart."""
    path, block, truth = recorded
    doc = json.loads(run_vmtop("diff", path, "+1s", "+5s", "--json").stdout)
    assert doc["resident_compared"] and doc["changed"]
    assert doc["a"]["smaps_read_at"] == T0 and doc["b"]["smaps_read_at"] == T0 + 3
    (change,) = of_block(doc, block)
    assert change["delta"] == truth[3]["block"] - truth[0]["block"]
    unseen = (truth[5]["vmrss"] - truth[1]["vmrss"]) - (truth[3]["total"] - truth[0]["total"])
    assert abs(unseen - STEP) <= SLACK  # 2 steps after the read at B, 1 after A's
    assert abs(doc["unseen_rss"] - unseen) <= SLACK
    text = run_vmtop("diff", path, "+1s", "+5s").stdout.decode()
    assert f"as smaps read them at {_label(T0)} (A) and {_label(T0 + 3)} (B)" in text


def test_diff_of_two_samples_that_read_smaps_says_nothing_of_reads(recorded):
    path, block, truth = recorded
    doc = json.loads(run_vmtop("diff", path, "start", "+3s", "--json").stdout)
    assert "smaps_read_at" not in doc["a"] and "smaps_read_at" not in doc["b"]
    assert doc["resident_compared"] and "unseen_rss" not in doc
    (change,) = of_block(doc, block)
    assert change["delta"] == truth[3]["block"] - truth[0]["block"]


def test_a_file_without_the_key_reads_as_before(recorded, tmp_path):
    """A file written before samples said when their figures were read: every
    sample's figures are its own, as they were taken."""
    path, _block, _truth = recorded
    old = tmp_path / "old.jsonl"
    with gzip.open(path, "rt") as f, open(old, "w") as out:
        for line in f:
            record = json.loads(line)
            record.pop("smaps_read_at", None)
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    rec = Recording.open(str(old))
    assert all(rec.snapshot(k).smaps_read_at is None for k in range(SAMPLES))


async def test_the_replay_header_says_when_the_figures_shown_were_read(recorded):
    from vmtop.tui.replay_app import ReplayApp
    from vmtop.tui.widgets.process_header import ProcessHeader

    path, block, _truth = recorded
    rec = Recording.open(str(path))
    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:

        async def at(index: int) -> str:
            app.screen.seek(index)
            for _ in range(4):
                await pilot.app.workers.wait_for_complete()
                await pilot.pause()
            assert app.screen.snapshot.taken_at == T0 + index
            return app.screen.query_one(ProcessHeader).render_line(1).text

        label = clock_label(T0 + 3, rec.digits)
        assert "resident figures" not in await at(3)  # read with the sample shown
        assert f"resident figures read at {label}" in await at(4)
        # The region detail says it of the figures it shows.
        app.screen.open_detail(app.screen.snapshot.region_at(block))
        for _ in range(4):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        assert f"its figures read at {label}" in app.screen._status().plain


MANY_REGIONS = r"""
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    size_t n = 30000;
    char *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    for (size_t i = 0; i < n; i += 2) /* every other page read-only: 30 000 regions */
        if (mprotect(p + i * page, page, PROT_READ)) return 1;
    printf("ready\n");
    fflush(stdout);
    pause();
    return 0;
}
"""


@pytest.mark.slow
def test_record_says_how_often_it_reads_smaps_and_the_file_agrees(compile_c, spawn, tmp_path):
    """30 000 regions: one smaps read costs far more than a tenth of a 0.1 s interval,
    so the recorder reads it every few samples: it says so, as watch and the TUI do,
    and the samples in between say which read their figures are of."""
    child = spawn([compile_c(MANY_REGIONS)])
    assert child.read_line(30) == "ready"
    path = tmp_path / "many.jsonl.gz"
    out = subprocess.run(
        [*VMTOP, "record", str(child.pid), "-o", str(path), "--interval", "0.1", "--count", "8"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    said = re.search(r"vmtop: now smaps read every (\d+) samples", out.stderr)
    assert said, out.stderr
    with gzip.open(path, "rt") as f:
        samples = [r for r in map(json.loads, f) if r["type"] == "sample"]
    last_read = None
    carried = 0
    for line in samples[1:]:  # the first is a quick look at the map: no smaps yet
        if "smaps_read_at" in line:
            assert line["smaps_read_at"] == last_read
            carried += 1
        else:
            last_read = line["time"]
    assert last_read is not None and carried >= 1


def test_one_read_is_not_compared_by_the_shares_a_cut_region_was_given():
    """A region cut between two smaps reads is carried with a share of the last read's
    figures, by bytes: an estimate. Compared with that very read, it made up a
    resident change (half the region's memory "gone") that no read measured; now the
    cut is said (shrank), its resident change is not."""
    from vmtop.model import moments
    from vmtop.procfs.smaps_budget import carry_smaps
    from vmtop.procfs.snapshot import take_snapshot

    procfs = ProcFS(str(FIXTURES / "tui_proc"))
    read = take_snapshot(procfs, 4242)._replace(taken_at=T0)
    anon = next(r for r in read.regions if r.kind == "anon" and (r.rss or 0) >= 1 << 20)
    half = anon.start + (anon.end - anon.start) // 2
    maps_only = take_snapshot(procfs, 4242, smaps=False)._replace(taken_at=T0 + 1)
    cut = tuple(r._replace(end=half) if r.start == anon.start else r for r in maps_only.regions)
    later = carry_smaps(maps_only._replace(regions=cut), read)
    assert later.smaps_read_at == T0 and later.region_at(anon.start).rss < anon.rss
    net = moments.net_change(read, later)
    assert [e.event for e in net] == [moments.REGION_SHRANK]
    changes = moments.changes_since(read, later)
    assert changes[anon.start].rss_delta is None  # not known, not a made-up figure


def test_the_recorder_says_a_new_smaps_plan_only_when_it_is_news():
    from vmtop.commands.plan_notice import plan_worth_saying

    assert plan_worth_saying(1, 4) and plan_worth_saying(4, 1)  # from and to every sample
    assert not plan_worth_saying(4, 3) and not plan_worth_saying(3, 4)  # at the edge
    assert plan_worth_saying(4, 8) and plan_worth_saying(8, 4)
    assert not plan_worth_saying(4, 4)


def test_a_regions_history_in_the_replay_has_a_point_per_smaps_read(tmp_path):
    """Samples that carry an earlier read's figures drew the region's line flat through
    them, at their own times: a point per read, at the read's time, instead."""
    from test_report import ANON, KiB, MiB, region, snapshot, write

    from vmtop.tui.replay_detail import region_rss_history

    start = 1_700_000_000.0
    reads = {0: 0, 3: 3 * MiB}  # sample -> the anonymous region's resident size read then
    snaps = []
    for k in range(6):
        read = max(j for j in reads if j <= k)
        snap = snapshot(start + k, [region(ANON, size=4 * MiB, rss=reads[read] + 4 * KiB)])
        snaps.append(snap._replace(smaps_read_at=None if read == k else start + read))
    rec = Recording.open(write(tmp_path / "reads.jsonl.gz", snaps))
    anon = rec.snapshot(5).regions[0]
    assert region_rss_history(rec, anon, 5) == [
        (start, 4 * KiB),
        (start + 3, 3 * MiB + 4 * KiB),
    ]
