"""The times people type to move in a recording: a clock time, or a duration.

- ``12:03`` / ``12:03:10`` / ``12:03:10.5``: that time of day (local time), the first
  time it occurs at or after the recording's start (a recording may cross midnight);
- ``90s``, ``5m``, ``1h30m``, ``2m10s``, ``45`` (seconds): that long after the start;
- ``+5m`` / ``-30s``: that long after / before ``now`` (the position on screen), or,
  with no position (headless), after the start / before the end;
- ``start``, ``end``.

A typed time names the sample nearest it (``nearest_index``): samples land a few
milliseconds late, or more on a large map, so "the last sample at or before" 30 s after
the start is the one before the sample taken then. The labels vmtop prints for a
sample's time (``clock_label``, ``span_label``) have as many decimals as the
recording's samples need (``label_digits``) to tell any two apart, so a label typed back
names the sample it was printed for.
"""

from __future__ import annotations

import math
import re
import time
from bisect import bisect_left
from collections.abc import Sequence

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$")


def parse_duration(text: str) -> float | None:
    """Seconds in ``90s``, ``5m``, ``1h30m``, ``2m10s``, ``45``; None if not one."""
    text = text.strip().lower().replace(" ", "")
    if not text:
        return None
    m = _DURATION.match(text)
    if m is None or not any(m.groups()):
        return None
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def resolve_time(text: str, start: float, end: float, now: float | None = None) -> float:
    """The instant ``text`` names in a recording from ``start`` to ``end`` (epoch
    seconds). Raises ValueError with a message for a person."""
    t = text.strip().lower()
    if t in ("start", "begin", "beginning"):
        return start
    if t == "end":
        return end
    m = _CLOCK.match(t)
    if m is not None:
        hours, minutes = int(m.group(1)), int(m.group(2))
        seconds = float(m.group(3) or 0)
        if hours > 23 or minutes > 59 or seconds >= 60:
            raise ValueError(f"not a time of day: {text!r}")
        day = time.localtime(start)
        base = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0, 0, 0, -1))
        when = base + hours * 3600 + minutes * 60 + seconds
        # The day of the start, or the next one: 00:10 in a recording from 23:50.
        if when < start - 1 and when + 86400 <= end + 1:
            when += 86400
        return when
    if t[:1] in "+-":
        seconds = parse_duration(t[1:])
        if seconds is None:
            raise ValueError(f"not a duration: {text!r} (try +5m, -30s, 90s)")
        if t[0] == "+":
            return (now if now is not None else start) + seconds
        return (now if now is not None else end) - seconds
    seconds = parse_duration(t)
    if seconds is None:
        raise ValueError(f"not a time: {text!r} (try 12:03:10, +5m, 90s)")
    return start + seconds


# Whole-second labels only where every sample falls on a whole second and they are at
# least this far apart; closer, tenths keep the labels of a replay's neighbouring
# samples alike in form whichever way they fall.
WHOLE_SECONDS_STEP = 2.0
MAX_DIGITS = 3  # milliseconds: finer than any interval one can choose (0.05 s and up)


def label_digits(times: Sequence[float]) -> int:
    """The decimals of a second that the labels of samples at ``times`` (in order) need:
    a unit at most half the closest two samples' distance, so that rounded labels
    differ and each is nearer its own sample than any other (at least tenths, unless
    every sample is on a whole second and WHOLE_SECONDS_STEP apart or more)."""
    tally = LabelDigits()
    for t in times:
        tally.add(t)
    return tally.digits


class LabelDigits:
    """``label_digits`` of samples seen one at a time, in constant space: the recorder
    says its span as `report` will, without keeping every sample's time."""

    def __init__(self) -> None:
        self._last: float | None = None
        self._closest = math.inf
        self._all_whole = True

    def add(self, t: float) -> None:
        if self._last is not None:
            self._closest = min(self._closest, t - self._last)
        self._last = t
        self._all_whole = self._all_whole and abs(t - round(t)) < 5e-4

    @property
    def digits(self) -> int:
        if self._closest >= WHOLE_SECONDS_STEP and self._all_whole:
            return 0
        digits = 1
        while digits < MAX_DIGITS and 10.0**-digits > self._closest / 2:
            digits += 1
        return digits


def _rounded(seconds: float, digits: int, trim: bool) -> tuple[int, str]:
    """Whole seconds and the decimals after them ("" when none are shown), rounded:
    12:11:31.96 is 12:11:32.0, not 12:11:31.10."""
    scale = 10**digits
    whole, fraction = divmod(round(seconds * scale), scale)
    decimals = f"{fraction:0{digits}d}" if digits else ""
    if trim:
        decimals = decimals.rstrip("0")
    return whole, f".{decimals}" if decimals else ""


def clock_label(t: float, digits: int, *, trim: bool = False) -> str:
    """The local time of day of ``t`` with ``digits`` decimals: "12:11:32.8"; with
    ``trim``, without trailing zeros ("12:11:32" for 12:11:32.0)."""
    whole, decimals = _rounded(t, digits, trim)
    return time.strftime("%H:%M:%S", time.localtime(whole)) + decimals


def span_label(seconds: float, digits: int, *, trim: bool = False) -> str:
    """A duration with ``digits`` decimals: "30.0s", "1m05.5s", "1h02m03.5s"; with
    ``trim``, without trailing zeros ("30s")."""
    whole, decimals = _rounded(max(0.0, seconds), digits, trim)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m{s:02d}{decimals}s"
    return f"{m}m{s:02d}{decimals}s" if m else f"{s}{decimals}s"


def nearest_index(times: Sequence[float], when: float) -> int:
    """The sample (of ``times``, in order) nearest ``when``; halfway between two, the
    earlier: the map as it already was then."""
    i = bisect_left(times, when)
    if i == 0:
        return 0
    if i == len(times):
        return len(times) - 1
    return i - 1 if when - times[i - 1] <= times[i] - when else i


def within(when: float, start: float, end: float, interval: float) -> bool:
    """Whether a typed time ``when`` names a moment of a recording from ``start`` to
    ``end``: from the second its first sample was taken in (``10:29:44`` for one taken
    at 10:29:44.8), or an interval before it, to an interval after its last."""
    return min(math.floor(start), start - interval) <= when <= end + interval
