"""Colours: one per region kind and per event, everywhere (bar, table, legend, log, help).

Every colour is a Textual theme variable (``$vmtop-kind-heap``, ``$vmtop-event-mapped``,
``$vmtop-muted``, ...), so a theme can set any of them and .tcss files can use them. Two
themes ship: ``vmtop-dark`` and ``vmtop-light``. Any other Textual theme (picked with
``TEXTUAL_THEME``, the command palette or ``--theme``) gets the dark or the light defaults
below, by its ``dark`` flag (``VmtopApp.get_theme_variable_defaults``).

Widgets draw with Rich styles, not CSS, so they ask this module: ``kind_color(kind)``,
``color(role)``, ``style(role, ...)``. These read the running app's theme variables and
fall back to the dark defaults outside an app (headless tests). ``NO_COLOR`` needs
nothing here: Textual turns every colour to monochrome when it is set.

Adding a kind is one entry in ``KIND_PALETTE`` (dark and light colour) and one in
``KIND_LABELS``. The dark colours group by meaning (the program image in blues/ambers,
dynamic memory in greens/magentas, stacks in reds, kernel pages in greys); the light
ones keep the same hues, darker, and every pair stays apart (tests/tui/test_theme.py
measures it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from rich.color import Color as RichColor
from rich.color import ColorSystem
from rich.style import Style
from textual._context import active_app  # the app running this code, if any
from textual.color import Color
from textual.theme import BUILTIN_THEMES, Theme

from vmtop.model import kind_groups

# kind -> (on a dark background, on a light background)
KIND_PALETTE: dict[str, tuple[str, str]] = {
    "text": ("#5f87ff", "#1f4fd6"),
    "rodata": ("#87afd7", "#5f7f9f"),
    "data": ("#ffaf5f", "#d86f00"),
    "relro": ("#d7af87", "#a0522d"),
    "bss": ("#d78700", "#7a5200"),
    "gap": ("#303030", "#d4d4d4"),
    "heap": ("#5fd75f", "#1b9e1b"),
    "arena": ("#afd75f", "#6b8e00"),
    "stack": ("#ff5f5f", "#e00000"),
    "thread_stack": ("#ff87af", "#e0407f"),
    "anon": ("#d787ff", "#9c27d0"),
    "named_anon": ("#af5fd7", "#5c1a8a"),
    "jit": ("#ff5fff", "#e000e0"),
    "file": ("#5fd7d7", "#00868f"),
    "shm": ("#ffd75f", "#b89400"),
    "device": ("#00afff", "#0090e0"),
    "guard": ("#6c6c6c", "#808080"),
    "reserved": ("#4a4a4a", "#ababab"),
    "vdso": ("#d7d7af", "#6e6e30"),
    "vvar": ("#afaf87", "#94946a"),
    "vsyscall": ("#949494", "#505050"),
    "kernel": ("#bcbcbc", "#2a2a2a"),
}

FALLBACK_KIND = ("#bcbcbc", "#2a2a2a")

# Short labels for the legend and narrow columns.
KIND_LABELS: dict[str, str] = {
    "text": "text",
    "rodata": "rodata",
    "data": "data",
    "relro": "relro",
    "bss": "bss",
    "gap": "gap",
    "heap": "heap",
    "arena": "arena",
    "stack": "stack",
    "thread_stack": "tstack",
    "anon": "anon",
    "named_anon": "anon:name",
    "jit": "jit",
    "file": "file",
    "shm": "shm",
    "device": "device",
    "guard": "guard",
    "reserved": "reserved",
    "vdso": "vdso",
    "vvar": "vvar",
    "vsyscall": "vsyscall",
    "kernel": "kernel",
}

# event (vmtop.model.events) -> (dark, light)
EVENT_PALETTE: dict[str, tuple[str, str]] = {
    "mapped": ("#00ff87", "#00a152"),
    "unmapped": ("#ff5f5f", "#c62828"),
    "heap_grew": KIND_PALETTE["heap"],
    "heap_shrank": ("#5fafff", "#1565c0"),
    "stack_grew": KIND_PALETTE["stack"],
    "stack_shrank": ("#5fafff", "#1565c0"),
    "protection_changed": ("#d787ff", "#8e24aa"),
    "file_renamed": ("#afafd7", "#5c5c99"),
    "thread_exited": KIND_PALETTE["thread_stack"],
    "reserve_committed": ("#87d787", "#2e7d32"),
    "reserve_released": ("#5fafff", "#1565c0"),
    "split": ("#d7afff", "#7b4fb0"),
    "merged": ("#d7afff", "#7b4fb0"),
    "flags_changed": ("#af87ff", "#6a3fb5"),
    "rss_changed": ("#ffd75f", "#8a6d00"),
    "swap_changed": ("#d7af87", "#8d6e63"),
    "shared_changed": ("#87d7d7", "#00796b"),
    "lazyfree_changed": ("#afd787", "#5f8700"),
    "copied_on_write": ("#ffaf87", "#a63d00"),
    "exec": ("#ff87ff", "#ad1fad"),
    "exited": ("#ff0000", "#c00000"),
    "pid_reused": ("#ff0000", "#c00000"),
    "stopped": ("#ffaf00", "#a65e00"),
    "continued": ("#87d787", "#2e7d32"),
    "note": ("#d7d7af", "#6e6e30"),
}

FALLBACK_EVENT = ("#ffffff", "#000000")

# Everything else a widget draws: role -> (dark, light).
ROLE_PALETTE: dict[str, tuple[str, str]] = {
    # text
    "text": ("#d0d0d0", "#262626"),
    "strong": ("#ffffff", "#000000"),
    "soft": ("#bcbcbc", "#3a3a3a"),
    "muted": ("#8a8a8a", "#5f5f5f"),
    "dim": ("#767676", "#767676"),
    "faint": ("#6c6c6c", "#8f8f8f"),
    "rule": ("#4e4e4e", "#b2b2b2"),
    "accent": ("#5fafd7", "#005f87"),
    "key": ("#ffaf00", "#a35200"),
    # what changed (bar marks, table swatches and deltas)
    "change-new": ("#00ff87", "#00a152"),
    "change-grew": ("#ffff5f", "#9a7b00"),
    "change-shrank": ("#5fafff", "#1565c0"),
    "change-unmapped": ("#ff5f5f", "#c62828"),
    "change-reshaped": ("#d787ff", "#8e24aa"),
    "growth": ("#ffaf00", "#c25e00"),
    "shrink": ("#5fafff", "#1565c0"),
    # row backgrounds of changed regions in the table
    "row-new": ("#0b3d1e", "#d4f5dc"),
    "row-grew": ("#3d3500", "#fff2b8"),
    "row-shrank": ("#0b2a4a", "#d6e8fb"),
    "row-rss-up": ("#2b2b12", "#f5f1d6"),
    "row-rss-down": ("#122232", "#e3eef8"),
    "row-reshaped": ("#2d1f3d", "#efe0f8"),
    "row-selected": ("#264f78", "#b3d4fc"),
    "row-group": ("#1c1c1c", "#ececec"),
    "table-header": ("#303030", "#dadada"),
    "table-header-sorted": ("#3a3a5a", "#c5c5e8"),
    # the address-space bar
    "bar-empty": ("#121212", "#f0f0f0"),
    "bar-resident": ("#262626", "#d6d6d6"),
    # Behind the resident share where memory is on swap: a red no kind's orange is
    # (swap's orange drew a data cell orange on orange), as htop's swap meter is red.
    "bar-swap": ("#870000", "#ffb4b4"),
    "bar-break": ("#9e9e9e", "#5a5a5a"),
    "bar-break-dim": ("#4e4e4e", "#b0b0b0"),
    # header and panes
    "pid-fg": ("#000000", "#ffffff"),
    "pid-bg": ("#5fafff", "#1565c0"),
    "command": ("#d7d7ff", "#303080"),
    "live": ("#00d75f", "#007a3d"),
    "paused": ("#ffaf00", "#a35200"),
    "exited": ("#ff5f5f", "#c62828"),
    "baseline": ("#ffd75f", "#7a6000"),
    "panel": ("#1c1c1c", "#eeeeee"),
    "pane-title": ("#262626", "#dedede"),
    "pane-title-fg": ("#d7d7d7", "#262626"),
    "banner": ("#870000", "#c62828"),
    "banner-fg": ("#ffffff", "#ffffff"),
    "warning-fg": ("#ff8787", "#b71c1c"),
    "prompt": ("#303030", "#dadada"),
    "graph": ("#5fd7af", "#00897b"),
    "graph-axis": ("#3a3a3a", "#c0c0c0"),
    # page residency (region detail)
    "page-exclusive": ("#5fd75f", "#2e7d32"),
    "page-resident": ("#5fafff", "#1565c0"),
    "page-file": ("#d7af5f", "#8d6e00"),
    "page-swap": ("#ff8700", "#e65100"),
    "page-guard": ("#d75f5f", "#b71c1c"),
    "page-absent": ("#585858", "#bdbdbd"),
    # sizes in the picker, like htop: bigger stands out more
    "size-huge": ("#ff5f5f", "#c62828"),
    "size-large": ("#ffd75f", "#8a6d00"),
    "size-medium": ("#5fd7d7", "#00838f"),
    "meter-ok": ("#5fd75f", "#2e7d32"),
    "meter-high": ("#ffd75f", "#8a6d00"),
    "meter-full": ("#ff5f5f", "#c62828"),
}


def kind_variable(kind: str) -> str:
    return "vmtop-kind-" + kind.replace("_", "-")


def event_variable(event: str) -> str:
    return "vmtop-event-" + event.replace("_", "-")


def role_variable(role: str) -> str:
    return "vmtop-" + role


def default_variables(dark: bool = True) -> dict[str, str]:
    """Every vmtop theme variable with its default for a dark or a light theme."""
    i = 0 if dark else 1
    out = {kind_variable(k): v[i] for k, v in KIND_PALETTE.items()}
    out.update({event_variable(e): v[i] for e, v in EVENT_PALETTE.items()})
    out.update({role_variable(r): v[i] for r, v in ROLE_PALETTE.items()})
    return out


DARK_THEME = Theme(
    name="vmtop-dark",
    primary="#5fafff",
    secondary="#d787ff",
    accent="#ffaf00",
    warning="#ffaf00",
    error="#ff5f5f",
    success="#5fd75f",
    foreground="#d0d0d0",
    background="#121212",
    surface="#1c1c1c",
    panel="#262626",
    dark=True,
    variables=default_variables(dark=True),
)

LIGHT_THEME = Theme(
    name="vmtop-light",
    primary="#1565c0",
    secondary="#8e24aa",
    accent="#c25e00",
    warning="#a35200",
    error="#c62828",
    success="#2e7d32",
    foreground="#1c1c1c",
    background="#fafafa",
    surface="#f0f0f0",
    panel="#e4e4e4",
    dark=False,
    # The footer's keys in red, not the accent's orange: in 16 colours orange comes
    # down to yellow, which terminals draw about as light as white. The line between
    # two panes (help, region detail) grey, not the white lightened panel.
    variables={
        **default_variables(dark=False),
        "footer-key-foreground": "#b3261e",
        "panel-lighten-2": "#d0d0d0",
    },
)

# The light theme in a terminal of 16 colours: its orange accent comes down to yellow,
# its scrollbar's light blue to white, both drawn about as light as the background
# (1.7 and 1.0 to 1): a red accent and a dark grey scrollbar there instead.
LIGHT_THEME_16 = dataclasses.replace(
    LIGHT_THEME,
    accent="#b3261e",
    variables={
        **LIGHT_THEME.variables,
        "panel-lighten-2": "#555555",  # (the line between two panes)
        "scrollbar": "#555555",
        "scrollbar-hover": "#555555",
        "scrollbar-active": "#000000",
    },
)

THEMES = (DARK_THEME, LIGHT_THEME)
DEFAULT_THEME = DARK_THEME.name


def theme_names() -> list[str]:
    """Every theme ``--theme`` takes: vmtop's two, then Textual's own."""
    return [t.name for t in THEMES] + sorted(BUILTIN_THEMES)


def opposite_theme(dark: bool) -> str:
    """The vmtop theme to switch to from a dark or a light one (any Textual theme)."""
    return LIGHT_THEME.name if dark else DARK_THEME.name


# -- lookups for widgets ------------------------------------------------------------------

_DARK_DEFAULTS = default_variables(dark=True)


def palette() -> Mapping[str, str]:
    """The running app's theme variables, or the dark defaults outside an app."""
    try:
        app = active_app.get()
    except LookupError:
        return _DARK_DEFAULTS
    variables = getattr(app, "theme_variables", None)
    return variables or _DARK_DEFAULTS


class _Cache:
    """Parsed colours and built styles for one palette; rebuilt when the theme changes."""

    source: Mapping[str, str] | None = None
    colors: dict[str, str] = {}
    styles: dict[tuple, Style] = {}


def _resolve(variable: str, fallback: str) -> str:
    source = palette()
    if source is not _Cache.source:
        _Cache.source = source
        _Cache.colors = {}
        _Cache.styles = {}
    value = _Cache.colors.get(variable)
    if value is None:
        raw = source.get(variable, fallback)
        try:
            value = Color.parse(raw).hex.lower()
        except Exception:  # noqa: BLE001 - a theme's bad value must not crash a render
            value = fallback
        _Cache.colors[variable] = value
    return value


def kind_color(kind: str) -> str:
    if no_color():
        # Textual greys every colour by its lightness, and a kind's could come out as
        # the background's (rodata's dark blue as black on black): the text's colour
        # instead; the fills tell the groups of kinds apart (GROUP_FILLS).
        return _resolve("foreground", "#d0d0d0")
    if few_colors():
        table = ANSI_KIND_PALETTE if theme_is_dark() else ANSI_KIND_PALETTE_LIGHT
        return table.get(kind, _ANSI_GREY)
    return _resolve(kind_variable(kind), KIND_PALETTE.get(kind, FALLBACK_KIND)[0])


# A terminal of 16 colours (TERM=xterm, TERM=linux): the theme's colours, brought down to
# the nearest of the 16, made one of rodata, relro and arena and the text's grey, and
# anon and thread stacks the same magenta. There each kind gets one of the 16 itself
# (as Rich's standard palette has them, so each stays itself), and the bar and legend
# tell the groups of kinds apart by their fills as well (``GROUP_FILLS``).
_ANSI_GREY, _ANSI_WHITE = "#555555", "#aaaaaa"
ANSI_KIND_PALETTE: dict[str, str] = {
    # heaps (█)
    "heap": "#55ff55",
    "arena": "#00aa00",
    "anon": "#ff55ff",
    "named_anon": "#aa00aa",
    # stacks (▒)
    "stack": "#ff5555",
    "thread_stack": "#aa0000",
    # jit (▚)
    "jit": "#ff55ff",
    # the program image (▓)
    "text": "#5555ff",
    "rodata": "#55ffff",  # (blue on black reads at 2.2 to 1)
    "relro": "#00aaaa",
    "data": "#ffff55",
    "bss": "#aa5500",
    # files (░), shared (▞), device (▙)
    "file": "#55ffff",
    "shm": "#ffff55",
    "device": "#00aaaa",
    # no access (╳), kernel pages (▘)
    "reserved": _ANSI_GREY,
    "gap": _ANSI_GREY,
    "guard": "#ffffff",
    "vdso": _ANSI_WHITE,
    "vvar": _ANSI_WHITE,
    "vsyscall": _ANSI_GREY,
    "kernel": _ANSI_WHITE,
}


# The same on a light background, where the bright colours, yellow, cyan and green are
# hard to read (xterm's yellow on white: 1.7 to 1, its green 2.2): black, the reds,
# blues and magentas, and dark grey, each group of kinds told apart by its fill.
ANSI_KIND_PALETTE_LIGHT: dict[str, str] = {
    "heap": "#0000aa",
    "arena": "#000000",
    "anon": "#aa00aa",
    "named_anon": "#ff55ff",
    "stack": "#aa0000",
    "thread_stack": "#ff5555",
    "jit": "#aa00aa",
    "text": "#0000aa",
    "rodata": "#5555ff",
    "relro": "#555555",
    "data": "#000000",
    "bss": "#aa0000",
    "file": "#0000aa",
    "shm": "#aa00aa",
    "device": "#555555",
    "reserved": _ANSI_GREY,
    "gap": _ANSI_GREY,
    "guard": "#aa0000",
    "vdso": _ANSI_GREY,
    "vvar": _ANSI_GREY,
    "vsyscall": _ANSI_GREY,
    "kernel": _ANSI_GREY,
}


def theme_is_dark() -> bool:
    """Whether the running app's theme is a dark one (outside an app: the dark default)."""
    app = active_app.get(None)
    return bool(getattr(getattr(app, "current_theme", None), "dark", True))


def few_colors() -> bool:
    """Whether the running app draws to a terminal of 16 colours or 8 (``TERM=xterm``,
    ``linux``). Not headless (the pilot's console says "standard" for want of a
    terminal; its screenshots are drawn in true colour)."""
    app = active_app.get(None)
    if app is None or getattr(app, "is_headless", True):
        return False
    console = getattr(app, "console", None)
    return getattr(console, "color_system", None) in ("standard", "windows")


def kind_style(kind: str) -> str:
    """The Rich style string for text of this kind (foreground colour)."""
    return kind_color(kind)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


# With NO_COLOR every kind is drawn in the same grey, so the bar and the legend tell the
# groups of kinds apart (``model.kind_groups``: where the RSS goes) by a fill of their own;
# with 16 colours too (a colour is shared by kinds of different groups).
GROUP_FILLS = {
    "heaps": "█",
    "stacks": "▒",
    "jit": "▚",
    "image": "▓",
    "files": "░",
    "shared": "▞",
    "device": "▙",
    "reserved": "╳",
    "kernel": "▘",
}


def no_color() -> bool:
    """Whether the running app draws without colour (``NO_COLOR``)."""
    app = active_app.get(None)
    return bool(getattr(app, "no_color", False))


def kind_swatch(kind: str) -> str:
    """The mark a legend shows before a kind: a square in its colour, or without colour
    (or with 16 colours) the fill its bar cells have."""
    return kind_fill(kind) if no_color() or few_colors() else "■"


def kind_fill(kind: str) -> str:
    """The character a whole bar cell of this kind is drawn with: a full block, or
    without colour (or with 16 colours) its group's fill."""
    if not no_color() and not few_colors():
        return "█"
    return GROUP_FILLS.get(kind_groups.group_of(kind).name, "?")


def event_color(event: str) -> str:
    value = _resolve(event_variable(event), EVENT_PALETTE.get(event, FALLBACK_EVENT)[0])
    return _readable(value)


def color(role: str) -> str:
    """The colour of a role of ``ROLE_PALETTE`` in the current theme."""
    value = _resolve(role_variable(role), ROLE_PALETTE[role][0])
    if role in BACKGROUND_ROLES or role in ON_DARK_BACKGROUND_ROLES:
        return value
    return _readable(value)


# Text on a dark background of its own in either theme (the PID's badge, the banner).
ON_DARK_BACKGROUND_ROLES = frozenset(("pid-fg", "banner-fg"))
# The roles that are backgrounds: light on a light theme, as they should be.
BACKGROUND_ROLES = frozenset(
    (
        *(r for r in ROLE_PALETTE if r.startswith("row-")),
        "table-header",
        "table-header-sorted",
        "bar-empty",
        "bar-resident",
        "bar-swap",
        "panel",
        "pane-title",
        "prompt",
        "pid-bg",
    )
)


# On a light theme with 16 colours, the light ones a colour comes down to (the greys,
# yellow, cyan, bright green) are drawn by terminals as light as their background
# (xterm's grey on white: 1.26 to 1): a dark one of the 16 instead. By the number Rich
# brings a colour down to.
_DARK_FOR_LIGHT = {
    7: "#555555",  # grey: dark grey
    15: "#555555",
    3: "#aa0000",  # yellow (orange, amber): red
    11: "#aa0000",
    6: "#0000aa",  # cyan: blue
    14: "#0000aa",
    10: "#000000",  # green, bright or not: black (xterm's green on white: 2.2 to 1)
    2: "#000000",
}


def _readable(value: str) -> str:
    """``value``, or where it would be unreadable (a light theme in 16 colours) a dark
    colour of the 16 in its place."""
    if not few_colors() or theme_is_dark():
        return value
    try:
        number = RichColor.parse(value).downgrade(ColorSystem.STANDARD).number
    except Exception:  # noqa: BLE001 - a theme's bad value must not crash a render
        return value
    return _DARK_FOR_LIGHT.get(number, value)


def style(
    role: str | None = None,
    bg: str | None = None,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
) -> Style:
    """A Rich style: foreground ``role`` on background ``bg`` (both roles), cached."""
    fg_value = color(role) if role else None
    bg_value = color(bg) if bg else None
    key = (fg_value, bg_value, bold, italic, underline)
    found = _Cache.styles.get(key)
    if found is None:
        found = Style(
            color=fg_value,
            bgcolor=bg_value,
            bold=bold or None,
            italic=italic or None,
            underline=underline or None,
        )
        _Cache.styles[key] = found
    return found


class ThemedLines:
    """Mixed in (first) by the widgets that draw with ``render_line``.

    Textual leaves a ``render_line`` widget's background and text colour to the widget:
    segments without a background would show the terminal's own (black in a browser,
    white in a light terminal), whatever the theme. This gives every line the widget's
    colours under what the segments set themselves.
    """

    def render_lines(self, crop):
        base = self.rich_style
        return [strip.apply_style(base) for strip in super().render_lines(crop)]
