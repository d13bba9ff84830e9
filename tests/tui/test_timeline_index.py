"""The replay's timeline of a long recording is drawn from the numbers its index keeps
per sample, not by reading every sample back from the file (59 000 samples: seconds at
open, and half a kilobyte a sample kept for their RSS by kind). A column stacks by kind
the block peak in it (``SampleIndex.peak_in``), whose RSS by kind the index kept; the
ground truth is every sample's RSS by kind read back from the file.
"""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tests.test_recording_reader_memory import churning, write
from vmtop.record import sample_index as sample_index_module
from vmtop.record.read_back import Samples
from vmtop.record.reader import Recording
from vmtop.tui.widgets.timeline import Timeline, timeline_data


class TimelineApp(App):
    def __init__(self, timeline: Timeline) -> None:
        super().__init__()
        self.timeline = timeline

    def compose(self) -> ComposeResult:
        yield self.timeline


@pytest.mark.parametrize("peak_blocks", [256, 4096])
async def test_the_timeline_of_a_recording_reads_no_sample_back(tmp_path, monkeypatch, peak_blocks):
    # 256 blocks for 2 500 samples: blocks of 16 samples (doubled four times), about
    # a column's worth at 120 cells; 4 096: a block a sample, every column's peak at hand.
    monkeypatch.setattr(sample_index_module, "PEAK_BLOCKS", peak_blocks)
    path = tmp_path / "churn.jsonl.gz"
    n = 2_500
    write(path, churning(n))
    rec = Recording.open(str(path))
    truth = list(rec.samples)  # every sample read back: what each column should stack
    reads: list[int] = []
    original = Samples.__getitem__

    def counted(self, i):
        reads.append(i)
        return original(self, i)

    monkeypatch.setattr(Samples, "__getitem__", counted)
    fresh = Recording.open(str(path))
    data = timeline_data(fresh)
    assert reads == []  # (what it draws is the index's)
    assert list(data.times) == [s.time for s in truth]
    assert list(data.totals) == [sum(s.kinds.values()) for s in truth]
    assert sum(data.event_counts) + sum(data.note_counts) == sum(len(s.events) for s in truth)
    app = TimelineApp(Timeline(data))
    async with app.run_test(size=(120, 8)) as pilot:
        await pilot.pause()
        timeline = app.timeline
        columns = timeline._per_column()
        for column in columns:
            stacked, kinds = timeline._stacked(column)
            first, last = column[3], column[4]
            # A sample of the column, stacked with its own RSS by kind, and within one
            # block's growth of the column's peak.
            assert first <= stacked <= last or first < 0
            assert kinds == truth[stacked].kinds
            block = fresh.index.peak_block
            top = max(data.totals[first : last + 1]) if first >= 0 else 0
            near = max(data.totals[max(0, column[0] - block) : column[0] + block + 1])
            assert data.totals[stacked] <= top <= near
    # Drawn, every column: no sample read back, or a few (a column whose blocks' peaks
    # all lie beyond its edges reads its own peak back).
    assert len(reads) <= len(columns) // 10, reads
    if peak_blocks >= n:
        assert reads == []
