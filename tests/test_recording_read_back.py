"""A sample read back from a recording opened by its index (``record.read_back``): the
first read from a gzip member checks the member's checksum on the data decompressed
for its lines, so the member is decompressed once, not once to check it and once to
read it; a member that does not check out is refused in the words a check before the
read gives (``checks.MemberChecks.chunk``), and no sample of it is used.
"""

from __future__ import annotations

import zlib

import pytest
from test_recording_index import _breaking, _members, churning, idle, write_to

from vmtop.record import members as members_module
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording


class Inflations:
    """The gzip members decompressed (``zlib.decompressobj(31)``: one per member read
    through ``members.inflate_member``, whoever reads it), counted (patched in)."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        real = zlib.decompressobj

        def counted(*args, **kwargs):
            if args[:1] == (31,) or kwargs.get("wbits") == 31:
                self.count += 1
            return real(*args, **kwargs)

        class Zlib:
            def __getattr__(self, name):
                return getattr(zlib, name)

        patched = Zlib()
        patched.decompressobj = counted
        monkeypatch.setattr(members_module, "zlib", patched)


@pytest.mark.parametrize("name", ["churn", "idle"])
def test_the_first_sample_read_from_a_member_decompresses_it_once(tmp_path, monkeypatch, name):
    snaps = churning(300) if name == "churn" else idle(2500)
    path = tmp_path / f"{name}.jsonl.gz"
    write_to(path, snaps)
    inflations = Inflations(monkeypatch)
    rec = Recording.open(str(path))
    assert rec.checks is not None  # opened by its index: no member checked yet
    index = rec.index
    for i in (len(rec) // 2, 1, len(rec) - 1):
        j = index.chunk_of(i)
        inflations.count = 0
        info = rec.samples[i]
        assert inflations.count == 1, (i, inflations.count)
        assert info.time == snaps[i].taken_at and info.totals == snaps[i].totals
        # The rest of the chunk, and its member checked: nothing decompressed again.
        for k in index.chunk_range(j):
            assert rec.samples[k].time == snaps[k].taken_at
        assert not rec.checks.chunk_unchecked(j)
        rec.checks.chunk(j)
        assert inflations.count == 1, (i, inflations.count)


def _damaged(tmp_path, how: str) -> tuple[str, int]:
    """A churning recording whose second run of sample lines after a keyframe is
    damaged after its index was written: its CRC-32 flipped (``checksum``), or a byte
    of its compressed data (``data``); and the member's offset."""
    path = tmp_path / "r.jsonl.gz"
    data = write_to(path, churning(300))
    members = _members(data)
    lines = [m for m in members if m[2].startswith(b'{"type":"sample"')][3]
    if how == "checksum":
        at = lines[1] - 8
    elif how == "length":
        at = lines[1] - 2
    else:
        at = _breaking(data, lines[0], (lines[0] + lines[1]) // 2)
    out = bytearray(data)
    out[at] ^= 0xFF
    bad = tmp_path / f"bad-{how}.jsonl.gz"
    bad.write_bytes(bytes(out))
    return str(bad), lines[0]


@pytest.mark.parametrize("how", ["checksum", "length", "data"])
def test_a_damaged_member_read_first_for_a_sample_is_refused_as_its_check_says(tmp_path, how):
    path, member = _damaged(tmp_path, how)
    # What checking the member before reading it says (a second reader, which checks
    # the member of the same chunk on its own).
    checked = Recording.open(path)
    j = list(checked.index.chunk_offset).index(member)
    with pytest.raises(RecordingError) as check:
        checked.checks.chunk(j)
    want = str(check.value)
    assert "damaged after it was written" in want
    if how != "data":
        assert "does not match its checksum" in want
    rec = Recording.open(path)
    assert rec.checks is not None
    for i in rec.index.chunk_range(j):
        with pytest.raises(RecordingError) as read:
            rec.samples[i]
        assert str(read.value) == want
    # Its neighbours read back as written.
    before, after = rec.index.chunk_first[j] - 1, rec.index.chunk_range(j).stop
    assert rec.samples[before].time == checked.index.times[before]
    assert rec.samples[after].time == checked.index.times[after]
