"""What `vmtop report` computes from a recording's timeline: how the samples were spaced
and where they stopped for a while, the first sample whose resident figures are known,
and each kind's resident size at the start, end and peak of a span.

Plain data in, plain data out: sample times, totals and ``{kind: resident bytes}``
per sample, as ``vmtop.record.reader.Recording`` holds them. No files, no terminal.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import islice
from operator import sub
from statistics import median
from typing import NamedTuple

from vmtop.model.region import Totals

# Two spacings are the same interval when within this share of each other: sampling is
# late by up to its own cost, but the intervals one can choose differ by 2x or more.
SAME_SPACING = 0.15
# A step this many times the spacing in force (and at least GAP_SECONDS longer) is a
# gap: at least one whole sample is missing, which lateness alone does not explain.
GAP_FACTOR = 2.0
GAP_SECONDS = 0.5
# A step this far from the spacing in force that the next steps keep is a new interval.
CHANGE_FACTOR = 1.6
RECENT_STEPS = 5  # the spacing in force: the median of this many steps before
NEXT_STEPS = 3  # a new interval: the median of this many steps after agrees with it

# A kind "rose and fell back" when its peak is above both its first and last figure
# by this much and this share of the peak: less is the churn of any running process.
PEAK_MIN_BYTES = 64 * 1024
PEAK_MIN_SHARE = 0.05


class Gap(NamedTuple):
    start: float  # the time of the sample before it
    end: float  # the time of the sample after it
    expected: float  # the spacing in force before it, in seconds


class Spacing(NamedTuple):
    intervals: tuple[float, ...]  # the spacing of each stretch between interval changes
    gaps: tuple[Gap, ...]


def _alike(a: float, b: float) -> bool:
    return abs(a - b) <= SAME_SPACING * max(a, b)


def sample_spacing(times: Sequence[float], asked: float) -> Spacing:
    """How ``times`` (one per sample, in order) were spaced, ``asked`` being the interval
    the recording was started with: the interval of each stretch (a new one where the
    spacing changed and stayed changed: ``+`` / ``-`` on the process screen), and the
    gaps (steps of at least GAP_FACTOR times the spacing in force that the steps after
    do not keep: sampling paused or held up; the recording does not say which)."""
    # (Arrays, not lists of floats: a day at 0.1 s is 864 000 steps, 8 bytes each.)
    steps = array("d", map(sub, islice(times, 1, None), times))
    if not steps:
        return Spacing((), ())
    stretches: list[array] = [array("d")]  # the steps that are not gaps, by interval
    gaps: list[Gap] = []
    for k, step in enumerate(steps):
        stretch = stretches[-1]
        in_force = median(stretch[-RECENT_STEPS:]) if stretch else asked
        after = steps[k + 1 : k + 1 + NEXT_STEPS]
        kept = bool(after) and _alike(median(after), step)
        departs = step > in_force * CHANGE_FACTOR or step * CHANGE_FACTOR < in_force
        if departs and kept and stretch:
            stretches.append(array("d"))  # the interval changed here
        elif step > in_force * GAP_FACTOR and step - in_force >= GAP_SECONDS and not kept:
            gaps.append(Gap(times[k], times[k + 1], in_force))
            continue
        stretches[-1].append(step)
    intervals = tuple(median(s) for s in stretches if s)
    return Spacing(intervals, tuple(gaps))


def nominal(spacing: float, asked: float) -> float:
    """``spacing`` as a person would say it: the interval asked for when it is that,
    else rounded to two significant digits."""
    if _alike(spacing, asked):
        return asked
    return float(f"{spacing:.2g}")


def has_resident_figures(totals: Totals | None) -> bool:
    """Whether the sample these totals are of had its regions' resident figures (smaps
    was read, or its figures carried). Only smaps gives PSS: without it the totals
    have the process's RSS from ``status`` but no PSS (procfs.snapshot.compute_totals),
    and the kinds' resident sizes are unknown, not zero."""
    return totals is not None and totals.pss is not None


class KindCourse(NamedTuple):
    kind: str
    start: int  # resident bytes at the first sample of the span
    end: int  # ... at the last
    peak: int  # the most at any sample of the span
    peak_at: int  # the first sample where it was the most

    @property
    def growth(self) -> int:
        return self.end - self.start

    @property
    def rose_and_fell(self) -> bool:
        """Its peak stands clearly above both where it started and where it ended."""
        least = max(PEAK_MIN_BYTES, PEAK_MIN_SHARE * self.peak)
        return self.peak - self.start >= least and self.peak - self.end >= least


class Peak(NamedTuple):
    value: int
    at: int  # the sample


def peak_of(values: Sequence[int | None]) -> Peak | None:
    """The largest known value and the first sample it was at; None when none is known."""
    best: Peak | None = None
    for i, v in enumerate(values):
        if v is not None and (best is None or v > best.value):
            best = Peak(v, i)
    return best
