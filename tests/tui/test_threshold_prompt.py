"""The live screen's `t`: the log's threshold typed, as `g` and `/` take what is typed.

From a review: `t` cycled the threshold through six values without a word, while in a
replay `t` opens a prompt (go to a time) and `g` / `/` open prompts live. A user typed
`t 1M Enter`: the threshold cycled, and Enter opened the region detail.

On the recorded fixture (tests/fixtures/process_screen, see test_process_screen.py),
its heap grown by rewriting its maps and smaps as brk does.
"""

from __future__ import annotations

from vmtop.tui.screens.help import HelpScreen
from vmtop.tui.screens.process import ProcessScreen
from vmtop.tui.widgets.event_log import EventLog

from .conftest import rendered_text
from .test_process_screen import HEAP, ScreenApp, copy_fixture, grow_heap, settle, smaps_field, step


def reported_changes(app) -> list[str]:
    log = app.screen.query_one(EventLog)
    return [
        log.render_line(y).text
        for y in range(log.size.height)
        if "rss_changed" in log.render_line(y).text
    ]


def events_title(app) -> str:
    return str(app.screen.query_one("#events-title").content)


async def test_t_1m_enter_sets_the_threshold_and_opens_nothing(tmp_path):
    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProcessScreen)
        assert "64K or more" in events_title(app)
        await pilot.press("t", *"1M", "enter")  # as typed: in one go
        await settle(pilot)
        assert app.screen is screen  # Enter went to the prompt, not to the region detail
        assert not screen.query_one("#prompt").display
        assert screen.rss_threshold == 1 << 20
        assert "1.0M or more" in events_title(app), events_title(app)
        # The heap grows by 512 KiB (as smaps says): under 1 MiB, not reported; another
        # 512 KiB adds up to it.
        rss_kb = smaps_field(HEAP[0], "Rss", root) // 1024
        grow_heap(root, HEAP, HEAP[1] + (1 << 20), rss_kb=rss_kb + 512)
        await step(pilot)
        assert smaps_field(HEAP[0], "Rss", root) // 1024 == rss_kb + 512
        assert not reported_changes(app)
        grow_heap(root, HEAP, HEAP[1] + (1 << 20), rss_kb=rss_kb + 1024)
        await step(pilot)
        reported = reported_changes(app)
        assert len(reported) == 1 and "+1.0M" in reported[0] and "[heap]" in reported[0], reported


async def test_what_is_not_a_size_leaves_the_threshold_and_says_so(tmp_path):
    app = ScreenApp(copy_fixture(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("t", *"lots", "enter")
        await settle(pilot)
        assert app.screen is screen and screen.rss_threshold == 64 << 10
        said = [n.message for n in app._notifications]
        assert any("not a size" in m and "'lots'" in m for m in said), said
        await pilot.press("t", "enter")  # nothing typed: nothing changes, nothing opens
        await settle(pilot)
        assert app.screen is screen and screen.rss_threshold == 64 << 10
        await pilot.press("t", *"0", "enter")
        await settle(pilot)
        assert screen.rss_threshold == 64 << 10


async def test_the_prompt_and_the_help_say_what_t_takes(tmp_path):
    app = ScreenApp(copy_fixture(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("t")
        await pilot.pause()
        prompt = screen.query_one("#prompt")
        assert prompt.display and "threshold, now 64K" in prompt.placeholder, prompt.placeholder
        assert "1M" in prompt.placeholder
        await pilot.press("escape")
        await pilot.pause()
        assert not prompt.display and screen.rss_threshold == 64 << 10
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(
            " ".join(rendered_text(w, width=150).split()) for w in app.screen.query("Static")
        )
        assert "the log's threshold: type the smallest RSS change" in text, text
        assert "(16K, 1M, as --threshold takes it)" in text
