"""What ``vmtop diff REC`` prints of the events recorded between A and B: after the
answer (the totals, what is different at B), folded as ``watch`` folds them (of one
sample, regions alike a line) and bounded: six minutes of a Node process are thousands
of lines, and the answer scrolled away above them. ``--json`` keeps every event.

Of two processes, whose regions are not compared, what each holds by kind and by object
(``vmtop.model.object_totals``), a table each, bounded by ``--top`` as ``report``'s lists
are."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from vmtop.commands.watch import human_line
from vmtop.model import event_runs, moments
from vmtop.model import events as ev
from vmtop.model.names import display_name
from vmtop.model.object_totals import FIGURES, Side
from vmtop.tui.formatting import format_bytes, format_delta

# How many lines of events the text prints by default: the first half and the last.
DEFAULT_EVENT_LINES = 40
# How many kinds, and objects, of two processes the text lines up (diff --top, as report's).
SIDE_BY_SIDE_ROWS = 10


def event_lines_option(text: str) -> int | None:
    """``--events``: ``all`` (None: no bound), ``none`` (0) or how many lines at most."""
    word = text.strip().lower()
    if word == "all":
        return None
    if word == "none":
        return 0
    try:
        n = int(word)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: all, none or a number of lines (40)")
    return n


def tally_parts(events) -> list[str]:
    """The events by type, each with its count and what it changed: "mapped 22 (+150M)"."""
    return [
        f"{t.event} {t.count}" + (f" ({format_delta(t.delta)})" if t.delta else "")
        for t in moments.tally(events)
    ]


def recorded_lines(
    events: list,
    lost: int,
    same_sample: bool,
    shown: int | None,
    all_command: str,
    clock: Callable[[float], str],
) -> list[str]:
    """The section "Recorded between A and B": the events by type, the samples lost to
    damage, then the events a line each (of one sample, regions alike one line): all of
    them where ``shown`` is None, else the first and the last of at most ``shown`` lines,
    and between them how many events are not printed and ``all_command``, which prints
    them."""
    if same_sample:
        return ["Recorded between A and B: nothing (A and B are the same sample)"]
    if not events:
        lines = ["Recorded between A and B: no events"]
    else:
        changes = sum(e.event != ev.NOTE for e in events)
        head = f"Recorded between A and B: {changes} event{'s' if changes != 1 else ''}"
        parts = tally_parts(events)
        lines = [head + (": " + " · ".join(parts) if parts else "")]
    if lost:
        lines.append(
            f"Lost to damage between A and B: {lost} sample{'s' if lost != 1 else ''}; "
            "what they recorded is not counted here"
        )
    runs = event_runs.sample_lines(events)
    if shown is None or len(runs) <= shown:
        return lines + ["  " + _line(r) for r in runs]
    first = shown - shown // 2
    hidden = runs[first : len(runs) - shown // 2]
    lines += ["  " + _line(r) for r in runs[:first]]
    lines.append("  " + _not_printed(hidden, shown, all_command, clock))
    lines += ["  " + _line(r) for r in runs[len(runs) - shown // 2 :]]
    return lines


def _line(run: event_runs.EventRun) -> str:
    return human_line(run.event, event_runs.regions(run))


def _not_printed(hidden: list, shown: int, all_command: str, clock: Callable[[float], str]) -> str:
    """ "… 2 740 more events (1 370 lines) recorded from 10:02:01.2 to 10:07:58.9: vmtop
    diff … --events all": what the bound left out, and how to print it."""
    count = sum(r.count for r in hidden)
    events = f"{_thousands(count)} {'more ' if shown else ''}event{'s' if count != 1 else ''}"
    first, last = clock(hidden[0].event.time), clock(hidden[-1].event.time)
    span = f"at {first}" if first == last else f"from {first} to {last}"
    said = "recorded" if shown else "not printed, recorded"
    return (
        f"… {events} ({_thousands(len(hidden))} line{'s' if len(hidden) != 1 else ''}) "
        f"{said} {span}: {all_command}"
    )


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", " ")


_LABELS = {"size": "Size", "rss": "RSS", "pss": "PSS", "uss": "USS"}
_WIDTH = 7  # a figure ("1023K", "-1.5G") and two spaces


def side_by_side_lines(title: str, sides: list[Side], shown: int = SIDE_BY_SIDE_ROWS) -> list[str]:
    """``title`` ("By kind") and a table of ``sides``, as ``pmap -x`` has its columns
    (the name last): Size, RSS, PSS and USS at A, at B and B's less A's, the first
    ``shown`` rows (largest difference first), then how many more, their RSS, and the
    ``--top`` that lists them all."""
    word = title.split()[-1]
    head = "".join(f"{_LABELS[f] + x:>{_WIDTH}}" for f in FIGURES for x in (" A", " B", " Δ"))
    lines = [f"{title}, A and B side by side (the largest difference first):", head + f"  {word}"]
    for side in sides[:shown]:
        cells = []
        for f in FIGURES:
            was = getattr(side.a, f) if side.a is not None else None
            now = getattr(side.b, f) if side.b is not None else None
            delta = side.delta(f)
            change = "-" if delta is None else format_delta(delta) or "0"
            cells += [format_bytes(was), format_bytes(now), change]
        only = " (only in A)" if side.b is None else " (only in B)" if side.a is None else ""
        name = display_name(side.name) + only
        lines.append("".join(f"{c:>{_WIDTH}}" for c in cells) + "  " + name)
    rest = sides[shown:]
    if rest:
        plural = {"kind": "kinds", "object": "objects"}.get(word, word)
        rss = [s.delta("rss") for s in rest]
        moved = sum(d for d in rss if d is not None)
        between = (
            f": RSS {format_delta(moved) or '±0'} between them"
            if any(d is not None for d in rss)
            else ""
        )
        lines.append(
            f"  … and {len(rest)} more {plural if len(rest) > 1 else word}{between} "
            f"(--top {len(sides)} lists them all)"
        )
    return lines
