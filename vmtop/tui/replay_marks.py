"""The replay's marks A and B: A is the baseline (the Δ columns show what changed
since A), and the line under the timeline says what changed from A to B. Both are
worked out in thread workers, one at a time, and posted to the screen: rebuilding two
samples of a huge map and comparing them took a fraction of a second a step on the UI
thread, where a key waited on it. A mixin of ``ReplayScreen`` (its recording, position,
snapshot and the process screen's baseline)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from textual import work
from textual.message import Message
from textual.widgets import Static

from vmtop.record.format import RecordingError
from vmtop.tui import replay_compare
from vmtop.tui.gone_since_baseline import Gone, gone_since
from vmtop.tui.replay_compare import ab_lines

SHORT_SCREEN = 32  # rows: below it the A→B summary takes at most AB_LINES_SHORT
AB_LINES_SHORT = 2


class ReplayMarks:
    """Marks A and B of a replay screen, and what they say."""

    mark_a: int | None
    mark_b: int | None

    def action_mark_a(self) -> None:
        if self.snapshot is None:
            return
        if self.mark_b is not None and self.position > self.mark_b:
            self._swapped(self.mark_b, self.position)
            return
        self.mark_a = self.position
        self.action_baseline()  # A is the baseline: Δ since A
        self._show_ab()

    def action_mark_b(self) -> None:
        if self.snapshot is None:
            return
        if self.mark_a is not None and self.position < self.mark_a:
            self._swapped(self.position, self.mark_a)
            return
        self.mark_b = self.position
        if self.mark_a is None:
            self.notify("B marked: press a at another moment to mark A", timeout=4)
        self._show_ab()

    def _swapped(self, a: int, b: int) -> None:
        """Marks given out of time order: A is the earlier one. (What was recorded
        between them is in time order; from a later A it read as the undoing of changes
        that never were.) A's sample, the baseline, is the one shown or is rebuilt in a
        thread with the Δ since it (_since_a_worker): not on the UI thread, where a key
        waited on it."""
        self.mark_a, self.mark_b = a, b
        self.baseline_remapped = ()
        self.ref_changes = {}
        if a == self.position and self.snapshot is not None:
            self.baseline = self.snapshot  # A is the baseline: Δ since A
            self._since_a_shown = (a, a)
        else:
            self._since_a_shown = None
            self._want_since_a()
        self.notify(
            f"A is the earlier moment: A {self.moment_label(self.recording.time_of(a))}, "
            f"B {self.moment_label(self.recording.time_of(b))}",
            timeout=4,
        )
        self._refresh_views()
        self._update_bindings()
        self._show_ab()

    def action_clear_baseline(self) -> None:
        self.mark_a = self.mark_b = None
        super().action_clear_baseline()
        self._show_ab()

    def ab_text(self, a: int | None = None, b: int | None = None) -> str:
        """What happened from sample ``a`` to ``b`` (by default the marks A and B), in
        one line (replay_compare.ab_text); empty until both are marked."""
        if a is None and b is None:
            a, b = self.mark_a, self.mark_b
        if a is None or b is None:
            return ""
        return replay_compare.ab_text(self.recording, a, b)

    def changes_since_baseline(self, snap) -> Mapping:
        """Δ since A: a region compared only with the same mapping at A, none mapped
        over in between (replay_compare.changes_since_mark). Two samples to rebuild and
        compare, a fraction of a second for a huge map, every step: worked out in a
        thread, and shown when it is there (until then, the Δ columns are blank)."""
        if self.mark_a is None:
            return super().changes_since_baseline(snap)
        if self._since_a_shown == (self.mark_a, self.position):
            return self.ref_changes
        self._want_since_a()
        return {}

    def baseline_name(self) -> str:
        """The baseline of a replay is mark A (the user set no other)."""
        return "A" if self.mark_a is not None else super().baseline_name()

    def _gone_since_baseline(self) -> Gone:
        """A's regions gone at the sample shown, as the since-A worker found them;
        none at A itself, or until the worker has said."""
        if self.mark_a is None:
            return super()._gone_since_baseline()
        marks, gone = getattr(self, "_gone_since_a", (None, None))
        if marks == (self.mark_a, self.position) and gone is not None:
            return gone
        return Gone(0, 0, 0)

    def action_baseline(self) -> None:
        super().action_baseline()
        if self.mark_a is not None and self.mark_a == self.position:
            self._since_a_shown = (self.mark_a, self.position)  # nothing since A, at A

    # -- Δ since A, in a thread -----------------------------------------------------------

    class SinceA(Message):
        """Δ since the mark ``a`` of sample ``index``, and A's sample (the baseline);
        read only once posted (``changes`` is a read-only view)."""

        def __init__(self, a: int, index: int, baseline, changes: Mapping, gone=None, problem=None):
            super().__init__()
            self.a = a
            self.index = index
            self.baseline = baseline
            self.changes = changes
            self.gone = gone  # Gone: A's regions gone at ``index``
            self.problem = problem

    def _want_since_a(self) -> None:
        """Ask for the Δ since A of the sample shown: one worker at a time; when it is
        done, the sample shown then is asked for if it is another (playing, the
        samples it passed meanwhile are skipped)."""
        if self.mark_a is not None and not self._since_a_busy:
            self._since_a_busy = True
            self._since_a_worker(self.mark_a, self.position)

    @work(thread=True, group="since_a", exit_on_error=False)
    def _since_a_worker(self, a: int, index: int) -> None:
        rec = self.recording
        try:
            baseline = rec.snapshot(a)
            changes = MappingProxyType(replay_compare.changes_since_mark(rec, a, index))
            # A's regions gone since: a walk over A's whole map (a recording keeps no
            # ranges remapped since A as the live screen does), here and not at every
            # step on the UI thread.
            gone = gone_since(baseline, rec.snapshot(index), changes)
        except Exception as e:  # noqa: BLE001 - said, and the next one is asked for
            problem = str(e) if isinstance(e, RecordingError) else f"Δ since A: {e!r}"
            self.post_message(self.SinceA(a, index, None, MappingProxyType({}), problem=problem))
            return
        self.post_message(self.SinceA(a, index, baseline, changes, gone))

    def on_replay_marks_since_a(self, message: SinceA) -> None:
        self._since_a_busy = False
        marks = (message.a, message.index)
        if message.problem is not None:
            # Not asked again from here: a damaged stretch would be tried, and said,
            # over and over.
            self.notify(message.problem, severity="error", timeout=10, markup=False)
            return
        if marks == (self.mark_a, self.position):
            if self.baseline is None or self.baseline.taken_at != message.baseline.taken_at:
                self.baseline = message.baseline
                self._update_bindings()
            self.ref_changes = message.changes
            self._since_a_shown = marks
            self._gone_since_a = (marks, message.gone)
            self._refresh_views()
        elif self.mark_a is not None and self._since_a_shown != (self.mark_a, self.position):
            self._want_since_a()  # the marks or the sample moved meanwhile

    def _show_ab(self) -> None:
        """Say what changed from A to B: worked out in a thread (two samples to rebuild
        and diff: a fraction of a second for a huge map), shown when it is there."""
        self._update_timeline()
        if self.mark_a is None or self.mark_b is None:
            self._set_ab("")
            return
        self._want_ab()

    def _want_ab(self) -> None:
        """One comparison at a time, as for the Δ since A: a worker cancelled by the
        next (exclusive) went on rebuilding in its thread, so moving B about ran as many
        comparisons side by side. When it is done, the marks then are asked for if they
        moved meanwhile."""
        if not self._ab_busy:
            self._ab_busy = True
            self._ab_worker(self.mark_a, self.mark_b)

    class Compared(Message):
        def __init__(self, marks: tuple[int, int], text: str) -> None:
            super().__init__()
            self.marks = marks
            self.text = text

    @work(thread=True, group="ab", exit_on_error=False)
    def _ab_worker(self, a: int, b: int) -> None:
        try:
            text = self.ab_text(a, b)
        except RecordingError as e:
            text = f"A → B: {e}"
        except Exception as e:  # noqa: BLE001 - said; a worker that died would stop them all
            text = f"A → B: {e!r}"
        self.post_message(self.Compared((a, b), text))

    def on_replay_marks_compared(self, message: Compared) -> None:
        self._ab_busy = False
        if message.marks == (self.mark_a, self.mark_b):
            self._set_ab(message.text)
        elif self.mark_a is not None and self.mark_b is not None:
            self._want_ab()  # the marks moved meanwhile

    def _set_ab(self, text: str) -> None:
        self.ab_summary = text
        ab = self.query_one("#ab", Static)
        # On a short screen two lines at most: five left the region table one row.
        most = AB_LINES_SHORT if self.size.height < SHORT_SCREEN else None
        ab.update(ab_lines(text, max(20, self.size.width - 2), most))
        ab.display = bool(text)
