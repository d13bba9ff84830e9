"""The replay's marks A and B compared: the line under the timeline, and the Δ columns
since A.

The line says first what the recording saw between A and B (the RSS at both and its
peak between, the events by type with their sizes), then what is different at B, the
two ends compared region by region ("ends: …"). The Δ columns compare a region with A
only where it is the same mapping at both moments and nothing was mapped or unmapped
over it in between (``vmtop.model.moments``): any other region is new since A, with no
change worked out by address.
"""

from __future__ import annotations

from vmtop.commands.diff import between_samples, figures_parts, net_parts, tally_parts
from vmtop.model import moments
from vmtop.model.hugetlb_regions import counting_hugetlb
from vmtop.record.reader import Recording
from vmtop.record.timespec import clock_label, span_label
from vmtop.tui.formatting import format_bytes, format_delta
from vmtop.tui.sampler import BASELINE_RSS_THRESHOLD, RSS_THRESHOLD, view_changes

AB_SEPARATOR = "  ·  "
RECORDED = "recorded between: "  # the events recorded from A to B, tallied
ENDS = "ends: "  # what is different at B, region by region


def ab_text(rec: Recording, a: int, b: int) -> str:
    """What happened from sample ``a`` to sample ``b``, in parts (AB_SEPARATOR)."""
    old, new = rec.snapshot(a), rec.snapshot(b)
    digits = rec.digits
    span = new.taken_at - old.taken_at
    parts = [
        f"A {clock_label(old.taken_at, digits)} → B {clock_label(new.taken_at, digits)} "
        f"({'+' if span >= 0 else '-'}{span_label(abs(span), digits)})",
    ]
    rss_a, rss_b = old.totals.rss, new.totals.rss
    rss = f"RSS {format_bytes(rss_a)} → {format_bytes(rss_b)}"
    if rss_a is not None and rss_b is not None:
        rss += f" ({format_delta(rss_b - rss_a) or '±0'})"
    between = between_samples(rec, a, b)
    if between.peak is not None and between.peak[0] > max(rss_a or 0, rss_b or 0):
        value, when = between.peak
        rss += f", peak {format_bytes(value)} at {clock_label(when, digits, trim=True)}"
    parts.append(rss)
    if a == b:
        parts.append("A and B are the same sample")
        return AB_SEPARATOR.join(parts)
    recorded = tally_parts(between.events)
    if recorded:
        parts.append(RECORDED + recorded[0])
        parts += recorded[1:]
    else:
        parts.append(RECORDED + "no events")
    ends = f"{ENDS}regions {len(old.regions)} → {len(new.regions)}"
    reason = moments.comparable(old, new)
    if reason is not None:
        parts.append(f"{ends}, not compared (two programs)")
        return AB_SEPARATOR.join(parts)
    net = moments.net_change(old, new, between.remapped, rss_threshold=RSS_THRESHOLD)
    if not net:
        parts.append(f"{ends}, no change")
    else:
        parts.append(ends)
        parts += net_parts(net)
    # Where smaps was not read with A or B: when their figures were, and what RSS did
    # that they cannot show.
    parts += figures_parts(old, new, RSS_THRESHOLD, digits)
    return AB_SEPARATOR.join(parts)


def changes_since_mark(rec: Recording, a: int, j: int) -> dict:
    """The Δ columns of sample ``j`` against sample ``a`` (the mark A), as the views
    show them (``vmtop.tui.sampler.RegionChange``, unchanged regions left out)."""
    between = between_samples(rec, a, j)
    base, cur = rec.snapshot(a), rec.snapshot(j)
    changes = moments.changes_since(
        base, cur, between.remapped, rss_threshold=BASELINE_RSS_THRESHOLD
    )
    # Memory in hugetlb pages counted resident, as in the bar (in no Rss).
    changes = counting_hugetlb(changes, base, cur, BASELINE_RSS_THRESHOLD)
    return view_changes(changes, BASELINE_RSS_THRESHOLD)


def ab_lines(text: str, width: int, max_lines: int | None = None) -> str:
    """The A→B line broken between its parts, never inside one ("regions 24 →" at the
    end of a line and "25" on the next), each line indented by one; with ``max_lines``,
    no more lines than that. Short of room, the tally of what was recorded between A
    and B gives way first, to "…", so that what is different at B ("ends: ...") stays
    (at 80×24 the tally took both lines: review); then the last line ends in "…"."""
    parts = text.split(AB_SEPARATOR)
    lines = _wrapped(parts, width)
    if max_lines is None or len(lines) <= max_lines:
        return _indented(lines)
    first = next((k for k, p in enumerate(parts) if p.startswith(RECORDED)), None)
    ends = next((k for k, p in enumerate(parts) if p.startswith(ENDS)), None)
    if first is not None and ends is not None and first < ends:
        tally = parts[first:ends]
        while tally:
            tally = tally[:-1]
            kept = [*tally, "…"] if tally else [RECORDED + "…"]
            parts_kept = [*parts[:first], *kept, *parts[ends:]]
            lines = _wrapped(parts_kept, width)
            if len(lines) <= max_lines:
                return _indented(lines)
    lines = lines[:max_lines]
    last = lines[-1]
    if len(last) + 3 > width:
        last = last[: last.rfind(AB_SEPARATOR)] if AB_SEPARATOR in last else last[: width - 3]
    lines[-1] = last + "  …"
    return _indented(lines)


def _wrapped(parts: list[str], width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for part in parts:
        longer = f"{line}{AB_SEPARATOR}{part}" if line else part
        if line and len(longer) > width:
            lines.append(line)
            line = part
        else:
            line = longer
    lines.append(line)
    return lines


def _indented(lines: list[str]) -> str:
    return "\n".join(" " + line for line in lines)
