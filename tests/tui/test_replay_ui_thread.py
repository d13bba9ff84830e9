"""The replay's keys are answered while a sample is rebuilt from the recording: no key
waits on a decode on the UI thread.

Before, with a mark A set, every step rebuilt A and the sample shown and compared them
region by region on the UI thread (``changes_since_mark``, for the Δ columns), and a
mark given after B (the marks swapped, A the earlier) rebuilt B's sample there too: at
65 532 regions 0.55-0.68 s a step and 0.26-0.37 s a rebuild, during which no key was
read (a million regions: seconds). Now both are worked out in a thread worker, one at a
time, and the result is posted to the screen.

The recording is tests/tui/test_replay_compare.py's (the real writer, the fixture
process's map changed as a program changes it); its ``snapshot`` is wrapped to note the
thread of every rebuild and, where a test says so, to hold each rebuild until released
(10 s at most: the code before the change waited that long on a key, and failed, rather
than hanging the test).
"""

from __future__ import annotations

import threading

from vmtop.record.reader import Recording
from vmtop.tui import gone_since_baseline, replay_compare, replay_marks
from vmtop.tui.replay_app import ReplayApp
from vmtop.tui.screens import process_views

from .conftest import settle, written_recording
from .test_replay_compare import FREED_AT, MAPPED_AT, THREADS_AT, snapshots

HOLD_SECONDS = 10.0


def write_recording(tmp_path) -> Recording:
    path = tmp_path / "came_and_went.jsonl.gz"
    return written_recording(path, snapshots())


class Rebuilds:
    """Every ``rec.snapshot(i)`` from now on: its sample and whether it ran on the UI
    thread; held until ``release()`` once ``hold()`` was called."""

    def __init__(self, rec: Recording) -> None:
        self.calls: list[tuple[int, bool]] = []
        self.waiting = 0  # rebuilds held right now
        self._held = False
        self._released = threading.Event()
        self._noting = True
        original = rec.snapshot

        def snapshot(i: int):
            if not self._noting:  # the test's own rebuilds, for what to expect
                return original(i)
            self.calls.append((i, threading.current_thread() is threading.main_thread()))
            if self._held:
                self.waiting += 1
                try:
                    self._released.wait(HOLD_SECONDS)
                finally:
                    self.waiting -= 1
            return original(i)

        rec.snapshot = snapshot

    def hold(self) -> None:
        self._held = True

    def release(self) -> None:
        self._held = False
        self._released.set()

    def stop(self) -> list[int]:
        """Stop noting; the samples rebuilt on the UI thread meanwhile."""
        self._noting = False
        return self.on_ui

    @property
    def on_ui(self) -> list[int]:
        return [i for i, ui in self.calls if ui]


async def test_a_key_is_answered_while_the_swapped_mark_is_rebuilt(tmp_path):
    rec = write_recording(tmp_path)
    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.seek(FREED_AT + 2)
        await settle(pilot)
        await pilot.press("b")
        screen.seek(THREADS_AT + 2)
        await settle(pilot)
        rebuilds = Rebuilds(rec)
        rebuilds.hold()
        try:
            await pilot.press("a")  # after B: the marks swapped, A is B's sample
            assert rebuilds.on_ui == [], f"rebuilt on the UI thread: {rebuilds.on_ui}"
            for _ in range(200):  # the worker's rebuild of A, held
                if rebuilds.waiting:
                    break
                await pilot.pause(0.05)
            assert rebuilds.waiting, "no rebuild of A held within 10 s"
            theme = app.theme
            await pilot.press("T")  # light / dark: answered at once
            assert app.theme != theme
            assert rebuilds.waiting, "no rebuild was still held when the key was answered"
        finally:
            rebuilds.release()
        await settle(pilot)
        assert rebuilds.stop() == []
        # Then the swap is as it was when it was worked out on the UI thread.
        assert (screen.mark_a, screen.mark_b) == (FREED_AT + 2, THREADS_AT + 2)
        assert screen.baseline.taken_at == rec.time_of(FREED_AT + 2)
        assert screen.ref_changes == replay_compare.changes_since_mark(
            rec, FREED_AT + 2, THREADS_AT + 2
        )
        assert screen.ab_text().startswith("A 22:13:29.0 → B 22:13:32.0 (+3.0s)")


async def test_stepping_with_a_mark_rebuilds_nothing_on_the_ui_thread(tmp_path):
    rec = write_recording(tmp_path)
    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.seek(MAPPED_AT - 1)
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        rebuilds = Rebuilds(rec)
        shown = []
        for _ in range(THREADS_AT + 2 - (MAPPED_AT - 1)):
            await pilot.press("full_stop")
            await settle(pilot)
            shown.append((screen.position, screen.ref_changes))
        on_ui = rebuilds.stop()
        assert on_ui == [], f"rebuilt on the UI thread: {on_ui}"
        # What the Δ columns show at each step is Δ since A of that very sample.
        for j, changes in shown:
            assert changes == replay_compare.changes_since_mark(rec, MAPPED_AT - 1, j), j
        # The 100 MiB block, mapped after A, is new since A while it is there.
        block = max(snapshots()[MAPPED_AT].regions, key=lambda r: r.size)
        at_block = dict(shown)[MAPPED_AT]
        assert block.start in at_block
        assert screen.position == THREADS_AT + 2


async def test_a_key_is_answered_while_a_step_since_a_is_worked_out(tmp_path, monkeypatch):
    rec = write_recording(tmp_path)
    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.seek(MAPPED_AT - 1)
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        screen.seek(FREED_AT - 1)
        await settle(pilot)
        rebuilds = Rebuilds(rec)
        released = threading.Event()
        original = replay_compare.changes_since_mark
        calls: list[tuple[int, bool]] = []  # (sample, on the UI thread)

        def slow_changes(rec_, a, j):
            calls.append((j, threading.current_thread() is threading.main_thread()))
            released.wait(HOLD_SECONDS)
            return original(rec_, a, j)

        async def until(check, what: str) -> None:
            for _ in range(200):
                if check():
                    return
                await pilot.pause(0.05)
            raise AssertionError(f"no {what} in 10 s")

        monkeypatch.setattr(replay_compare, "changes_since_mark", slow_changes)
        try:
            await pilot.press("full_stop")  # the block freed: the map is not the same
            await until(lambda: calls, "Δ since A asked for")
            theme = app.theme
            await pilot.press("T")
            assert app.theme != theme
            assert calls == [(FREED_AT, False)], f"Δ since A on the UI thread: {calls}"
            # Three steps more, to the threads' stacks: one worker at a time.
            for _ in range(THREADS_AT - FREED_AT):
                await pilot.press("full_stop")
            await until(lambda: screen.position == THREADS_AT, "steps to the threads")
            assert calls == [(FREED_AT, False)]
        finally:
            released.set()
        await settle(pilot)
        assert rebuilds.stop() == []
        # The one asked for meanwhile is the sample shown once the first was done.
        assert calls == [(FREED_AT, False), (THREADS_AT, False)]
        assert screen.position == THREADS_AT
        assert screen.ref_changes == original(rec, MAPPED_AT - 1, THREADS_AT)


async def test_moving_b_about_compares_one_pair_at_a_time(tmp_path, monkeypatch):
    """Each B given starts a comparison of A and B. A comparison cancelled by the next
    used to go on in its thread (a thread worker cannot be stopped), so B moved five
    times ran five side by side, each rebuilding two samples of the map and diffing
    them. Each comparison here is held until released, and counted while it runs."""
    rec = write_recording(tmp_path)
    running, most, released = [0], [0], threading.Event()
    compare = replay_compare.ab_text

    def held_compare(recording, a, b):
        running[0] += 1
        most[0] = max(most[0], running[0])
        try:
            released.wait(HOLD_SECONDS)
            return compare(recording, a, b)
        finally:
            running[0] -= 1

    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.seek(MAPPED_AT - 1)
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        monkeypatch.setattr(replay_compare, "ab_text", held_compare)
        try:
            for b in range(MAPPED_AT + 1, MAPPED_AT + 6):
                screen.seek(b)
                for _ in range(200):  # not settle(): it waits for the held comparisons
                    if screen.position == b:
                        break
                    await pilot.pause(0.05)
                assert screen.position == b
                await pilot.press("b")
                await pilot.pause(0.2)
            assert most[0] == 1, f"{most[0]} comparisons ran at once"
        finally:
            released.set()
        want = compare(rec, MAPPED_AT - 1, MAPPED_AT + 5)
        for _ in range(100):
            await settle(pilot)
            if screen.ab_summary == want:
                break
        assert (screen.mark_a, screen.mark_b) == (MAPPED_AT - 1, MAPPED_AT + 5)
        # What is shown is the last pair's, not an earlier comparison's that ended late.
        assert screen.ab_summary == want
        assert want.startswith("A ")


async def test_regions_gone_since_a_are_counted_off_the_ui_thread(tmp_path, monkeypatch):
    """The title's "1 region gone since A" walks A's whole map (a recording
    keeps no ranges remapped since A): at every step, on the UI thread, before. Now the
    since-A worker counts them with the Δ since A."""
    walks: list[bool] = []  # on the UI thread
    original = gone_since_baseline.gone_since

    def noted_gone_since(*args, **kw):
        walks.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kw)

    monkeypatch.setattr(process_views, "gone_since", noted_gone_since)
    monkeypatch.setattr(replay_marks, "gone_since", noted_gone_since, raising=False)
    rec = write_recording(tmp_path)
    app = ReplayApp(rec)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.seek(MAPPED_AT)  # the 100 MiB block is there
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        title = str(screen.query_one("#table-title").render())
        assert "gone since" not in title, title
        walks.clear()
        for _ in range(FREED_AT - MAPPED_AT):  # to the sample where it is freed
            await pilot.press("full_stop")
            await settle(pilot)
        assert screen.position == FREED_AT
        title = str(screen.query_one("#table-title").render())
        block = max(rec.snapshot(MAPPED_AT).regions, key=lambda r: r.size)
        assert block.size == 100 << 20
        assert "1 region gone since A (-100M" in title, title
        assert "Δ since A" in title and "baseline" not in title  # A is what was marked
        assert walks and not any(walks), f"walked on the UI thread: {walks}"
