"""Regressions found in review (the JSON snapshot read a region at a time, object
sums from a snapshot's columns). Each fails on the code as the review found it.

- A JSON snapshot of more regions than HUGE_MAP_REGIONS whose region has a field of
  another type (a float figure, a string thread ID, a negative offset) ended ``vmtop
  diff`` in a traceback (TypeError, OverflowError out of the columns' builder), where
  the same file read whole was a snapshot or a "bad field" error.
- ``"regions": 5`` (a number, not a list) was read as a snapshot of no region: the
  count of regions streamed and a number in the file were taken for one another.
- A syntax error near the start of a big snapshot had the reader copy its text again
  for each piece read to the end of the file: quadratic (a 130 MB file: 6 s, 0.7 s
  with json.loads).
- ``sums_by`` of columns asked its key of regions holding only a kind, an object and a
  path: a key of anything else (permissions) summed every region under one name.
- ``report`` checked each keyframe with ``MemberChecks.span``, which checks the member
  of sample lines at the keyframe too: that member was then decompressed twice, once
  to check it and once to read it back, what record.read_back was made to avoid.
"""

from __future__ import annotations

import argparse
import io
import json

import pytest
from test_json_stream import region_text
from test_recording_read_back import Inflations
from test_recording_reader_memory import churning, write

from vmtop.commands.report import cmd_report
from vmtop.model.columns import RegionColumns
from vmtop.model.object_totals import sums_by
from vmtop.model.region import Region
from vmtop.output import json_stream
from vmtop.output.json_in import SnapshotFileError, read_snapshot_file
from vmtop.procfs.snapshot import HUGE_MAP_REGIONS
from vmtop.record.reader import Recording


def snapshot_text(regions: list[str]) -> str:
    return (
        '{"format": "vmtop-snapshot", "format_version": 1, "pid": 7, "start_time": 9, '
        '"command": "many", "regions": [' + ", ".join(regions) + '], "taken_at": 1.5, '
        '"totals": {"size": 1, "rss": 1}, "objects": []}\n'
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("rss", 4096.0), ("tid", "12"), ("offset", -4096)],
    ids=["float-figure", "string-tid", "negative-offset"],
)
def test_a_huge_snapshot_with_a_field_of_another_type_is_no_traceback(tmp_path, field, value):
    regions = [region_text(i) for i in range(HUGE_MAP_REGIONS + 10)]
    odd = json.loads(regions[5])
    odd[field] = value
    regions[5] = json.dumps(odd)
    path = tmp_path / "odd.json"
    path.write_text(snapshot_text(regions))
    # A snapshot, or one line for a person: never another exception.
    try:
        read_snapshot_file(str(path))
    except SnapshotFileError:
        pass


@pytest.mark.parametrize("regions", ["5", "true"])
def test_regions_that_are_no_list_are_a_bad_field(tmp_path, regions):
    path = tmp_path / "bad.json"
    path.write_text(snapshot_text([]).replace('"regions": []', f'"regions": {regions}'))
    json.loads(path.read_text())  # (valid JSON: only the field is wrong)
    with pytest.raises(SnapshotFileError, match="bad field"):
        read_snapshot_file(str(path))


def test_a_syntax_error_early_in_a_big_file_is_not_read_again_piece_after_piece(monkeypatch):
    """The characters the reader holds, summed over its reads, stay within a few times
    the file's: each piece read on is not a copy of everything read before."""
    good = ", ".join(region_text(i) for i in range(400))
    text = snapshot_text(['{"start": "0x1000"; "end": 1}', good]).encode()
    monkeypatch.setattr(json_stream, "READ", 1024)
    held = []
    more = json_stream._Text.more

    def counted(self):
        went_on = more(self)
        held.append(len(self.text))
        return went_on

    monkeypatch.setattr(json_stream._Text, "more", counted)
    with pytest.raises(ValueError):
        json_stream.read_object(io.BytesIO(text), "regions", lambda _: None)
    assert sum(held) <= 8 * len(text), f"{sum(held)} characters held for {len(text)}"


def test_sums_of_columns_by_any_key_are_those_of_their_regions():
    rows = [
        Region(0x1000 * i, 0x1000 * (i + 1), perms, 0, "00:00", 0, "", *([4096] * 8), kind="anon")
        for i, perms in enumerate(["rw-p", "r--p", "---p"])
    ]

    def by_perms(region: Region) -> str:
        return region.perms

    assert sums_by(RegionColumns.from_regions(rows), by_perms) == sums_by(rows, by_perms)


def test_report_decompresses_each_sample_member_once(tmp_path, monkeypatch, capsys):
    """A file opened by its index: ``report`` checks every keyframe's member before it
    reads the samples back, and reading a member of sample lines back checks it
    (record.read_back); the keyframes' check also checked, whole, the member of sample
    lines at each keyframe, then read again: every member twice where a keyframe starts
    each run of samples (a churning process: 1.2 s of a report that takes 0.8)."""
    path = tmp_path / "churn.jsonl.gz"
    write(path, churning(2000))
    rec = Recording.open(str(path))
    assert rec.checks is not None  # opened by its index
    members = len(rec.index.chunk_first) + len(rec.index.keyframes)
    inflations = Inflations(monkeypatch)
    assert cmd_report(argparse.Namespace(file=str(path), top=10)) == 0
    assert "2000 samples" in capsys.readouterr().out
    # Each member once, and a few more for the two samples whose maps are rebuilt.
    assert inflations.count <= members + 16, (inflations.count, members)
