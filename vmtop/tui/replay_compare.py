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

import re

from vmtop.commands.diff import between_samples
from vmtop.commands.diff_lines import figures_parts, net_parts
from vmtop.commands.diff_text import tally_parts
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
    no more lines than that.

    Short of room, what says least about A and B gives way first (``_shorter``), so
    that what was recorded between them and what is different at B stay: at 80×24 the
    peak's time took the room and both were cut to "…" (review). The last resort, the
    last line ends in "…"."""
    parts = text.split(AB_SEPARATOR)
    lines = _wrapped(parts, width, AB_SEPARATOR)
    if max_lines is None or len(lines) <= max_lines:
        return _indented(lines)
    for shorter in _shorter(parts):
        lines = _wrapped(shorter, width, TIGHT_SEPARATOR)
        if len(lines) <= max_lines:
            return _indented(lines)
    lines = lines[:max_lines]
    last = lines[-1]
    if len(last) + 3 > width:
        cut = last.rfind(TIGHT_SEPARATOR)
        last = last[:cut] if cut > 0 else last[: width - 3]
    lines[-1] = last + "  …"
    return _indented(lines)


TIGHT_SEPARATOR = " · "  # short of room: two columns a part are worth more than air
_PEAK_TIME = re.compile(r"(, peak \S+) at .+$")  # of the "RSS ..." part
_PEAK = re.compile(r", peak \S+$")
_CLOCKS = re.compile(r"^A .+ → B .+ \(([^()]+)\)$")  # "A 18:36:40.1 → B 18:36:55.1 (+15s)"
_ENDS_COUNT = re.compile(r"^ends: regions \S+ → \S+(, )?")
TALLY_KEPT = 2  # the tally's first parts (mapped, unmapped...) outlast the ends' count


def _shorter(parts: list[str]):
    """``parts`` made shorter and shorter, each step giving up what says least:
    the peak's time, the peak, the clocks of A and B (the span stays: the timeline
    shows the marks), the tally of events recorded between A and B from its end to its
    TALLY_KEPT first parts, the ends' region count (the header has it), and then the
    rest of the tally, to "…"."""
    parts = list(parts)
    yield parts
    for pattern, keep in ((_PEAK_TIME, r"\1"), (_PEAK, "")):
        parts = [pattern.sub(keep, p) if p.startswith("RSS ") else p for p in parts]
        yield parts
    parts = [_CLOCKS.sub(r"A→B \1", p) for p in parts]
    yield parts
    first = next((k for k, p in enumerate(parts) if p.startswith(RECORDED)), None)
    ends = next((k for k, p in enumerate(parts) if p.startswith(ENDS)), None)
    if first is None or ends is None or first > ends:
        return
    tally, head, tail = parts[first:ends], parts[:first], parts[ends:]
    for kept in range(len(tally) - 1, TALLY_KEPT - 1, -1):
        yield [*head, *tally[:kept], "…", *tail]
    kept = tally[:TALLY_KEPT]
    given_up = ["…"] if len(tally) > TALLY_KEPT else []
    if _ENDS_COUNT.match(tail[0]):
        count_less = _ENDS_COUNT.sub(ENDS, tail[0])
        if count_less == ENDS and tail[1:]:  # "ends: 1 new (+256M)"
            tail = [ENDS + tail[1], *tail[2:]]
        else:  # "ends: no change"
            tail = [count_less, *tail[1:]]
        yield [*head, *kept, *given_up, *tail]
    for n in range(len(kept) - 1, -1, -1):
        yield [*head, *kept[:n], "…", *tail] if n else [*head, RECORDED + "…", *tail]


def _wrapped(parts: list[str], width: int, separator: str) -> list[str]:
    lines: list[str] = []
    line = ""
    for part in parts:
        longer = f"{line}{separator}{part}" if line else part
        if line and len(longer) > width:
            lines.append(line)
            line = part
        else:
            line = longer
    lines.append(line)
    return lines


def _indented(lines: list[str]) -> str:
    return "\n".join(" " + line for line in lines)
