"""`vmtop report FILE`: what a recording shows, in text: how long, how many samples and
how they were spaced (with the gaps), the peak RSS and when, the largest growths by
kind and by region, the kinds that rose and fell back, events by type.

Growth is measured from the first sample whose resident figures are known (a process
of many regions has its first sample read without smaps) and after the last exec (a
new program: growth across it would compare two programs). The computations are in
vmtop.model.recording_summary.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

from vmtop.model import events as ev
from vmtop.model.names import display_command, display_name
from vmtop.model.recording_summary import (
    Spacing,
    first_with_resident,
    kind_courses,
    nominal,
    peak_of,
    sample_spacing,
)
from vmtop.model.region_changes import SAME, region_changes
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.tui.formatting import format_bytes, format_delta

TOP = 10
NEW_PROGRAM = (ev.EXEC, ev.PID_REUSED)  # events after which the map is another program's


def add_parser(sub) -> None:
    report = sub.add_parser("report", help="summarise a recording in text")
    report.add_argument("file", metavar="FILE")
    report.add_argument("--top", type=int, default=TOP, metavar="N", help="rows per list")


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _clock(t: float) -> str:
    """The time of day, with tenths where there are any: "12:00:04.6"."""
    tenths = round(t * 10)
    whole = time.strftime("%H:%M:%S", time.localtime(tenths // 10))
    return f"{whole}.{tenths % 10}" if tenths % 10 else whole


def _span(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _seconds(seconds: float) -> str:
    return f"{round(seconds, 1):g} s"


def _spacing_words(spacing: Spacing, asked: float) -> str:
    """ "every 1 s", "every 0.7 s (0.5 s asked)", "every 1 s, then 2 s", "every 0.5-5 s"."""
    said = [nominal(s, asked) for s in spacing.intervals]
    if not said:
        return ""
    if len(said) == 1:
        extra = "" if said[0] == asked else f" ({asked:g} s asked)"
        return f" every {said[0]:g} s{extra}"
    if len(said) <= 3:
        return " every " + ", then ".join(f"{s:g} s" for s in said)
    return f" every {min(said):g}-{max(said):g} s (the interval changed {len(said) - 1} times)"


def report_lines(rec: Recording, top: int = TOP) -> list[str]:
    h = rec.header
    n = len(rec)
    totals = [s.totals for s in rec.samples]
    spacing = sample_spacing([s.time for s in rec.samples], rec.interval)
    lines = [
        f"Recording of PID {rec.pid}: {display_command(rec.command)}",
        f"  host {display_name(str(h.get('hostname', '?')))}, kernel {h.get('kernel', '?')}, "
        f"page size {h.get('page_size', '?')}, vmtop {h.get('vmtop_version', '?')}",
        f"  from {_stamp(rec.start)} to {_stamp(rec.end)} ({_span(rec.end - rec.start)}), "
        f"{n} sample{'s' if n != 1 else ''}{_spacing_words(spacing, rec.interval)}",
    ]
    for gap in spacing.gaps[:top]:
        lines.append(
            f"  no samples from {_clock(gap.start)} to {_clock(gap.end)} "
            f"({_seconds(gap.end - gap.start)}, where {_seconds(gap.expected)} was the "
            "interval): sampling paused or held up? The recording does not say why"
        )
    if len(spacing.gaps) > top:
        lines.append(f"  and {len(spacing.gaps) - top} more such gaps")
    if rec.end_reason:
        lines.append(f"  ended: {rec.end_reason}")
    lines += [f"  note: {note}" for note in rec.notes]
    new_program = 0  # the first sample of the program growth is measured in
    for i, e in rec.events():
        if e.event in NEW_PROGRAM:
            lines.append(f"  {e.event} at {_clock(e.time)}: {display_name(e.detail or '')}")
            new_program = i
    lines.append("")
    lines.append(_rss_line(rec, [t.rss if t is not None else None for t in totals]))

    first = first_with_resident(totals, new_program)
    since = _since_words(rec, first, new_program)
    lines.append("")
    if first is None:
        lines.append("Largest growths by kind (resident):")
        lines.append(f"  - (no sample{since} has resident figures: smaps was not read)")
        courses = []
    else:
        lines.append(
            f"Largest growths by kind (resident, {since or 'start → end'}, peak; sorted by growth):"
        )
        courses = kind_courses([s.kinds for s in rec.samples], first, totals)
        grown = sorted((c for c in courses if c.growth > 0), key=lambda c: (-c.growth, c.kind))
        for c in grown[:top]:
            peak = format_bytes(c.peak)
            if c.peak != c.end:
                peak += f" at {_clock(rec.time_of(c.peak_at))}"
            lines.append(
                f"  {c.kind:<14} {format_delta(c.growth):>8}  {format_bytes(c.start):>6} → "
                f"{format_bytes(c.end):>6}  peak {peak}"
            )
        if not grown:
            lines.append("  none grew")
    # Peaks are of each kind over time, across an exec too: nothing is compared there.
    first_ever = first_with_resident(totals)
    if first_ever is not None and first_ever != first:
        courses = kind_courses([s.kinds for s in rec.samples], first_ever, totals)
    fell = sorted((c for c in courses if c.rose_and_fell), key=lambda c: (c.end - c.peak, c.kind))
    if fell:
        lines.append("")
        lines.append(
            "Largest peaks by kind (rose and fell back: peak, when, start → end; "
            "sorted by the fall from the peak):"
        )
        for c in fell[:top]:
            lines.append(
                f"  {c.kind:<14} {format_bytes(c.peak):>6} at {_clock(rec.time_of(c.peak_at))}  "
                f"{format_bytes(c.start):>6} → {format_bytes(c.end):>6}"
            )
    lines.append("")
    lines.append(
        f"Largest growths by region ({since or 'start → end'}; "
        "sorted by resident growth, then size):"
    )
    lines += _region_growths(rec, new_program if first is None else first, top)
    counts = Counter(e.event for _i, e in rec.events())
    lines.append("")
    lines.append("Events by type:")
    for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {name:<20} {count}")
    if not counts:
        lines.append("  none")
    return lines


def _rss_line(rec: Recording, rss: list[int | None]) -> str:
    known = [i for i, v in enumerate(rss) if v is not None]
    peak = peak_of(rss)
    if peak is None:
        return "RSS: not recorded"
    first, last = known[0], known[-1]
    start, end = rss[first], rss[last]
    assert start is not None and end is not None
    at_start = "at the start" if first == 0 else f"at {_clock(rec.time_of(first))}"
    at_end = "at the end" if last == len(rss) - 1 else f"at {_clock(rec.time_of(last))}"
    when = rec.time_of(peak.at)
    return (
        f"RSS: {format_bytes(start)} {at_start}, {format_bytes(end)} {at_end} "
        f"({format_delta(end - start) or '±0'}), peak {format_bytes(peak.value)} at "
        f"{_stamp(when)} (+{_span(when - rec.start)})"
    )


def _since_words(rec: Recording, first: int | None, new_program: int) -> str:
    """Where growth is measured from, when not the first sample: "from 10:06:31, the
    first sample with resident figures"; for no sample with them, "after the exec"."""
    after = ""
    if new_program:
        name = rec.samples[new_program].events
        event = next((e.event for e in name if e.event in NEW_PROGRAM), ev.EXEC)
        after = " after the exec" if event == ev.EXEC else " of the new process"
    if first is None:
        return after
    if first == 0:
        return ""
    at = _clock(rec.time_of(first))
    if first == new_program:
        return f"from {at}, the first sample{after}, to the end"
    return f"from {at}, the first sample{after} with resident figures, to the end"


def _region_growths(rec: Recording, first: int, top: int) -> list[str]:
    base, last = rec.snapshot(first), rec.snapshot(len(rec) - 1)
    changes = region_changes(base, last)
    by_start = {r.start: r for r in last.regions}
    rows = []
    for start, c in changes.items():
        if c.status == SAME:
            continue
        resident = c.rss_delta or 0
        if resident > 0 or c.size_delta > 0:
            rows.append((-resident, -c.size_delta, start, c))
    rows.sort()
    out = []
    for *_key, start, c in rows[:top]:
        r = by_start[start]
        name = display_name(r.path) if r.path else "[anon]"
        size = format_delta(c.size_delta) or "±0"
        resident = (format_delta(c.rss_delta) or "±0") if c.rss_delta is not None else "-"
        out.append(
            f"  {r.start:012x}-{r.end:012x} {r.kind:<12} {c.status:<7} size {size:>7}  "
            f"RSS {resident:>7}  {name}"
        )
    return out or ["  none grew"]


def cmd_report(args) -> int:
    try:
        rec = Recording.open(args.file)
        lines = report_lines(rec, max(1, args.top))
    except RecordingError as e:
        print(f"vmtop: {e}", file=sys.stderr)
        return 1
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
