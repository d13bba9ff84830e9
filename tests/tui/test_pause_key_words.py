"""Space is said in the footer as what it does now: "Pause" while the screen samples,
"Resume" while it is paused (it said "Pause" paused too, where the header said ❚❚
paused: the key read as doing nothing). In a replay: "Play" stopped, "Pause" playing."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from vmtop.tui.replay_app import ReplayApp

from .conftest import settle
from .test_process_screen import PID, ScreenApp
from .test_replay_ui_thread import write_recording


def footer_words(screen) -> set[str]:
    return {k.description for k in screen.query(FooterKey)}


def space_says(screen) -> list[str]:
    return [
        b.binding.description
        for key, b in screen.active_bindings.items()
        if key == "space" and b.enabled and b.binding.show
    ]


async def test_space_says_pause_live_and_resume_paused():
    from vmtop.tui.sources import LiveSource

    app = ScreenApp()
    app.screen_kwargs["source"] = LiveSource(app.procfs, PID, clock=app.clock)
    app.screen_kwargs["paused"] = False
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.live
        assert space_says(screen) == ["Pause"]
        assert "Pause" in footer_words(screen) and "Resume" not in footer_words(screen)
        await pilot.press("space")
        await settle(pilot)
        assert not screen.live
        assert space_says(screen) == ["Resume"]
        assert "Resume" in footer_words(screen) and "Pause" not in footer_words(screen)
        await pilot.press("space")  # the Resume binding resumes
        await settle(pilot)
        assert screen.live and space_says(screen) == ["Pause"]


async def test_a_replay_says_play_stopped_and_pause_playing(tmp_path):
    app = ReplayApp(write_recording(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert space_says(screen) == ["Play"]
        await pilot.press("space")
        await pilot.pause(0.1)
        assert screen.source.playing
        assert space_says(screen) == ["Pause"]
        assert "Pause" in footer_words(screen)
        await pilot.press("space")
        await settle(pilot)
        assert not screen.source.playing and space_says(screen) == ["Play"]
