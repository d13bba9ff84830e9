"""What a recording costs to hold open: its timeline keeps each thing said once.

Opening a recording keeps, per sample, its time, totals, RSS by kind and events (what
the replay's timeline, `report` and `diff` read). JSON gives every sample line its own
copies of the strings in them, and a long recording says the same few hundred things
(kinds, names, the words of an event's detail) over and over: 58 970 samples of a
churning process held 68 MB open (1.15 kB a sample; 24.5 MB of it events, 21.7 MB RSS
by kind). Each string is now kept once: 45 MB.
"""

from __future__ import annotations

import gc
import tracemalloc

from test_recording import fixture_sequence

from vmtop.model.events import Event
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter

DETAIL = (
    "anonymous memory of 128 KiB or more: malloc above its mmap threshold, or a direct "
    "mmap, as runtimes make for their heaps and buffers"
)


def churning(path, samples: int) -> None:
    """A recording whose every sample maps a region and says so, with the words a
    recording says again and again."""
    base = fixture_sequence()[0]
    writer = RecordingWriter(str(path), interval=0.1)
    for i in range(samples):
        t = base.taken_at + i * 0.1
        # The same kinds, their figures moving: a dict of RSS by kind in every line.
        regions = tuple(r._replace(rss=(r.rss or 0) + 4096 * (i % 5)) for r in base.regions)
        events = [
            Event(t, "mapped", 0x10000000 + 0x1000 * k, 0x10021000 + 0x1000 * k, "anon",
                  0x21000, 0x21000, "", None, DETAIL, 4096, None)
            for k in range(3)
        ]  # fmt: skip
        writer.write_sample(base._replace(taken_at=t, regions=regions), events)
    writer.close()


def test_each_string_of_the_timeline_is_kept_once(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    churning(path, 50)
    rec = Recording.open(str(path))
    details = {id(e.detail) for _i, e in rec.events()}
    names = {id(e.event) for _i, e in rec.events()} | {id(e.kind) for _i, e in rec.events()}
    kinds = {id(kind) for s in rec.samples for kind in s.kinds if kind == "anon"}
    assert len(rec.events()) == 150
    assert len(details) == 1 and len(names) == 2 and len(kinds) == 1


def test_a_recording_held_open_keeps_no_copy_of_what_its_lines_repeat(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    samples = 3_000
    churning(path, samples)
    gc.collect()
    tracemalloc.start()
    try:
        rec = Recording.open(str(path))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(rec) == samples
    per_sample = held / samples
    # Each string a line's own: 3.7 kB a sample here (three events, a dict of RSS by
    # kind); each kept once: 2.1 kB.
    assert per_sample < 2_600, f"{per_sample:.0f} bytes a sample"
