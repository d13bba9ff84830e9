"""`vmtop report`: growth measured from the first sample whose resident figures are known
and from the last exec on, the real spacing of the samples and the gaps between them,
and the peaks of kinds that rose and fell back.

The recordings are written here with the writer, with chosen times and figures, or
sampled from a C child that says what it did: the numbers asserted come from those,
never from the report itself."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from conftest import run_vmtop

from vmtop.model.events import Event
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
from vmtop.record.writer import RecordingWriter
from vmtop.tui.formatting import format_bytes, format_delta

MiB = 1 << 20
KiB = 1 << 10
T0 = 1_700_000_000.0

# The map of a small program: addresses, kinds and names; each sample sets the sizes.
TEXT = (0x555555554000, 0x555555556000, "r-xp", 0, "fe:00", 11, "/usr/bin/prog", "text")
HEAP = (0x555555560000, None, "rw-p", 0, "00:00", 0, "[heap]", "heap")
ANON = (0x7F0000000000, None, "rw-p", 0, "00:00", 0, "", "anon")
STACK = (0x7FFFFFF00000, 0x7FFFFFF21000, "rw-p", 0, "00:00", 0, "[stack]", "stack")


def region(spec, *, size=None, rss=None) -> Region:
    start, end, perms, offset, dev, inode, path, kind = spec
    if end is None:
        end = start + size
    figures = (rss, rss, 0, 0, 0, rss, 0, rss) if rss is not None else (None,) * 8
    return Region(start, end, perms, offset, dev, inode, path, *figures, kind, None, None)


def snapshot(when, regions, *, has_smaps=True, comm="prog", rss=None) -> Snapshot:
    """A sample of PID 4242: totals as vmtop computes them, with or without smaps
    (without, the RSS is the process's from status and there is no PSS)."""
    regions = tuple(sorted(regions, key=lambda r: r.start))
    size = sum(r.end - r.start for r in regions)
    resident = sum(r.rss or 0 for r in regions)
    if rss is None:
        rss = resident
    pss = resident if has_smaps else None
    totals = Totals(size, rss, pss, pss, 0 if has_smaps else None, 0)
    info = ProcessInfo(4242, 777, f"/usr/bin/{comm}", comm, "S", 1, 1000, 1, STACK[1] - 64)
    return Snapshot(info, when, regions, totals, has_smaps, {"VmRSS": rss})


def write(path, snaps, *, interval=1.0, events_of=None) -> str:
    with RecordingWriter(str(path), interval=interval) as writer:
        for i, snap in enumerate(snaps):
            writer.write_sample(snap, events_of(i) if events_of else ())
    return str(path)


def report(path, *args) -> str:
    out = run_vmtop("report", path, *args)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode()


def section(text: str, heading: str) -> list[str]:
    """The rows under the heading that starts with ``heading``, up to the blank line."""
    rest = text.split("\n" + heading, 1)[1].split("\n", 1)[1]
    return rest.split("\n\n", 1)[0].splitlines()


def row_of(rows: list[str], name: str) -> str:
    found = [r for r in rows if r.split()[:1] == [name]]
    assert len(found) == 1, (name, rows)
    return found[0]


def clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


# -- 1. growth from the first sample with resident figures --------------------------------


def test_growth_starts_at_the_first_sample_with_resident_figures(tmp_path):
    """A map of many regions is first read without smaps: the kinds are unknown there,
    not zero. The process had 48 MiB of anonymous memory and grew by 1 MiB."""
    anon_before, anon_after = 48 * MiB, 49 * MiB
    snaps = [
        # Sample 0: maps only. Its RSS (from status) is known, its regions' are not.
        snapshot(
            T0,
            [region(TEXT), region(ANON, size=anon_before), region(STACK)],
            has_smaps=False,
            rss=anon_before + 2 * MiB,
        ),
        snapshot(
            T0 + 1,
            [
                region(TEXT, rss=8 * KiB),
                region(ANON, size=anon_before, rss=anon_before),
                region(STACK, rss=12 * KiB),
            ],
        ),
    ]
    for k in range(2, 6):
        snaps.append(
            snapshot(
                T0 + k,
                [
                    region(TEXT, rss=8 * KiB),
                    region(ANON, size=anon_after, rss=anon_after),
                    region(STACK, rss=12 * KiB),
                ],
            )
        )
    text = report(write(tmp_path / "many.jsonl.gz", snaps))
    heading = next(line for line in text.splitlines() if line.startswith("Largest growths by kind"))
    assert f"from {clock(T0 + 1)}, the first sample with resident figures" in heading, heading
    anon = row_of(section(text, "Largest growths by kind"), "anon")
    growth = format_delta(anon_after - anon_before)
    assert anon.split()[1] == growth, anon
    assert re.search(rf"{format_bytes(anon_before)}\s+→\s+{format_bytes(anon_after)}", anon), anon
    assert len(section(text, "Largest growths by kind")) == 1  # text and stack did not grow
    # The region list compares the same two samples: the anonymous region grew by 1 MiB
    # of address space and of resident memory.
    regions = section(text, "Largest growths by region")
    assert f"from {clock(T0 + 1)}" in text.split("Largest growths by region")[1].splitlines()[0]
    assert len(regions) == 1 and regions[0].startswith(f"  {ANON[0]:012x}-"), regions
    assert re.search(rf"size\s+\{growth}\s+RSS\s+\{growth}\s", regions[0]), regions[0]
    # The process's RSS comes from status in every sample: known from the first.
    rss_line = next(line for line in text.splitlines() if line.startswith("RSS:"))
    assert rss_line.startswith(f"RSS: {format_bytes(anon_before + 2 * MiB)} at the start")


def test_no_sample_with_resident_figures_gives_no_growths_by_kind(tmp_path):
    """A copied /proc tree without smaps: the kinds are unknown from start to end."""
    snaps = [
        snapshot(T0 + k, [region(TEXT), region(ANON, size=(4 + k) * MiB)], has_smaps=False)
        for k in range(3)
    ]
    text = report(write(tmp_path / "nosmaps.jsonl.gz", snaps))
    rows = section(text, "Largest growths by kind")
    assert rows == ["  - (no sample has resident figures: smaps was not read)"], rows
    assert " 0 →" not in text
    # The anonymous region grew by 2 MiB of address space; its resident growth is unknown.
    regions = section(text, "Largest growths by region")
    assert re.search(rf"size\s+\{format_delta(2 * MiB)}\s+RSS\s+-\s", regions[0]), regions


def test_live_first_sample_without_smaps(tmp_path, compile_c, spawn, monkeypatch):
    """The recorder's first look at a large map reads maps only (QUICK_FIRST_REGIONS):
    with the threshold lowered, a small C child's first sample has no smaps either. The
    child maps and touches 8 MiB, then 1 MiB more: the anon growth is that 1 MiB."""
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui import sampler as sampler_module

    monkeypatch.setattr(sampler_module, "QUICK_FIRST_REGIONS", 1)
    child = spawn([str(compile_c(GROW_C))], stdin=subprocess.PIPE)
    child.read_line()  # "mapped 8"
    sampler = sampler_module.Sampler(ProcFS(), child.pid)
    path = tmp_path / "grow.jsonl.gz"
    writer = RecordingWriter(str(path), interval=0.2)
    seen_smaps = []
    for k in range(6):
        if k == 3:
            tell(child, "grow")
            grew_mib = int(child.read_line().split()[1])
        result = sampler.sample(0.2)
        assert result.snapshot is not None
        seen_smaps.append(result.snapshot.has_smaps)
        writer.write_sample(result.snapshot, result.events)
        time.sleep(0.2)
    writer.close()
    assert seen_smaps[0] is False and all(seen_smaps[1:]), seen_smaps
    text = report(path)
    anon = row_of(section(text, "Largest growths by kind"), "anon")
    assert anon.split()[1] == format_delta(grew_mib * MiB), anon


def tell(child, word: str) -> None:
    child.proc.stdin.write(word.encode() + b"\n")
    child.proc.stdin.flush()


GROW_C = r"""
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
int main(void) {
    size_t first = 8u << 20, more = 1u << 20;
    char *a = mmap(NULL, first, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 1, first);
    printf("mapped %zu\n", first >> 20); fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
    char *b = mmap(NULL, more, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(b, 1, more);
    printf("grew %zu\n", more >> 20); fflush(stdout);
    fgets(line, sizeof line, stdin);
    return 0;
}
"""


# -- 2. the spacing of the samples, and the gaps --------------------------------------------


def _still(times, interval=1.0, path=None) -> str:
    snaps = [snapshot(T0 + t, [region(TEXT, rss=8 * KiB)]) for t in times]
    return report(write(path, snaps, interval=interval))


def test_interval_changed_then_paused(tmp_path):
    """Recorded from the process screen: 1 s, `-` to 2 s, paused a moment, resumed."""
    times = [0, 1, 2, 4.6, 6.6, 8.6]
    text = _still(times, path=tmp_path / "tui.jsonl.gz")
    assert "6 samples every 1 s, then 2 s" in text, text
    gap = f"no samples from {clock(T0 + 2)} to {clock(T0 + 4)}.6 (2.6 s"
    assert gap in text, text
    assert text.count("no samples from") == 1


def test_regular_and_jittered_spacing_has_no_gaps(tmp_path):
    assert "5 samples every 1 s\n" in _still([0, 1, 2, 3, 4], path=tmp_path / "a.jsonl.gz")
    # A map of 48 000 regions sampled every 0.5 s: each sample is late by part of its cost.
    steps = [0.686, 0.618, 0.502, 0.515, 0.496, 0.646, 0.468, 0.505, 0.504, 0.5, 0.668]
    times = [sum(steps[:k]) for k in range(len(steps) + 1)]
    text = _still(times, interval=0.5, path=tmp_path / "b.jsonl.gz")
    assert "12 samples every 0.5 s\n" in text and "no samples" not in text, text


def test_a_long_stop_is_named_and_sampling_slower_than_asked_is_said(tmp_path):
    text = _still([0, 1, 2, 3, 63, 64, 65], path=tmp_path / "c.jsonl.gz")
    assert "7 samples every 1 s\n" in text
    assert f"no samples from {clock(T0 + 3)} to {clock(T0 + 63)} (60 s" in text
    # Asked for 0.5 s, the samples came every 0.8 s (a map too large to read faster).
    text = _still([0.8 * k for k in range(6)], interval=0.5, path=tmp_path / "d.jsonl.gz")
    assert "6 samples every 0.8 s (0.5 s asked)" in text, text


# -- 3. peaks, exec, and what the lists are sorted by --------------------------------------


def test_peak_and_free_shows_the_peaks(tmp_path):
    """A process that mapped 132 MiB and grew its heap by 15 MiB, then freed both:
    nothing grew from start to end but its stack, and the peaks are what it used."""
    heap_base, heap_peak, anon_peak = 132 * KiB, 15 * MiB + 132 * KiB, 132 * MiB
    stack_start, stack_end = 12 * KiB, 32 * KiB
    plan = [  # (anon size and rss, heap rss, stack rss) per second
        (0, heap_base, stack_start),
        (anon_peak, heap_base, stack_start),
        (anon_peak, heap_peak, stack_start),
        (anon_peak, heap_peak, stack_end),
        (0, heap_peak, stack_end),
        (0, heap_base, stack_end),
        (0, heap_base, stack_end),
    ]
    snaps = []
    for k, (anon, heap, stack) in enumerate(plan):
        regions = [region(TEXT, rss=8 * KiB), region(HEAP, size=heap, rss=heap)]
        regions.append(region(STACK, rss=stack))
        if anon:
            regions.append(region(ANON, size=anon, rss=anon))
        snaps.append(snapshot(T0 + k, regions))
    text = report(write(tmp_path / "peak.jsonl.gz", snaps))
    grown = section(text, "Largest growths by kind")
    assert [r.split()[0] for r in grown] == ["stack"], grown
    assert row_of(grown, "stack").split()[1] == format_delta(stack_end - stack_start)
    peaks = section(text, "Largest peaks by kind")
    assert [r.split()[0] for r in peaks] == ["anon", "heap"], peaks
    assert row_of(peaks, "anon").split()[1:4] == [format_bytes(anon_peak), "at", clock(T0 + 1)]
    assert row_of(peaks, "heap").split()[1:4] == [format_bytes(heap_peak), "at", clock(T0 + 2)]
    heap = row_of(peaks, "heap")
    assert re.search(rf"{format_bytes(heap_base)}\s+→\s+{format_bytes(heap_base)}$", heap), heap


def test_the_peak_column_is_the_kinds_own_peak(tmp_path):
    """The heap grew by 1 MiB overall but stood at 6 MiB for a while: its line says so."""
    heaps = [1 * MiB, 6 * MiB, 6 * MiB, 2 * MiB]
    snaps = [
        snapshot(T0 + k, [region(TEXT, rss=8 * KiB), region(HEAP, size=h, rss=h)])
        for k, h in enumerate(heaps)
    ]
    text = report(write(tmp_path / "heap.jsonl.gz", snaps))
    heap = row_of(section(text, "Largest growths by kind"), "heap")
    assert heap.split()[1] == format_delta(heaps[-1] - heaps[0])
    assert heap.endswith(f"peak {format_bytes(6 * MiB)} at {clock(T0 + 1)}"), heap


def test_growth_is_measured_from_the_exec_on(tmp_path):
    """The process ran another program at sample 2: the new image's libraries are not
    growth; what grew afterwards (its anonymous region, by 3 MiB) is."""
    libc = (0x7F1000000000, 0x7F1000200000, "r-xp", 0, "fe:00", 33, "/usr/lib/libc.so.6", "text")
    old = [region(TEXT, rss=8 * KiB), region(STACK, rss=12 * KiB)]
    new = [region(libc, rss=MiB), region(STACK, rss=12 * KiB)]
    snaps = [snapshot(T0, old), snapshot(T0 + 1, old)]
    for k, anon in enumerate([1, 1, 4]):
        regions = [*new, region(ANON, size=anon * MiB, rss=anon * MiB)]
        snaps.append(snapshot(T0 + 2 + k, regions, comm="newprog"))
    detail = "process 4242 ran a new program: prog -> newprog (/usr/bin/newprog)"
    exec_event = Event(T0 + 2, "exec", 0, 0, "", 0, 0, "/usr/bin/newprog", None, detail)
    text = report(
        write(tmp_path / "exec.jsonl.gz", snaps, events_of=lambda i: [exec_event] * (i == 2))
    )
    assert f"exec at {clock(T0 + 2)}: {detail}" in text, text
    kinds_heading = text.split("\nLargest growths by kind")[1].splitlines()[0]
    assert f"from {clock(T0 + 2)}, the first sample after the exec" in kinds_heading
    assert [r.split()[0] for r in section(text, "Largest growths by kind")] == ["anon"]
    regions = section(text, "Largest growths by region")
    assert len(regions) == 1 and regions[0].startswith(f"  {ANON[0]:012x}-"), regions
    assert "libc" not in text.split("Largest growths by region")[1]


def test_both_growth_lists_say_what_they_are_sorted_by(tmp_path):
    """A region that reserved 64 MiB it barely touched, and one that grew its resident
    size by 3 MiB without growing: both lists put resident growth first."""
    reserve = (0x7F2000000000, None, "rw-p", 0, "00:00", 0, "", "anon")
    snaps = [
        snapshot(T0, [region(HEAP, size=8 * MiB, rss=1 * MiB), region(reserve, size=MiB, rss=0)]),
        snapshot(
            T0 + 1,
            [region(HEAP, size=8 * MiB, rss=4 * MiB), region(reserve, size=65 * MiB, rss=4 * KiB)],
        ),
    ]
    text = report(write(tmp_path / "sort.jsonl.gz", snaps))
    for heading in ("Largest growths by kind", "Largest growths by region"):
        line = text.split("\n" + heading)[1].splitlines()[0]
        assert "sorted by" in line and "resident" in line, line
    regions = section(text, "Largest growths by region")
    assert [r.split()[0].split("-")[0] for r in regions] == [
        f"{HEAP[0]:012x}",
        f"{reserve[0]:012x}",
    ], regions


@pytest.mark.parametrize("top", ["1"])
def test_gaps_are_listed_up_to_top(tmp_path, top):
    times = [0, 1, 10, 11, 20, 21, 30]
    text = report(
        write(
            tmp_path / "gaps.jsonl.gz",
            [snapshot(T0 + t, [region(TEXT, rss=8 * KiB)]) for t in times],
        ),
        "--top",
        top,
    )
    assert text.count("no samples from") == 1 and "and 2 more" in text, text


PEAK_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    size_t size = 32u << 20;
    char line[16];
    printf("ready\n"); fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 1;
    char *a = malloc(size); /* above the mmap threshold: a mapping of its own */
    memset(a, 1, size);
    __asm__ volatile("" : : "r"(a) : "memory"); /* keep the compiler from eliding it */
    printf("touched %zu\n", size >> 20); fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 1;
    free(a);
    printf("freed\n"); fflush(stdout);
    fgets(line, sizeof line, stdin);
    return 0;
}
"""


def test_live_peak_and_free(tmp_path, compile_c, spawn):
    """A C child mallocs and touches 32 MiB, then frees it: the report shows that peak."""
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.sampler import Sampler

    child = spawn([str(compile_c(PEAK_C))], stdin=subprocess.PIPE)
    child.read_line()
    sampler = Sampler(ProcFS(), child.pid)
    path = tmp_path / "peak.jsonl.gz"
    writer = RecordingWriter(str(path), interval=0.2)
    touched = 0
    for k in range(7):
        if k == 2:
            tell(child, "malloc")
            touched = int(child.read_line().split()[1]) * MiB
        if k == 4:
            tell(child, "free")
            child.read_line()
        result = sampler.sample(0.2)
        assert result.snapshot is not None
        writer.write_sample(result.snapshot, result.events)
        time.sleep(0.2)
    writer.close()
    text = report(path)
    peak = row_of(section(text, "Largest peaks by kind"), "anon").split()[1]
    # The anon kind also holds the child's other anonymous pages (a few KiB to hundreds).
    assert peak in {format_bytes(touched + extra) for extra in range(0, MiB, 4 * KiB)}, peak


# -- 4. what fell, and where the RSS change went ------------------------------------------


def test_a_kind_that_fell_from_a_high_start_is_listed_and_the_kinds_add_up(tmp_path):
    """Recording began with 32 MiB of anonymous memory mapped, which went to 33 MiB and
    was then unmapped but for 1 MiB; the heap grew by 4 KiB and the stack fell by 8 KiB.
    The RSS fell by nearly 31 MiB: the report says which kinds that was."""
    plan = [  # (anon, heap, stack) resident bytes per second
        (32 * MiB, 8 * KiB, 20 * KiB),
        (32 * MiB, 8 * KiB, 20 * KiB),
        (33 * MiB, 8 * KiB, 20 * KiB),
        (1 * MiB, 12 * KiB, 12 * KiB),
        (1 * MiB, 12 * KiB, 12 * KiB),
    ]
    text_rss = 8 * KiB
    snaps = []
    for k, (anon, heap, stack) in enumerate(plan):
        regions = [
            region(TEXT, rss=text_rss),
            region(HEAP, size=heap, rss=heap),
            region(ANON, size=anon, rss=anon),
            region(STACK, rss=stack),
        ]
        snaps.append(snapshot(T0 + k, regions))
    path = write(tmp_path / "fell.jsonl.gz", snaps)
    text = report(path)
    fallen = section(text, "Largest falls by kind")
    assert [r.split()[0] for r in fallen] == ["anon", "stack"], fallen  # the larger fall first
    anon = row_of(fallen, "anon")
    assert anon.split()[1] == format_delta(1 * MiB - 32 * MiB), anon
    assert re.search(rf"{format_bytes(32 * MiB)}\s+→\s+{format_bytes(1 * MiB)}\s", anon), anon
    assert anon.endswith(f"peak {format_bytes(33 * MiB)} at {clock(T0 + 2)}"), anon
    stack = row_of(fallen, "stack")
    assert stack.split()[1] == format_delta(-8 * KiB), stack
    assert stack.endswith(f"peak {format_bytes(20 * KiB)}"), stack  # its peak is its start
    assert [r.split()[0] for r in section(text, "Largest growths by kind")] == ["heap"]
    # All kinds together: the same change as the RSS line's.
    start = text_rss + 32 * MiB + 8 * KiB + 20 * KiB
    end = text_rss + 1 * MiB + 12 * KiB + 12 * KiB
    change = format_delta(end - start)
    rss_line = next(line for line in text.splitlines() if line.startswith("RSS:"))
    assert f"({change})" in rss_line, rss_line
    together = next(line for line in text.splitlines() if line.startswith("All kinds together"))
    assert together.endswith(f": {format_bytes(start)} → {format_bytes(end)} ({change})")
    # Fewer rows than kinds that fell: what the rest changed is said, so the rows and it
    # still add up to the whole.
    fallen = section(report(path, "--top", "1"), "Largest falls by kind")
    assert [r.split()[0] for r in fallen] == ["anon", "and"], fallen
    assert fallen[1] == f"  and 1 more kind ({format_delta(-8 * KiB)})", fallen


def test_nothing_fell(tmp_path):
    snaps = [
        snapshot(T0 + k, [region(TEXT, rss=8 * KiB), region(HEAP, size=h, rss=h)])
        for k, h in enumerate([MiB, 2 * MiB])
    ]
    text = report(write(tmp_path / "grew.jsonl.gz", snaps))
    assert section(text, "Largest falls by kind") == ["  none fell"]


# -- 5. the times printed name the samples they are of ------------------------------------

# Samples every 0.5 s from a start 0.77 s past a whole second, each a few milliseconds
# late, as the recorder takes them (the review's recording: sample 60 at +30.0041 s).
LATE_START = T0 + 0.77
LATE = 0.004


def _late_churn(path) -> tuple[str, int]:
    """32 MiB mapped for 5 s of every 10 s, 80 samples at 0.5 s: the peak (1 MiB more)
    at sample 60, 30.004 s after the start; the sample before it has 32 MiB less."""
    snaps, rss = [], []
    for k in range(80):
        when = LATE_START + 0.5 * k + (LATE if k else 0.0)
        anon = (32 * MiB if (k // 10) % 2 == 0 else MiB) + (MiB if k == 60 else 0)
        regions = [region(TEXT, rss=8 * KiB), region(ANON, size=anon, rss=anon)]
        rss.append(8 * KiB + anon)
        snaps.append(snapshot(when, regions))
    assert max(rss) == rss[60] and rss.count(rss[60]) == 1
    return write(path, snaps, interval=0.5), rss[60]


def _rss_at(path, at: str) -> int:
    out = run_vmtop("replay", path, "--at", at, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["totals"]["rss"]


def test_the_peak_time_printed_shows_the_peak_when_typed_back(tmp_path):
    """The report said "peak 50M at 12:11:32 (+30s)"; `replay --at 12:11:32` and `--at
    30s` showed the sample before the peak, 31 MiB less."""
    path, peak_rss = _late_churn(tmp_path / "late.jsonl.gz")
    text = report(path)
    rss_line = next(line for line in text.splitlines() if line.startswith("RSS:"))
    found = re.search(r"peak (\S+) at \S+ (\S+) \(\+(\S+)\)", rss_line)
    assert found is not None, rss_line
    size, clock_text, after = found.groups()
    assert size == format_bytes(peak_rss)
    # 30.774 s past the whole second: with its tenths, rounded.
    assert clock_text == f"{clock(T0 + 30)}.8", rss_line
    for typed in (clock_text, after):
        assert _rss_at(path, typed) == peak_rss, typed


def test_start_end_and_length_are_as_precise_as_the_samples(tmp_path):
    """They were printed in whole seconds, as was the peak's time (the heap's had
    tenths): at 0.5 s, two samples to a second, one label for both."""
    path, _ = _late_churn(tmp_path / "late.jsonl.gz")
    text = report(path)
    heading = next(line for line in text.splitlines() if line.startswith("  from "))
    # Start and end, and the duration between: 39.504 s, not "40s".
    assert f"{clock(T0)}.8 to " in heading and f" {clock(T0 + 40)}.3 (39.5s)" in heading, heading


def test_memory_that_went_to_swap_is_said_beside_the_rss(tmp_path):
    """144 MiB paged out (MADV_PAGEOUT): the RSS fell by it and the report read as memory
    released, swap said nowhere. A swap line says where it went; none where nothing
    was ever on swap."""

    def sample(t, rss, swap):
        snap = snapshot(T0 + t, [region(TEXT, rss=8 * KiB), region(ANON, size=144 * MiB, rss=rss)])
        return snap._replace(totals=snap.totals._replace(swap=swap))

    paged_out = write(
        tmp_path / "out.jsonl.gz",
        [sample(0, 144 * MiB, 0), sample(1, 100 * MiB, 44 * MiB), sample(2, 0, 144 * MiB)],
    )
    lines = report(paged_out).splitlines()
    (swap,) = [line for line in lines if line.startswith("Swap:")]
    assert swap.startswith(
        f"Swap: 0 at the start, {format_bytes(144 * MiB)} at the end "
        f"({format_delta(144 * MiB)}), peak {format_bytes(144 * MiB)} at "
    )
    assert swap.endswith("memory out of RAM, in no RSS, not freed")
    never = write(tmp_path / "none.jsonl.gz", [sample(0, 144 * MiB, 0), sample(1, 0, 0)])
    assert not [line for line in report(never).splitlines() if line.startswith("Swap")]


def test_the_recordings_peak_before_an_exec_is_said(tmp_path):
    """17 MiB before an exec, 6.6 MiB after: the report spoke of the program run last
    and the recording's peak appeared nowhere (review)."""
    old = [region(TEXT, rss=8 * KiB), region(ANON, size=17 * MiB, rss=17 * MiB)]
    new = [region(TEXT, rss=8 * KiB), region(ANON, size=6 * MiB, rss=6 * MiB)]
    snaps = [snapshot(T0, old), snapshot(T0 + 1, old)]
    snaps += [snapshot(T0 + 2 + k, new, comm="newprog") for k in range(3)]
    exec_event = Event(T0 + 2, "exec", 0, 0, "", 0, 0, "/usr/bin/newprog", None, "ran")
    text = report(
        write(tmp_path / "exec.jsonl.gz", snaps, events_of=lambda i: [exec_event] * (i == 2))
    )
    peak = 17 * MiB + 8 * KiB
    (line,) = [x for x in text.splitlines() if "before the exec" in x]
    assert f"RSS peak {format_bytes(peak)} at " in line and clock(T0) in line, line
    # Where the program run last peaked higher, nothing more is said.
    snaps[2:] = [snapshot(T0 + 2 + k, old + new[1:], comm="newprog") for k in range(3)]
    text = report(
        write(tmp_path / "exec2.jsonl.gz", snaps, events_of=lambda i: [exec_event] * (i == 2))
    )
    assert "before the exec" not in text


def test_kinds_and_regions_end_at_the_last_smaps_read_where_the_last_samples_carry_it(tmp_path):
    """A big map's smaps is read every few samples: the last samples carry the last
    read's figures, and the kinds' and regions' growth ends there, not at the end."""
    snaps = [
        snapshot(T0 + k, [region(TEXT, rss=8 * KiB), region(ANON, size=4 * MiB, rss=k * MiB)])
        for k in range(3)
    ]
    carried = snaps[2]._replace(taken_at=T0 + 3, smaps_read_at=T0 + 2)
    text = report(write(tmp_path / "carried.jsonl.gz", [*snaps, carried]))
    heading = text.split("\nLargest growths by kind")[1].splitlines()[0]
    assert f"start → the last smaps read, at {clock(T0 + 2)}" in heading, heading
    # Read with every sample: to the end, as before.
    text = report(write(tmp_path / "read.jsonl.gz", snaps))
    assert "last smaps read" not in text


def test_a_file_unmapped_and_mapped_again_is_new_as_diff_says(tmp_path):
    """A data file munmapped and mmapped again at the same address between the first
    and the last sample (`vmtop demo mmap`'s rounds): the report called it one region
    "changed size ±0 RSS +64M" where `vmtop diff REC` said one new and one gone. The
    recording's events are the ground truth: unmapped, then mapped."""
    data = (0x7F1B77A00000, 0x7F1B87A00000, "r--p", 0, "fe:00", 99, "/tmp/data.bin", "file")
    base = [region(TEXT, rss=8 * KiB), region(STACK, rss=8 * KiB)]
    snaps = [
        snapshot(T0, [*base, region(data, rss=32 * MiB)]),
        snapshot(T0 + 1, base),
        snapshot(T0 + 2, [*base, region(data, rss=96 * MiB)]),
    ]
    size = data[1] - data[0]

    def events_of(i):
        if i == 1:
            return (Event(T0 + 1, "unmapped", data[0], data[1], "file", size, -size, data[6]),)
        if i == 2:
            return (Event(T0 + 2, "mapped", data[0], data[1], "file", size, size, data[6]),)
        return ()

    path = write(tmp_path / "remap.jsonl.gz", snaps, events_of=events_of)
    diffed = run_vmtop("diff", path, "--json")
    said = {c["event"] for c in json.loads(diffed.stdout)["changes"]}
    assert {"mapped", "unmapped"} <= said, said  # (diff: new, gone)
    row = row_of(
        section(report(path), "Largest growths by region"), f"{data[0]:012x}-{data[1]:012x}"
    )
    assert re.search(r" new +size +\+256M +RSS +\+96M ", row), row


def test_a_demos_narration_is_no_event_by_type(tmp_path):
    """`report` led its "Events by type" with "note 23" on a demo's recording: the
    demo's narration, no memory event. It is said apart, after them."""
    snaps = [snapshot(T0 + i, [region(HEAP, size=MiB * (i + 1), rss=MiB)]) for i in range(3)]

    def events_of(i):
        said = [Event(T0 + i, "note", 0, 0, "", 0, 0, detail=f"step {i}") for _ in range(2)]
        grew = Event(T0 + i, "heap_grew", HEAP[0], HEAP[0] + MiB * (i + 1), "heap", MiB, MiB)
        return [*said, grew] if i else said

    text = report(write(tmp_path / "demo.jsonl.gz", snaps, events_of=events_of))
    rows = section(text, "Events by type")
    assert rows[0].split() == ["heap_grew", "2"], rows
    assert not any(r.split()[:1] == ["note"] for r in rows), rows
    assert rows[-1] == "  (and 6 lines of the demo's narration)", rows
