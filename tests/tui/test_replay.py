"""The replay screen on a recording made from the fixture tree: step, next event, play,
go to a time, marks A and B with the diff between them; and its SVG snapshot.

The recording is written by the real writer from snapshots of tests/fixtures/tui_proc
4242 changed the way a program changes its map: a 4 MiB block mapped at sample 5 (one
new anonymous region), the heap grown at sample 12, pages faulted into the block at 20.
"""

from __future__ import annotations

import pytest

from vmtop.model import diff
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter
from vmtop.tui.replay_app import ReplayApp
from vmtop.tui.screens.replay import ReplayScreen
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.process_header import ProcessHeader
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.timeline import Timeline

from .conftest import TUI_PROC, settle, written_recording

CHART_ROW_TICKS = 4  # the timeline row with the event ticks and the cursor

START = 1_700_000_000.0  # 22:13:20 UTC
SAMPLES = 30
BLOCK = 4 << 20
MAPPED_AT, HEAP_AT, FAULT_AT = 5, 12, 20


def snapshots() -> list:
    base = take_snapshot(ProcFS(str(TUI_PROC)), 4242)
    regions = list(base.regions)
    # Room for the block: below the first library, far above the heap.
    libs = [r for r in regions if r.start > 0x7F0000000000]
    block_end = libs[0].start - 0x100000
    block = libs[0]._replace(
        start=block_end - BLOCK, end=block_end, perms="rw-p", offset=0, dev="00:00",
        inode=0, path="", kind="anon", object=None, rss=8192, pss=8192, shared_clean=0,
        shared_dirty=0, private_clean=0, private_dirty=8192, swap=0, anonymous=8192,
    )  # fmt: skip
    heap_i = next(i for i, r in enumerate(regions) if r.path == "[heap]")
    out = []
    for i in range(SAMPLES):
        now = list(regions)
        if i >= MAPPED_AT:
            b = block if i < FAULT_AT else block._replace(rss=BLOCK, private_dirty=BLOCK)
            now.append(b)
            now.sort(key=lambda r: r.start)
        if i >= HEAP_AT:
            k = next(j for j, r in enumerate(now) if r.path == "[heap]")
            heap = regions[heap_i]
            now[k] = heap._replace(end=heap.end + 0x21000)
        rss = sum(r.rss or 0 for r in now)
        out.append(
            base._replace(
                taken_at=START + i, regions=tuple(now), totals=base.totals._replace(rss=rss)
            )
        )
    return out


@pytest.fixture
def recording(tmp_path) -> Recording:
    return written_recording(tmp_path / "fixture.jsonl.gz", snapshots())


def header(app) -> list[str]:
    widget = app.screen.query_one(ProcessHeader)
    return [widget.render_line(y).text for y in range(2)]


async def opened(app, pilot) -> ReplayScreen:
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ReplayScreen)
    return screen


async def test_replay_opens_at_the_start_with_its_timeline(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        top = header(app)[0]
        assert "4242" in top and "replay" in top and "22:13:20" in top
        assert f"sample 1/{SAMPLES}" in top and "live" not in top
        timeline = screen.query_one(Timeline)
        top_line = timeline.render_line(0).text
        assert top_line[1] == "▼" and "22:13:20 → 22:13:49" in top_line
        assert screen.snapshot.regions == recording.snapshot(0).regions


async def test_step_forth_and_back(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("full_stop", "full_stop")
        await settle(pilot)
        assert screen.source.position == 2 and "sample 3/" in header(app)[0]
        await pilot.press("comma")
        await settle(pilot)
        assert screen.source.position == 1
        assert screen.snapshot.taken_at == START + 1


async def test_next_event_lands_on_the_block_being_mapped(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("n")
        await settle(pilot)
        assert screen.source.position == MAPPED_AT
        log = screen.query_one(EventLog)
        mapped = [e for e in log.events if e.event == "mapped"]
        assert mapped and mapped[-1].size == BLOCK
        table = screen.query_one(RegionTable)
        block = screen.snapshot.region_at(mapped[-1].start)
        assert block is not None and block in table.rows
        assert screen.recent.get(block.start, ("",))[0] == "new"  # highlighted as new
        await pilot.press("n")
        await settle(pilot)
        assert screen.source.position == HEAP_AT
        await pilot.press("N")
        await settle(pilot)
        assert screen.source.position == MAPPED_AT
        # Going back in time takes the later events out of the log again.
        assert not any(e.event == "heap_grew" for e in screen.query_one(EventLog).events)


async def test_play_runs_to_the_end_and_stops(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("plus", "plus", "minus")  # 10×, 100×, back to 10×
        assert screen.source.speed == 10
        await pilot.press("space")
        # 30 samples a second apart at 10×: three seconds to play them all. (Waited
        # for, not a fixed 0.8 s: on a loaded machine the first samples came later.)
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.source.position >= 2:
                break
        assert screen.source.playing and "▶ 10×" in header(app)[0]
        assert 2 <= screen.source.position <= 20
        for _ in range(60):
            await pilot.pause(0.1)
            if not screen.source.playing:
                break
        await settle(pilot)
        assert screen.source.position == SAMPLES - 1
        assert not screen.live and "❚❚" in header(app)[0]


async def test_go_to_a_time(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        for text, index in (("+10s", 10), ("22:13:45", 25), ("-5s", 20), ("90s", None)):
            await pilot.press("t")
            await pilot.press(*text, "enter")
            await settle(pilot)
            if index is None:  # past the end: a warning, the cursor stays
                assert screen.source.position == 20
            else:
                assert screen.source.position == index, text


async def test_marks_a_and_b_show_what_changed_between_them(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("full_stop", "full_stop")
        await settle(pilot)
        await pilot.press("a")
        await pilot.press("t", *"+20s", "enter")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert (screen.mark_a, screen.mark_b) == (2, 22)
        text = screen.ab_summary
        a, b = recording.snapshot(2), recording.snapshot(22)
        assert "A 22:13:22.0 → B 22:13:42.0 (+20.0s)" in text  # tenths: samples are close
        assert f"regions {len(a.regions)} → {len(b.regions)}" in text
        assert "mapped 1 (+4.0M)" in text and "heap_grew 1" in text
        # The Δ columns compare with A: the block is new since then, the heap grew.
        changes = screen.ref_changes
        block = b.region_at(b.regions[0].start)
        assert any(c.status == "new" for c in changes.values())
        assert any(c.status == "grew" for c in changes.values())
        assert block is not None and "Δ since A 22:13:22" in header(app)[1]
        assert "A" in screen.query_one(Timeline).render_line(0).text


async def test_marks_at_both_ends_leave_the_timeline_label_whole(recording):
    """A at the first sample and B at the last: the label went on one side and the A
    was drawn over its first digit ("A2:13:20 → ...")."""
    app = ReplayApp(recording)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("a", "end", "b")
        await settle(pilot)
        top = screen.query_one(Timeline).render_line(0).text
        assert "22:13:20 → 22:13:" in top, top
        assert top.count("A") == 1 and top.count("B") == 1, top


async def test_the_a_to_b_line_breaks_between_its_parts_at_80_columns(recording):
    """At 80 columns it broke anywhere: "regions 24 →" at the end of a line, "25" on the
    next."""
    from vmtop.tui.screens.replay import AB_SEPARATOR

    app = ReplayApp(recording)
    # 40 rows: on a shorter screen it takes two lines at most (test_replay_compare).
    async with app.run_test(size=(80, 40)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("full_stop", "full_stop", "a", "end", "b")
        await settle(pilot)
        parts = screen.ab_summary.split(AB_SEPARATOR)
        ab = screen.query_one("#ab")
        lines = [ab.render_line(y).text.strip() for y in range(ab.size.height)]
        lines = [line for line in lines if line]
        assert len(lines) > 1, lines  # it does not fit one line
        for line in lines:
            assert all(part.strip() in parts for part in line.split("·")), line
        assert sum(len(line.split("·")) for line in lines) == len(parts)


async def test_the_footer_shows_the_replay_keys_first(recording):
    """A replay is for moving in time and comparing two moments: those keys get the
    footer's room before the process screen's (they were the ones left out)."""
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        shown = {b.binding.description for b in screen.active_bindings.values() if b.binding.show}
        assert {"Play", "Step", "Event", "Time", "Mark A/B", "Help"} <= shown
        assert "Back" not in shown  # the first screen, nothing open: Esc goes nowhere


def test_replay_screen_snapshot(recording, snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("t", *"+12s", "enter")
        await settle(pilot)
        await pilot.press("comma")
        await settle(pilot)

    app = ReplayApp(recording)
    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


async def test_R_records_what_the_process_screen_samples(tmp_path, monkeypatch):
    from vmtop.tui.sources import LiveSource

    from .test_process_screen import PID, ScreenApp, step

    monkeypatch.setenv("VMTOP_RECORDINGS", str(tmp_path))
    app = ScreenApp()
    app.screen_kwargs["source"] = LiveSource(app.procfs, PID, clock=app.clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        assert f"REC vmtop-{PID}-" in header(app)[0]
        await step(pilot)
        await step(pilot)
        shown = app.screen.snapshot
        assert "REC" in header(app)[0]
        await pilot.press("R")
        await settle(pilot)
        assert "REC" not in header(app)[0]
    files = list(tmp_path.glob(f"vmtop-{PID}-*.jsonl.gz"))
    assert len(files) == 1
    rec = Recording.open(str(files[0]))
    assert len(rec) == 2 and rec.end_reason == "stopped" and rec.pid == PID
    assert rec.snapshot(1).regions == shown.regions and rec.time_of(1) == shown.taken_at


async def test_R_while_paused_and_R_again_keeps_no_file_and_says_so(tmp_path, monkeypatch):
    """It said "Saved …: 0 samples. Replay it with: vmtop replay FILE" of a file the
    writer had removed (a recording without a sample is not kept)."""
    from vmtop.tui.sources import LiveSource

    from .test_process_screen import PID, ScreenApp

    monkeypatch.setenv("VMTOP_RECORDINGS", str(tmp_path))
    app = ScreenApp()
    app.screen_kwargs["source"] = LiveSource(app.procfs, PID, clock=app.clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert not app.screen.live  # this app's screen starts paused
        await pilot.press("R")
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert any("paused: nothing is recorded until space resumes" in m for m in said), said
        await pilot.press("R")
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert not any("Saved" in m or "Replay it with" in m for m in said), said
        assert any(m.startswith("Nothing recorded: no sample was taken (paused)") for m in said)
    assert not list(tmp_path.iterdir())


async def test_R_records_elsewhere_when_the_current_directory_refuses(tmp_path, monkeypatch):
    """vmtop started from / (or a read-only tree): R writes under $XDG_STATE_HOME/vmtop."""
    import errno
    from pathlib import Path

    from vmtop.tui.sources import LiveSource

    from .test_process_screen import PID, ScreenApp, step

    here, state = tmp_path / "readonly", tmp_path / "state"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.delenv("VMTOP_RECORDINGS", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    app = ScreenApp()
    source = app.screen_kwargs["source"] = LiveSource(app.procfs, PID, clock=app.clock)
    start = source.start_recording

    def refused_here(path, interval):  # (root writes anywhere: the refusal is simulated)
        if Path(path).parent == here:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return start(path, interval)

    source.start_recording = refused_here
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        assert f"REC vmtop-{PID}-" in header(app)[0]
        await step(pilot)
        await pilot.press("R")
        await settle(pilot)
    (saved,) = (state / "vmtop").glob(f"vmtop-{PID}-*.jsonl.gz")
    assert Recording.open(str(saved)).pid == PID
    assert (state / "vmtop").stat().st_mode & 0o777 == 0o700
    assert not list(here.iterdir())


async def test_region_detail_of_a_replayed_region(recording):
    from vmtop.tui.screens.detail import RegionDetailScreen

    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("t", *"+6s", "enter")
        await settle(pilot)
        block = next(r for r in screen.snapshot.regions if r.size == BLOCK)
        screen.open_detail(block)
        await settle(pilot)
        assert isinstance(app.screen, RegionDetailScreen)
        assert app.screen.memory_region == block
        # Its RSS over the samples so far, as recorded: 8 KiB since it was mapped.
        assert app.screen.rss_history == [(START + i, 8192) for i in range(MAPPED_AT, 7)]
        fields = app.screen.fields  # the recorded figures, under their smaps names
        assert fields["Rss"] == block.rss and fields["Private_Dirty"] == block.private_dirty
        assert fields["Size"] == BLOCK
        # Nothing of this machine is read for it, and it says so rather than "follows".
        status = str(app.screen.query_one("#detail-status").render())
        assert "recorded at" in status and "follows" not in status
        pages = str(app.screen.query_one("#detail-pages").render())
        assert pages.startswith("not recorded"), pages
        assert app.screen.check_action("reread_pages", ()) is False
        await pilot.press("r")
        await settle(pilot)
        assert str(app.screen.query_one("#detail-pages").render()).startswith("not recorded")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_palette_plays_at_a_speed(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        screen.play_at(100)
        assert screen.source.speed == 100 and screen.source.playing
        for _ in range(30):
            await pilot.pause(0.1)
            if not screen.source.playing:
                break
        await settle(pilot)
        assert screen.source.position == SAMPLES - 1


async def test_a_click_on_the_timeline_goes_there(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        timeline = screen.query_one(Timeline)
        # 30 samples over the chart's width: where sample 15 is drawn.
        column = timeline.column_of(15)
        assert 0 < column < timeline.size.width - 2
        await pilot.click(Timeline, offset=(1 + column, 2))
        await settle(pilot)
        assert screen.source.position == 15
        assert timeline.render_line(CHART_ROW_TICKS).text[1 + column] == "▲"


async def test_stepping_back_shows_no_highlight_from_later(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("t", *"+12s", "enter")
        await settle(pilot)
        heap = next(r for r in screen.snapshot.regions if r.path == "[heap]")
        assert screen.recent[heap.start][0] == "grew"  # the heap grew at this sample
        await pilot.press("comma")
        await settle(pilot)
        assert screen.source.position == HEAP_AT - 1
        assert screen.recent == {}  # nothing changed at sample 11


async def test_home_and_end_go_to_the_first_and_last_sample(recording):
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("full_stop", "full_stop")
        await settle(pilot)
        assert screen.source.position == 2
        # The region table has focus, and binds Home / End too: the replay's come first.
        await pilot.press("end")
        await settle(pilot)
        assert screen.source.position == SAMPLES - 1
        await pilot.press("home")
        await settle(pilot)
        assert screen.source.position == 0
        # In the go-to-time prompt they move its cursor, not the replay.
        await pilot.press("t", *"end", "home")
        await settle(pilot)
        assert screen.source.position == 0
        await pilot.press("enter")
        await settle(pilot)
        assert screen.source.position == SAMPLES - 1  # "end" was typed whole


# -- a recording at 0.5 s whose samples land a few milliseconds late ------------------------

LATE_START = START + 0.77  # 22:13:20.77
LATE_INTERVAL = 0.5
LATE = 0.004  # each sample after the first this late (the review's: 4.1 ms at +30 s)


@pytest.fixture
def late_recording(tmp_path) -> Recording:
    path = tmp_path / "late.jsonl.gz"
    writer = RecordingWriter(str(path), interval=LATE_INTERVAL, keyframe_every=8)
    prev = None
    for k, snap in enumerate(snapshots()):
        snap = snap._replace(taken_at=LATE_START + LATE_INTERVAL * k + (LATE if k else 0.0))
        writer.write_sample(snap, diff.diff_snapshots(prev, snap) if prev else [])
        prev = snap
    writer.close()
    return Recording.open(str(path))


def test_the_header_names_every_sample_differently(late_recording):
    """It said "22:13:25 +5s" at samples 10 and 11 (4.504 and 5.004 s after the start,
    both 22:13:25.x): the time alone did not say which sample was on screen."""
    from vmtop.tui.replay_source import ReplaySource

    source = ReplaySource(late_recording)
    said = []
    for i in range(len(late_recording)):
        source.seek(i)
        source.sample()
        said.append("".join(text for _, text in source.describe(False)).rsplit("sample", 1)[0])
    assert len(set(said)) == len(said), said
    assert "22:13:25.3  +4.5s of 14.5s" in said[9] and "22:13:25.8  +5.0s" in said[10]


async def test_go_to_a_time_lands_on_the_sample_taken_then(late_recording):
    """`t` 5s went to the sample 4.504 s after the start: the one at 5.004 s was 4 ms
    after the time asked for."""
    app = ReplayApp(late_recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        for text, index in (("5s", 10), ("+2s", 14), ("22:13:25.8", 10), ("-1.5s", 7)):
            await pilot.press("t")
            await pilot.press(*text, "enter")
            await settle(pilot)
            assert screen.source.position == index, text
        # A and B as the header writes them: the same tenths.
        await pilot.press("a", "t", *"+3s", "enter")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert "A 22:13:24.3 → B 22:13:27.3 (+3.0s)" in screen.ab_summary, screen.ab_summary


# -- a damaged recording -------------------------------------------------------------------


def _damaged_keyframe(tmp_path, index: bool):
    """A recording of ``snapshots()`` with its second keyframe's compressed data
    damaged (after it was written), its index kept or not: the path, and the samples
    (by number) of the stretch the damaged keyframe holds."""
    import json
    import zlib

    from test_recording import without_index

    path = tmp_path / "damaged.jsonl.gz"
    writer = RecordingWriter(str(path), interval=1.0, keyframe_every=1)
    prev = None
    for snap in snapshots():
        writer.write_sample(snap, diff.diff_snapshots(prev, snap) if prev else [])
        prev = snap
    writer.close()
    data = bytearray(path.read_bytes() if index else without_index(path.read_bytes()))
    at, keyframes = 0, []  # (offset, sample) of each keyframe's gzip member
    while at < len(data):
        z = zlib.decompressobj(31)
        line = z.decompress(bytes(data[at:])).split(b"\n")[0]
        if line.startswith(b'{"type":"keyframe"'):
            keyframes.append((at, json.loads(line)["i"]))
        at = len(data) - len(z.unused_data)
    (second, lost_from), (_, lost_to) = keyframes[1], keyframes[2]
    data[second + 40] ^= 0xFF
    path.write_bytes(bytes(data))
    return path, lost_from, lost_to


async def test_a_damaged_recording_replays_what_is_intact_and_says_once_what_is_lost(tmp_path):
    """A keyframe damaged, in a recording with no index (cut short, or written before
    recordings had one): the replay shows the samples before it and from the next
    keyframe on, numbered as the file numbers them, with one warning. Before, the scan
    stepped over the keyframe without seeing the damage, and stepping onto its sample
    said it "cannot be read back"."""
    snaps = snapshots()
    path, lost_from, lost_to = _damaged_keyframe(tmp_path, index=False)
    rec = Recording.open(str(path))
    kept = [*range(1, lost_from + 1), *range(lost_to + 1, SAMPLES + 1)]
    assert [rec.number(i) for i in range(len(rec))] == kept
    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        (said,) = [n.message for n in app._notifications]
        assert said.startswith(f"samples {lost_from + 1}–{lost_to} lost: ")
        assert said == rec.notes[0]
        assert f"sample 1/{SAMPLES}" in header(app)[0]
        for _ in range(lost_from):
            await pilot.press("full_stop")
        await settle(pilot)
        assert f"sample {lost_to + 1}/{SAMPLES}" in header(app)[0]
        assert screen.source.position == lost_from and screen.source.problem is None
        assert screen.snapshot.regions == snaps[lost_to].regions
        await pilot.press("end")
        await settle(pilot)
        assert f"sample {SAMPLES}/{SAMPLES}" in header(app)[0]
        assert screen.source.problem is None


async def test_a_recording_damaged_after_its_index_says_so_where_it_is_read(tmp_path):
    """With its index, a recording opens without reading its members: damage made
    after it was written is found where a sample is read back. Stepping onto the
    damaged stretch says so, shows no wrong map, and the replay goes on past it."""
    snaps = snapshots()
    path, lost_from, lost_to = _damaged_keyframe(tmp_path, index=True)
    rec = Recording.open(str(path))
    assert len(rec) == SAMPLES and not rec.notes  # (opened by its index)
    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        shown = screen.snapshot
        screen.seek(lost_from)  # the damaged keyframe's sample
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert any("cannot be read back" in m and "damaged after" in m for m in said), said
        assert screen.snapshot is shown or screen.snapshot.regions != snaps[lost_from].regions
        screen.seek(lost_to)  # the next keyframe's: intact
        await settle(pilot)
        assert f"sample {lost_to + 1}/{SAMPLES}" in header(app)[0]
        assert screen.snapshot.regions == snaps[lost_to].regions


async def test_the_replays_event_log_says_its_events_are_as_recorded(recording, tmp_path):
    """It said "(t changes)" of the threshold, but `t` in a replay goes to a time, and
    the recording decided its events: the title says the recorded threshold."""
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        title = str(screen.query_one("#events-title").content)
        assert "t changes" not in title and "as recorded" in title, title
    path = tmp_path / "with_threshold.jsonl.gz"
    writer = RecordingWriter(str(path), interval=1.0, rss_threshold=16 << 10)
    for snap in snapshots()[:2]:
        writer.write_sample(snap, [])
    writer.close()
    app = ReplayApp(Recording.open(str(path)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        title = str(screen.query_one("#events-title").content)
        assert "as recorded: RSS changes of 16K or more" in title, title


async def test_esc_back_is_in_the_footer_only_where_esc_goes_back(recording):
    """The replay's footer said "esc Back" where Esc did nothing but say so."""
    from textual.widgets import Footer

    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)

        def footer() -> str:
            return " ".join(str(k.render()) for k in app.screen.query_one(Footer).children)

        await settle(pilot)
        assert "Back" not in footer(), footer()
        await pilot.press("escape")
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert "Nothing to close: q quits vmtop" in said, said
        await pilot.press("slash", "h", "e", "a", "p", "enter")
        await settle(pilot)
        assert screen.query_one("RegionTable").filter_text == "heap"
        assert "Back" in footer(), footer()
        await pilot.press("escape")  # clears the filter
        await settle(pilot)
        assert screen.query_one("RegionTable").filter_text == ""
        assert "Back" not in footer(), footer()


async def test_at_80_columns_the_replay_header_keeps_the_command_name(recording):
    """ "25583  ./… replay of 2026-11-29  ❚❚  00:10:22.6  +20.5s of 32.5s  sample 42/66":
    the replay's words took the line, the command was cut to nothing."""
    app = ReplayApp(recording)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(app, pilot)
        line = header(app)[0]
        # Its program's name at least (its directory gives way first: fit_command).
        program = recording.command.split(" ", 1)[0].rsplit("/", 1)[-1]
        assert program and program[:12] in line, line
        assert "❚❚" in line and "sample 1/" in line, line


async def test_home_and_end_in_the_event_log_move_in_the_log_not_in_time(recording):
    """After Tab, End jumped the replay to its last sample (Home to its first) instead
    of going to the log's oldest event, as it does on the live screen."""
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("t", *"+12s", "enter")
        await settle(pilot)
        at = screen.source.position
        log = screen.query_one(EventLog)
        assert len(log.events) > 1
        await pilot.press("tab")
        await settle(pilot)
        assert screen.focused is log
        await pilot.press("end")
        await settle(pilot)
        assert screen.source.position == at
        assert log.cursor == len(log.events) - 1  # the oldest
        await pilot.press("home")
        await settle(pilot)
        assert (screen.source.position, log.cursor) == (at, 0)
        # Elsewhere they still go to the first / last sample.
        await pilot.press("tab")
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        assert screen.source.position == SAMPLES - 1


def test_the_header_pieces_are_as_wide_at_every_sample(recording):
    """'threads 1' came and went as the replay moved from sample 9 to 10 (+9s to
    +10s): the pieces beside it grew by a character, and the header left it out."""
    from vmtop.tui.replay_source import ReplaySource

    source = ReplaySource(recording)
    widths = set()
    for i in range(SAMPLES):
        source.seek(i)
        source.sample()
        widths.add(tuple(len(text) for _, text in source.describe(False)))
    assert len(widths) == 1, widths


async def test_after_a_jump_the_log_says_how_many_older_events_it_left_out(recording, monkeypatch):
    """A jump puts back the last LOG_EVENTS events only: the rest were counted as none,
    and a run's "×N" read as all there was (review: ×502 where the live log said ×699)."""
    from vmtop.tui.screens import replay

    monkeypatch.setattr(replay, "LOG_EVENTS", 1)
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("end")
        await settle(pilot)
        log = screen.query_one(EventLog)
        total = sum(len(recording.events_of(k)) for k in range(screen.position))
        shown = sum(run.count for run in log.runs)
        assert 0 < shown < total
        assert log.dropped == total - shown
        assert f"{total - shown} older events dropped" in log.render_line(len(log.runs)).text


async def test_a_key_right_after_the_time_is_a_key_not_part_of_the_time(recording):
    """`t 22:13:45` Enter and `a` at once (tmux send-keys): the time read
    '22:13:45a', no jump and no A (review)."""
    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        await pilot.press("t", *"22:13:45")
        from textual import events

        # As a terminal sends them: both queued before either is handled.
        app.post_message(events.Key("enter", "\r"))
        app.post_message(events.Key("a", "a"))
        await settle(pilot)
        assert screen.source.position == 25
        assert screen.mark_a == 25


async def test_the_palette_of_a_replay_offers_no_live_sampling_commands(recording):
    """A replay's command palette listed "Set the log's RSS threshold…" (its log is as
    recorded), "Pause sampling" and "Set the baseline here" beside its own play and
    marks, and "a" for the bar, which marks A there."""
    from vmtop.tui.screens.process_commands import ProcessCommands

    app = ReplayApp(recording)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(app, pilot)
        names = {name: hint for name, _action, hint in ProcessCommands(screen)._commands()}
    assert not any("threshold" in n or "sampling" in n or "baseline" in n for n in names), names
    assert names["Fold away or show the address bar"] != "a"
    assert "Sort regions by start" in names  # (the table's own stay)


async def test_the_palette_of_a_live_screen_keeps_them():
    from vmtop.tui.screens.process_commands import ProcessCommands

    from .test_process_screen import ScreenApp
    from .test_process_screen import settle as settled

    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        names = {name: hint for name, _action, hint in ProcessCommands(app.screen)._commands()}
    assert {"Set the baseline here", "Set the log's RSS threshold…"} <= names.keys(), names
    assert "Resume sampling" in names  # (opened paused)
    assert names["Fold away or show the address bar"] == "a"


@pytest.mark.parametrize(
    "size", [(80, 24), (160, 48), (220, 60)], ids=lambda s: "x".join(map(str, s))
)
def test_replay_with_marks_at_size(recording, snap_compare, size):
    """The replay at the three sizes, A and B marked around the 4 MiB block's mapping:
    the timeline with its marks, the A→B line, the Δ since A in the table."""

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("t", *"+2s", "enter")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("t", *"+20s", "enter")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)

    assert snap_compare(ReplayApp(recording), terminal_size=size, run_before=run_before)
