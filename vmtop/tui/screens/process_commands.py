"""The process screen's commands in the command palette (Ctrl+P), by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from vmtop.model.kinds import ALL_KINDS, KIND_DESCRIPTIONS
from vmtop.tui.formatting import format_bytes
from vmtop.tui.named_commands import NamedCommands
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.table_model import SORT_COLUMNS


class ProcessCommands(NamedCommands):
    """The process screen's actions in the command palette (Ctrl+P), by name."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        from vmtop.tui.screens.process import ProcessScreen

        screen = self.screen
        if not isinstance(screen, ProcessScreen):
            return []
        table = screen.query_one(RegionTable)
        bar = screen.query_one(AddressBar)
        out: list[tuple[str, Callable[[], object], str]] = []
        for column in SORT_COLUMNS:
            out.append(
                (f"Sort regions by {column}", partial(table.set_sort, column), "the table's order")
            )
        out.append(
            (
                "Ungroup regions" if table.grouped else "Group regions by object",
                screen.action_group,
                "one row per program, library, heap, stack, anonymous memory, with totals",
            )
        )
        other = "compact" if bar.mode == "scale" else "true scale"
        out.append((f"Bar: {other}", screen.action_scale, "the address-space bar's scale"))
        out.append(("Zoom the bar in on the selected region", screen.action_zoom_in, "z"))
        out.append(("Zoom the bar out", screen.action_zoom_out, "Z"))
        live = screen.samples_live
        if live:
            out.append(("Set the baseline here", screen.action_baseline, "Δ since this moment"))
        if live and screen.baseline is not None:
            out.append(
                ("Clear the baseline", screen.action_clear_baseline, "Δ since the last sample")
            )
        if live:
            out.append(
                (
                    "Resume sampling" if not screen.live else "Pause sampling",
                    screen.action_pause,
                    "space",
                )
            )
        out.append(("Go to an address…", screen.action_goto, "g: which region holds it"))
        out.append(("Filter regions…", screen.action_filter, "/: by name, kind, perms, address"))
        out.append(
            ("Choose the table's columns…", screen.action_columns, "c: Private_Dirty, Anonymous, …")
        )
        if live:  # (a replay's log is as recorded)
            out.append(
                (
                    "Set the log's RSS threshold…",
                    screen.action_threshold,
                    f"t: now {format_bytes(screen.rss_threshold)}; type 16K, 1M, …",
                )
            )
        for action, what, key in (
            (screen.action_toggle_events, "the event log", "e"),
            (screen.action_toggle_side, "the summary by kind", "i"),
            (screen.action_toggle_bar, "the address bar", "a" if live else "(a marks A here)"),
        ):
            out.append((f"Fold away or show {what}", action, key))
        present = {r.kind for r in screen.snapshot.regions} if screen.snapshot else set()
        for kind in ALL_KINDS:
            if kind in present:
                out.append(
                    (
                        f"Show only {kind} regions",
                        partial(screen.filter_kind, kind),
                        KIND_DESCRIPTIONS.get(kind, ""),
                    )
                )
        return out
