"""The process screen's keys for the region table and the address bar: sort, columns,
group by object (with what `size` prints for each object, read in a worker), scale, zoom
and pan. A mixin of ``ProcessScreen``; the keys are bound there."""

from __future__ import annotations

from textual import work

from vmtop.model.objects import object_sizes, regions_of_objects
from vmtop.model.region import Snapshot
from vmtop.procfs.elf_files import ProcessElfFiles
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.table_columns import DEFAULT_COLUMNS


class ProcessViewActions:
    """The actions of the table's and the bar's keys."""

    def action_sort(self) -> None:
        self.query_one(RegionTable).cycle_sort()

    def action_reverse_sort(self) -> None:
        self.query_one(RegionTable).reverse_sort()

    def action_columns(self) -> None:
        from vmtop.tui.screens.columns import ColumnChooser

        table = self.query_one(RegionTable)

        def shown():
            return [c.id for c in table.columns]

        self.app.push_screen(ColumnChooser(table.chosen, on_change=table.tick_columns, shown=shown))

    def show_hugetlb_column(self, snap: Snapshot) -> None:
        """Add the HugeTLB column once, when the process turns out to have memory in
        hugetlb pages (status: HugetlbPages) and the columns are still the defaults: that
        memory is in no RSS, and a database's shared buffers on huge pages read as 0."""
        if getattr(self, "_hugetlb_column_offered", False):
            return
        pages = snap.status.get("HugetlbPages")
        if not isinstance(pages, int) or pages <= 0:
            return
        self._hugetlb_column_offered = True
        settings = getattr(self.app, "settings", None)
        table = self.query_one(RegionTable)
        chose = settings is not None and settings.source("columns") != "default"
        if chose or table.chosen != DEFAULT_COLUMNS or "hugetlb" in table.chosen:
            return  # the person's own choice stays
        table.set_columns((*table.chosen, "hugetlb"))

    def action_group(self) -> None:
        table = self.query_one(RegionTable)
        table.set_grouped(not table.grouped)
        self._update_table_title()
        if table.grouped:
            self._read_object_sizes()

    def _read_object_sizes(self) -> None:
        """What `size` prints for each ELF object mapped, for the grouped rows (the
        files are parsed once each, in a worker; only new objects cost anything)."""
        snap = self.snapshot
        if snap is None:
            return
        objects = frozenset(r.object for r in regions_of_objects(snap.regions) if r.is_file_backed)
        if objects and objects != getattr(self, "_sized_objects", None):
            self._sized_objects = objects
            self._object_sizes_worker(snap)

    @work(thread=True, group="object-sizes", exclusive=True, exit_on_error=False)
    def _object_sizes_worker(self, snap: Snapshot) -> None:
        try:
            sizes = {s.path: s for s in object_sizes(snap, ProcessElfFiles(self.procfs))}
        except Exception:  # noqa: BLE001 - sizes are extra: never break the table
            return
        self.app.call_from_thread(self.query_one(RegionTable).set_object_sizes, sizes)

    def action_scale(self) -> None:
        self.query_one(AddressBar).toggle_mode()
        self._update_bindings()

    def action_zoom_in(self) -> None:
        bar = self.query_one(AddressBar)
        if bar.selected is None:
            bar.set_selected(self.query_one(RegionTable).selected_region)
        bar.zoom_in()
        self._update_bindings()

    def action_zoom_out(self) -> None:
        self.query_one(AddressBar).zoom_out()
        self._update_bindings()

    def action_pan(self, direction: int) -> None:
        self.query_one(AddressBar).pan(direction)
