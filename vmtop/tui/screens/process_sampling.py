"""The process screen's sampling: one sample in flight, taken in a worker thread with
what its widgets show of it laid out there too (``prepare_view``), and the next one
scheduled within a share of a core (``SAMPLE_BUDGET`` for sampling,
``PROCESS_BUDGET`` for everything vmtop does). A mixin of ``ProcessScreen``,
which holds the state it uses (sampler, interval, timer, the snapshot shown)."""

from __future__ import annotations

from time import process_time
from typing import TYPE_CHECKING

from textual import work

from vmtop.model.region import Snapshot
from vmtop.model.since_baseline import Ranges, add_remapped
from vmtop.procfs.errors import ProcError
from vmtop.tui.prepared_view import prepare_view
from vmtop.tui.sampler import SampleResult
from vmtop.tui.widgets import bar_layout as bl
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.region_table import RegionTable
from vmtop.tui.widgets.table_model import TableState

if TYPE_CHECKING:
    from vmtop.tui.screens.process import ProcessScreen

SAMPLE_BUDGET = 0.20  # at most this share of one core spent sampling
# vmtop's own CPU, every thread together (sampling, smaps reads, laying out, drawing), as
# a share of one core over a sampling cycle: sampling slows down to keep under it.
PROCESS_BUDGET = 0.22
# The header says "slowed to" once samples are this many intervals apart, and stops at
# the lower figure: a period that hovers at one edge made it come and go each sample.
SLOWED_ON = 1.2
SLOWED_OFF = 1.1


class ProcessSampling:
    def _sample(self) -> None:
        if self._in_flight or self.exited_at is not None or self.error is not None:
            return
        self._in_flight = True
        self._sample_worker(self.interval, *self._view_state())

    def _view_state(self) -> tuple:
        """What the worker lays out for, as it is now: the bar's state, the table's,
        the baseline and the ranges remapped since it."""
        return (
            self.query_one(AddressBar).bar_view(),
            self.query_one(RegionTable).table_state(),
            self.baseline,
            self.baseline_remapped,
        )

    @work(thread=True, exclusive=False, group="sampler", exit_on_error=False)
    def _sample_worker(
        self,
        interval: float,
        bar_view: bl.BarView,
        table_state: TableState | None = None,
        baseline: Snapshot | None = None,
        remapped: Ranges = (),
    ) -> None:
        """Take a sample and lay out what the bar and the summary show of it (linear
        in regions: seconds at a million, so not on the UI thread)."""
        assert self.sampler is not None
        try:
            result = self.sampler.sample(interval)
        except Exception as error:  # noqa: BLE001 - say so on screen rather than freeze
            problem = ProcError(self.pid, f"vmtop could not read process {self.pid}: {error!r}")
            result = SampleResult(None, self.sampler.last, (), {}, (), error=problem, exited=True)
        prepared = None
        if result.snapshot is not None:
            try:
                if baseline is not None:  # as _apply adds them on the UI thread
                    remapped = add_remapped(remapped, result.events)
                prepared = prepare_view(
                    result.snapshot, bar_view, table_state, baseline, result.changes, remapped
                )
            except Exception:  # noqa: BLE001 - the widgets then lay it out themselves
                prepared = None
        self.post_message(self.Sampled(result, prepared))

    def _read_pending_smaps(self) -> None:
        if self.exited_at is None and self.error is None:
            self._sample_worker(self.interval, *self._view_state())
        else:
            self._in_flight = False

    def _arm(self, spent: float | None = None) -> None:
        """Schedule the next sample: one interval after the last one started, but never
        so soon that sampling takes more than SAMPLE_BUDGET of a core (a huge process
        whose maps alone take a second to parse is sampled less often, and the header
        says so)."""
        if spent is not None:
            self.sample_cost = spent
        cycle_cpu = self._cycle_cpu()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.live and self.exited_at is None and self.error is None:
            cost = self.sample_cost
            delay = max(
                self.interval * 0.1,
                self.interval - cost,
                cost * (1 / SAMPLE_BUDGET - 1),
                cycle_cpu / PROCESS_BUDGET - cost,
            )
            self.period = cost + delay
            shown = slowed_to(self.period, self.interval, self.slowed_period)
            if shown != self.slowed_period:
                self.slowed_period = shown
                self._update_header()  # (it says when sampling is slowed down)
            self._timer = self.set_timer(delay, self._sample)

    def _cycle_cpu(self) -> float:
        """CPU seconds the whole process spent since the last call (all threads: the
        sample, an smaps read, the refresh it caused, keys), smoothed over cycles."""
        now = process_time()
        last, self._cpu_mark = self._cpu_mark, now
        if last is None:
            return 0.0
        used = now - last
        self._cpu_per_cycle = (
            used if self._cpu_per_cycle is None else (0.5 * self._cpu_per_cycle + 0.5 * used)
        )
        return self._cpu_per_cycle

    def on_process_screen_sampled(self, message: ProcessScreen.Sampled) -> None:
        self._in_flight = False
        result = message.result
        if result.snapshot is None:
            if result.exited and self.snapshot is not None:
                self._process_gone(result)
            else:
                self._show_error(str(result.error) if result.error else "no data")
            return
        self._smaps_pending = result.smaps_pending
        self.prepared = message.prepared
        self._apply(result)
        if result.smaps_pending:
            # The first look was maps only (a huge map): resident figures come right
            # away, once this look is on screen (parsing smaps meanwhile would hold the
            # GIL while the first screen is drawn, and delay it by a few hundred ms).
            self._in_flight = True
            self.call_after_refresh(self._read_pending_smaps)
        else:
            self._arm(result.cost_seconds)


def slowed_to(period: float, interval: float, shown: float | None) -> float | None:
    """The period the header gives as "slowed to" (None: not slowed), from the period
    just scheduled and the one shown. Steady within a tenth: a figure that moves by
    tenths of a second at every sample is noise."""
    if period <= interval * (SLOWED_OFF if shown is not None else SLOWED_ON):
        return None
    if shown is not None and abs(period - shown) <= 0.1 * shown:
        return shown
    return period
