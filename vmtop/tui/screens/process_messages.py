"""The process screen's answers to its widgets' messages: a region picked in the table,
the bar, the event log or the summary by kind is selected (or filtered for) in the
table, and Enter opens its detail. A mixin of ``ProcessScreen``."""

from __future__ import annotations

from vmtop.model import events as ev
from vmtop.model.region import Region
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.kind_summary import KindSummary
from vmtop.tui.widgets.region_table import RegionTable


class ProcessMessages:
    """Handlers of the messages the process screen's widgets post."""

    def on_region_table_highlighted(self, message: RegionTable.Highlighted) -> None:
        self.query_one(AddressBar).set_selected(message.region)

    def on_region_table_opened(self, message: RegionTable.Opened) -> None:
        self.open_detail(message.region)

    def on_region_table_sort_changed(self, message: RegionTable.SortChanged) -> None:
        self._update_table_title()

    def on_region_table_rows_built(self, message: RegionTable.RowsBuilt) -> None:
        self._update_table_title()

    def on_address_bar_region_clicked(self, message: AddressBar.RegionClicked) -> None:
        table = self.query_one(RegionTable)
        if not table.select_region(message.region):
            # Hidden by the filter: clear it so the clicked region has a row.
            table.set_filter("")
            self._update_table_title()
            table.select_region(message.region)
        table.focus()

    def on_event_log_event_clicked(self, message: EventLog.EventClicked) -> None:
        self.select_event_region(message.event)

    def on_event_log_opened(self, message: EventLog.Opened) -> None:
        """Enter on an event: all of its text; from there Enter selects its region."""
        from vmtop.tui.screens.event_detail import EventDetail

        event = message.event

        def chosen(select: bool | None) -> None:
            if select:
                self.select_event_region(event)

        detail = EventDetail(event, has_region=event.end > event.start, run=message.run)
        self.app.push_screen(detail, chosen)

    def select_event_region(self, event: ev.Event) -> None:
        """Select the region an event is about (where its range is now)."""
        if self.snapshot is None or event.end <= event.start:
            return
        region = self.snapshot.region_at(event.start) or self.snapshot.region_at(event.end - 1)
        if region is None:
            self.notify(f"{event.start:x}-{event.end:x} is no longer mapped", timeout=4)
            return
        table = self.query_one(RegionTable)
        if not table.select_region(region):
            table.set_filter("")
            self._update_table_title()
            self._update_header()
            table.select_region(region)
        table.focus()

    def on_kind_summary_kind_clicked(self, message: KindSummary.KindClicked) -> None:
        self.filter_kind(message.kind)

    def filter_kind(self, kind: str) -> None:
        if not self.query_one("#main").display:
            self.action_toggle_side()  # the summary stood in the table's place: show it
        table = self.query_one(RegionTable)
        table.set_filter(kind)
        self._update_table_title()
        self._update_header()

    def open_detail(self, region: Region) -> None:
        if self.snapshot is None:
            return
        try:
            from vmtop.tui.screens.detail import RegionDetailScreen
        except ImportError:
            self.notify("The region detail screen is not available.", severity="warning")
            return
        detail = RegionDetailScreen(
            procfs=self.procfs,
            snapshot=self.snapshot,
            region=region,
            rss_history=self.rss_history(region),
            smaps_at=self.smaps_at or None,
        )
        detail.source = self  # the screen whose samples it follows
        self.app.push_screen(detail)
