"""Themes: colours come from theme variables; the light theme on every screen; NO_COLOR.

The SVG snapshots show every screen in ``vmtop-light`` (update with ``--snapshot-update``
and look at them). The pilot tests read the colours the widgets really draw.
"""

from __future__ import annotations

import itertools
import re

import pytest
from textual.theme import Theme

from vmtop.procfs.reader import ProcFS
from vmtop.tui import theme
from vmtop.tui.widgets.region_table import RegionTable

from .conftest import TUI_PROC
from .test_process_screen import ScreenApp
from .test_process_snapshots import pinned_read_cost  # noqa: F401 - autouse: the header's cost
from .test_screens_snapshots import FIXED_TIME, DetailApp, FrozenPickerApp

SIZE = (160, 48)
LIGHT = "vmtop-light"


async def settled(pilot) -> None:
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def light(app):
    app.theme = LIGHT
    return app


# -- every screen in the light theme ------------------------------------------------------


def test_light_process_screen(snap_compare):
    assert snap_compare(light(ScreenApp()), terminal_size=SIZE, run_before=settled)


def test_light_picker(snap_compare, deny_pids):
    deny_pids(4444)
    app = light(FrozenPickerApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME))
    assert snap_compare(app, terminal_size=SIZE, run_before=settled)


def test_light_region_detail(snap_compare):
    app = light(DetailApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME))
    assert snap_compare(app, terminal_size=SIZE, run_before=settled)


def test_light_help(snap_compare):
    app = light(FrozenPickerApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME))
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"], run_before=settled)


# -- what the widgets draw -------------------------------------------------------------------


def kind_cell_color(app, kind_label: str, name: str) -> str:
    """The colour the region table draws the Kind cell of the row named ``name`` in."""
    table = app.screen.query_one(RegionTable)
    for y in range(1, table.size.height):
        strip = table.render_line(y)
        if name not in strip.text:
            continue
        for segment in strip:
            if segment.text.strip() == kind_label and segment.style and segment.style.color:
                return segment.style.color.triplet.hex
    raise AssertionError(f"no row {name!r} with kind {kind_label!r}")


async def test_key_t_switches_light_and_dark_and_the_table_redraws():
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert app.theme == "vmtop-dark"
        assert kind_cell_color(app, "heap", "[heap]") == theme.KIND_PALETTE["heap"][0]
        await pilot.press("T")
        await settled(pilot)
        assert app.theme == LIGHT and not app.current_theme.dark
        assert kind_cell_color(app, "heap", "[heap]") == theme.KIND_PALETTE["heap"][1]
        await pilot.press("T")
        await settled(pilot)
        assert kind_cell_color(app, "heap", "[heap]") == theme.KIND_PALETTE["heap"][0]


async def test_a_theme_variable_sets_a_kind_colour():
    app = ScreenApp()
    app.register_theme(
        Theme(name="mine", primary="#336699", dark=True, variables={"vmtop-kind-heap": "#123456"})
    )
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "mine"
        await settled(pilot)
        assert kind_cell_color(app, "heap", "[heap]") == "#123456"
        # Kinds the theme does not set keep the defaults for its brightness.
        assert theme.kind_color("stack") == theme.KIND_PALETTE["stack"][0]


async def test_any_textual_light_theme_gets_the_light_kind_colours():
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "textual-light"
        await settled(pilot)
        assert kind_cell_color(app, "heap", "[heap]") == theme.KIND_PALETTE["heap"][1]


async def test_the_palette_command_lists_the_switch():
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Light / dark theme" in titles
        assert "Theme" in titles  # Textual's own theme picker stays


async def test_no_color_draws_no_kind_colours(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        svg = app.export_screenshot()
    assert "heap" in svg
    # Less what the SVG export adds: its default foreground and the window's buttons.
    colors = set(re.findall(r"#([0-9a-fA-F]{6})\b", svg)) - {"c5c8c6", "ff5f57", "febc2e", "28c840"}
    assert colors
    greys = {c for c in colors if c[0:2] == c[2:4] == c[4:6]}
    assert colors == greys  # monochrome: every colour drawn is a grey


async def test_without_colour_the_bar_and_legend_tell_kind_groups_apart_by_fill(monkeypatch):
    """With NO_COLOR every kind is one grey: the bar's cells and the legend's swatches
    then use each group's fill (the program image ▓, malloc's memory █, stacks ▒ ...)."""
    from vmtop.tui.widgets.address_bar import AddressBar
    from vmtop.tui.widgets.kind_summary import KindSummary

    fills = set(theme.GROUP_FILLS.values())
    for no_color in (False, True):
        if no_color:
            monkeypatch.setenv("NO_COLOR", "1")
        app = ScreenApp()
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            bar = app.screen.query_one(AddressBar)
            drawn = {ch for y in range(bar.size.height) for ch in bar.render_line(y).text}
            legend = app.screen.query_one(KindSummary)
            # (a kind under its group's subtotal is drawn one column in)
            rows = [legend.render_line(y).text.lstrip() for y in range(legend.size.height)]
        heap = next(r for r in rows if " heap " in f" {r[1:]} ")
        text = next(r for r in rows if r[1:].startswith("text "))
        if no_color:
            assert {"▓", "█"} <= drawn & fills  # image and malloc's memory, apart
            assert "▓text" in bar.render_line(0).text and "■" not in bar.render_line(0).text
            assert (heap[0], text[0]) == (theme.GROUP_FILLS["heaps"], theme.GROUP_FILLS["image"])
        else:
            assert drawn & fills == {"█"}  # colours tell them apart
            assert heap[0] == text[0] == "■"


def test_settings_theme_is_applied():
    from vmtop.config import Settings
    from vmtop.tui.app import VmtopApp

    app = VmtopApp(ProcFS(str(TUI_PROC)), settings=Settings(theme=LIGHT))
    assert app.theme == LIGHT and app.settings_problem() is None
    app = VmtopApp(ProcFS(str(TUI_PROC)), settings=Settings(theme="nope"))
    assert "unknown theme 'nope'" in app.settings_problem()


# -- the palettes themselves ----------------------------------------------------------------


def _lab(color: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB hex colour."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(color[i : i + 2], 16) / 255) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def delta_e(a: str, b: str) -> float:
    return sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b), strict=True)) ** 0.5


@pytest.mark.parametrize(
    ("index", "background", "least"),
    [(0, theme.DARK_THEME.background, 10), (1, theme.LIGHT_THEME.background, 12)],
    ids=["dark", "light"],
)
def test_every_kind_stays_distinguishable(index, background, least):
    colors = {kind: pair[index] for kind, pair in theme.KIND_PALETTE.items()}
    for (k1, c1), (k2, c2) in itertools.combinations(colors.items(), 2):
        assert delta_e(c1, c2) >= least, (k1, c1, k2, c2)
    for kind, color in colors.items():
        assert delta_e(color, background) >= least, (kind, color, background)


def test_the_kinds_being_added_already_have_colours():
    for kind in ("reserved", "gap", "arena", "jit", "device", "relro"):
        assert kind in theme.KIND_PALETTE and kind in theme.KIND_LABELS


def test_every_variable_is_set_by_both_themes():
    dark, light_vars = theme.default_variables(True), theme.default_variables(False)
    assert set(dark) == set(light_vars)
    assert set(dark) <= set(theme.DARK_THEME.variables)
    assert set(dark) <= set(theme.LIGHT_THEME.variables)
    assert theme.kind_variable("thread_stack") == "vmtop-kind-thread-stack"


async def test_help_redraws_its_kind_colours_when_the_theme_changes():
    from textual.widgets import Static

    from vmtop.model.kinds import ALL_KINDS

    app = FrozenPickerApp(ProcFS(str(TUI_PROC)), clock=lambda: FIXED_TIME)

    def heap_swatch_style() -> str:
        table = app.screen.query_one("#help-kinds", Static).content
        cell = table.columns[0]._cells[ALL_KINDS.index("heap")]
        return str(cell.spans[0].style)

    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("question_mark")
        await settled(pilot)
        assert heap_swatch_style() == theme.KIND_PALETTE["heap"][0]
        await pilot.press("T")
        await settled(pilot)
        assert heap_swatch_style() == theme.KIND_PALETTE["heap"][1]
