"""What the headless commands hold per region of a big map, measured by tracemalloc
(issue 10: a million regions, headless outputs within 256 MiB).

- a recording's keyframe read back (`replay --at`, `report`, `diff REC`): json.loads
  makes an object of every value, so each region's "r--p", "anon" and 4096 were its
  own, and every row's list was held beside its Region: 590 bytes a region held, 990
  at the peak;
- a delta of every region's resident figures (the first smaps read after a maps-only
  sample) applied with its million lists held beside the new Regions;
- `replay --at --format json`: every region's text, then their join, held at once (a
  million: 2.1 GB);
- `where` on a live process: the whole maps text and a Region a region (a million:
  606 MB), where columns read in pieces do.

Ground truth: the regions written are the regions read back; `where`'s answers are
the kernel's maps line for the address.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import io
import json
import tracemalloc

import pytest
from conftest import REPO
from test_recording import fixture_sequence

from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region
from vmtop.output.fields import RESIDENT_FIELDS
from vmtop.output.json_out import write_json
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter

REGIONS = 20_000
PAGE = 4096
BASE = 0x7F0000000000


def many_regions(n: int, *, resident: bool):
    """A snapshot of ``n`` one-page anonymous regions, alternately read-only (as
    benchmarks/many_regions.c lays them out), with or without their smaps figures."""
    base = fixture_sequence()[0]
    figures = (PAGE, PAGE, 0, 0, 0, PAGE, 0, PAGE) if resident else (None,) * 8
    regions = tuple(
        Region(BASE + i * PAGE, BASE + (i + 1) * PAGE, "rw-p" if i % 2 else "r--p", 0,
               "00:00", 0, "", *figures, "anon", None, None)
        for i in range(n)
    )  # fmt: skip
    return base._replace(regions=regions, has_smaps=resident)


def measured(call):
    """``(result, bytes held after, peak bytes)`` of ``call()``, by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        result = call()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, held, peak


def test_a_keyframe_read_back_holds_each_repeated_value_once(tmp_path):
    path = str(tmp_path / "r.vmrec")
    snap = many_regions(REGIONS, resident=True)
    with RecordingWriter(path, interval=1.0) as writer:
        writer.write_sample(snap)
    del writer
    rec = Recording.open(path)
    got, held, _peak = measured(lambda: rec.snapshot(0))
    assert got.regions == snap.regions
    # Tuples, their starts and ends, the file's dict by start: about 320 bytes a region.
    # (The peak is json.loads's, the line's text and a list a row: ~900 either way.)
    assert held / REGIONS < 420, f"{held / REGIONS:.0f} bytes a region held"


def test_a_delta_of_every_regions_figures_drops_each_entry_once_applied(tmp_path):
    path = str(tmp_path / "r.vmrec")
    maps_only = many_regions(REGIONS, resident=False)
    read = many_regions(REGIONS, resident=True)
    read = read._replace(taken_at=maps_only.taken_at + 1)
    with RecordingWriter(path, interval=1.0) as writer:
        writer.write_sample(maps_only)
        writer.write_sample(read)
    del writer
    rec = Recording.open(path)
    assert rec.snapshot(0).regions == maps_only.regions  # the keyframe, decoded and kept
    got, _held, peak = measured(lambda: rec.snapshot(1))
    assert got.regions == read.regions
    # The delta's text and entries, the new Regions (~380); each entry's list beside its
    # Region was ~530.
    assert peak / REGIONS < 450, f"{peak / REGIONS:.0f} bytes a region at the peak"


def test_recording_every_regions_figures_moved_makes_no_region_a_row(tmp_path):
    """What `vmtop record` writes at the first smaps read of a huge map (read in pieces
    into columns) after its maps-only first sample: every region's figures moved."""
    path = str(tmp_path / "r.vmrec")
    maps_only = many_regions(REGIONS, resident=False)
    read = many_regions(REGIONS, resident=True)
    read = read._replace(taken_at=maps_only.taken_at + 1)
    as_read = read._replace(regions=RegionColumns.from_regions(read.regions))
    with RecordingWriter(path, interval=1.0) as writer:
        writer.write_sample(
            maps_only._replace(regions=RegionColumns.from_regions(maps_only.regions))
        )
        _, _, peak = measured(lambda: writer.write_sample(as_read))
    rec = Recording.open(path)
    assert rec.snapshot(1).regions == read.regions
    with gzip.open(path) as f:
        lines = [json.loads(line) for line in f]
    (second,) = [line for line in lines if line["type"] == "sample" and line["i"] == 1]
    assert second["kinds"] == {"anon": PAGE * REGIONS}  # what the Regions add up to
    # The delta's entries and text (~400); a Region of each row of both maps was ~1 050.
    assert peak / REGIONS < 600, f"{peak / REGIONS:.0f} bytes a region at the peak"


def keyframe_line(path: str) -> bytes:
    with gzip.open(path) as f:
        return next(line for line in f if line.startswith(b'{"type":"keyframe"'))


@pytest.mark.parametrize("hugetlb", [None, ((BASE, 2 << 20),)])
def test_a_keyframe_is_the_json_of_its_map_written_a_chunk_at_a_time(tmp_path, hugetlb):
    from vmtop.record import format as fmt

    path = str(tmp_path / "r.vmrec")
    snap = many_regions(REGIONS, resident=True)._replace(hugetlb=hugetlb)
    with RecordingWriter(path, interval=1.0) as writer:
        _, _, peak = measured(lambda: writer.write_sample(snap))
    body = {
        "type": "keyframe",
        "i": 0,
        "info": fmt.info_row(snap.info),
        "has_smaps": True,
        "status": snap.status,
        "regions": [list(r) for r in snap.regions],
    }
    if hugetlb is not None:
        body["hugetlb"] = fmt.hugetlb_rows(hugetlb)
    # The line json.dumps gives of the whole map at once, byte for byte.
    expected = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"
    assert keyframe_line(path) == expected
    # A chunk's rows and text, the compressor (~250 here, ~60 at 100 000); the whole
    # line and a list a region were ~500.
    assert peak / REGIONS < 350, f"{peak / REGIONS:.0f} bytes a region at the peak"


class _Discard:
    def write(self, text: str) -> int:
        return len(text)


def test_a_replayed_snapshots_json_is_written_a_chunk_at_a_time():
    snap = many_regions(REGIONS, resident=True)
    out = io.StringIO()
    write_json(snap, out, smaps_fields=RESIDENT_FIELDS)
    document = json.loads(out.getvalue())
    assert [int(r["start"], 16) for r in document["regions"]] == [r.start for r in snap.regions]
    assert [r["rss"] for r in document["regions"]] == [PAGE] * REGIONS
    _, _, peak = measured(lambda: write_json(snap, _Discard(), smaps_fields=RESIDENT_FIELDS))
    # Section names (a list a region) and one chunk's texts: the old 770 held them all.
    assert peak / REGIONS < 250, f"{peak / REGIONS:.0f} bytes a region at the peak"


@pytest.mark.live
def test_where_reads_a_huge_live_map_into_columns(compile_c_once, spawn):
    from vmtop.commands.where import cmd_where
    from vmtop.procfs.reader import ProcFS

    count = 30_000
    program = compile_c_once(REPO / "benchmarks" / "many_regions.c", "-O2")
    child = spawn([str(program), str(count)])
    ready = child.read_line(timeout=60).split()
    assert ready[0] == "READY"
    first = int(ready[1], 16)
    child.stop()
    # The kernel's own lines for the two addresses asked about.
    lines = open(f"/proc/{child.pid}/maps").read().splitlines()  # noqa: SIM115
    assert len(lines) > count
    wanted = [first + PAGE + 16, first + (count - 1) * PAGE]
    ranges = [(int(a, 16), int(b, 16)) for a, b in (line.split()[0].split("-") for line in lines)]
    kernel = [next(i for i, (lo, hi) in enumerate(ranges) if lo <= a < hi) for a in wanted]
    args = argparse.Namespace(pid=child.pid, addresses=wanted, json=True)
    out = io.StringIO()
    _, _, peak = measured(lambda: cmd_where(ProcFS(), args, out))
    results = json.loads(out.getvalue())["results"]
    for result, i in zip(results, kernel, strict=True):
        region = result["region"]
        assert result["mapped"] and region["perms"] == lines[i].split()[1]
        assert (int(region["start"], 16), int(region["end"], 16)) == ranges[i]
    # Columns and a piece of text: the Regions and the whole text were ~560 a region.
    assert peak / count < 300, f"{peak / count:.0f} bytes a region at the peak"
