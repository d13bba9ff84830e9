"""Memory in hugetlb pages faulted in or freed makes events (it is in no Rss).

PostgreSQL with huge_pages=on maps its shared buffers with MAP_HUGETLB: a backend going
from 18 MiB to 272 MiB of them made no event in `watch` or the TUI, while 64 KiB of a
library made one. Ground truth: the recorded process's smaps (huge_pages.c), and a live
C child that says where its hugetlb pages are and how much of them it touched.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import FIXTURES
from helpers_diff import MiB, base_regions, region, snapshot
from helpers_hugetlb import hugetlb_child
from hypothesis import given, settings
from hypothesis import strategies as st

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.model.hugetlb_events import HUGETLB_WORDS, HugetlbDrift, hugetlb_events
from vmtop.model.rss_drift import RssDrift
from vmtop.procfs.hugetlb_figures import hugetlb_figures
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_blocks import region_fields
from vmtop.procfs.snapshot import take_snapshot

ROOT = FIXTURES / "real" / "huge_pages"
PID = int(next(p.name for p in ROOT.iterdir() if p.name.isdigit()))
AT = 0x7F30_0000_0000
HUGE = 2 * MiB


# -- the figures, from smaps -------------------------------------------------------------


def test_the_recorded_process_figures_are_its_smaps_hugetlb_lines():
    snap = take_snapshot(ProcFS(str(ROOT)), PID)
    ready = (ROOT / "ready.txt").read_text().split()[1:]
    printed = {k: int(v, 16) for k, v in (f.split("=") for f in ready)}
    got = dict(snap.hugetlb)
    assert got == {printed["hugetlb_shared"]: 4 * MiB, printed["hugetlb_private"]: 6 * MiB}
    # Every region's two lines, as the region detail parses them.
    for r in snap.regions:
        fields = region_fields(snap, r)
        total = fields.get("Shared_Hugetlb", 0) + fields.get("Private_Hugetlb", 0)
        assert got.get(r.start, 0) == total, r
    assert sum(got.values()) == snap.status["HugetlbPages"]


def test_figures_are_searched_for_only_where_status_says_there_are_some(tmp_path):
    tree = tmp_path / "proc"
    (tree / str(PID)).mkdir(parents=True)
    for name in ("maps", "smaps", "stat", "cmdline"):
        (tree / str(PID) / name).write_bytes((ROOT / str(PID) / name).read_bytes())
    status = (ROOT / str(PID) / "status").read_text()
    hugetlb_line = next(ln for ln in status.splitlines() if ln.startswith("HugetlbPages:"))
    without = status.replace(hugetlb_line, "HugetlbPages:\t       0 kB")
    (tree / str(PID) / "status").write_text(without)
    assert take_snapshot(ProcFS(str(tree)), PID).hugetlb == ()  # none, as status says
    (tree / str(PID) / "status").write_text(status.replace(hugetlb_line + "\n", ""))
    assert take_snapshot(ProcFS(str(tree)), PID).hugetlb is None  # status does not say
    assert take_snapshot(ProcFS(str(tree)), PID, smaps=False).hugetlb is None


def _block(start: int, name: str, shared_kb: int, private_kb: int) -> bytes:
    return (
        f"{start:x}-{start + HUGE:x} rw-s 00000000 00:0f 4242 {name}\n"
        f"Size:               {HUGE >> 10} kB\nRss:                   0 kB\n"
        f"Shared_Hugetlb:  {shared_kb:>8} kB\nPrivate_Hugetlb: {private_kb:>8} kB\n"
        "Swap:                  0 kB\nVmFlags: rd wr sh mr mw me ms ht\n"
    ).encode()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5000),
            st.integers(0, 5000),
            st.text(alphabet="ab/-_ .0123456789", max_size=300),
        ),
        max_size=12,
    )
)
def test_figures_match_each_blocks_lines(blocks):
    text = b"".join(
        _block(AT + k * HUGE, "/x" + name, shared, private)
        for k, (shared, private, name) in enumerate(blocks)
    )
    expected = {
        AT + k * HUGE: (shared + private) * 1024
        for k, (shared, private, _) in enumerate(blocks)
        if shared + private
    }
    assert dict(hugetlb_figures(text)) == expected
    assert dict(hugetlb_figures(memoryview(text))) == expected


def test_json_totals_say_the_memory_in_hugetlb_pages():
    # It is in no RSS: the totals said 0 of a backend's 278 MiB of shared buffers.
    argv = [sys.executable, "-m", "vmtop", "snapshot", "--proc-root", ROOT, "--format", "json"]
    out = subprocess.run([*map(str, argv), str(PID)], capture_output=True, check=True)
    assert json.loads(out.stdout)["totals"]["hugetlb"] == 10 * MiB


# -- events --------------------------------------------------------------------------------


def _with(regions, figures: dict[int, int] | None, taken_at: float = 1.0):
    return snapshot(regions, taken_at=taken_at)._replace(
        hugetlb=None if figures is None else tuple(figures.items())
    )


def _shared_buffers(size: int = 16 * HUGE):
    return region(AT, AT + size, "rw-s", "/anon_hugepage (deleted)", inode=9)


def test_hugetlb_pages_faulted_in_are_an_rss_changed_event_that_says_hugetlb():
    regions = [*base_regions(), _shared_buffers()]
    before, after = _with(regions, {AT: 9 * HUGE}), _with(regions, {AT: 136 * HUGE}, 2.0)
    (event,) = diff_snapshots(before, after)
    assert event.event == ev.RSS_CHANGED and (event.start, event.end) == (AT, AT + 16 * HUGE)
    assert event.delta == 127 * HUGE and event.size == 127 * HUGE
    assert "hugetlb pages faulted in" in event.detail and HUGETLB_WORDS in event.detail
    assert "now 272.0 MiB" in event.detail
    # A region that had no hugetlb page yet is no region "mapped since".
    (event,) = diff_snapshots(_with(regions, {}), after)
    assert event.delta == 136 * HUGE and "since it was mapped" not in event.detail
    # Freed (the region stays mapped): its figure falls to nothing.
    (event,) = diff_snapshots(after, _with(regions, {}, 3.0))
    assert event.delta == -136 * HUGE and "hugetlb pages freed" in event.detail


def test_no_event_where_either_snapshot_does_not_know_its_figures():
    regions = [*base_regions(), _shared_buffers()]
    known = _with(regions, {AT: 4 * HUGE})
    assert diff_snapshots(_with(regions, None), known) == []
    assert diff_snapshots(known, _with(regions, None)) == []
    assert hugetlb_events(_with(regions, {}), _with(regions, {}), 1) == []


def test_slow_faulting_is_summed_until_it_reaches_the_threshold():
    regions = [*base_regions(), _shared_buffers()]
    drift = HugetlbDrift(threshold=3 * HUGE)
    assert drift.update(_with(regions, {AT: HUGE})) == []  # first seen: counting starts
    assert drift.update(_with(regions, {AT: 2 * HUGE})) == []
    assert drift.update(_with(regions, {AT: 3 * HUGE})) == []
    (event,) = drift.update(_with(regions, {AT: 4 * HUGE}))
    assert event.delta == 3 * HUGE
    assert drift.update(_with(regions, {AT: 5 * HUGE})) == []  # counted from 4 now
    assert drift.update(_with(regions, None)) == []  # a tick without the figures
    (event,) = drift.update(_with(regions, {AT: 7 * HUGE}))
    assert event.delta == 3 * HUGE


def test_a_region_mapped_since_counts_from_nothing_and_one_unmapped_is_forgotten():
    drift = HugetlbDrift(threshold=HUGE)
    assert drift.update(_with(base_regions(), {})) == []
    regions = [*base_regions(), _shared_buffers()]
    (event,) = drift.update(_with(regions, {AT: 4 * HUGE}))
    assert event.delta == 4 * HUGE and "since it was mapped" in event.detail
    assert len(drift) == 1
    assert drift.update(_with(base_regions(), {})) == []  # unmapped: the unmapped event says
    assert len(drift) == 0
    # Another mapping at the same address later counts from nothing too.
    again = [*base_regions(), _shared_buffers(8 * HUGE)._replace(inode=10)]
    (event,) = drift.update(_with(again, {AT: 2 * HUGE}))
    assert event.delta == 2 * HUGE


def test_the_tuis_drift_reports_hugetlb_with_rss_at_its_threshold():
    regions = [*base_regions(), _shared_buffers()]
    drift = RssDrift(threshold=64 << 10)
    assert drift.update(_with(regions, {AT: 0})) == []
    drift.threshold = 8 * HUGE  # `t` changes it, for hugetlb too
    assert drift.update(_with(regions, {AT: 4 * HUGE})) == []
    (event,) = drift.update(_with(regions, {AT: 8 * HUGE}))
    assert event.delta == 8 * HUGE and HUGETLB_WORDS in event.detail


# -- live ----------------------------------------------------------------------------------


@pytest.mark.live
def test_watch_says_when_a_process_touches_its_hugetlb_pages(compile_c, spawn):
    with hugetlb_child(compile_c, spawn) as child:
        watch = spawn([*WATCH, child.pid], stderr=subprocess.DEVNULL)
        json.loads(watch.read_line(30))  # the first snapshot is read
        touched = child.touch()
        event = _next(watch, ev.RSS_CHANGED, lambda e: HUGETLB_WORDS in e["detail"])
    assert int(str(event["start"]), 0) == child.start, event
    assert int(str(event["end"]), 0) - child.start == child.size
    assert event["delta"] == touched, event


@pytest.mark.live
def test_diff_of_two_json_snapshots_says_the_hugetlb_pages_faulted_in(compile_c, spawn, tmp_path):
    """`vmtop diff A.json B.json` of a database faulting in its shared buffers with
    huge_pages=on printed "nothing" and exited 0 (review): no RSS counts them."""
    from conftest import run_vmtop

    from vmtop.tui.formatting import format_bytes

    before, after = tmp_path / "a.json", tmp_path / "b.json"
    with hugetlb_child(compile_c, spawn) as child:
        before.write_bytes(run_vmtop("snapshot", child.pid, "--format", "json").stdout)
        touched = child.touch()
        after.write_bytes(run_vmtop("snapshot", child.pid, "--format", "json").stdout)
    text = run_vmtop("diff", before, after)
    assert text.returncode == 1, text  # (0: the same)
    out = text.stdout.decode()
    grown = format_bytes(touched)
    assert f"hugetlb 0 → {grown} (+{grown})" in out, out
    line = next(x for x in out.splitlines() if "rss_changed" in x and HUGETLB_WORDS in x)
    assert f"{child.start:#x}-{child.start + child.size:#x}" in line, line
    record = json.loads(run_vmtop("diff", "--json", before, after).stdout)
    (event,) = [e for e in record["changes"] if HUGETLB_WORDS in e["detail"]]
    assert event["delta"] == touched, event


# -- unmapped ------------------------------------------------------------------------------


def test_a_hugetlb_mapping_unmapped_says_the_hugetlb_pages_that_went_with_it():
    # Its Rss is 0: "rss 0" and nothing else was all the event said (review).
    regions = [*base_regions(), _shared_buffers()]
    before = _with(regions, {AT: 5 * HUGE})
    after = _with(base_regions(), {}, 2.0)
    (event,) = [e for e in diff_snapshots(before, after) if e.event == ev.UNMAPPED]
    assert (event.start, event.end) == (AT, AT + 16 * HUGE) and event.rss == 0
    assert f"10.0 MiB {HUGETLB_WORDS} went with it" in event.detail
    # A mapping without any says nothing of them; nor where they are not known.
    (event,) = [e for e in diff_snapshots(_with(regions, {}), after) if e.event == ev.UNMAPPED]
    assert "went with it" not in event.detail
    (event,) = [e for e in diff_snapshots(_with(regions, None), after) if e.event == ev.UNMAPPED]
    assert "went with it" not in event.detail


@pytest.mark.live
def test_watch_says_the_hugetlb_pages_an_unmapped_mapping_held(compile_c, spawn):
    with hugetlb_child(compile_c, spawn) as child:
        watch = spawn([*WATCH, child.pid], stderr=subprocess.DEVNULL)
        json.loads(watch.read_line(30))  # the header
        touched = child.touch()
        # The pages faulted in, seen before they go.
        _next(watch, ev.RSS_CHANGED, lambda e: HUGETLB_WORDS in e["detail"])
        assert child.command("unmap") == ["UNMAPPED"]
        event = _next(watch, ev.UNMAPPED, lambda e: int(str(e["start"]), 0) == child.start)
    assert int(str(event["end"]), 0) - child.start == child.size
    mib = touched / (1 << 20)
    assert f"{mib:.1f} MiB {HUGETLB_WORDS} went with it" in event["detail"], event


WATCH = [sys.executable, "-m", "vmtop", "watch", "--json", "--interval", "0.2"]


def _next(watch, name: str, wanted) -> dict:
    """The next event ``name`` that `watch --json` prints and ``wanted`` takes."""
    while True:
        event = json.loads(watch.read_line(10))
        if event.get("event") == name and wanted(event):
            return event


def test_two_moments_compared_say_the_hugetlb_pages_of_a_mapping_gone_between():
    # `vmtop diff` of two samples of a recording, and the replay's A→B line.
    from vmtop.model.moments import net_change

    regions = [*base_regions(), _shared_buffers()]
    gone = net_change(_with(regions, {AT: 3 * HUGE}), _with(base_regions(), {}, 9.0))
    (event,) = [e for e in gone if e.event == ev.UNMAPPED]
    assert (event.start, event.end) == (AT, AT + 16 * HUGE)
    assert f"6.0 MiB {HUGETLB_WORDS} went with it" in event.detail
