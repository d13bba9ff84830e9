"""The times people type to move in a recording: a clock time, or a duration.

- ``12:03`` / ``12:03:10`` / ``12:03:10.5``: that time of day (local time), the first
  time it occurs at or after the recording's start (a recording may cross midnight);
- ``90s``, ``5m``, ``1h30m``, ``2m10s``, ``45`` (seconds): that long after the start;
- ``+5m`` / ``-30s``: that long after / before ``now`` (the position on screen), or,
  with no position (headless), after the start / before the end;
- ``start``, ``end``.
"""

from __future__ import annotations

import re
import time

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
