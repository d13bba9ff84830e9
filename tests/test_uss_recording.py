"""USS in recordings: written with the totals, so a replay and `vmtop report` show it;
a file written before totals had it (nine fields, a header that does not name it) is
still read, its samples' USS summed from the regions' figures it kept, and its report
says no USS. SHR is worked out from RssFile and RssShmem, which every file has."""

from __future__ import annotations

import gzip
import json
import zlib

from conftest import PROC_FIXTURES

from vmtop.commands.report import report_lines
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import compute_totals, take_snapshot
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter
from vmtop.tui.formatting import format_bytes

MiB = 1 << 20
T0 = 1_700_000_000.0


def samples() -> list:
    """Five samples of a fixture process whose anonymous region gains 1 MiB of private
    dirty memory a sample, and whose shared memory grows by 1 MiB once; totals as
    take_snapshot sums them."""
    base = take_snapshot(ProcFS(str(PROC_FIXTURES)), 7925)
    assert base.has_smaps
    k = next(i for i, r in enumerate(base.regions) if r.kind == "heap")
    out = []
    for step in range(5):
        regions = list(base.regions)
        r = regions[k]
        regions[k] = r._replace(private_dirty=(r.private_dirty or 0) + step * MiB)
        status = {**base.status, "RssShmem": base.status["RssShmem"] + (MiB if step > 2 else 0)}
        snap = base._replace(
            regions=tuple(regions),
            status=status,
            totals=compute_totals(regions, status, True),
            taken_at=T0 + step,
        )
        out.append(snap)
    return out


def write(path, snaps) -> None:
    writer = RecordingWriter(str(path), interval=1.0, keyframe_every=2)
    for snap in snaps:
        writer.write_sample(snap, [])
    writer.close()


def private_sum(snap) -> int:
    return sum((r.private_clean or 0) + (r.private_dirty or 0) for r in snap.regions)


def test_a_replay_and_the_report_show_the_uss_recorded(tmp_path):
    snaps = samples()
    path = tmp_path / "r.jsonl.gz"
    write(path, snaps)
    rec = Recording.open(str(path))
    assert "uss" in rec.header["totals_fields"]
    for i, snap in enumerate(snaps):
        assert rec.samples[i].totals.uss == snap.totals.uss == private_sum(snap)
        assert rec.snapshot(i).totals == snap.totals
        assert rec.snapshot(i).totals.shr == snap.status["RssFile"] + snap.status["RssShmem"]
    lines = report_lines(rec)
    first, last = private_sum(snaps[0]), private_sum(snaps[-1])
    (uss,) = [line for line in lines if line.startswith("USS:")]
    assert uss.startswith(
        f"USS: {format_bytes(first)} at the start, {format_bytes(last)} at the end (+4.0M), "
        f"peak {format_bytes(last)}"
    )
    first, last = (s.status["RssFile"] + s.status["RssShmem"] for s in (snaps[0], snaps[-1]))
    (shr,) = [line for line in lines if line.startswith("SHR:")]
    assert shr.startswith(
        f"SHR: {format_bytes(first)} at the start, {format_bytes(last)} at the end (+1.0M), "
        f"peak {format_bytes(last)}"
    )


def rewritten(data: bytes, change) -> bytes:
    """The recording with ``change(record)`` applied to each of its records, member by
    member (a keyframe starts one), as the writer compresses it."""
    out = []
    while data:
        z = zlib.decompressobj(31)
        z.decompress(data)
        used = len(data) - len(z.unused_data)
        member, data = data[:used], data[used:]
        lines = []
        for line in gzip.decompress(member).splitlines():
            record = json.loads(line)
            change(record)
            lines.append(json.dumps(record).encode())
        out.append(gzip.compress(b"\n".join(lines) + b"\n"))
    return b"".join(out)


def as_written_before_uss(data: bytes) -> bytes:
    """A recording as vmtop wrote it before totals had USS: the header names nine
    totals fields, each sample's totals have nine."""

    def change(record: dict) -> None:
        if record["type"] == "header":
            record["totals_fields"].remove("uss")
        if "totals" in record:
            record["totals"] = record["totals"][:9]

    return rewritten(data, change)


def test_a_recording_made_before_uss_is_read_and_its_uss_summed(tmp_path):
    snaps = samples()
    path = tmp_path / "old.jsonl.gz"
    write(path, snaps)
    path.write_bytes(as_written_before_uss(path.read_bytes()))
    rec = Recording.open(str(path))
    assert rec.notes == [] and len(rec) == len(snaps)
    assert "uss" not in rec.header["totals_fields"]
    for i, snap in enumerate(snaps):
        assert rec.samples[i].totals.uss is None  # the timeline's: not recorded
        got = rec.snapshot(i)
        assert got.regions == snap.regions
        # The replay's header: from the figures the file kept of each region.
        assert got.totals.uss == private_sum(snap)
        assert got.totals._replace(uss=None) == snap.totals._replace(uss=None)
    lines = report_lines(rec)
    assert not [line for line in lines if line.startswith("USS:")]
    assert [line for line in lines if line.startswith("SHR:")]


def test_a_json_snapshot_written_before_uss_gets_it_from_its_regions(tmp_path):
    """`vmtop diff old.json new.json` said "USS - → 8.1M" of a snapshot written before
    USS was a total, whose regions hold every figure it sums (review)."""
    from conftest import run_vmtop

    from vmtop.output.json_in import snapshot_of

    done = run_vmtop("snapshot", "--proc-root", PROC_FIXTURES, "7925", "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    uss = document["totals"].pop("uss")
    rows = document["regions"]
    summed = sum((row.get("private_clean") or 0) + (row.get("private_dirty") or 0) for row in rows)
    assert uss == summed > 0  # what vmtop wrote: smem's sum over the regions
    assert snapshot_of(document).totals.uss == summed
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document))
    said = run_vmtop("diff", old, old)
    assert said.returncode == 0, said.stderr
    line = next(x for x in said.stdout.decode().splitlines() if "USS" in x)
    assert f"USS {format_bytes(summed)}" in line and "USS -" not in line, line


def with_later_fields(data: bytes) -> bytes:
    """The recording as a later vmtop might write it: one more value at the end of each
    sample's totals, each event and the process info (fields this version does not
    know)."""

    def change(record: dict) -> None:
        for key in ("totals", "info"):
            if type(record.get(key)) is list:
                record[key] = [*record[key], 12345]
        if type(record.get("events")) is list:
            record["events"] = [[*row, "later"] for row in record["events"]]

    return rewritten(data, change)


def test_a_recording_with_fields_a_later_vmtop_added_is_read(tmp_path):
    """Totals gained USS and an older vmtop refused every recording made after it ("bad
    totals"): values after the known ones are now left out, not refused."""
    from vmtop.model.events import Event

    snaps = samples()
    path = tmp_path / "r.jsonl.gz"
    writer = RecordingWriter(str(path), interval=1.0, keyframe_every=2)
    for i, snap in enumerate(snaps):
        mapped = Event(snap.taken_at, "mapped", 0x7F00_0000_0000 + i * MiB,
                       0x7F00_0010_0000 + i * MiB, "anon", MiB, MiB)  # fmt: skip
        writer.write_sample(snap, [mapped])
    writer.close()
    later = tmp_path / "later.jsonl.gz"
    data = path.read_bytes()
    later.write_bytes(with_later_fields(data))
    assert later.read_bytes() != data
    rec, known = Recording.open(str(later)), Recording.open(str(path))
    assert len(rec.samples) == len(known.samples) == len(snaps)
    for i in range(len(snaps)):
        assert rec.samples[i].totals == known.samples[i].totals == snaps[i].totals
        assert rec.events_of(i) == known.events_of(i) and len(rec.events_of(i)) == 1
