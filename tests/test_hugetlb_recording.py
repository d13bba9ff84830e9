"""Memory in hugetlb pages in recordings: kept per region (keyframe and delta bodies) and
in all (sample lines), so that a replay, `vmtop report` and `vmtop diff REC` show it as
live vmtop does; a file written before (without the keys) still replays as before.

No Rss counts hugetlb pages: a PostgreSQL backend with huge_pages=on going from 18 to
240 MiB of shared buffers replayed flat, and its report said nothing of it. Ground
truth: the smaps and status text of each sample (helpers_hugetlb rewrites the recorded
huge_pages process's), and a live C child that says where its hugetlb pages are and how
much of them it touched.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import time

import pytest
from conftest import VMTOP
from helpers_hugetlb import (
    PID,
    PRIVATE,
    SHARED,
    MiB,
    hugetlb_child,
    hugetlb_tree,
    smaps_hugetlb,
    status_kib,
)

from vmtop.commands.diff import Moment, compare
from vmtop.commands.diff_lines import text_lines
from vmtop.commands.report import report_lines
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record import format as fmt
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter
from vmtop.tui.formatting import format_bytes, format_delta

T0 = 1_700_000_000.0
# The shared region's hugetlb pages, sample by sample: faulted in, then some freed; the
# private region's stay as recorded but for one sample.
SHARED_COURSE = [4, 4, 10, 30, 30, 60, 60, 20]
PRIVATE_COURSE = [6, 6, 6, 6, 8, 8, 6, 6]


def trees(tmp_path) -> list:
    """A proc tree per sample, as the kernel would print each."""
    out = []
    for i, (shared, private) in enumerate(zip(SHARED_COURSE, PRIVATE_COURSE, strict=True)):
        out.append(hugetlb_tree(tmp_path / f"t{i}", {SHARED: shared * MiB, PRIVATE: private * MiB}))
    return out


def record(path, roots, keyframe_every: int = 3) -> None:
    writer = RecordingWriter(str(path), interval=1.0, keyframe_every=keyframe_every)
    for i, root in enumerate(roots):
        snap = take_snapshot(ProcFS(str(root)), PID)
        writer.write_sample(snap._replace(taken_at=T0 + i), [])
    writer.close()


def lines_of(path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def test_a_replay_gives_back_each_samples_hugetlb_pages(tmp_path):
    roots = trees(tmp_path)
    path = tmp_path / "r.jsonl.gz"
    record(path, roots)
    rec = Recording.open(str(path))
    assert len(rec) == len(roots)
    for i, root in enumerate(roots):
        snap = rec.snapshot(i)
        assert dict(snap.hugetlb) == smaps_hugetlb(root), i
        assert rec.samples[i].hugetlb == status_kib(root, "HugetlbPages"), i
        assert snap.status["HugetlbPages"] == status_kib(root, "HugetlbPages")
    # Backwards too (from a kept keyframe, not the file), and out of order.
    for i in (7, 2, 5, 0, 4):
        assert dict(rec.snapshot(i).hugetlb) == smaps_hugetlb(roots[i]), i
    # Written as the format says: with keyframes, and in deltas when they changed.
    written = lines_of(path)
    bodies = {r["i"]: r for r in written if r["type"] in ("keyframe", "delta")}
    assert all("hugetlb" in r for r in bodies.values() if r["type"] == "keyframe")
    assert 1 not in bodies or "hugetlb" not in bodies[1]  # sample 1 changed nothing
    samples = [r for r in written if r["type"] == "sample"]
    assert "hugetlb" not in samples[1] and samples[2]["hugetlb"] == 16 * MiB


def test_a_file_written_before_them_replays_as_before(tmp_path):
    roots = trees(tmp_path)
    path = tmp_path / "r.jsonl.gz"
    record(path, roots)
    older = tmp_path / "older.jsonl"  # uncompressed: a reader accepts it
    kept = []
    for line in lines_of(path):
        line.pop("hugetlb", None)
        if line["type"] == "delta" and set(line) == {"type", "i"}:
            continue  # a body that said nothing else was never written
        kept.append(json.dumps(line, separators=(",", ":")))
    older.write_text("\n".join(kept) + "\n")
    old, new = Recording.open(str(older)), Recording.open(str(path))
    assert old.notes == [] and len(old) == len(new)
    for i in range(len(old)):
        a, b = old.snapshot(i), new.snapshot(i)
        assert a.regions == b.regions and a.status == b.status and a.totals == b.totals
        assert a.hugetlb is None and old.samples[i].hugetlb is None
    assert not any(line.startswith("Hugetlb") for line in report_lines(old))


def test_a_damaged_figure_is_no_figure():
    assert fmt.row_hugetlb([[SHARED, 4 * MiB]]) == ((SHARED, 4 * MiB),)
    assert fmt.row_hugetlb(None) is None
    for bad in ([[SHARED, "4"]], [[SHARED]], {"a": 1}, [[SHARED, 1.5]]):
        with pytest.raises(ValueError):
            fmt.row_hugetlb(bad)


def test_the_report_says_the_hugetlb_pages_at_the_start_the_end_and_their_peak(tmp_path):
    roots = trees(tmp_path)
    path = tmp_path / "r.jsonl.gz"
    record(path, roots)
    lines = report_lines(Recording.open(str(path)))
    totals = [status_kib(root, "HugetlbPages") for root in roots]
    first, last, peak = totals[0], totals[-1], max(totals)
    (line,) = [line for line in lines if line.startswith("Hugetlb:")]
    assert line.startswith(
        f"Hugetlb: {format_bytes(first)} at the start, {format_bytes(last)} at the end "
        f"({format_delta(last - first)}), peak {format_bytes(peak)} at "
    )
    assert "in no RSS" in line
    # Beside the kinds (their resident bytes are Rss), from the start to the end.
    assert (
        f"Memory in hugetlb pages (in none of the kinds above, start → end): "
        f"{format_bytes(first)} → {format_bytes(last)} ({format_delta(last - first)})"
    ) in lines
    # The region whose hugetlb pages grew is among the growths, by how much.
    grown = smaps_hugetlb(roots[-1])[SHARED] - smaps_hugetlb(roots[0])[SHARED]
    (row,) = [line for line in lines if line.startswith(f"  {SHARED:012x}-")]
    assert f"hugetlb {format_delta(grown)}" in row and "/anon_hugepage" in row
    assert not any(line.startswith(f"  {PRIVATE:012x}-") for line in lines)  # back to 6M


def test_diff_of_two_samples_says_the_hugetlb_pages_at_each(tmp_path):
    roots = trees(tmp_path)
    path = tmp_path / "r.jsonl.gz"
    record(path, roots)
    rec = Recording.open(str(path))
    a, b = 1, 5
    moments = [Moment(rec.snapshot(i), f"sample {i + 1}", i, rec.number(i)) for i in (a, b)]
    lines = text_lines(compare(*moments, 64 << 10, rec))
    was, now = (status_kib(roots[i], "HugetlbPages") for i in (a, b))
    assert (
        f"hugetlb {format_bytes(was)} → {format_bytes(now)} ({format_delta(now - was)})"
        in (lines[3])
    )
    grown = smaps_hugetlb(roots[b])[SHARED] - smaps_hugetlb(roots[a])[SHARED]
    assert any(
        "rss_changed" in line and f"0x{SHARED:x}-" in line and f"+{grown / MiB:.1f} MiB" in line
        for line in lines
    ), lines


# -- live ----------------------------------------------------------------------------------


@pytest.mark.live
def test_a_recording_of_a_process_touching_its_hugetlb_pages(compile_c, spawn, tmp_path):
    path = tmp_path / "live.jsonl.gz"
    with hugetlb_child(compile_c, spawn) as child:
        start = child.start
        argv = [*VMTOP, "record", str(child.pid), "-o", str(path), "--interval", "0.2"]
        recorder = subprocess.Popen(
            [*argv, "--count", "12"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(0.8)  # a few samples before
        touched = child.touch()
        assert recorder.wait(timeout=30) == 0, recorder.stderr.read()
    rec = Recording.open(str(path))
    assert rec.samples[0].hugetlb == 0 and rec.samples[-1].hugetlb == touched
    assert dict(rec.snapshot(len(rec) - 1).hugetlb) == {start: touched}
    assert dict(rec.snapshot(0).hugetlb) == {}
    lines = report_lines(rec)
    (line,) = [line for line in lines if line.startswith("Hugetlb:")]
    assert line.startswith(f"Hugetlb: 0 at the start, {format_bytes(touched)} at the end")
    (row,) = [line for line in lines if line.startswith(f"  {start:012x}-")]
    assert f"hugetlb {format_delta(touched)}" in row
