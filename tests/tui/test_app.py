"""The app shell: which screen comes first, help, back/quit, and the demo's cleanup."""

from __future__ import annotations

import pytest

from vmtop.model.events import EVENT_DESCRIPTIONS
from vmtop.model.kinds import ALL_KINDS, KIND_DESCRIPTIONS
from vmtop.tui.app import VmtopApp
from vmtop.tui.screens.detail import RegionDetailScreen
from vmtop.tui.screens.help import HelpScreen
from vmtop.tui.screens.picker import PickerScreen
from vmtop.tui.theme import kind_label

from .conftest import rendered_text, settle


class FakeDemo:
    def __init__(self) -> None:
        self.stopped = 0

    def read_narration(self) -> list[str]:
        return []

    def stop(self) -> None:
        self.stopped += 1


def process_screen_available() -> bool:
    try:
        import vmtop.tui.screens.process  # noqa: F401
    except ImportError:
        return False
    return True


needs_process_screen = pytest.mark.skipif(
    not process_screen_available(), reason="the process screen is not there yet"
)


async def test_no_pid_starts_at_the_picker(fixture_procfs):
    app = VmtopApp(fixture_procfs)
    async with app.run_test(size=(160, 48)):
        assert isinstance(app.screen, PickerScreen)


@needs_process_screen
async def test_pid_starts_at_the_process_screen_and_q_quits(fixture_procfs):
    app = VmtopApp(fixture_procfs, pid=4242)
    async with app.run_test(size=(160, 48)) as pilot:
        assert type(app.screen).__name__ == "ProcessScreen"
        assert app.screen.pid == 4242
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


@needs_process_screen
async def test_enter_opens_region_detail_and_escape_comes_back(fixture_procfs):
    app = VmtopApp(fixture_procfs, pid=4242)
    async with app.run_test(size=(160, 48)) as pilot:
        process = app.screen
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RegionDetailScreen)
        assert app.screen.snapshot.pid == 4242
        fields = rendered_text(app.screen.query_one("#detail-fields"))
        assert "Rss" in fields and "Private_Dirty" in fields
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is process
        assert app.is_running


@needs_process_screen
async def test_demo_is_stopped_when_the_app_exits(fixture_procfs):
    demo = FakeDemo()
    app = VmtopApp(fixture_procfs, pid=4242, demo=demo)
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.screen.demo is demo
        await pilot.press("q")
        await pilot.pause()
    assert demo.stopped == 1


async def test_demo_is_stopped_even_without_a_clean_quit(fixture_procfs):
    demo = FakeDemo()
    app = VmtopApp(fixture_procfs, demo=demo)
    async with app.run_test(size=(160, 48)):
        pass  # the test harness tears the app down
    assert demo.stopped == 1


async def test_help_lists_every_kind_and_event_and_closes(fixture_procfs):
    app = VmtopApp(fixture_procfs)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        kinds = rendered_text(app.screen.query_one("#help-kinds"), width=150)
        for kind in ALL_KINDS:
            assert kind_label(kind) in kinds
            # Descriptions may wrap; their first words are on the kind's line.
            first_words = " ".join(KIND_DESCRIPTIONS[kind].split()[:3])
            assert first_words in kinds, kind
        assert "[heap]" in rendered_text(app.screen.query_one("#help-events"), width=300)
        events = rendered_text(app.screen.query_one("#help-events"), width=300)
        for name, meaning in EVENT_DESCRIPTIONS.items():
            assert name in events  # the name the event log shows
            assert meaning in events
        keys = "\n".join(rendered_text(w, width=150) for w in app.screen.query("#help-keys Static"))
        for key in ("Enter", "b", "space", "+ / -", "m", "z / Z", "g", "/", "o", "Ctrl+P", "?"):
            assert key in keys, key
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("question_mark", "q")
        assert isinstance(app.screen, PickerScreen)
        assert app.is_running


@needs_process_screen
def test_help_mentions_every_process_screen_binding():
    from textual.binding import Binding

    from vmtop.tui.screens.help import PROCESS, _process_screen_extra
    from vmtop.tui.screens.process import ProcessScreen

    rows = PROCESS + _process_screen_extra()
    listed = set()
    for keys, _ in rows:
        listed.update(keys.replace(" / ", " ").split())
    # Every key by the name a person types, never a binding's raw name.
    spelled = {"less_than_sign": "<", "greater_than_sign": ">", "question_mark": "?"}
    for binding in ProcessScreen.BINDINGS:
        if isinstance(binding, Binding) and binding.description:
            names = [spelled.get(k, k) for k in binding.key.split(",")]
            names = [
                {"escape": "Esc", "slash": "/", "plus": "+", "minus": "-"}.get(n, n) for n in names
            ]
            assert any(name in listed for name in names), binding
    for keys, _ in rows:
        assert "_" not in keys and "," not in keys, keys


def test_no_key_in_help_is_cut():
    """The key column is KEY_WIDTH cells and never wraps: a longer key showed as
    ``Enter on an ev…`` at every size."""
    from vmtop.tui.screens import help as h

    tables = [h.EVERYWHERE, h.PICKER, h.PROCESS, h.DETAIL, h.REPLAY, h._process_screen_extra()]
    long_keys = [key for rows in tables for key, _ in rows if len(key) > h.KEY_WIDTH]
    assert long_keys == []
    assert [key for key, _ in h.HEADER if len(key) > h.HEADER_KEY_WIDTH] == []
