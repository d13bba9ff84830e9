"""A step of the replay costs the same an hour in as at the start.

Each sample the replay shows refills its event log with the events recorded before it
(``Recording.events_before``), and ``n`` / ``N`` look for the next sample with events
(``Recording.next_event``). Both walked every sample back to the start (the log twice:
once for its events, once to count the ones before them): on a recording of 5 897
samples made at 0.1 s, a step at its end cost 30 ms more CPU than at its start; on
one of 58 970 (16 hours at 1 s), 72 ms against 41. An index of the samples with events
makes them bisect instead. What they return is checked against the walk they replace.
"""

from __future__ import annotations

import random
import time
from types import SimpleNamespace

from textual.app import App, ComposeResult

from vmtop.model.events import NOTE, Event
from vmtop.model.region import Totals
from vmtop.record.reader import Recording
from vmtop.record.scan import SampleInfo
from vmtop.tui.screens.replay import LOG_EVENTS, ReplayScreen
from vmtop.tui.widgets.timeline import Timeline, TimelineData

TOTALS = Totals(*[0] * len(Totals._fields))


def recording(events_per_sample: list[tuple[str, ...]], end: tuple[str, ...] = ()) -> Recording:
    """A recording held in memory: per sample, the names of its events."""
    rec = Recording("in memory")

    def events(t: float, names) -> tuple:
        return tuple(Event(t, name, 0, 4096, "anon", 4096, 4096) for name in names)

    rec.samples = [
        SampleInfo(float(i), TOTALS, {}, 0, events(float(i), names))
        for i, names in enumerate(events_per_sample)
    ]
    rec.end_events = events(float(len(events_per_sample)), end)
    return rec


def walked_events_before(rec: Recording, index: int, limit: int) -> tuple[list, int]:
    """What the replay did: walk back sample by sample."""
    out: list = []
    j = index - 1
    while j >= 0 and len(out) < limit:
        out.extend(reversed(rec.events_of(j)))
        j -= 1
    out.reverse()
    return out, sum(len(rec.events_of(k)) for k in range(j + 1))


def walked_next_event(rec: Recording, i: int, step: int) -> int | None:
    j = i + step
    while 0 <= j < len(rec.samples):
        if any(e.event != NOTE for e in rec.events_of(j)):
            return j
        j += step
    return None


def test_the_index_gives_what_walking_the_samples_gave():
    rng = random.Random(7)
    names = ("mapped", "unmapped", NOTE)
    for _round in range(40):
        n = rng.randint(1, 60)
        per_sample = [
            tuple(rng.choice(names) for _ in range(rng.choice((0, 0, 0, 1, 2, 5))))
            for _ in range(n)
        ]
        rec = recording(per_sample, end=rng.choice(((), ("exited",), (NOTE,))))
        for index in range(n + 1):
            for limit in (1, 3, 10, 1000):
                assert rec.events_before(index, limit) == walked_events_before(rec, index, limit)
        for i in range(-1, n + 1):
            for step in (1, -1):
                assert rec.next_event(i, step) == walked_next_event(rec, i, step), (i, step)


def test_a_step_at_the_end_of_a_long_recording_does_not_walk_it():
    # A day at 0.1 s: events now and then at the start, then a process that did nothing.
    n = 864_000
    per_sample = [("mapped",) if i < 2_000 and i % 3 == 0 else () for i in range(n)]
    rec = recording(per_sample)
    screen = SimpleNamespace(recording=rec)
    ReplayScreen._events_before(screen, 10)  # the index, built once
    t = time.perf_counter()
    for index in range(n - 20, n):  # twenty steps at the end
        shown, earlier = ReplayScreen._events_before(screen, index)
        assert len(shown) + earlier == 667
    assert rec.next_event(n - 1, -1) == 1998 and rec.next_event(1998, 1) is None
    took = time.perf_counter() - t
    # Walking back: about 0.4 s a step here. Bisecting: microseconds.
    assert took < 0.2, f"{took:.3f} s for twenty steps"
    assert LOG_EVENTS >= 667  # (all of them shown: the count above is theirs)


class TimelineApp(App):
    def __init__(self, times: list[float]) -> None:
        super().__init__()
        n = len(times)
        totals = [(i * 7919) % 1000 for i in range(n)]
        data = TimelineData(times, [{"anon": t} for t in totals], totals, [i % 3 for i in range(n)], [0] * n)  # fmt: skip
        self.timeline = Timeline(data)

    def compose(self) -> ComposeResult:
        yield self.timeline


async def test_the_timeline_puts_each_sample_in_its_column_at_any_length():
    rng = random.Random(3)
    # Irregular spacing (a gap, samples late), then a day at 0.1 s.
    times = [0.0]
    for _ in range(2_000):
        times.append(times[-1] + rng.choice((0.1, 0.1, 0.13, 7.5)))
    app = TimelineApp(times)
    async with app.run_test(size=(97, 8)) as pilot:
        await pilot.pause()
        timeline = app.timeline
        columns = timeline._per_column()
        want: list = [[-1, 0, 0] for _ in columns]
        for i in range(len(times)):  # what each column holds, sample by sample
            c = want[timeline.column_of(i)]
            if c[0] < 0 or timeline.data.totals[i] > timeline.data.totals[c[0]]:
                c[0] = i
            c[1] += timeline.data.event_counts[i]
        got = [c[:2] for c in columns]
        assert [c for c in got if c[0] >= 0] == [c[:2] for c in want if c[0] >= 0]
    long = TimelineApp([i * 0.1 for i in range(400_000)])
    async with long.run_test(size=(160, 8)) as pilot:
        await pilot.pause()
        long.timeline._columns = None
        t = time.perf_counter()
        long.timeline._per_column()
        took = time.perf_counter() - t
    # Looking the widget's size up for each sample: about 2 s here. Once: a tenth of it.
    assert took < 1.0, f"{took:.2f} s to lay 400 000 samples out"
