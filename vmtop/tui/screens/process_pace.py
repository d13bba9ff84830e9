"""The process screen's pace and reference: pause and step, the sampling interval, the
baseline the Δ columns compare with, and the smallest resident change the event log
reports. A mixin of ``ProcessScreen``, which holds the state it sets."""

from __future__ import annotations

import time

from vmtop.config import parse_bytes
from vmtop.model.region import Snapshot
from vmtop.tui import sampler as smp
from vmtop.tui.formatting import format_bytes
from vmtop.tui.screens.process_sampling import SLOWED_OFF

INTERVALS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0)


class ProcessPace:
    def action_pause(self) -> None:
        self.live = not self.live
        if self.live:
            self._sample()
        elif self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._update_header()
        self._update_bindings()

    def action_resume(self) -> None:
        self.action_pause()

    def action_step(self) -> None:
        """Take one sample now (also while paused)."""
        self._sample()

    def _set_interval(self, step: int) -> None:
        options = list(INTERVALS)
        i = min(range(len(options)), key=lambda k: abs(options[k] - self.interval))
        i = max(0, min(len(options) - 1, i + step))
        self.interval = options[i]
        if self.slowed_period is not None and self.slowed_period <= self.interval * SLOWED_OFF:
            self.slowed_period = None  # a longer interval than the slowed period
        if self.sampler is not None:
            self.sampler.plan_smaps(self.interval)
        if self.live and not self._in_flight:
            self._arm()
        self._update_header()

    def action_faster(self) -> None:
        self._set_interval(-1)

    def action_slower(self) -> None:
        self._set_interval(+1)

    def action_baseline(self) -> None:
        if self.snapshot is None:
            return
        self.baseline = self.snapshot
        self.baseline_remapped = ()
        self.ref_changes = {}
        self.notify(
            "Baseline set: the Δ columns now show changes since "
            + self.moment_label(self.baseline.taken_at),
            timeout=3,
        )
        self._refresh_views()
        self._update_bindings()

    def moment_label(self, t: float) -> str:
        """A sample's time as the screen says it (a replay: with the tenths that make it,
        given back to `t`, that sample)."""
        return time.strftime("%H:%M:%S", time.localtime(t))

    def changes_since_baseline(self, snap: Snapshot) -> dict:
        """The Δ columns' changes of ``snap`` since the baseline, told apart from what
        was mapped or unmapped since (a replay's mark A: ReplayScreen)."""
        return smp.changes_since_baseline(self.baseline, snap, self.baseline_remapped)

    def action_clear_baseline(self) -> None:
        self.baseline = None
        self.baseline_remapped = ()
        self.ref_changes = {}
        self._refresh_views()
        self._update_bindings()

    def action_threshold(self) -> None:
        """Ask for the smallest resident change the log reports: typed as --threshold
        takes it (16K, 1M). It cycled through six values without a word: a user typed
        `t 1M Enter`, and Enter opened the region detail (review)."""
        self._open_prompt(
            "threshold",
            f"log threshold, now {format_bytes(self.rss_threshold)}: smallest RSS change "
            "of a region to report (16K, 1M), Enter",
            "",
        )

    def set_threshold(self, text: str) -> bool:
        """The log's threshold from what was typed in the prompt (nothing: unchanged)."""
        if not text.strip():
            return False
        try:
            value = parse_bytes(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            self.notify(
                f"not a size of at least 1 byte (65536, 64K, 1M): {text!r}",
                severity="warning",
                markup=False,  # what was typed, shown as it is
            )
            return False
        self.rss_threshold = value
        # A recording's events were decided when it was recorded: it has no drift.
        drift = getattr(self.sampler, "drift", None)
        if drift is not None:
            drift.threshold = self.rss_threshold
        self._update_events_title()
        self.notify(
            f"The log now reports a region's RSS change once it adds up to "
            f"{format_bytes(self.rss_threshold)}",
            timeout=3,
        )
        return True
