"""The vmtop Textual app: the picker, or straight to one process's screen.

``VmtopApp(procfs)`` starts at the process picker; ``VmtopApp(procfs, pid)`` (``vmtop PID``,
``vmtop demo NAME``) opens the process screen at once. Underneath every pushed screen sits
an empty ``BottomScreen``: whenever it comes back to the top (the last screen was popped,
by Esc/q or anything else) the app exits, so "back" from the first screen always means
"quit" and no screen needs to know what is behind it.

A demo workload started for this session is stopped when the app exits, however it
exits (q, Ctrl+C, an exception): see ``on_unmount`` and ``run``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.filter import Monochrome
from textual.screen import Screen

from vmtop.config import Settings, unknown_env_warnings
from vmtop.procfs.reader import ProcFS
from vmtop.terminal import served
from vmtop.tui import theme
from vmtop.tui.recording_controls import end_recordings
from vmtop.tui.terminal_watch import (
    CHECK_SECONDS,
    exit_soon_even_so,
    on_ending_signals,
    terminal_gone,
)


class BottomScreen(Screen):
    """The empty screen under the first real one; reaching it again ends the app."""

    _covered = False

    def on_screen_suspend(self) -> None:
        self._covered = True

    def on_screen_resume(self) -> None:
        # The first resume comes when the app starts, before anything covered it.
        if self._covered:
            self.app.exit()


class NoneSafeMonochrome(Monochrome):
    """Textual's NO_COLOR filter, which fails on a segment without a style (a plain
    ``Segment(" ")`` from a render_line widget): give such segments the null style."""

    def apply(self, segments: list[Segment], background) -> list[Segment]:
        null = Style.null()
        safe = [s if s.style is not None else Segment(s.text, null, s.control) for s in segments]
        return super().apply(safe, background)


def freeze_startup_objects() -> None:
    """Move what exists before the app runs (modules, classes, functions: ~70 000
    objects that live as long as the process) out of the cycle collector's sight, once,
    garbage collected first. Every full collection walks every tracked object; with the
    snapshots held as columns, the startup objects were most of them: 35-50 ms a pass,
    and at a million regions the parse sets off dozens of passes (benchmarks/README.md,
    issue 10). Not done again later: objects that die in cycles after being frozen are
    never freed (what the parser's old freeze-per-parse did to the TUI's garbage)."""
    gc.collect()
    gc.freeze()


# The exit status when the terminal went away: 128 + SIGHUP, as if hung up; the same
# when the server of a browser's vmtop went away. Ended by a signal: 128 + its number.
TERMINAL_GONE = SERVER_GONE = 129
SIGNAL_EXIT_BASE = 128


class VmtopApp(App):
    """``vmtop``: pick a process, watch its address space, drill into smaps."""

    CSS_PATH = str(Path(__file__).with_name("vmtop.tcss"))  # absolute: subclasses live elsewhere
    TITLE = "vmtop"
    SUB_TITLE = "top for one process's address space"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("T", "toggle_theme", "Light/dark", show=False),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        procfs: ProcFS,
        pid: int | None = None,
        demo=None,
        *,
        clock: Callable[[], float] = time.time,
        settings: Settings | None = None,
        rss_threshold: int | None = None,
        notices: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.notices = tuple(notices)  # said once the screen is up (the PID was a thread's)
        self.settings = settings or Settings()
        # `--threshold` (tests pass it directly); else the settings' threshold.
        self.rss_threshold = self.settings.threshold if rss_threshold is None else rss_threshold
        # NO_COLOR: Textual added a Monochrome filter; use the one that takes any segment.
        self._filters = [
            NoneSafeMonochrome() if type(f) is Monochrome else f for f in self._filters
        ]
        for t in theme.THEMES:
            self.register_theme(t)
        # The theme: --theme / VMTOP_THEME / the config file / TEXTUAL_THEME, else ours.
        chosen = self.get_theme(self.settings.theme)
        self.theme = chosen.name if chosen is not None else theme.DEFAULT_THEME
        self.procfs = procfs
        self.pid = pid
        self.demo = demo
        self.clock = clock
        self._demo_stopped = False
        self._ending = False  # end_now was called: the recordings are closed

    def settings_problem(self) -> str | None:
        """What is wrong with the settings that only the TUI can tell (the theme name).
        TEXTUAL_THEME is every Textual app's: one vmtop does not know is no reason to
        refuse to start (``settings_warning`` says it, and vmtop's own theme is used)."""
        if self.get_theme(self.settings.theme) is None and not self._theme_from_textual():
            names = ", ".join(sorted(self.available_themes))
            where = self.settings.origin("theme")
            return f"{where}: key 'theme': unknown theme {self.settings.theme!r} (themes: {names})"
        return None

    def settings_warning(self) -> str | None:
        """A setting vmtop passed over, to say once the screen is up."""
        if self.get_theme(self.settings.theme) is None and self._theme_from_textual():
            return (
                f"TEXTUAL_THEME {self.settings.theme!r} is no theme here: "
                f"using {theme.DEFAULT_THEME}"
            )
        return None

    def _theme_from_textual(self) -> bool:
        return self.settings.source("theme") == "env TEXTUAL_THEME"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # Any Textual theme gets vmtop's kind/event/role colours for its brightness.
        return theme.default_variables(dark=self.current_theme.dark)

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Light / dark theme",
            "Switch between vmtop's light and dark themes (key T)",
            self.action_toggle_theme,
        )

    def action_toggle_theme(self) -> None:
        self.theme = theme.opposite_theme(self.current_theme.dark)

    def get_default_screen(self) -> Screen:
        return BottomScreen()

    def on_mount(self) -> None:
        if theme.few_colors():
            # (Known once the app runs: the terminal's colours.) Same name, so --theme,
            # T and the palette pick it as they would the other.
            self.register_theme(theme.LIGHT_THEME_16)
            if self.current_theme.name == theme.LIGHT_THEME.name:
                self.theme = theme.DEFAULT_THEME
                self.theme = theme.LIGHT_THEME.name
        self.push_screen(self.first_screen())
        for notice in self.notices:
            self.notify(notice, timeout=10, markup=False)
        for warning in [self.settings_warning(), *unknown_env_warnings(os.environ)]:
            if warning:
                self.notify(warning, severity="warning", timeout=10, markup=False)
        # In a real terminal only (not the pilot's headless driver, not a browser's).
        fd = getattr(self._driver, "fileno", None)
        if not self.is_headless and isinstance(fd, int) and os.isatty(fd):
            self._terminal_fd = fd
            self.set_interval(CHECK_SECONDS, self._check_terminal)
            self._end_on_signals()
        elif served():
            # Served to a browser (vmtop serve): the server is the parent. Textual's web
            # driver stops reading when the server goes, and nothing ends the app: it
            # would sample on, orphaned, after the server was killed.
            self._server_pid = os.getppid()
            self.set_interval(CHECK_SECONDS, self._check_server)
            self._end_on_signals()

    def _end_on_signals(self) -> None:
        # (Not in the pilot's headless runs: the test process's signals stay its own.)
        on_ending_signals(
            asyncio.get_running_loop(), lambda signum: self.end_now(SIGNAL_EXIT_BASE + signum)
        )

    def _check_server(self) -> None:
        if os.getppid() != self._server_pid:
            self.end_now(SERVER_GONE)

    def _check_terminal(self) -> None:
        if terminal_gone(self._terminal_fd):
            self.end_now(TERMINAL_GONE)

    def end_now(self, code: int) -> None:
        """End with exit status ``code``: the terminal or the server went away, or a
        signal (SIGHUP, SIGTERM) asks vmtop to end. A recording (R) is closed with its
        end mark first, before anything else: what follows draws to a terminal that may
        be gone, and the process ends ``EXIT_GRACE_SECONDS`` after even so. (Left to
        the screens' unmount, a SIGHUP's recording replayed as cut short.)"""
        if self._ending:  # a second signal, or the terminal seen gone meanwhile
            return
        self._ending = True
        end_recordings(self.screen_stack)
        exit_soon_even_so(code)
        self.exit(return_code=code)

    def first_screen(self) -> Screen:
        if self.pid is None:
            from vmtop.tui.screens.picker import PickerScreen

            return PickerScreen(self.procfs)
        return self.process_screen(self.pid)

    def process_screen(self, pid: int) -> Screen:
        """The process screen for ``pid`` (the picker opens it the same way)."""
        from vmtop.tui.screens.process import ProcessScreen

        demo = self.demo if pid == self.pid else None
        return ProcessScreen(
            self.procfs,
            pid,
            demo=demo,
            interval=self.settings.interval,
            rss_threshold=self.rss_threshold,
        )

    # -- actions ------------------------------------------------------------------------

    def action_help(self) -> None:
        from vmtop.tui.screens.help import HelpScreen, section_for

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(section_for(self.screen)))

    def go_back(self) -> None:
        """Leave the current screen: back to the one below, or quit from the first."""
        if len(self.screen_stack) > 2:
            self.pop_screen()
        else:
            # Started on a process it could not watch: a failure, as the CLI's would be.
            failed = getattr(self.screen, "error", None) is not None
            self.exit(return_code=1 if failed else 0)

    # -- the demo child ---------------------------------------------------------------

    def stop_demo(self) -> None:
        if self.demo is None or self._demo_stopped:
            return
        self._demo_stopped = True
        try:
            self.demo.stop()
        except Exception:  # noqa: BLE001 - never let cleanup hide the real exit reason
            pass

    def on_unmount(self) -> None:
        self.stop_demo()

    def run(self, *args, **kwargs):
        try:
            return super().run(*args, **kwargs)
        finally:
            self.stop_demo()
