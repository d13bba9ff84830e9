"""When `watch` and `record` say on stderr that their plan for reading changed.

A plan is "read smaps every N samples" (or maps every N ticks), chosen anew after each
read from what the last reads cost against a budget (procfs.smaps_budget). A cost near
the budget's edge moves it back and forth: watching 30 000 regions at 1 s, "now smaps
every read" and "now smaps every 2 reads" took turns, 22 lines in 90 s (review). A
plan is said when it is news against the one said last (from or to every sample, or
twice or half as often), once it has held for ``HOLD`` plans in a row, and no sooner
than ``GAP`` seconds after the last line: a plan that flips is not said at all, one
that holds is said within a few samples, and an hour costs at most a line a minute.
"""

from __future__ import annotations

HOLD = 3  # plans in a row before one is said
GAP = 60.0  # seconds between two lines at least


def plan_worth_saying(said: int, every: int) -> bool:
    """Whether reading every ``every`` samples is news after ``said``: from or to
    every sample, or twice or half as often (between 3 and 4 it is not)."""
    if every == said:
        return False
    return said == 1 or every == 1 or max(said, every) >= 2 * min(said, every)


class PlanNotice:
    """Whether a plan is to be said now (see the module's note). Starts from ``said``:
    the plan already said (the first line says the first plan)."""

    def __init__(self, said: int = 1) -> None:
        self.said = said
        self._said_at: float | None = None
        self._plan = said
        self._held = 0

    def news(self, every: int, now: float) -> bool:
        """Note the plan chosen now (``now``: a monotonic time); True when it is to be
        said (it is then the plan said)."""
        self._held = self._held + 1 if every == self._plan else 1
        self._plan = every
        if self._held < HOLD or not plan_worth_saying(self.said, every):
            return False
        if self._said_at is not None and now - self._said_at < GAP:
            return False
        self.said, self._said_at = every, now
        return True
