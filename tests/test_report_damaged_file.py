"""`vmtop report` of a file ended cleanly, with its index, then damaged: it says what was
lost and reports the rest, as reading the file through does.

The report opens a file ended cleanly by its index, checks its keyframes and reads its
samples back one run at a time (so as not to hold them all: test_report_memory). A
damaged part cannot be read back that way at all: then the file is read through, as
the report always did, which steps over the damage and says what it lost.
"""

from __future__ import annotations

import re

from conftest import run_vmtop
from test_recording import fixture_sequence

from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter

SAMPLES = 3_000


def steady_map(path) -> None:
    """A recording whose map never changes after its first sample (one keyframe, at the
    start) and whose RSS does: the rest of the file is sample lines."""
    base = fixture_sequence()[0]
    with RecordingWriter(str(path), interval=0.1) as writer:
        for i in range(SAMPLES):
            totals = base.totals._replace(rss=base.totals.rss + 4096 * (i % 50))
            writer.write_sample(base._replace(taken_at=base.taken_at + i * 0.1, totals=totals), [])


def test_report_of_a_file_damaged_after_it_was_written_says_what_was_lost(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    steady_map(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # in the compressed sample lines
    path.write_bytes(bytes(data))
    opened = Recording.open(str(path))
    assert opened.checks is not None and not opened.notes  # opened by its index: seen sound
    out = run_vmtop("report", path)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()
    counted = re.search(r", (\d+) samples every 0\.1 s\n", text)
    assert counted is not None, text
    assert 0 < int(counted[1]) < SAMPLES, text
    # (Nothing after the damage can be read: no keyframe comes after it to go on from.)
    assert re.search(r"\n  note: .*damaged", text), text
    assert "\nEvents by type:\n  none\n" in text, text


def test_report_of_a_file_whose_keyframe_was_damaged_after_it_was_written(tmp_path):
    # Neither the samples' lines nor the two maps the report compares are in it: read
    # back by the index, nothing read it, and the report said nothing of it (reading
    # the file through, the samples whose map it holds are lost, and said so).
    from test_report_memory import churning, write

    path = tmp_path / "r.jsonl.gz"
    write(path, churning(300))  # a keyframe every 30 samples or so
    keyframes = sorted(Recording.open(str(path)).keyframe_offsets.items())
    assert len(keyframes) > 4, keyframes
    _sample, offset = keyframes[len(keyframes) // 2]
    data = bytearray(path.read_bytes())
    data[offset + 30] ^= 0xFF  # past its 24-byte member header: its compressed map
    path.write_bytes(bytes(data))
    out = run_vmtop("report", path)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()
    counted = re.search(r", (\d+) samples every 0\.1 s", text)
    assert counted is not None and int(counted[1]) < 300, text
    assert re.search(r"\n  note: samples \d+–\d+ lost: ", text), text
