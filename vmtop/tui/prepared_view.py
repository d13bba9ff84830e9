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
from vmtop.tui.widgets.address_bar import PreparedBar, prepare_bar
from vmtop.tui.widgets.bar_layout import BarView
from vmtop.tui.widgets.kind_summary import PreparedSummary, prepare_summary


class PreparedView(NamedTuple):
    regions: tuple  # the snapshot's regions (the very tuple) these were worked out from
    bar: PreparedBar
    summary: PreparedSummary


def prepare_view(snapshot: Snapshot, bar: BarView) -> PreparedView:
    """The bar and the summary of ``snapshot``, for a bar in state ``bar``."""
    regions = snapshot.regions
    return PreparedView(regions, prepare_bar(regions, bar), prepare_summary(regions))
