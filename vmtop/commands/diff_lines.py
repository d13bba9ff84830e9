"""What ``vmtop diff`` prints, as text: A and B (the file or the sample, when, and of
whom), the totals at both, what is different at B region by region, then the sections
of ``diff_text``: of a recording the events recorded between, of two processes what
each holds by kind and by object.

Two of the summaries here (``net_parts``, ``figures_parts``) are the replay screen's
A→B line too.
"""

from __future__ import annotations

import shlex
import time
from typing import TYPE_CHECKING

from vmtop.commands.diff_text import (
    DEFAULT_EVENT_LINES,
    SIDE_BY_SIDE_ROWS,
    recorded_lines,
    side_by_side_lines,
)
from vmtop.commands.watch import human_lines
from vmtop.model import events as ev
from vmtop.model import moments
from vmtop.model.events import Event
from vmtop.model.figures_read import carried, one_read, unseen_rss
from vmtop.model.names import display_command, display_name
from vmtop.model.region import Snapshot
from vmtop.record.reader import Recording
from vmtop.record.timespec import clock_label, label_digits, span_label
from vmtop.tui.formatting import format_bytes, format_delta

if TYPE_CHECKING:  # (for annotations only: diff imports this module to print with it)
    from vmtop.commands.diff import Comparison

# -- summaries (two of them the replay's A→B line too) --------------------------------------------------

# What a region-level change is called in a summary ("3 new (+40M)").
NET_WORDS = {
    ev.MAPPED: "new",
    ev.UNMAPPED: "gone",
    moments.REGION_GREW: "grew",
    ev.HEAP_GREW: "grew",
    ev.STACK_GREW: "grew",
    moments.REGION_SHRANK: "shrank",
    ev.HEAP_SHRANK: "shrank",
    ev.STACK_SHRANK: "shrank",
    ev.SPLIT: "split",
    ev.MERGED: "merged",
    ev.PROTECTION_CHANGED: "other permissions",
    ev.FILE_RENAMED: "file renamed",
    ev.RSS_CHANGED: "resident changed",
    ev.SWAP_CHANGED: "swap changed",
    ev.SHARED_CHANGED: "shared changed",
    ev.LAZYFREE_CHANGED: "lazily freed",
    ev.COPIED_ON_WRITE: "copied on write",
}


def net_parts(net: list[Event]) -> list[str]:
    """What is different at B, by kind of change: "16 new (+66M)", "1 shrank (-100M)"."""
    counts: dict[str, list[int]] = {}
    for e in net:
        entry = counts.setdefault(NET_WORDS.get(e.event, e.event), [0, 0])
        entry[0] += 1
        entry[1] += e.delta
    order = list(dict.fromkeys(NET_WORDS.values()))
    words = sorted(counts, key=lambda w: order.index(w) if w in order else len(order))
    return [
        f"{counts[w][0]} {w}" + (f" ({format_delta(counts[w][1])})" if counts[w][1] else "")
        for w in words
    ]


def totals_parts(a: Snapshot, b: Snapshot) -> list[str]:
    """The totals at A and at B: "RSS 1.2M → 42M (+41M)", ..., "regions 24 → 40"."""
    parts = []
    figures = (
        ("size", "size"), ("RSS", "rss"), ("SHR", "shr"), ("PSS", "pss"), ("USS", "uss"),
        ("swap", "swap"),
    )  # fmt: skip
    for label, key in figures:
        was, now = getattr(a.totals, key), getattr(b.totals, key)
        if not was and not now and key != "size":
            continue  # (no swap, or no figures: nothing to say)
        change = "?" if was is None or now is None else (format_delta(now - was) or "±0")
        parts.append(f"{label} {format_bytes(was)} → {format_bytes(now)} ({change})")
    was, now = _hugetlb_total(a), _hugetlb_total(b)
    if was or now:  # (in no RSS: a database's shared buffers with huge_pages=on)
        change = "?" if was is None or now is None else (format_delta(now - was) or "±0")
        parts.append(f"hugetlb {format_bytes(was)} → {format_bytes(now)} ({change})")
    parts.append(f"regions {len(a.regions)} → {len(b.regions)}")
    return parts


def figures_parts(a: Snapshot, b: Snapshot, threshold: int, digits: int) -> list[str]:
    """For the replay's A→B line: when the regions' resident figures at A and B were
    read, where smaps was not read with one of them ("resident figures read at 10:50:33.6
    and 10:50:35.6", or of one read: not compared), and RSS's change they do not hold."""
    if not (carried(a) or carried(b)):
        return []
    at_a = clock_label(a.figures_read_at, digits, trim=True)
    if one_read(a, b):
        parts = [f"resident figures of one smaps read ({at_a}): not compared"]
    else:
        at_b = clock_label(b.figures_read_at, digits, trim=True)
        parts = [f"resident figures read at {at_a} and {at_b}"]
    unseen = unseen_rss(a, b)
    if abs(unseen) >= threshold:
        parts.append(f"RSS {format_delta(unseen)} not seen by region")
    return parts


def _hugetlb_total(snap: Snapshot) -> int | None:
    """The process's memory in hugetlb pages (status' HugetlbPages), if it says."""
    value = snap.status.get("HugetlbPages") if snap.status else None
    return value if isinstance(value, int) else None


# -- the text ---------------------------------------------------------------------------


def _untimed(line: str) -> str:
    """A ``human_line`` without its time: a net change is of no one moment."""
    return line.split("  ", 1)[1].lstrip()


def text_lines(
    c: Comparison,
    events_shown: int | None = DEFAULT_EVENT_LINES,
    all_command: str | None = None,
    top: int = SIDE_BY_SIDE_ROWS,
) -> list[str]:
    """The comparison as text: A and B and their totals, what is different at B region by
    region, then (of a recording) the events recorded between, at most ``events_shown``
    lines of them (None: all); ``all_command`` is the command line that prints them all."""
    a, b = c.a.snapshot, c.b.snapshot
    rec = c.recording
    digits = rec.digits if rec is not None else label_digits(sorted((a.taken_at, b.taken_at)))
    span = b.taken_at - a.taken_at
    apart = span_label(abs(span), digits, trim=True)
    # (B taken before A: snapshots given newest first. "-3.3s after A" said it backwards.)
    after = f", +{apart} after A" if span >= 0 else f", {apart} before A"
    read_a, read_b = _read_at(a, digits), _read_at(b, digits)
    if rec is not None:
        lines = [f"Recording {display_name(rec.path)} of PID {rec.pid}: "]
        lines[0] += display_command(rec.command)
        lines.append(f"A  {_stamp(a.taken_at, digits)} ({c.a.source}{read_a})")
        lines.append(f"B  {_stamp(b.taken_at, digits)} ({c.b.source}{read_b}){after}")
    else:
        lines = [
            f"A  {display_name(c.a.source)}: {_process(a)}, taken "
            f"{_stamp(a.taken_at, digits)}{read_a}",
            f"B  {display_name(c.b.source)}: {_process(b)}, taken "
            f"{_stamp(b.taken_at, digits)}{after}{read_b}",
        ]
    lines.append("   " + " · ".join(totals_parts(a, b)))
    if carried(a) or carried(b):
        lines.append("   " + _figures_words(c, digits))
    between = c.between
    if between is not None and between.peak is not None:
        value, when = between.peak
        lines.append(f"   RSS peak between A and B: {format_bytes(value)} at {_clock(rec, when)}")
    if c.not_compared is not None:
        lines += ["", f"Regions not compared: {c.not_compared}."]
        if c.by_kind is not None and c.by_object is not None:
            lines += [""] + side_by_side_lines("By kind", c.by_kind, top)
            lines += [""] + side_by_side_lines("By object", c.by_object, top)
    if c.not_compared is None:
        lines.append("")
        if c.net:
            lines.append(
                "What is different at B, region by region: " + " · ".join(net_parts(c.net))
            )
            # (Of regions alike, a line: 1 000 pages of V8's heap new at B were as many.)
            lines += ["  " + _untimed(line) for line in human_lines(list(c.net))]
        elif not c.resident_compared and a.has_smaps and b.has_smaps:
            lines.append(
                "What is different at B, region by region: the same regions; resident sizes "
                "not compared (A and B have the figures of one smaps read)"
            )
        else:
            lines.append(
                "What is different at B, region by region: nothing (the same regions; "
                f"resident sizes within {format_bytes(c.threshold)})"
            )
        if c.unseen:
            lines.append(
                f"Not seen region by region: RSS {format_delta(c.unseen)} (status, at A and "
                "at B) that the regions' resident figures do not hold, as they were read "
                "before (above)"
            )
    if between is not None and rec is not None:
        # After the answer, not before it: six minutes of events are thousands of lines.
        lines.append("")
        lines += recorded_lines(
            list(between.events),
            between.lost,
            c.a.sample == c.b.sample,
            events_shown,
            all_command or f"vmtop diff {shlex.quote(display_name(rec.path))} --events all",
            lambda t: _clock(rec, t),
        )
    return lines


def _read_at(s: Snapshot, digits: int) -> str:
    """The words after a moment's sample that carried an earlier smaps read's figures
    ("; resident figures read at 10:50:33.6"), else nothing."""
    if not carried(s):
        return ""
    assert s.smaps_read_at is not None
    return f"; resident figures read at {clock_label(s.smaps_read_at, digits, trim=True)}"


def _figures_words(c: Comparison, digits: int) -> str:
    """Which moments the regions' resident figures (and PSS, USS) are of, where smaps
    was not read at A or at B."""
    a, b = c.a.snapshot, c.b.snapshot
    at_a = clock_label(a.figures_read_at, digits, trim=True)
    at_b = clock_label(b.figures_read_at, digits, trim=True)
    if one_read(a, b):
        return (
            f"smaps was read at {at_a}, not again up to B: the regions' resident sizes, "
            "PSS and USS at A and B are that read's, so they are not compared region by "
            "region; RSS is each moment's own (status)"
        )
    return (
        f"the regions' resident sizes, PSS and USS are as smaps read them at {at_a} (A) and "
        f"{at_b} (B), the last reads at or before each; RSS is each moment's own (status)"
    )


def _process(s: Snapshot) -> str:
    # (Its start time, in clock ticks after boot, is its identity and no time a person
    # reads: the JSON has it.)
    return f"PID {s.info.pid} ({display_command(s.info.command)})"


def _stamp(t: float, digits: int) -> str:
    return time.strftime("%Y-%m-%d ", time.localtime(round(t, digits))) + clock_label(
        t, digits, trim=True
    )


def _clock(rec: Recording, t: float) -> str:
    return clock_label(t, rec.digits, trim=True)
