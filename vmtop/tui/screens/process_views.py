"""What the process screen's widgets show of the snapshot shown: the region table, the
address bar, the summary by kind, the RSS graph, the header and the table's title. A
mixin of ``ProcessScreen``, which holds the state it draws from."""

from __future__ import annotations

from functools import partial

from textual.widgets import Static

from vmtop.model.address_space import TOP_32, user_top
from vmtop.procfs.smaps_blocks import region_fields
from vmtop.tui.gone_since_baseline import Gone, gone_since, gone_texts
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.event_log import EventLog
from vmtop.tui.widgets.kind_summary import KindSummary
from vmtop.tui.widgets.process_header import HeaderState, ProcessHeader
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.rss_graph import RssGraph
from vmtop.tui.widgets.table_model import regions_in

# The sort keys that are no word a person would say: the smaps field, the change.
SORT_WORDS = {
    "shared_clean": "Shared_Clean",
    "shared_dirty": "Shared_Dirty",
    "private_clean": "Private_Clean",
    "private_dirty": "Private_Dirty",
    "anonymous": "Anonymous",
    "hugetlb": "hugetlb pages",
    "delta": "change (Δ)",
}


class ProcessViews:
    """Redraws the process screen's widgets from its snapshot."""

    # Whether the screen keeps the ranges remapped since the baseline (a replay works its
    # Δ since A out of the recording instead): then only regions there can be gone.
    TRACKS_REMAPPED = True

    def _refresh_light(self) -> None:
        """Nothing in the map changed: only the header and the RSS graph move."""
        self.query_one(RssGraph).set_points(list(self.rss_points))
        self._update_header()

    def _refresh_views(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        recent = self._recent_status()
        traces = [(a, b) for a, b, _ in self.traces]
        if user_top(snap.regions) == TOP_32:
            addr_width = 8  # a 32-bit process: four columns more for the names
        elif any(r.end > (1 << 48) and r.kind != "vsyscall" for r in snap.regions[-3:]):
            addr_width = 14
        else:
            addr_width = 12
        table = self.query_one(RegionTable)
        fields_of = partial(region_fields, snap) if snap.raw_smaps is not None else None
        prepared = self.prepared
        if prepared is not None and prepared.regions is not snap.regions:
            prepared = None
        table.set_regions(
            snap.regions,
            self.ref_changes,
            recent,
            addr_width=addr_width,
            fields_of=fields_of,
            prepared=prepared.rows if prepared is not None else None,
            hugetlb=snap.hugetlb,
        )
        log = self.query_one(EventLog)
        log.addr_width = addr_width
        log.set_empty_text("no changes yet")
        # Laid out in the sampling worker, from these very regions (else, after a
        # failed layout there, here).
        bar = self.query_one(AddressBar)
        bar.set_regions(
            snap.regions, recent, traces, prepared.bar if prepared else None, snap.hugetlb
        )
        bar.set_selected(table.selected_region)
        if table.grouped:
            self._read_object_sizes()
        summary = self.query_one(KindSummary)
        if prepared is not None:
            summary.set_prepared(prepared.summary)
        else:
            summary.set_regions(snap.regions, snap.hugetlb)
        self.query_one(RssGraph).set_points(list(self.rss_points))
        self._update_header()
        self._update_table_title()

    def _update_header(self) -> None:
        sampler = self.sampler
        table = self.query_one(RegionTable)
        self.query_one(ProcessHeader).set_state(
            HeaderState(
                snapshot=self.snapshot,
                pid=self.pid,
                live=self.live,
                interval=self.interval,
                smaps_every=sampler.smaps_every if sampler else 1,
                smaps_cost=sampler.smaps_cost if sampler else 0.0,
                resident_note=self._resident_note(),
                period=self.slowed_period,
                baseline_label=(
                    self.moment_label(self.baseline.taken_at) if self.baseline is not None else None
                ),
                baseline_totals=self.baseline.totals if self.baseline is not None else None,
                baseline_name=self.baseline_name(),
                exited_at=self.exited_at,
                unreadable=self.unreadable,
                shown=len(table.rows) if table.filter_text else None,
                source=sampler.describe(self.live) if sampler else None,
                recording=self.recording_label(),
            )
        )

    def _resident_note(self) -> str:
        snap = self.snapshot
        if snap is None:
            return ""
        if self._smaps_pending:
            return "reading smaps…"
        if not snap.has_smaps:
            return "no smaps: sizes without resident figures"
        if snap.smaps_read_at is not None:
            # Carried from an earlier smaps read (its budget): which moment, as the screen
            # names moments (a replay's, to go there with `t`).
            return f"resident figures read at {self.moment_label(snap.smaps_read_at)}"
        if not self._last_smaps_read:
            return "resident figures from the last smaps read"
        return ""

    def _update_table_title(self) -> None:
        self._update_bindings()  # (a filter set or cleared: Esc's "Back" comes or goes)
        table = self.query_one(RegionTable)
        parts = ["Regions"]
        if self.snapshot is not None:
            total = len(self.snapshot.regions)
            if table.filter_text:
                shown = "…" if table.pending else regions_in(table.rows)
                parts.append(f"{shown} of {total} matching “{table.filter_text}”")
            else:
                parts.append(str(total))
        order = "▼" if table.descending else "▲"
        parts.append(f"sorted by {SORT_WORDS.get(table.sort, table.sort)} {order}")
        grouped = ""
        if table.grouped and table.object_sizes_fit(table.size.width):
            grouped = "grouped by object, with text / data / bss as `size` prints them"
        elif table.grouped and self.query_one("#side").display and self.query_one("#main").display:
            # The summary beside the table takes the room (160 columns): its key gives
            # it back. (Said nowhere before: the sizes the README promises were missing.)
            grouped = "grouped by object (text / data / bss: i folds the summary)"
        elif table.grouped:
            grouped = "grouped by object (text / data / bss need a wider name column)"
        named = self.baseline_name()
        since = f"Δ since {named}" if self.baseline is not None else "Δ since the last sample"
        gone, gone_short = gone_texts(self._gone_since_baseline(), named)
        # Shorter forms where the whole does not fit (80 columns cut it mid-parenthesis).
        width = self.query_one("#table-title", Static).size.width or table.size.width
        tries = [
            *(
                [[*parts, grouped, since, g] for g in (gone, gone_short)]
                + [[*parts, grouped and "grouped by object", g] for g in (gone, gone_short)]
                if gone
                else []
            ),
            [*parts, grouped, since],
            [*parts, grouped],
            [*parts, grouped and "grouped by object", since],
            [*parts, grouped and "grouped by object"],
        ]
        titles = ["  ·  ".join(p for p in t if p) for t in tries]
        title = next((t for t in titles if not width or len(t) <= width), titles[-1])
        self.query_one("#table-title", Static).update(title)

    def baseline_name(self) -> str:
        """What the Δ columns compare with, as the user set it (a replay: "A")."""
        return "baseline"

    def _gone_since_baseline(self) -> Gone:
        """The baseline's regions gone since (the table shows only those there now)."""
        base, snap, changes = self.baseline, self.snapshot, self.ref_changes
        if base is None or snap is None:
            return Gone(0, 0, 0)
        key = (base, snap, changes, self.baseline_remapped)
        cached = getattr(self, "_gone_cache", None)
        if cached is not None and all(a is b for a, b in zip(cached[0], key, strict=True)):
            return cached[1]
        remapped = self.baseline_remapped if self.TRACKS_REMAPPED else None
        gone = gone_since(base, snap, changes, remapped)
        self._gone_cache = (key, gone)
        return gone
