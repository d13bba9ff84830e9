"""Memory on swap shows in the bar's lower row: behind the resident share, swap's colour
where most of what is not resident is on swap. A region swapped out whole read as one
never touched."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from vmtop.model import kinds
from vmtop.tui import theme
from vmtop.tui.widgets.address_bar import AddressBar

from .test_widgets import region

MiB = 1 << 20
SWAPPED_AT, RESIDENT_AT, UNTOUCHED_AT = 0x7F00_0000_0000, 0x7F00_1000_0000, 0x7F00_2000_0000


def regions():
    def anon(at, rss, swap):
        return region(at, at + 64 * MiB, kind=kinds.ANON, rss=rss)._replace(swap=swap)

    return [
        anon(SWAPPED_AT, 0, 64 * MiB),  # swapped out whole
        anon(RESIDENT_AT, 64 * MiB, 0),
        anon(UNTOUCHED_AT, 0, 0),
        region(0x7FFF_F000_0000, 0x7FFF_F002_1000, kind=kinds.STACK, rss=8192)._replace(swap=0),
    ]


class BarApp(App):
    def __init__(self, shown=None) -> None:
        super().__init__()
        self.shown = regions() if shown is None else shown

    def compose(self) -> ComposeResult:
        yield AddressBar()

    def on_mount(self) -> None:
        self.query_one(AddressBar).set_regions(self.shown, {}, [])


def backgrounds(bar: AddressBar, start: int, end: int) -> set:
    layout = bar.layout
    columns = layout.columns_of(start, end)
    lower = list(bar.render_line(2))  # segments of the lower row, one a cell
    return {lower[c].style.bgcolor.triplet.hex for c in columns}


async def test_a_swapped_out_region_shows_swap_behind_and_the_legend_says_so():
    app = BarApp()
    async with app.run_test(size=(100, 8)) as pilot:
        await pilot.pause()
        bar = app.query_one(AddressBar)
        swap = theme.color("bar-swap").lower()
        assert backgrounds(bar, SWAPPED_AT, SWAPPED_AT + 64 * MiB) == {swap}
        assert swap not in backgrounds(bar, RESIDENT_AT, RESIDENT_AT + 64 * MiB)
        assert swap not in backgrounds(bar, UNTOUCHED_AT, UNTOUCHED_AT + 64 * MiB)
        assert "swapped" in bar.render_line(0).text


async def test_more_regions_than_cells_add_their_swap_up_too():
    """A cell of many regions (the compact bar's buckets), of Regions or of columns."""
    from vmtop.model.columns import RegionColumns

    many = [
        region(
            SWAPPED_AT + i * 2 * MiB, SWAPPED_AT + i * 2 * MiB + MiB, kind=kinds.ANON, rss=0
        )._replace(swap=MiB)  # fmt: skip
        for i in range(400)
    ]
    for given in (many, RegionColumns.from_regions(many)):
        async with BarApp(given).run_test(size=(100, 8)) as pilot:
            await pilot.pause()
            bar = pilot.app.query_one(AddressBar)
            assert len(bar.layout.cells) < len(many)
            assert all(c.swapped == 1.0 for c in bar.layout.cells if c.kind), type(given)
            assert "swapped" in bar.render_line(0).text


async def test_the_swap_key_keeps_its_place_in_a_narrow_legend():
    """At 90 columns the kinds' legend took the row ("+4 more") and the orange was left
    unexplained (review)."""
    many_kinds = [
        region(
            0x5555_0000_0000 + i * 0x10_0000,
            0x5555_0000_0000 + i * 0x10_0000 + 0x1000,
            kind=kind,
            rss=4096,
        )._replace(swap=0)  # fmt: skip
        for i, kind in enumerate(
            (
                kinds.TEXT,
                kinds.RODATA,
                kinds.RELRO,
                kinds.DATA,
                kinds.BSS,
                kinds.HEAP,
                kinds.FILE,
                kinds.SHM,
            )
        )  # fmt: skip
    ]
    async with BarApp(many_kinds + regions()).run_test(size=(90, 8)) as pilot:
        await pilot.pause()
        legend = pilot.app.query_one(AddressBar).render_line(0).text
        assert "swapped" in legend and "more" in legend, legend


def test_an_eighth_of_a_cell_on_swap_shows():
    """10 % resident, 30 % on swap, the rest never touched: 300 MiB of a 1 GiB region
    on swap read as not resident (review)."""
    from vmtop.tui.widgets.address_bar import _shows_swapped
    from vmtop.tui.widgets.bar_cells import BarCell

    def cell(resident, swapped):
        return BarCell(kinds.ANON, 1.0, 0, 1, 0, 0, 1 << 30, "", resident, swapped)

    assert _shows_swapped(cell(0.1, 0.3))
    assert _shows_swapped(cell(0.9, 0.06))  # half of what is not resident
    assert not _shows_swapped(cell(0.1, 0.05))
    assert not _shows_swapped(cell(None, 0.5))


def _luminance(colour: str) -> float:
    """WCAG's relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    low, high = sorted((_luminance(a), _luminance(b)))
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("dark", [True, False], ids=["dark", "light"])
def test_every_kinds_resident_blocks_stand_out_from_swap_behind_them(dark):
    """The resident blocks are drawn in the kind's colour over swap's: orange swap
    behind the data, relro and bss kinds' oranges read as one colour (review)."""
    swap = theme.ROLE_PALETTE["bar-swap"][0 if dark else 1]
    weakest = min(
        (_contrast(pair[0 if dark else 1], swap), kind)
        for kind, pair in theme.KIND_PALETTE.items()
        if kind not in ("gap", "guard", "reserved", "vdso", "vvar", "vsyscall", "kernel")
    )  # (kinds that are never resident memory of the process's own are left out)
    assert weakest[0] >= 1.5, weakest
