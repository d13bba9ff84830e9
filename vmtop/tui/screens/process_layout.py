"""How the process screen uses the terminal: which panels show, how tall, and which
keys the footer has room for.

From 80×24 to 220×60 and beyond. The table always shows; the address bar, the event
log and the summary by kind (with the RSS graph) fold away behind a key each. On a
short terminal the bar takes three lines and the log four; on a tall one the log grows.
On a narrow terminal the summary has no room beside the table, so its key shows it in
the table's place. The footer lists the keys that fit, most used first, whole.

A mixin of ``ProcessScreen``: it reads and sets the screen's widgets, nothing else.
"""

from __future__ import annotations

import dataclasses

from textual.binding import Binding

from vmtop.tui.widgets.address_bar import AddressBar

SIDE_BESIDE_FROM = 130  # columns: the summary fits beside the table from here
SHORT_BELOW = 32  # lines: the bar takes three lines below this
# On a terminal shorter than 80×24 (a split tmux pane), the table keeps its rows: the
# event log folds away below EVENTS_FROM lines, and the bar too below BAR_FROM, until
# their keys show them (at 40×12 the table had no row left, the empty log five lines).
EVENTS_FROM, BAR_FROM = 20, 16
SIDE_NORMAL, SIDE_WIDE, WIDE_FROM = 48, 64, 200  # the summary's width, and from when
# The footer's keys by how much a newcomer needs them (actions; the rest after these).
FOOTER_PRIORITY = (
    "back",
    "open",
    "pause",
    "resume",
    "filter",
    "app.help",
    "help",
    "sort",
    "columns",
    "group",
    "faster",
    "baseline",
    "scale",
    "zoom_in",
    "zoom_out",
    "pan",
    "goto",
    "toggle_events",
    "toggle_side",
    "toggle_bar",
)
PALETTE_WIDTH = 14  # "^p palette" on the footer's right


def events_height(screen_height: int) -> int:
    """Lines of the event log: four on an 80×24 terminal, up to a quarter of a tall one."""
    return max(4, min(20, screen_height // 4 - 2))


def footer_item_width(binding: Binding, key_display: str) -> int:
    return len(key_display) + len(binding.description) + 3


class ProcessLayout:
    """Panels, their sizes and the footer of the process screen."""

    show_bar: bool | None = None  # None: as the height allows
    show_events: bool | None = None  # None: as the height allows
    show_side: bool | None = None  # None: as the width allows

    def fit_layout(self) -> None:
        width, height = self.size.width, self.size.height
        if not width or not height:
            return
        bar = self.query_one(AddressBar)
        bar.display = self._bar_shown() and self.error is None
        bar.set_short(height < SHORT_BELOW)
        for selector in ("#events-title", "#events"):
            self.query_one(selector).display = self._events_shown() and self.error is None
        self.query_one("#events").styles.height = events_height(height)
        beside = width >= SIDE_BESIDE_FROM
        side_wanted = beside if self.show_side is None else self.show_side
        side = self.query_one("#side")
        main = self.query_one("#main")
        side.display = side_wanted
        # Narrow: the summary shows in the table's place (its key brings the table back).
        main.display = beside or not side_wanted
        side.set_class(not beside, "alone")
        if beside:
            # A wide terminal: a wider summary, so the RSS graph has more history.
            side.styles.width = SIDE_WIDE if width >= WIDE_FROM else SIDE_NORMAL
        footer = self.query_one("Footer")
        footer.compact = width < 120
        if width != getattr(self, "_footer_width", None):
            # The keys the footer has room for (active_bindings) are chosen anew for the
            # width: it kept a wide one's, cut mid-word, after the terminal shrank.
            self._footer_width = width
            self.refresh_bindings()

    def _events_shown(self) -> bool:
        if self.show_events is None:
            return self.size.height >= EVENTS_FROM
        return self.show_events

    def _bar_shown(self) -> bool:
        if self.show_bar is None:
            return self.size.height >= BAR_FROM
        return self.show_bar

    def action_toggle_events(self) -> None:
        self.show_events = not self._events_shown()
        self.fit_layout()

    def action_toggle_bar(self) -> None:
        self.show_bar = not self._bar_shown()
        self.fit_layout()

    def action_toggle_side(self) -> None:
        beside = self.size.width >= SIDE_BESIDE_FROM
        current = beside if self.show_side is None else self.show_side
        self.show_side = not current
        self.fit_layout()
        if not self.query_one("#main").display:
            self.query_one("#kinds").focus()
        else:
            self.query_one("#table").focus()
        self.call_after_refresh(self._update_table_title)  # the table's width changed

    # Which keys the footer shows first when it has no room for all (a replay's own
    # keys come first on its screen).
    footer_priority: tuple[str, ...] = FOOTER_PRIORITY

    @property
    def active_bindings(self):
        """The screen's keys, with those the footer has no room for left out of it
        (they still work, and help lists them all)."""
        active = super().active_bindings
        width = self.size.width
        if not width:
            return active
        room = width - PALETTE_WIDTH
        compact = width < 120
        order = {a: i for i, a in enumerate(self.footer_priority)}
        shown = [(key, item) for key, item in active.items() if item.binding.show]
        actions = list(dict.fromkeys(item.binding.action for _, item in shown))
        ranked = sorted(actions, key=lambda a: order.get(a.split("(")[0], len(order)))
        keep: set[str] = set()
        used = 0
        for action in ranked:
            key, item = next((k, i) for k, i in shown if i.binding.action == action)
            need = footer_item_width(item.binding, self.app.get_key_display(item.binding))
            need -= 1 if compact else 0
            if used + need > room:
                break
            used += need
            keep.add(action)
        out = {}
        for key, item in active.items():
            if item.binding.show and item.binding.action not in keep:
                item = item._replace(binding=dataclasses.replace(item.binding, show=False))
            out[key] = item
        return out
