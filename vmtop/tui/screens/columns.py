"""Choosing the region table's columns, as `pmap -X` shows more fields than `pmap -x`.

A small dialog over the process screen: one checkbox per column, each with the smaps
field it comes from. Changes apply as they are made; Esc or Enter closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList, Static
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from vmtop.tui.widgets.table_columns import CATALOGUE, REQUIRED_COLUMNS


class TickList(SelectionList[str]):
    """A SelectionList whose unticked boxes are empty. Textual draws an X in every box
    and tells ticked from unticked by colour alone: with NO_COLOR, or on a monochrome
    terminal, they looked the same."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if option.value in self.selected or len(segments) < 2:
            return strip
        box = segments[1]
        if box.text != Checkbox.BUTTON_INNER:  # (the box SelectionList draws, as a checkbox)
            return strip
        segments[1] = box._replace(text=" " * len(box.text))
        return Strip(segments, strip.cell_length)


LIST_CHROME = 4  # rows of the dialog that are not the list: its border, title, note


class ColumnChooser(ModalScreen[tuple[str, ...]]):
    """Tick the columns to show; Start and the name are always there."""

    CSS_PATH = str(Path(__file__).with_name("columns.tcss"))  # absolute: subclasses elsewhere

    BINDINGS = [Binding("escape,enter,c,q", "close", "Close", priority=True)]

    def __init__(
        self,
        chosen: tuple[str, ...],
        on_change: Callable[[tuple[str, ...]], None] | None = None,
        shown: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        """``shown``: the columns the table has room for now (the ticked ones that are
        not are said, or ticking one would seem to do nothing)."""
        super().__init__()
        self.chosen = tuple(chosen)
        self.on_change = on_change
        self.shown = shown

    def compose(self) -> ComposeResult:
        with Vertical(id="columns-box"):
            yield Static("[b]Columns[/b]  space ticks · Esc closes", id="columns-title")
            yield TickList(
                *(
                    Selection(f"{c.title:<13} {c.meaning}", c.id, c.id in self.chosen)
                    for c in CATALOGUE
                    if c.id not in REQUIRED_COLUMNS
                ),
                id="columns-list",
            )
            yield Static(self._note(), classes="muted", id="columns-note")

    def _note(self) -> str:
        note = "Columns that do not fit the width are left out, lowest priority first."
        if self.shown is None:
            return note
        shown = set(self.shown())
        left_out = [c.title for c in CATALOGUE if c.id in self.chosen and c.id not in shown]
        if not left_out:
            return note
        return f"Ticked, but no room for them at this width: {', '.join(left_out)}."

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()
        self._fit_list()

    def on_resize(self) -> None:
        self._fit_list()

    def _fit_list(self) -> None:
        # As many rows as the screen has room for (its border, the title and the note
        # take four): a fixed cap of 20 hid the last columns behind a scroll even on a
        # terminal with room for every one.
        self.query_one(SelectionList).styles.max_height = max(3, self.size.height - LIST_CHROME)

    def on_selection_list_selected_changed(self, message: SelectionList.SelectedChanged) -> None:
        self.chosen = (*REQUIRED_COLUMNS, *message.selection_list.selected)
        if self.on_change is not None:
            self.on_change(self.chosen)
        self.query_one("#columns-note", Static).update(self._note())

    def action_close(self) -> None:
        self.dismiss(self.chosen)
