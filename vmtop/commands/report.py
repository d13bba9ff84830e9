"""`vmtop report FILE`: what a recording shows, in text: how long, how many samples,
the peak RSS and when, the largest growths by kind and by region, events by type."""

from __future__ import annotations

import sys
import time
from collections import Counter

from vmtop.model.names import display_name
from vmtop.model.region_changes import SAME, region_changes
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.tui.formatting import format_bytes, format_delta

TOP = 10


def add_parser(sub) -> None:
    report = sub.add_parser("report", help="summarise a recording in text")
    report.add_argument("file", metavar="FILE")
    report.add_argument("--top", type=int, default=TOP, metavar="N", help="rows per list")


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _span(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def report_lines(rec: Recording, top: int = TOP) -> list[str]:
    h = rec.header
    n = len(rec)
    lines = [
        f"Recording of PID {rec.pid}: {display_name(rec.command)}",
        f"  host {display_name(str(h.get('hostname', '?')))}, kernel {h.get('kernel', '?')}, "
        f"page size {h.get('page_size', '?')}, vmtop {h.get('vmtop_version', '?')}",
        f"  from {_stamp(rec.start)} to {_stamp(rec.end)} ({_span(rec.end - rec.start)}), "
        f"{n} samples every {rec.interval:g} s",
    ]
    if rec.end_reason:
        lines.append(f"  ended: {rec.end_reason}")
    lines += [f"  note: {note}" for note in rec.notes]
    rss = [(s.totals.rss or 0) if s.totals is not None else 0 for s in rec.samples]
    peak_i = max(range(n), key=lambda i: rss[i])
    lines.append("")
    lines.append(
        f"RSS: {format_bytes(rss[0])} at the start, {format_bytes(rss[-1])} at the end "
        f"({format_delta(rss[-1] - rss[0]) or '±0'}), peak {format_bytes(rss[peak_i])} at "
        f"{_stamp(rec.time_of(peak_i))} (+{_span(rec.time_of(peak_i) - rec.start)})"
    )
    first_kinds, last_kinds = rec.samples[0].kinds, rec.samples[-1].kinds
    peak_kinds: dict[str, int] = {}
    for s in rec.samples:
        for kind, value in s.kinds.items():
            if value > peak_kinds.get(kind, 0):
                peak_kinds[kind] = value
    growth = sorted(
        ((last_kinds.get(k, 0) - first_kinds.get(k, 0), k) for k in peak_kinds),
        reverse=True,
    )
    lines.append("")
    lines.append("Largest growths by kind (resident, start → end, peak):")
    shown = [(d, k) for d, k in growth if d > 0][:top]
    for d, k in shown:
        lines.append(
            f"  {k:<14} {format_delta(d):>8}  {format_bytes(first_kinds.get(k, 0)):>6} → "
            f"{format_bytes(last_kinds.get(k, 0)):>6}  peak {format_bytes(peak_kinds[k])}"
        )
    if not shown:
        lines.append("  none grew")
    lines.append("")
    lines.append("Largest growths by region (start → end):")
    lines += _region_growths(rec, top)
    counts = Counter(e.event for _i, e in rec.events())
    lines.append("")
    lines.append("Events by type:")
    for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {name:<20} {count}")
    if not counts:
        lines.append("  none")
    return lines


def _region_growths(rec: Recording, top: int) -> list[str]:
    first, last = rec.snapshot(0), rec.snapshot(len(rec) - 1)
    changes = region_changes(first, last)
    by_start = {r.start: r for r in last.regions}
    rows = []
    for start, c in changes.items():
        if c.status == SAME:
            continue
        growth = c.rss_delta if c.rss_delta is not None else c.size_delta
        if growth > 0 or c.size_delta > 0:
            rows.append((max(growth, c.size_delta), start, c))
    rows.sort(key=lambda row: (-row[0], row[1]))
    out = []
    for _g, start, c in rows[:top]:
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
