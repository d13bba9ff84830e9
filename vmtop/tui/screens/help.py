"""Help: every key, what each region kind's colour means, and what each event means.

Keys are written out per screen in plain words; any binding the process screen defines
that this text does not mention is added from its BINDINGS, so help never misses a key.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from vmtop.model.events import EVENT_DESCRIPTIONS
from vmtop.model.kinds import ALL_KINDS, KIND_DESCRIPTIONS
from vmtop.tui import theme
from vmtop.tui.theme import kind_color, kind_label

EVERYWHERE = [
    ("?", "this help"),
    ("Ctrl+P", "command palette: search every command"),
    ("Esc / q", "back to the previous screen (quits from the first screen)"),
    ("Ctrl+C", "quit vmtop"),
    ("t", "light / dark theme (Ctrl+P: any Textual theme)"),
]

PICKER = [
    ("↑ ↓ / j k", "move the selection"),
    ("PgUp PgDn", "a page up / down"),
    ("Home End", "first / last process"),
    ("Enter", "open the selected process (or explain why it cannot be read)"),
    ("double-click", "open the process under the mouse"),
    ("/", "filter as you type: part of the name or command line, or a PID prefix"),
    ("Esc", "clear the filter"),
    ("s / > / <", "sort by the next / previous column"),
    ("r / I", "reverse the sort order"),
    ("M P N", "sort by memory (RSS), CPU, PID"),
    ("click a title", "sort by that column (again: reverse)"),
    ("✗", "marks a process vmtop may not read"),
    ("q", "quit"),
]

PROCESS = [
    ("↑ ↓ / j k", "move in the region table"),
    ("PgUp PgDn", "a page up / down"),
    ("Home End", "first / last region"),
    ("Enter", "region detail: every smaps field, pages, ELF sections"),
    ("b", "set the baseline: changes are then shown since this moment"),
    ("B", "clear the baseline: changes since the last refresh again"),
    ("space", "pause / resume sampling"),
    ("r", "take one sample now (also while paused)"),
    ("+ / -", "refresh faster / slower"),
    ("m", "address bar scale: compact (gaps collapsed) or true to scale"),
    ("z / Z", "zoom the bar in on the selected region / out"),
    ("< > / [ ]", "pan the zoomed bar left / right"),
    ("g", "go to an address: select the region holding it"),
    ("/", "filter the regions (name, kind, object)"),
    ("s / S", "change the table's sort column / reverse it"),
    ("o", "group rows by object (program, each library, heap, stack, anon)"),
    ("click the bar", "select the region under the mouse"),
    ("Esc / q", "back to the picker (or quit when started with a PID)"),
]

DETAIL = [
    ("↑ ↓ PgUp PgDn", "scroll"),
    ("r", "re-read the page strip now (it refreshes every 2 s)"),
    ("Esc / q", "back to the process"),
]


def _process_screen_extra() -> list[tuple[str, str]]:
    """Bindings of the process screen that the hand-written list does not mention."""
    try:
        from vmtop.tui.screens.process import ProcessScreen
    except Exception:  # noqa: BLE001 - help works without the process screen
        return []
    mentioned = set()
    for keys, _ in PROCESS:
        mentioned.update(keys.split())  # "/" itself is a key, and a separator
        mentioned.update(keys.replace("/", " ").split())
    extra = []
    for binding in getattr(ProcessScreen, "BINDINGS", []):
        if not isinstance(binding, Binding) or not binding.description:
            continue
        display = binding.key_display or binding.key
        names = [k.strip() for k in binding.key.split(",")]
        if any(_short(k) in mentioned for k in names) or display in mentioned:
            continue
        extra.append((display, binding.description))
    return extra


def _short(key: str) -> str:
    aliases = {
        "up": "↑",
        "down": "↓",
        "pageup": "PgUp",
        "pagedown": "PgDn",
        "home": "Home",
        "end": "End",
        "enter": "Enter",
        "escape": "Esc",
        "space": "space",
        "plus": "+",
        "minus": "-",
        "slash": "/",
        "question_mark": "?",
        "equals_sign": "+",
    }
    return aliases.get(key, key)


def keys_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        show_header=False,
        padding=(0, 1),
        expand=True,
    )
    table.add_column(style=theme.style("key", bold=True), no_wrap=True, width=15)
    table.add_column(ratio=1)
    for key, meaning in rows:
        table.add_row(Text(key), Text(meaning))
    return table


def kinds_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column(no_wrap=True, width=12)
    table.add_column(ratio=1)
    for kind in ALL_KINDS:
        label = Text()
        label.append("██ ", style=kind_color(kind))
        label.append(kind_label(kind), style=f"bold {kind_color(kind)}")
        table.add_row(label, Text(KIND_DESCRIPTIONS.get(kind, "")))
    return table


def events_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column(style="bold", no_wrap=True, width=19)
    table.add_column(ratio=1)
    for name, meaning in EVENT_DESCRIPTIONS.items():
        table.add_row(Text(name), Text(meaning))  # as the event log prints it
    return table


class HelpScreen(Screen):
    """Every key, every kind, every event."""

    CSS_PATH = str(Path(__file__).with_name("help.tcss"))  # absolute: subclasses live elsewhere

    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close help"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(
            "vmtop help · top for one process's address space · Esc closes",
            classes="screen-title",
        )
        with Horizontal(id="help-body"):
            with VerticalScroll(id="help-keys"):
                yield Static(keys_table("Everywhere", EVERYWHERE))
                yield Static(keys_table("Process picker", PICKER), classes="help-block")
                process = PROCESS + _process_screen_extra()
                yield Static(keys_table("Process screen", process), classes="help-block")
                yield Static(keys_table("Region detail", DETAIL), classes="help-block")
            with VerticalScroll(id="help-meaning"):
                yield Static("Region kinds (one colour each, everywhere)", classes="help-head")
                yield Static(kinds_table(), id="help-kinds")
                yield Static("Events (what changed between two snapshots)", classes="help-head")
                yield Static(events_table(), id="help-events")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()
        # The tables are drawn with the theme's colours: draw them again when it changes.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh(recompose=True))

    def action_close(self) -> None:
        self.app.pop_screen()
