"""What the process screen's widgets show of a sample, worked out in the sampling worker.

At a million regions the bar's layout and the summary by kind cost seconds (see
benchmarks/README.md, issue 10); done on the UI thread at every refresh they delay key
presses by as much. The worker that took the sample lays them out too, for the bar's
state as it was when the sample was asked for, and hands them over with the sample: the
widgets then only draw. Everything here is made from the immutable snapshot and is not
touched by the worker once handed over.
"""

from __future__ import annotations

from typing import NamedTuple

from vmtop.model.region import Snapshot
from vmtop.model.since_baseline import Ranges
from vmtop.tui.sampler import changes_since_baseline
from vmtop.tui.widgets.address_bar import PreparedBar, prepare_bar
from vmtop.tui.widgets.bar_layout import BarView
from vmtop.tui.widgets.kind_summary import PreparedSummary, prepare_summary
from vmtop.tui.widgets.region_table import ROWS_OFF_THREAD_FROM, PreparedRows
from vmtop.tui.widgets.table_model import TableState, build_rows

# From this many regions, the table's rows (filtered, sorted, grouped) and the changes
# since a baseline are worked out here too (below it they cost a few ms); the table
# builds them in a thread of its own too when a key re-shapes them.
ROWS_IN_WORKER_FROM = ROWS_OFF_THREAD_FROM


class PreparedView(NamedTuple):
    regions: tuple  # the snapshot's regions (the very tuple) these were worked out from
    bar: PreparedBar
    summary: PreparedSummary
    rows: PreparedRows | None = None  # the table's, for the state it was in
    baseline: Snapshot | None = None  # what ref_changes were worked out against
    ref_changes: dict | None = None  # vs the baseline
    remapped: Ranges = ()  # what ref_changes knew was remapped since the baseline


def prepare_view(
    snapshot: Snapshot,
    bar: BarView,
    table: TableState | None = None,
    baseline: Snapshot | None = None,
    changes: dict | None = None,
    remapped: Ranges = (),
) -> PreparedView:
    """The bar and the summary of ``snapshot``, for a bar in state ``bar``; for a huge
    map, also the changes since ``baseline`` and the table's rows in state ``table``
    (with ``changes`` since the last sample when there is no baseline; ``remapped``:
    the ranges mapped or unmapped since the baseline)."""
    regions = snapshot.regions
    view = PreparedView(
        regions,
        prepare_bar(regions, bar, snapshot.hugetlb),
        prepare_summary(regions, snapshot.hugetlb),
    )
    if len(regions) < ROWS_IN_WORKER_FROM:
        return view
    ref = changes
    if baseline is not None:
        ref = changes_since_baseline(baseline, snapshot, remapped)
        view = view._replace(baseline=baseline, ref_changes=ref, remapped=remapped)
    if table is not None and ref is not None and not table.by_address:
        hugetlb = None if snapshot.hugetlb is None else dict(snapshot.hugetlb)
        rows = build_rows(regions, ref, **table._asdict(), hugetlb=hugetlb)
        view = view._replace(rows=PreparedRows(regions, ref, table, rows))
    return view
