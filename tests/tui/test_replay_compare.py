"""The replay's marks A and B on a recording where memory came and went between them,
and the keys that lead there (footer, help).

From a review: between A and B the recording held a 100 MiB malloc and its free, then
thread stacks mapped where the block had been. The A→B line diffed the two end maps
only: "RSS 1.7M → 1.7M (±0) · no change to the map" over the 100 MiB peak, and, from the
block to the stacks, "split … one region became 8" and guard pages
"protection_changed rw-p -> ---p"; the Δ columns gave each thread stack a `~-8.0M` it
never held. At 80 columns the footer had no `b Mark B` nor `? Help`, and `?` opened
help at the picker's keys, four pages above the replay's.

The recording is written by the real writer from snapshots of tests/fixtures/tui_proc
4242 changed the way a program changes its map, with the events diff_snapshots gives
each sample (as `vmtop record` writes them).
"""

from __future__ import annotations

import pytest

from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter
from vmtop.tui.app import VmtopApp
from vmtop.tui.replay_app import ReplayApp
from vmtop.tui.screens.help import HelpScreen
from vmtop.tui.screens.replay import ReplayScreen
from vmtop.tui.widgets.region_table import RegionTable

from .conftest import TUI_PROC, rendered_text, settle, written_recording

START = 1_700_000_000.0  # 22:13:20 UTC
SAMPLES = 16
BLOCK = 100 << 20
STACK = 8 << 20
PAGE = 4096
MAPPED_AT, FREED_AT, THREADS_AT = 3, 7, 10


def snapshots() -> list:
    base = take_snapshot(ProcFS(str(TUI_PROC)), 4242)
    regions = list(base.regions)
    libs = [r for r in regions if r.start > 0x7F0000000000]
    block_end = libs[0].start - 0x100000
    anon = libs[0]._replace(
        start=block_end - BLOCK, end=block_end, perms="rw-p", offset=0, dev="00:00",
        inode=0, path="", kind="anon", object=None, rss=BLOCK, pss=BLOCK, shared_clean=0,
        shared_dirty=0, private_clean=0, private_dirty=BLOCK, swap=0, anonymous=BLOCK, tid=None,
    )  # fmt: skip
    threads = []
    at = anon.start
    for tid in (5001, 5002):  # where the block was: a guard page, then the stack
        threads.append(anon._replace(start=at, end=at + PAGE, perms="---p", kind="guard", rss=0,
                                     pss=0, private_dirty=0, anonymous=0))  # fmt: skip
        threads.append(anon._replace(start=at + PAGE, end=at + PAGE + STACK, kind="thread_stack",
                                     tid=tid, rss=8192, pss=8192, private_dirty=8192,
                                     anonymous=8192))  # fmt: skip
        at += PAGE + STACK
    out = []
    for i in range(SAMPLES):
        now = list(regions)
        if MAPPED_AT <= i < FREED_AT:
            now.append(anon)
        if i >= THREADS_AT:
            now += threads
        now.sort(key=lambda r: r.start)
        rss = sum(r.rss or 0 for r in now)
        totals = base.totals._replace(rss=rss, size=sum(r.size for r in now))
        out.append(base._replace(taken_at=START + i, regions=tuple(now), totals=totals))
    return out


@pytest.fixture
def recording(tmp_path) -> Recording:
    path = tmp_path / "came_and_went.jsonl.gz"
    return written_recording(path, snapshots())


async def marked(app, pilot, a: int, b: int) -> ReplayScreen:
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ReplayScreen)
    screen.seek(a)
    await settle(pilot)
    await pilot.press("a")
    screen.seek(b)
    await settle(pilot)
    await pilot.press("b")
    await settle(pilot)
    assert (screen.mark_a, screen.mark_b) == (a, b)
    return screen


async def test_the_a_to_b_line_says_what_the_recording_saw_between(recording):
    """A before the block, B after its free: the ends are alike, the recording is not."""
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await marked(app, pilot, 1, FREED_AT + 1)
        text = screen.ab_summary
        assert "A 22:13:21.0 → B 22:13:28.0 (+7.0s)" in text
        assert ", peak 10" in text and "at 22:13:23" in text  # the 100 MiB, while mapped
        assert "recorded between: mapped 1 (+100M)" in text and "unmapped 1 (-100M)" in text
        regions = len(recording.snapshot(1).regions)
        assert f"ends: regions {regions} → {regions}, no change" in text
        assert "no change to the map" not in text


async def test_from_the_block_to_the_stacks_where_it_was(recording):
    """A with the block, B after two threads mapped their stacks where it had been: the
    stacks and guards are new at B (recorded as mapped), not the block split, and the Δ
    columns read each stack's own resident size."""
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await marked(app, pilot, FREED_AT - 1, SAMPLES - 1)
        text = screen.ab_summary
        assert "recorded between: mapped 4 (+16M)" in text and "unmapped 1 (-100M)" in text
        ends = text.split("ends:")[1]
        assert "4 new (+16M)" in ends and "1 gone (-100M)" in ends
        assert "split" not in text and "permissions" not in text
        block = next(r for r in recording.snapshot(MAPPED_AT).regions if r.size == BLOCK)
        stacks = [r for r in screen.snapshot.regions if block.start <= r.start < block.end]
        assert sorted(r.kind for r in stacks) == ["guard", "guard", "thread_stack", "thread_stack"]
        for r in stacks:
            change = screen.ref_changes[r.start]
            assert change.status == "new" and change.size_delta == r.size
            assert change.rss_delta == r.rss and not change.rss_estimated
        table = screen.query_one(RegionTable)
        rows = [table.render_line(y).text for y in range(table.size.height)]
        assert not any("~" in row for row in rows), rows


async def test_at_80_columns_the_footer_has_both_marks_and_help(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = {
            (app.get_key_display(b.binding), b.binding.description)
            for b in app.screen.active_bindings.values()
            if b.binding.show
        }
        assert ("a/b", "Mark A/B") in shown and ("?", "Help") in shown, shown
        assert {"Play", "Step", "Event", "Time"} <= {d for _k, d in shown}
        assert "Back" not in {d for _k, d in shown}  # the first screen: Esc has nowhere to go


def _section_on_screen(help_screen: HelpScreen, section: str) -> bool:
    """The section starts at the top of the help (after its margin line), or, near the
    end where the help scrolls no further, is in view whole."""
    body = help_screen.query_one("#help-body").region
    block = help_screen.query_one(f"#{section}").region
    return 0 <= block.y - body.y <= 1 or (body.y <= block.y and block.bottom <= body.bottom)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_help_from_the_replay_opens_at_the_replay_keys(recording, size):
    app = ReplayApp(recording)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.query_one("#help-body").scroll_y > 0
        assert _section_on_screen(app.screen, "help-replay")
        await pilot.press("escape")
        assert isinstance(app.screen, ReplayScreen)


async def test_help_from_the_process_screen_opens_at_its_keys_and_the_picker_at_the_top(
    fixture_procfs,
):
    app = VmtopApp(fixture_procfs)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert app.screen.query_one("#help-body").scroll_y == 0  # the picker: the top
        await pilot.press("escape")
    app = VmtopApp(fixture_procfs, pid=4242)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert _section_on_screen(app.screen, "help-process")


async def test_help_says_what_the_tilde_means(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        keys = "\n".join(rendered_text(w, width=150) for w in app.screen.query("#help-keys Static"))
        assert "~+1.2M in Δ RSS" in keys and "worked out, not read" in keys
        assert "~ as a row's mark" in keys
        assert "same mapping at both" in keys  # what Δ since A compares


async def test_marks_out_of_time_order_are_swapped_a_first(recording):
    """A marked after B read the recording backwards: "mapped 8 (+120M)" recorded between
    and "9 gone" at B, frees that never happened."""
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.seek(FREED_AT + 2)
        await settle(pilot)
        await pilot.press("b")
        screen.seek(MAPPED_AT - 1)
        await settle(pilot)
        await pilot.press("a")  # earlier than B: in order
        assert (screen.mark_a, screen.mark_b) == (MAPPED_AT - 1, FREED_AT + 2)
        screen.seek(THREADS_AT + 2)
        await settle(pilot)
        await pilot.press("a")  # after B: A is the earlier moment
        await settle(pilot)
        assert (screen.mark_a, screen.mark_b) == (FREED_AT + 2, THREADS_AT + 2)
        assert screen.baseline.taken_at == recording.time_of(FREED_AT + 2)
        said = [n.message for n in app._notifications]
        assert any(m.startswith("A is the earlier moment") for m in said), said
        assert screen.ab_text().startswith("A 22:13:29.0 → B 22:13:32.0 (+3.0s)")


async def test_the_baseline_and_a_recorded_detail_name_their_sample_with_its_tenths(tmp_path):
    """ "Δ since baseline 00:10:04" named sample 5 (04.1) for sample 6 (04.6): given back
    to `t`, the time must lead to the sample it was said of."""
    path = tmp_path / "half_seconds.jsonl.gz"
    writer = RecordingWriter(str(path), interval=0.5, keyframe_every=8)
    for k, snap in enumerate(snapshots()[:6]):
        writer.write_sample(snap._replace(taken_at=START + 0.1 + k / 2), [])
    writer.close()
    rec = Recording.open(str(path))
    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.seek(3)  # 22:13:21.6
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        header = screen.query_one("ProcessHeader")
        lines = [header.render_line(y).text for y in range(2)]
        assert any("Δ since A 22:13:21.6" in line for line in lines), lines
        said = [n.message for n in app._notifications]
        assert any(m.endswith("changes since 22:13:21.6") for m in said), said


def test_the_ab_summary_is_cut_to_the_lines_it_may_take():
    from vmtop.tui.replay_compare import AB_SEPARATOR, ab_lines

    text = AB_SEPARATOR.join(f"part {k} of the summary" for k in range(12))
    whole = ab_lines(text, 60)
    assert len(whole.splitlines()) > 2 and "…" not in whole
    short = ab_lines(text, 60, 2).splitlines()
    assert len(short) == 2 and short[-1].endswith("  …") and all(len(x) <= 61 for x in short)


async def test_at_80x24_the_ab_summary_leaves_the_table_its_rows(recording):
    """Five lines of A→B left the region table one row at 80×24."""
    app = ReplayApp(recording)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await marked(app, pilot, MAPPED_AT - 1, THREADS_AT + 2)
        await settle(pilot)
        assert screen.query_one("#ab").size.height <= 2
        assert screen.query_one(RegionTable).size.height >= 4


def test_the_timelines_label_keeps_away_from_the_marks_and_says_it_is_the_recordings():
    from vmtop.tui.widgets.timeline import GAP, _label_place

    label = "recording 00:10:02.1 → 00:10:34.6"
    x = _label_place(label, 80, 50, [7, 50])
    assert x is not None and (x - GAP > 7 or x > 50 + GAP)
    # Between two marks too close for it: no place, rather than against a letter.
    assert _label_place(label, 80, 60, [10, 40]) not in range(9, 13)


def test_short_of_room_the_tally_gives_way_to_what_is_different_at_b():
    """At 80×24 the tally of events recorded between A and B took both lines: 'ends:'
    (what is different at B) could never be seen (review)."""
    from vmtop.tui.replay_compare import AB_SEPARATOR, ab_lines

    text = AB_SEPARATOR.join(
        [
            "A 10:15:30 → B 10:15:48 (+18s)",
            "RSS 6.1M → 5.2M (-960K)",
            "recorded between: unmapped 1 (-1.0M)",
            "protection_changed 1",
            "merged 1",
            "split 1",
            "rss_changed 4 (+1.2M)",
            "ends: regions 27 → 26",
            "1 shrank (-1.0M)",
            "1 split",
        ]
    )
    short = ab_lines(text, 78, 2)
    assert len(short.splitlines()) == 2, short
    assert "ends: regions 27 → 26" in short and "1 shrank (-1.0M)" in short, short
    # What gave way: A's and B's clocks (the span stays) and the tally's tail.
    assert "recorded between: unmapped 1 (-1.0M)" in short and "A→B +18s" in short, short
    assert "rss_changed 4" not in short and "…" in short, short
    wider = ab_lines(text, 120, 2)  # parts closer together: room for all of it
    assert "recorded between: unmapped 1 (-1.0M)" in wider and "ends: regions" in wider, wider
    assert "rss_changed 4" in wider and "…" not in wider
    assert ab_lines(text, 300, 2).count("…") == 0  # room enough: all of it
