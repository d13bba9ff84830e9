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
from textual.containers import ScrollableContainer, Vertical
from textual.keys import format_key
from textual.screen import Screen
from textual.widgets import Footer, Static

from vmtop.model.events import EVENT_DESCRIPTIONS, MALLOC_THRESHOLD_NOTE
from vmtop.model.kinds import ALL_KINDS, KIND_DESCRIPTIONS
from vmtop.tui import theme
from vmtop.tui.theme import kind_color, kind_label

EVERYWHERE = [
    ("?", "this help"),
    ("Ctrl+P", "command palette: search every command"),
    ("Esc", "close what is open: a prompt, a filter, a dialog, a screen; never quits"),
    ("q", "back to the previous screen; quits from the first one"),
    ("Ctrl+C", "quit vmtop"),
    ("T", "light / dark theme (Ctrl+P: any Textual theme)"),
]

PICKER = [
    ("↑ ↓ / j k", "move the selection"),
    ("PgUp PgDn", "a page up / down"),
    ("Home End", "first / last process"),
    ("Enter", "open the selected process (or explain why it cannot be read)"),
    ("double-click", "open the process under the mouse"),
    ("/", "filter as you type: part of the name or command line, or a PID prefix"),
    ("Esc", "clear and close the filter"),
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
    (
        "o",
        "group rows by object, with text / data / bss as `size` prints them; "
        "→ / ← or Enter open / close a group",
    ),
    ("c", "choose the table's columns: Private_Dirty, Anonymous, Swap, … (pmap -X)"),
    (
        "t",
        "the log's threshold: type the smallest RSS change of a region it reports "
        "(16K, 1M, as --threshold takes it), summed since last shown",
    ),
    ("e / i / a", "fold away / show the event log, the summary by kind, the bar"),
    ("R", "start / stop recording this process to a file (vmtop replay FILE plays it)"),
    ("Tab", "move between the region table and the event log (there Home: newest, End: oldest)"),
    (
        "Enter (log)",
        "on an event: read all of it (×N: a change repeated N times, summed); "
        "Enter again selects its region",
    ),
    ("click the bar", "select the region under the mouse"),
    (
        "Esc",
        "close the prompt, clear the filter; then back to the picker (quits only "
        "a process that could not be watched)",
    ),
    ("q", "back to the picker, or quit when vmtop was started on a PID"),
]

HEADER = [
    ("● live every 1s", "sampling, and its interval (+ / -); it says 'slowed to' when reading "
     "and drawing the process that often would take vmtop over a fifth of a CPU"),
    ("smaps every sample, read in 1.2ms", "how often /proc/PID/smaps is read, and what the "
     "last read cost (read and parse): the kernel walks the process's page tables for it, "
     "which slows the process too, so vmtop keeps it under a tenth of a CPU and reads it "
     "less often when it is slow; between reads the figures are the last ones read"),
    ("SHR", "resident memory of files and shared memory, whether another process maps it "
     "or not: status' RssFile + RssShmem, top's and htop's SHR"),
    ("PSS", "the regions' Pss summed, each in whole KiB rounded down: a little below "
     "smaps_rollup's"),
    ("USS", "memory only this process maps now: Private_Clean + Private_Dirty summed, "
     "smem's USS (private dirty is part of it); its exit frees that, but for a file's "
     "pages, which stay cached, and shared memory that outlives it"),
    ("private dirty", "modified pages only this process maps now: its writes, a file's "
     "not yet written back, or shared memory no other process maps at the moment, whoever "
     "wrote it (that is not freed when this process exits): PrDirty summed; Dirty adds "
     "Shared_Dirty, as pmap -x"),
    ("swap", "the regions' Swap summed: shared memory on swap too, once per mapping of it "
     "(status' VmSwap, the picker's SWAP, leaves it out)"),
    ("hugetlb", "memory in hugetlb pages (status' HugetlbPages), in no RSS: the bar's "
     "lower row, the graph ('RSS + hugetlb'), the summary's RSS+H and Δ RSS count it"),
    ("pid in its namespace 1", "a process of a container (a PID namespace of its own): its "
     "PID there; vmtop's PIDs and thread IDs are those of vmtop's namespace"),
    ("Δ since …", "what the Δ columns compare with: the last refresh, or the baseline (b); "
     "with a baseline, RSS 1.5M (-96M): RSS, PSS and USS changed that much since it, and "
     "the table's title says the regions gone since"),
]  # fmt: skip

DELTAS = [
    ("~+1.2M in Δ RSS", "a change worked out, not read: the region was split or merged "
     "since, and smaps gives the old line's resident size, not where in the line it was, "
     "so the old figure is shared out by address"),
    ("~ as a row's mark", "split, merged, other permissions or other VmFlags (mlock, "
     "madvise, mseal of all of it): the same bytes in other lines or with other flags "
     "(+ new, ▲ ▼ grew / shrank, ↑ ↓ resident memory rose / fell)"),
]  # fmt: skip

DETAIL = [
    ("↑ ↓ PgUp PgDn", "scroll"),
    ("r", "re-read the page strip now (it refreshes every 2 s)"),
    ("Esc / q", "back to the process"),
    ("", "the detail follows its region with every sample, and says when the region "
     "changed (brk, mprotect) or was unmapped"),
]  # fmt: skip

REPLAY = [
    ("space", "play / pause (at 1×, 10× or 100×)"),
    ("+ / -", "play faster / slower"),
    (", / .", "one sample back / forward"),
    ("n / N", "next / previous event"),
    ("Home / End", "first / last sample (in a replay, not the table's first / last region; in "
     "the event log, after Tab, its newest / oldest event)"),
    ("t", "go to a time: 12:03:10, 90s (from the start), +5m / -30s (from here), end"),
    ("a / b", "mark A (the baseline) / B: the line under the timeline says what the "
     "recording saw between A and B (RSS and its peak, events by type with their sizes) "
     "and, after 'ends:', how the map at B differs from A's, region by region; the Δ "
     "columns compare a region with A only where it is the same mapping at both and "
     "nothing was mapped over it in between: else it is new"),
    ("B", "clear the marks"),
    ("click", "the timeline: go to that moment"),
]  # fmt: skip


def key_label(key: str) -> str:
    """One key as a person reads it: ``less_than_sign`` → ``<``, ``ctrl+p`` → ``Ctrl+P``."""
    aliases = {
        "escape": "Esc",
        "enter": "Enter",
        "space": "space",
        "pageup": "PgUp",
        "pagedown": "PgDn",
        "home": "Home",
        "end": "End",
        "tab": "Tab",
        "plus": "+",
        "minus": "-",
        "slash": "/",
    }
    if key in aliases:
        return aliases[key]
    modifiers, _, base = key.rpartition("+")
    name = aliases.get(base) or format_key(base)
    if modifiers:
        return "+".join(m.capitalize() for m in modifiers.split("+")) + "+" + name.upper()
    return name


def binding_keys(binding: Binding) -> list[str]:
    return [key_label(k.strip()) for k in binding.key.split(",")]


def _mentioned(rows: list[tuple[str, str]]) -> set[str]:
    mentioned = set()
    for keys, _ in rows:
        mentioned.update(keys.split())  # "/" itself is a key, and a separator
        mentioned.update(keys.replace("/", " ").split())
    return mentioned


def _process_screen_extra() -> list[tuple[str, str]]:
    """Bindings of the process screen that the hand-written list does not mention,
    with their keys by name (one row per action: ``<`` and ``>`` both pan)."""
    try:
        from vmtop.tui.screens.process import ProcessScreen
    except Exception:  # noqa: BLE001 - help works without the process screen
        return []
    mentioned = _mentioned(PROCESS)
    rows: dict[str, tuple[list[str], str]] = {}
    for binding in getattr(ProcessScreen, "BINDINGS", []):
        if not isinstance(binding, Binding) or not binding.description:
            continue
        names = binding_keys(binding)
        if any(name in mentioned for name in names):
            continue
        action = binding.action.split("(")[0]
        keys, description = rows.get(action, ([], binding.description))
        keys.extend(n for n in names if n not in keys)
        rows[action] = (keys, description)
    return [(" ".join(keys), description) for keys, description in rows.values()]


KEY_WIDTH = 15  # cells of the key column (keys are never wrapped or cut)
HEADER_KEY_WIDTH = 33  # the header table's "keys" are pieces of the header line


def keys_table(title: str, rows: list[tuple[str, str]], key_width: int = KEY_WIDTH) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        show_header=False,
        padding=(0, 1),
        expand=True,
    )
    table.add_column(style=theme.style("key", bold=True), no_wrap=True, width=key_width)
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
        meaning = Text(KIND_DESCRIPTIONS.get(kind, ""))
        if kind_label(kind) != kind:  # (a short label: scripts read the kind's own name)
            meaning.append(f" ({kind} in JSON and CSV)", style="dim")
        table.add_row(label, meaning)
    return table


def events_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column(style="bold", no_wrap=True, width=19)
    table.add_column(ratio=1)
    for name, meaning in EVENT_DESCRIPTIONS.items():
        table.add_row(Text(name), Text(meaning))  # as the event log prints it
    return table


# The section help opens at, by the screen ``?`` was pressed on (its class or a base).
SECTIONS = {
    "ReplayScreen": "help-replay",
    "RegionDetailScreen": "help-detail",
    "ProcessScreen": "help-process",
}


def section_for(screen) -> str | None:
    """The id of the help section about ``screen``'s keys, or None (the top, where the
    keys that work everywhere and the picker's are)."""
    for cls in type(screen).__mro__:
        if cls.__name__ in SECTIONS:
            return SECTIONS[cls.__name__]
    return None


class HelpScreen(Screen):
    """Every key, every kind, every event; opened at the keys of ``section`` (the
    screen it was asked for on: section_for), scrolled to the top of it."""

    CSS_PATH = str(Path(__file__).with_name("help.tcss"))  # absolute: subclasses live elsewhere

    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close help"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(
            "vmtop help · top for one process's address space · Esc closes",
            classes="screen-title",
        )
        with ScrollableContainer(id="help-body"):
            with Vertical(id="help-keys"):
                yield Static(keys_table("Everywhere", EVERYWHERE))
                yield Static(keys_table("Process picker", PICKER), classes="help-block")
                process = PROCESS + _process_screen_extra()
                yield Static(
                    keys_table("Process screen", process), classes="help-block", id="help-process"
                )
                yield Static(
                    keys_table("Process header", HEADER, key_width=HEADER_KEY_WIDTH),
                    classes="help-block",
                )
                yield Static(
                    keys_table("Δ columns and row marks", DELTAS, key_width=HEADER_KEY_WIDTH),
                    classes="help-block",
                )
                yield Static(
                    keys_table("Region detail", DETAIL), classes="help-block", id="help-detail"
                )
                yield Static(
                    keys_table("Replay (vmtop replay FILE)", REPLAY),
                    classes="help-block",
                    id="help-replay",
                )
            with Vertical(id="help-meaning"):
                yield Static("Region kinds (one colour each, everywhere)", classes="help-head")
                yield Static(kinds_table(), id="help-kinds")
                yield Static("Events (what changed between two snapshots)", classes="help-head")
                yield Static(events_table(), id="help-events")
                yield Static(Text(MALLOC_THRESHOLD_NOTE), id="help-malloc", classes="help-block")
        yield Footer()

    def __init__(self, section: str | None = None) -> None:
        super().__init__()
        self.section = section

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()  # (the keys scroll all of the help)
        if self.section:
            self.call_after_refresh(self._show_section)
        # The tables are drawn with the theme's colours: draw them again when it changes.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh(recompose=True))

    def on_resize(self) -> None:
        # One column under the other on a narrow terminal.
        self.set_class(self.size.width < 120, "stacked")

    def _show_section(self) -> None:
        found = self.query(f"#{self.section}")
        if found:
            body = self.query_one("#help-body")
            body.scroll_to_widget(found.first(), top=True, animate=False)

    def action_close(self) -> None:
        self.app.pop_screen()
