"""Pilot tests of the process picker on the recorded fixture tree.

Fixture figures (tests/fixtures/tui_proc): RSS 4343 18028 kB > 4444 5120 kB > 4242
2432 kB; swap only 4444 (1024 kB); threads 4444: 4, 4242: 2, 4343: 1; PID 2 is a kernel
thread.
"""

from __future__ import annotations

import pytest
from textual.screen import Screen

from vmtop.tui.app import VmtopApp
from vmtop.tui.screens.picker import AccessExplanation, ColumnHeader, PickerScreen, ProcessTable

from .conftest import rendered_text, settle


class OpenedScreen(Screen):
    """Stands in for the process screen: records which PID the picker opened."""

    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid = pid


class PickerApp(VmtopApp):
    def first_screen(self):
        return PickerScreen(self.procfs, live=False)

    def process_screen(self, pid: int):
        return OpenedScreen(pid)


def shown_pids(app) -> list[int]:
    return [row.pid for row in app.screen.query_one(ProcessTable).rows]


def selected_pid(app) -> int:
    return app.screen.query_one(ProcessTable).selected.pid


async def test_lists_processes_by_rss_without_kernel_threads(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)):
        assert isinstance(app.screen, PickerScreen)
        assert shown_pids(app) == [4343, 4444, 4242]
        assert selected_pid(app) == 4343
        title = str(app.screen.query_one("#picker-title").content)
        assert "3 processes" in title and "sorted by RSS ▼" in title
        assert "1 kernel thread not listed" in title  # pid 2: it has no memory map


async def test_sort_keys(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("N")  # by PID, ascending
        assert shown_pids(app) == [4242, 4343, 4444]
        await pilot.press("r")  # reversed
        assert shown_pids(app) == [4444, 4343, 4242]
        await pilot.press("M")  # back to RSS, biggest first
        assert shown_pids(app) == [4343, 4444, 4242]
        await pilot.press("s")  # next column after RSS: swap
        assert shown_pids(app) == [4444, 4242, 4343]
        await pilot.press("s")  # virtual size: 22724608 > 11980800 (tie by PID)
        assert shown_pids(app) == [4343, 4242, 4444]
        await pilot.press("s")  # threads: 4, 2, 1
        assert shown_pids(app) == [4444, 4242, 4343]
        await pilot.press("less_than_sign", "less_than_sign", "less_than_sign")
        assert shown_pids(app) == [4343, 4444, 4242]  # back at RSS
        await pilot.press("I")
        assert shown_pids(app) == [4242, 4444, 4343]


async def test_clicking_a_column_title_sorts_by_it(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        header = app.screen.query_one(ColumnHeader)
        # COMMAND starts after the fixed columns: 1+7+9+1+5+6+6+6+4 cells and 9 gaps.
        await pilot.click(ColumnHeader, offset=(54, 0))
        assert shown_pids(app) == [4343, 4242, 4444]  # /root…, /tmp…, /usr…
        assert "COMMAND▲" in str(header.content)
        await pilot.click(ColumnHeader, offset=(54, 0))
        assert shown_pids(app) == [4444, 4242, 4343]


async def test_selection_moves_and_stays_on_the_same_pid_across_refresh(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("end")
        assert selected_pid(app) == 4242
        await pilot.press("k")
        assert selected_pid(app) == 4444
        await pilot.press("j", "home")
        assert selected_pid(app) == 4343
        await pilot.press("down", "down")
        assert selected_pid(app) == 4242
        # A refresh where 4242 grew to the top of the list: the cursor follows it.
        screen = app.screen
        rows = [
            row._replace(rss=1 << 40) if row.pid == 4242 else row for row in screen.lister.list()
        ]
        screen._apply(rows)
        await pilot.pause()
        assert shown_pids(app) == [4242, 4343, 4444]
        assert selected_pid(app) == 4242


async def test_filter_as_you_type(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("slash", "p", "y")
        assert shown_pids(app) == [4343]
        await pilot.press("backspace", "backspace", "4", "4")
        assert shown_pids(app) == [4444]  # PID prefix
        await pilot.press("backspace", "backspace", *"fixture")
        assert shown_pids(app) == [4242]  # command line
        await pilot.press("escape")  # clears the text and closes the box
        assert shown_pids(app) == [4343, 4444, 4242]
        assert not app.screen.query_one("#picker-filter").display
        await pilot.press("slash", *"zzz")
        assert shown_pids(app) == []
        status = str(app.screen.query_one("#picker-status").content)
        assert "no process matches" in status


async def test_enter_opens_the_selected_process(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("down", "down", "enter")
        assert isinstance(app.screen, OpenedScreen)
        assert app.screen.pid == 4242


async def test_enter_in_the_filter_opens_the_match(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("slash", *"python", "enter")
        assert isinstance(app.screen, OpenedScreen)
        assert app.screen.pid == 4343


async def test_permission_denied_pick_explains_and_stays(fixture_procfs, deny_pids):
    deny_pids(4444)
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        rows = {row.pid: row for row in app.screen.query_one(ProcessTable).rows}
        assert rows[4444].denied and not rows[4343].denied
        await pilot.press("down")
        assert selected_pid(app) == 4444
        status = str(app.screen.query_one("#picker-status").content)
        assert "permission denied" in status
        await pilot.press("enter")
        assert isinstance(app.screen, AccessExplanation)
        reason = rendered_text(app.screen.query_one("#explain-reason"))
        advice = rendered_text(app.screen.query_one("#explain-advice"))
        assert "permission denied reading the memory map of process 4444" in reason
        assert "owned by nobody" in reason
        import os

        if os.geteuid() == 0:
            assert "already runs as root" in advice and "undumpable" in advice
        else:
            assert "sudo" in advice
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)
        assert app.is_running
        await pilot.press("up", "enter")  # a readable one still opens
        assert isinstance(app.screen, OpenedScreen) and app.screen.pid == 4343


async def test_why_a_process_is_refused_is_read_whole_at_80_columns(fixture_procfs, deny_pids):
    """The bottom line says why in a few words, on as many lines as it takes; the
    dialog says it all."""
    deny_pids(4444)
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down")
        assert selected_pid(app) == 4444
        status = app.screen.query_one("#picker-status")
        shown = " ".join(status.render_line(y).text.strip() for y in range(status.size.height))
        assert shown == "✗ permission denied (owned by nobody)  (Enter explains)"
        # A reason longer than the line wraps rather than lose its end.
        row = app.screen.query_one(ProcessTable).selected
        long = f"cannot read {'/very/long/path' * 6}/maps: a FIFO, not a regular file"
        app.screen._highlighted(ProcessTable.Highlighted(row._replace(denied=long)))
        await pilot.pause()
        shown = " ".join(status.render_line(y).text.strip() for y in range(status.size.height))
        assert status.size.height > 1 and shown.endswith("not a regular file  (Enter explains)")
        await pilot.press("up")
        await pilot.pause()
        assert status.size.height == 1  # a command line stays on one line


async def test_a_process_of_ones_own_that_is_refused_is_not_dumpable(
    fixture_procfs, deny_pids, monkeypatch
):
    """As nobody, nobody's process refused: "sudo -u nobody" would change nothing."""
    import os

    monkeypatch.setattr(os, "geteuid", lambda: 65534)  # vmtop runs as nobody
    deny_pids(4444)  # nobody's
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("down")
        status = str(app.screen.query_one("#picker-status").content)
        assert "permission denied (owned by nobody, not dumpable)" in status
        await pilot.press("enter")
        reason = rendered_text(app.screen.query_one("#explain-reason"))
        advice = rendered_text(app.screen.query_one("#explain-advice"))
        assert "owned by nobody, but refused all the same: it is not dumpable (it set" in reason
        assert "sudo -u" not in advice
        assert "not dumpable" in advice and 'sudo "$(command -v vmtop)" 4444' in advice


async def test_q_quits_from_the_picker(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_live_refresh_runs_in_a_worker_and_keeps_the_list(fixture_procfs):
    app = VmtopApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, PickerScreen) and screen.live
        await pilot.press("end")
        screen.refresh_list()
        await settle(pilot)
        assert shown_pids(app) == [4343, 4444, 4242]
        assert selected_pid(app) == 4242
        # The second list has CPU figures (0 for the frozen fixture).
        assert all(row.cpu_percent == 0.0 for row in screen.all_rows)


@pytest.mark.live
async def test_real_process_screen_opens_from_the_picker():
    pytest.importorskip("vmtop.tui.screens.process")
    import os

    from vmtop.procfs.reader import ProcFS

    app = VmtopApp(ProcFS())
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("slash", *str(os.getpid()), "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "ProcessScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)


async def test_command_lines_with_newlines_and_escapes_stay_on_one_line(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = app.screen
        rows = [
            row._replace(command="python3 -c\nimport os\n\tprint(1)\x1b[2J", comm="a\x1bb")
            if row.pid == 4343
            else row
            for row in screen.lister.list()
        ]
        screen._apply(rows)
        await pilot.pause()
        table = screen.query_one(ProcessTable)
        line = "".join(segment.text for segment in table.render_line(0))
        assert table.rows[0].pid == 4343
        assert "python3 -c import os  print(1)\\x1b[2J" in line
        assert not any(ord(ch) < 32 for ch in line)
        status = str(screen.query_one("#picker-status").content)
        assert "\n" not in status and "\x1b" not in status


async def test_keys_typed_right_after_slash_land_in_the_filter(fixture_procfs):
    """As in a terminal: the keys arrive together, before "/" has been handled."""
    from textual import events

    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        for char in "/tmp/vmtop-fix":
            key = "slash" if char == "/" else ("minus" if char == "-" else char)
            app.post_message(events.Key(key, char))
        await pilot.pause(0.2)
        assert app.screen.query_one("#picker-filter").value == "tmp/vmtop-fix"
        assert shown_pids(app) == [4242]
        assert app.screen.sort_key == "rss"  # the "s"... of the text did not sort


async def test_list_is_not_refreshed_while_another_screen_is_on_top(fixture_procfs):
    app = VmtopApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        picker = app.screen
        picker.interval = 0.05
        picker._timer.stop()
        picker._timer = picker.set_interval(0.05, picker.refresh_list)
        calls = []
        real = picker.lister.list
        picker.lister.list = lambda *a: calls.append(1) or real(*a)
        for _ in range(60):  # a few ticks; more time on a loaded machine
            await pilot.pause(0.05)
            if calls:
                break
        assert calls, "the picker refreshes while shown"
        await pilot.press("question_mark")
        await settle(pilot)
        calls.clear()
        await pilot.pause(0.4)
        assert calls == []
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert calls, "refreshing resumes when the picker is back"


async def test_the_title_says_when_refreshes_are_spaced_out(fixture_procfs):
    app = VmtopApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = app.screen
        title = screen.query_one("#picker-title")
        assert "every 2s" in rendered_text(title)
        await settle(pilot)  # no list in flight that would measure its own cost after ours
        screen.lister.cost = 0.31  # one list costs 15 % of a core at 2 s
        screen._update_title(len(screen.all_rows))
        await pilot.pause()
        assert "every 4s (a list costs 310ms)" in rendered_text(title)


async def test_escape_in_the_filter_clears_it_and_gives_the_keys_back(fixture_procfs):
    """After Esc, "/" opens the filter again and "q" quits: neither is typed as text."""
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        box = app.screen.query_one("#picker-filter")
        await pilot.press("slash", *"fix")
        assert shown_pids(app) == [4242]
        await pilot.press("escape")
        assert shown_pids(app) == [4343, 4444, 4242]
        assert not box.has_focus and not box.display
        assert app.screen.query_one(ProcessTable).has_focus
        await pilot.press("slash")
        assert box.has_focus and box.value == ""
        await pilot.press("escape", "q")
        await pilot.pause()
        assert not app.is_running


async def test_title_counts_are_singular_and_plural(fixture_procfs):
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(160, 40)) as pilot:
        title = app.screen.query_one("#picker-title")
        assert "· 3 processes ·" in str(title.content)
        await pilot.press("slash", *"fixture")
        assert "1 match ·" in str(title.content)
        await pilot.press(*"zzz")
        assert "no match ·" in str(title.content)
        screen = app.screen
        screen._apply([row for row in screen.lister.list() if row.pid == 4242])
        await pilot.pause()
        assert "· 1 process ·" in str(title.content)


async def test_a_command_line_longer_than_the_status_line_ends_in_an_ellipsis(fixture_procfs):
    """It was wrapped at a word and its second line clipped: "python3 -c  import" read
    like a whole (bogus) command line."""
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        long = "python3 -c " + " ".join(f"argument{k:03d}" for k in range(40))
        rows = [
            row._replace(command=long) if row.pid == 4343 else row for row in screen.lister.list()
        ]
        screen._apply(rows)
        await pilot.pause()
        assert selected_pid(app) == 4343
        status = app.screen.query_one("#picker-status")
        shown = status.render_line(0).text.rstrip()
        assert status.size.height == 1
        assert shown.endswith("…") and "argument000" in shown, shown


async def test_at_80_columns_the_title_keeps_what_the_filter_matched(fixture_procfs, deny_pids):
    """With a process unreadable and a filter typed, the title left out "filter …: 1
    match" (the last part to fit) and did not say one row of many was shown."""
    deny_pids(4444)
    app = PickerApp(fixture_procfs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"a_long_filter_wo", "backspace", "backspace")
        await settle(pilot)
        title = str(app.screen.query_one("#picker-title").render())
        assert "filter 'a_long_filter_': no match" in title, title
