"""What a recording costs to hold open grows by a few numbers a sample, not by the
sample's objects; samples are read back from the file, each the same as written; an
idle stretch is read back and replayed without reading it through.

Opening a recording kept every sample's time, totals, RSS by kind and events as Python
objects: 0.8-1.5 kB a sample (45 MB for 59 000 samples of a churning process, 66 MB
for a day at 1 s). It keeps about 30 bytes a sample now (``record.sample_index``).
"""

from __future__ import annotations

import gc
import random
import tracemalloc

import pytest
from test_recording import fixture_sequence

from vmtop.model.events import NOTE, Event
from vmtop.record import sample_index as sample_index_module
from vmtop.record import writer as writer_module
from vmtop.record.members import LineReader
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter

DETAIL = "anonymous memory of 128 KiB or more"


def churning(samples: int):
    """(snapshot, events) of a process whose every sample moves a region's resident
    figures (a delta, totals and RSS by kind in every line: a keyframe every 30) and
    says something in most."""
    base = fixture_sequence()[0]
    for i in range(samples):
        t = base.taken_at + i * 0.1
        regions = list(base.regions)
        k = i % len(regions)
        regions[k] = regions[k]._replace(rss=(regions[k].rss or 0) + 4096 * (1 + i % 5))
        regions = tuple(regions)
        rss = sum(r.rss or 0 for r in regions)
        snap = base._replace(taken_at=t, regions=regions, totals=base.totals._replace(rss=rss))
        event = Event(t, "mapped" if i % 3 else NOTE, 0x10000000, 0x10021000, "anon",
                      0x21000, 0x21000, "", None, DETAIL, 4096, None)  # fmt: skip
        yield snap, [event] if i % 4 else []


def idle(samples: int, *, changed_at: int | None = None):
    """(snapshot, no events): the same map every sample; one region unmapped at sample
    ``changed_at``."""
    base = fixture_sequence()[0]
    for i in range(samples):
        snap = base._replace(taken_at=base.taken_at + i)
        if changed_at is not None and i >= changed_at:
            snap = snap._replace(regions=base.regions[1:])
        yield snap, []


def write(path, samples) -> list:
    written = []
    with RecordingWriter(str(path), interval=0.1) as writer:
        for snap, events in samples:
            writer.write_sample(snap, events)
            written.append((snap, events))
    return written


def held_open(path) -> tuple[Recording, int]:
    """The recording opened, and the bytes of Python objects that opening left."""
    gc.collect()
    tracemalloc.start()
    try:
        rec = Recording.open(str(path))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return rec, held


def test_what_a_recording_held_open_keeps_grows_by_a_few_numbers_a_sample(tmp_path):
    short, long = tmp_path / "short.jsonl.gz", tmp_path / "long.jsonl.gz"
    n = 1_000
    write(short, churning(n))
    write(long, churning(4 * n))
    # Once first, for what any first reading leaves for good (the strings interned,
    # and the table of them grown: 2 MB in one step, when it happens to).
    held_open(long)
    rec_short, held_short = held_open(short)
    rec_long, held_long = held_open(long)
    assert (len(rec_short), len(rec_long)) == (n, 4 * n)
    per_sample = (held_long - held_short) / (3 * n)
    # Each sample's objects kept: 1.6 kB a sample here. A few arrays: ~33 bytes.
    assert per_sample < 64, f"{per_sample:.0f} bytes a sample"


def test_samples_read_back_are_those_written_in_any_order(tmp_path, monkeypatch):
    # One gzip member for the whole stretch, as files written before the writer started
    # one every MEMBER_SAMPLES: chunks are read from the middle of a member.
    monkeypatch.setattr(writer_module, "MEMBER_SAMPLES", 10**9, raising=False)
    path = tmp_path / "r.jsonl.gz"
    n = 3 * sample_index_module.CHUNK_SAMPLES + 17
    written = write(path, churning(n))
    rec = Recording.open(str(path))
    assert len(rec) == n

    def same(i: int) -> None:
        snap, events = written[i]
        s = rec.samples[i]
        assert s.time == snap.taken_at and s.totals == snap.totals, i
        assert s.events == tuple(events), i
        kinds: dict = {}
        for r in snap.regions:
            if r.rss:
                kinds[r.kind] = kinds.get(r.kind, 0) + r.rss
        assert s.kinds == kinds, i

    # Backwards, jumping about, then through: each reads the chunks another way.
    order = list(range(n - 1, -1, -97)) + random.Random(3).sample(range(n), 200)
    for i in order:
        same(i)
    assert [s.time for s in rec.samples] == [snap.taken_at for snap, _ in written]
    assert [len(rec.events_of(i)) for i in range(n)] == [len(e) for _, e in written]
    # The event index (what the replay's log and its event keys use) counts them all.
    _out, earlier = rec.events_before(n, 5)
    assert earlier + len(_out) == sum(len(e) for _, e in written)


def sample_line_members(path) -> list[int]:
    """The gzip member each sample line of the file comes from."""
    with open(path, "rb") as f:
        lines = LineReader(f, True).lines(0)
        return [member for member, line in lines if line.startswith(b'{"type":"sample"')]


def test_an_idle_stretch_is_written_in_members_a_reader_can_start_at(tmp_path):
    path = tmp_path / "idle.jsonl.gz"
    n = 3_000
    write(path, idle(n))
    members = sample_line_members(path)
    # What a reader decodes to read one of them back: at most a chunk's worth.
    runs = [members.count(m) for m in sorted(set(members))]
    assert sum(runs) == n and max(runs) <= sample_index_module.CHUNK_SAMPLES
    rec = Recording.open(str(path))
    assert rec.notes == [] and len(rec) == n
    first = rec.snapshot(0)
    last = rec.snapshot(n - 1)
    assert last.regions == first.regions and last.taken_at == first.taken_at + n - 1


@pytest.mark.parametrize("changed_at", [40, 70])
def test_a_change_long_after_the_last_keyframe_is_a_keyframe(tmp_path, monkeypatch, changed_at):
    monkeypatch.setattr(writer_module, "KEYFRAME_SAMPLES", 50, raising=False)
    path = tmp_path / "r.jsonl.gz"
    written = write(path, idle(100, changed_at=changed_at))
    rec = Recording.open(str(path))
    keyframes = sorted(rec.keyframe_offsets)
    # Before KEYFRAME_SAMPLES the change is a delta; after, a keyframe of its own.
    assert keyframes == ([0] if changed_at < 50 else [0, changed_at])
    for i in (99, changed_at, changed_at - 1, 0, 98):
        snap = rec.snapshot(i)
        assert snap.regions == written[i][0].regions and snap.taken_at == written[i][0].taken_at
