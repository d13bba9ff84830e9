"""The replay's A→B line at 80×24, on a recording shaped like `vmtop demo mmap`: a
256 MiB file mapped, paged in 32 MiB a step, unmapped, and mapped again.

From a review: at 80×24 the line read "RSS 98M → 162M (+64M), peak 258M at 18:36:44.7
·  recorded between: …  …": the peak's time took the room, and both the events
recorded between A and B and what is different at B ("ends: …") were cut to "…".

The recording is written by the real writer from snapshots of tests/fixtures/tui_proc
4242 changed the way the demo changes its map, with the events diff_snapshots gives
each sample (as `vmtop record` writes them).
"""

from __future__ import annotations

import pytest

from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record.reader import Recording
from vmtop.tui.replay_app import ReplayApp
from vmtop.tui.replay_compare import TIGHT_SEPARATOR, ab_lines
from vmtop.tui.screens.replay import ReplayScreen

from .conftest import TUI_PROC, settle, written_recording

START = 1_700_000_000.0  # 22:13:20 UTC
MIB = 1 << 20
FILE = 256 * MIB
STEP = 32 * MIB  # paged in a step, as the demo reads it
FIRST_MAP, UNMAP, SECOND_MAP, SAMPLES = 1, 10, 12, 20
A, B = 4, 17


def resident(i: int) -> int | None:
    """The file mapping's resident bytes at sample ``i``, None while unmapped."""
    if FIRST_MAP <= i < UNMAP:
        return min(FILE, (i - FIRST_MAP) * STEP)
    if i >= SECOND_MAP:
        return min(FILE, (i - SECOND_MAP) * STEP)
    return None


def snapshots() -> list:
    base = take_snapshot(ProcFS(str(TUI_PROC)), 4242)
    regions = list(base.regions)
    libs = [r for r in regions if r.start > 0x7F0000000000]
    end = libs[0].start - 0x100000
    mapping = libs[0]._replace(
        start=end - FILE, end=end, perms="r--p", offset=0, dev="fd:01", inode=424242,
        path="/tmp/vmtop-demo-mmap/data.bin", kind="file", object=None, shared_clean=0,
        shared_dirty=0, private_dirty=0, swap=0, anonymous=0, tid=None,
    )  # fmt: skip
    out = []
    for i in range(SAMPLES):
        now = list(regions)
        rss = resident(i)
        if rss is not None:
            now.append(mapping._replace(rss=rss, pss=rss, private_clean=rss))
        now.sort(key=lambda r: r.start)
        totals = base.totals._replace(
            rss=sum(r.rss or 0 for r in now), size=sum(r.size for r in now)
        )
        out.append(base._replace(taken_at=START + i, regions=tuple(now), totals=totals))
    return out


@pytest.fixture
def recording(tmp_path) -> Recording:
    path = tmp_path / "mmap_rounds.jsonl.gz"
    return written_recording(path, snapshots())


async def marked_lines(recording, size) -> tuple[str, list[str]]:
    """Mark A and B as a user does (``a``, move, ``b``): the whole A→B text, and the
    lines the screen shows of it."""
    app = ReplayApp(recording)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        screen.seek(A)
        await settle(pilot)
        await pilot.press("a")
        screen.seek(B)
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        ab = screen.query_one("#ab")
        shown = [ab.render_line(y).text.rstrip() for y in range(ab.size.height)]
        return screen.ab_summary, shown


@pytest.mark.parametrize("size", [(80, 24), (90, 24)])
async def test_at_80x24_the_events_between_a_and_b_and_the_ends_are_not_cut(recording, size):
    text, shown = await marked_lines(recording, size)
    # What the recording holds between A and B, from its own events.
    between = [e for i in range(A + 1, B + 1) for e in recording.events_of(i)]
    kinds = sorted(e.event for e in between if e.event != "rss_changed")
    assert kinds == ["mapped", "unmapped"], kinds
    assert "recorded between: mapped 1 (+256M)" in text and "unmapped 1 (-256M)" in text
    assert "peak" in text  # (the whole line has the peak: 256 MiB paged in at sample 9)
    assert len(shown) <= 2, shown
    assert all(len(line) <= size[0] for line in shown), shown
    on_screen = " ".join(shown)
    assert "recorded between: mapped 1 (+256M)" in on_screen, shown
    assert "unmapped 1 (-256M)" in on_screen, shown
    assert "ends:" in on_screen and "1 gone (-256M)" in on_screen, shown
    assert "1 new (+256M)" in on_screen, shown
    assert "RSS " in on_screen and "+13.0s" in on_screen, shown  # the span stays


async def test_where_there_is_room_nothing_is_given_up(recording):
    text, shown = await marked_lines(recording, (200, 48))
    on_screen = " ".join(shown)
    assert "…" not in on_screen, shown
    assert "peak " in on_screen and " at 22:13:29" in on_screen, shown  # the peak's time
    assert "A 22:13:24.0 → B 22:13:37.0 (+13.0s)" in on_screen, shown


def test_the_peaks_time_then_the_peak_give_way_before_the_events():
    text = "  ·  ".join(
        [
            "A 18:36:40.1 → B 18:36:55.1 (+15.0s)",
            "RSS 98M → 162M (+64M), peak 258M at 18:36:44.7",
            "recorded between: mapped 1 (+256M)",
            "unmapped 1 (-256M)",
            "ends: regions 26 → 26",
            "1 new (+256M)",
            "1 gone (-256M)",
        ]
    )
    # A width where the peak's time alone is too much.
    lines = ab_lines(text, 110, 2).splitlines()
    assert len(lines) == 2 and "…" not in "".join(lines), lines
    assert "peak 258M" in lines[0] and "18:36:44.7" not in lines[0], lines
    assert TIGHT_SEPARATOR in lines[0]
    # Narrower: the peak goes, the events and the ends stay.
    lines = ab_lines(text, 78, 2).splitlines()
    assert len(lines) == 2 and "peak" not in "".join(lines), lines
    whole = " ".join(lines)
    assert "mapped 1 (+256M)" in whole and "unmapped 1 (-256M)" in whole, lines
    assert "ends:" in whole and "1 gone (-256M)" in whole, lines
