"""The TUI's event log: of one sample, a figure that moved alike in many regions is one
line (V8's pages filling, regions shared after a fork), and Enter on it says how many,
where they lie and that the change is theirs together."""

from __future__ import annotations

from helpers_diff import KiB, base_regions, region, snapshot
from textual.app import App, ComposeResult

from vmtop.model.event_words import size_text
from vmtop.model.rss_drift import RssDrift
from vmtop.tui.screens.event_detail import EventDetail
from vmtop.tui.widgets.event_log import EventLog

PAGE = 256 * KiB
T0 = 1_790_000_000.0


class LogApp(App):
    def compose(self) -> ComposeResult:
        yield EventLog()

    def on_event_log_opened(self, message: EventLog.Opened) -> None:
        self.push_screen(EventDetail(message.event, has_region=True, run=message.run))


def heap_pages(rss: dict[int, int], t: float):
    regions = base_regions() + [region(s, s + PAGE, rss=held) for s, held in rss.items()]
    snap = snapshot(regions, taken_at=t)
    named = tuple(r._replace(object="V8 heap page") if r.start in rss else r for r in snap.regions)
    return snap._replace(regions=named)


def drift_events(n: int):
    """What the TUI's sampler says of ``n`` pages of V8's heap, mapped on a tick that
    read maps alone and filled by the next smaps read: a "since it was mapped" each."""
    starts = [0x0019_0BF8_0000 + i * 0x3_0004_0000 for i in range(n)]
    drift = RssDrift(64 * KiB)
    drift.update(heap_pages({}, T0))
    now = {s: 232 * KiB if k % 5 == 0 else PAGE for k, s in enumerate(starts)}
    return starts, now, drift.update(heap_pages(now, T0 + 2), announced=set())


async def test_pages_of_v8_filled_in_one_sample_are_one_line_and_enter_says_them():
    starts, now, events = drift_events(300)
    assert len(events) == 300
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(EventLog)
        log.add_events(events)
        await pilot.pause()
        assert len(log.runs) == 1
        line = log.render_line(0).text.rstrip()
        assert line.split()[1:6] == ["rss_changed", "+74M", "in", "300", "regions"], line
        assert "V8 heap page" in line and len(line) <= 80
        assert not log.render_line(1).text.strip()

        log.focus()
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, EventDetail)
        text = detail.query_one("#event-text").render().plain
        assert "count  300 regions whose resident memory moved alike in this sample" in text
        assert "the change is theirs together" in text
        assert f"{sum(now.values()):+,} bytes" in text
        # A figure's change is no part of the span: its bytes are not "theirs".
        assert f"span   {starts[0]:#x} – " in text and "of it theirs" not in text
        said = f"since they were mapped, in 300 regions: now {size_text(sum(now.values()))}"
        assert said in text


async def test_a_change_going_on_sample_after_sample_still_folds_into_a_run():
    """Folding the regions of a sample leaves a region that grows sample after sample
    alone: its run is one line, "×4" (a V8 page alone, a heap)."""
    app = LogApp()
    start = 0x0019_0BF8_0000
    drift = RssDrift(64 * KiB)
    drift.update(heap_pages({start: 0}, T0))
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(EventLog)
        for k in range(1, 5):
            log.add_events(drift.update(heap_pages({start: k * 64 * KiB}, T0 + k)))
        await pilot.pause()
        assert len(log.runs) == 1 and log.runs[0].count == 4
        assert "×4" in log.render_line(0).text
