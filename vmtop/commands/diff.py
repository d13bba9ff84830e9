"""`vmtop diff`: compare two moments of one process, headless.

- ``vmtop diff A.json B.json``: two snapshots (``vmtop snapshot PID --format json``, or
  ``vmtop replay FILE --at TIME --format json``);
- ``vmtop diff REC [FROM [TO]]``: two moments of a recording (times as ``replay --at``
  takes them; by default its start and its end): the events the recording holds
  between them, and the RSS peak between.

Both say what is different at B, region by region (``vmtop.model.moments``): regions
new, gone, grown, shrunk, split, merged, with other permissions or resident sizes. A
recording also says which ranges were mapped or unmapped in between, so a range freed
and mapped again by something else is a region gone and a new one, not the same one
changed. Text by default, the answer first and the events recorded after it, bounded
(``diff_text``); ``--json`` one object, with every event. Exit status as diff(1)'s: 0
nothing changed, 1 something did, 2 trouble (a file that cannot be read, a bad time, a
usage error).

The summaries here (``tally_parts``, from ``diff_text``, ``net_parts``, ``between_samples``,
``figures_parts``) are the replay screen's A→B line too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
from typing import NamedTuple

from vmtop.commands.diff_text import (
    DEFAULT_EVENT_LINES,
    SIDE_BY_SIDE_ROWS,
    event_lines_option,
    recorded_lines,
    side_by_side_lines,
    tally_parts,  # noqa: F401 (the replay's A→B line takes it from here, with the rest)
)
from vmtop.commands.watch import event_record, human_lines
from vmtop.config import size_in_bytes
from vmtop.model import events as ev
from vmtop.model import moments
from vmtop.model.diff import DEFAULT_RSS_THRESHOLD
from vmtop.model.events import Event
from vmtop.model.figures_read import carried, one_read, resident_comparable, unseen_rss
from vmtop.model.names import display_command, display_name
from vmtop.model.object_totals import FIGURES, Side, compare_by, kind_of, object_of
from vmtop.model.recording_summary import peak_of
from vmtop.model.region import Snapshot
from vmtop.output.fields import totals_record
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.record.timespec import clock_label, label_digits, resolve_time, span_label, within
from vmtop.tui.formatting import format_bytes, format_delta

FORMAT = "vmtop-diff"
FORMAT_VERSION = 1
SAME, CHANGED, TROUBLE = 0, 1, 2  # diff(1)'s exit statuses

DESCRIPTION = (
    "Compare two moments of one process: two snapshots (vmtop snapshot PID --format json, "
    "or vmtop replay FILE --at TIME --format json), or two moments of a recording (FROM "
    "and TO as 'replay --at' takes them: 12:03:10, 90s, +5m, -30s, start, end; by default "
    "its start and its end). It prints the totals at both (of a recording, and the RSS "
    "peak between), what is different at B region by region (new, gone, grown, shrunk, "
    "split, merged, other permissions, resident size), then, for a recording, the events "
    "it holds between the two moments: by type, and a line each (of one sample, regions "
    "alike one line, as watch prints them), the first and last of --events lines. Two "
    "snapshots of different processes (another PID or start time), or "
    "of two programs of one (exec), are not compared region by region: each address "
    "space is laid out at random, so a region of one says nothing about the other. "
    "What each holds is: by kind and by object (a library, a file, [heap]), Size, RSS, "
    "PSS and USS at A, at B and the difference, the largest first, ten rows of each. "
    "Where smaps was not read at a moment (its budget, on a big map), the regions' "
    "resident sizes are the last read's, and it says when that was. "
    "Exit status as diff(1)'s: 0 nothing changed, 1 something did (or two processes, or "
    "an RSS change the regions' figures, read before, do not hold), 2 trouble."
)


def add_parser(sub, positive_int) -> None:
    diff = sub.add_parser(
        "diff",
        help="compare two snapshots, or two moments of a recording",
        description=DESCRIPTION,
        usage="%(prog)s [-h] [--json] [--threshold BYTES] [--events all|none|N] "
        "(A.json B.json | REC [FROM [TO]])",
    )
    diff.add_argument(
        "first",
        metavar="A.json|REC",
        help="a snapshot in JSON (A), or a recording",
    )
    diff.add_argument(
        "second",
        metavar="B.json|FROM",
        nargs="?",
        default=None,
        help="B: the snapshot to compare A with; after a recording, the time FROM "
        "(default: its start)",
    )
    diff.add_argument(
        "third",
        metavar="TO",
        nargs="?",
        default=None,
        help="after a recording: the time TO (default: its end)",
    )
    diff.add_argument(
        "--json", action="store_true", help="print one JSON object (with every event)"
    )
    diff.add_argument(
        "--events",
        type=event_lines_option,
        default=DEFAULT_EVENT_LINES,
        metavar="all|none|N",
        help="of a recording, how many lines of the events recorded between A and B the "
        "text prints, after what is different at B: all, none, or at most N (the first "
        "N/2 and the last, a line between saying how many are left out and how to print "
        f"them; default {DEFAULT_EVENT_LINES}). Of one sample, regions alike are one line, "
        "as watch prints them. --json keeps every event",
    )
    diff.add_argument(
        "--threshold",
        type=size_in_bytes,
        default=None,
        metavar="BYTES",
        help="smallest change of a region's resident size that is reported: 65536, 64K, "
        "1M (default: the config's, 64K)",
    )
    # "-30s" (30 s before the end) is a time, not an option: argparse takes a word for
    # an option unless it looks like a negative number, which this says it does.
    diff._negative_number_matcher = re.compile(r"^-\d")
    diff.set_defaults(diff_usage_error=diff.error)


# -- the two moments ------------------------------------------------------------------------


class Moment(NamedTuple):
    snapshot: Snapshot
    source: str  # the file (of a snapshot), or "sample 7/36" (of a recording)
    sample: int | None = None  # of a recording: the sample's index
    number: int | None = None  # of a recording: the sample's number in the file, from 1


class Between(NamedTuple):
    """What a recording holds between two of its samples."""

    events: list  # Event, in time order (the later sample's included, not the earlier's)
    remapped: list  # (start, end): ranges mapped or unmapped by them
    peak: tuple[int, float] | None  # the highest RSS of the samples, and when
    lost: int = 0  # samples between them lost to damage: their events are not in events


def between_samples(rec: Recording, i: int, j: int) -> Between:
    """The events recorded after sample ``min(i, j)`` up to sample ``max(i, j)``, and the
    RSS peak over those samples (both ends included)."""
    lo, hi = min(i, j), max(i, j)
    events = [e for k in range(lo + 1, hi + 1) for e in rec.samples[k].events]
    samples = rec.samples[lo : hi + 1]
    peak = peak_of([s.totals.rss if s.totals is not None else None for s in samples])
    top = (peak.value, samples[peak.at].time) if peak is not None else None
    lost = (rec.number(hi) - rec.number(lo)) - (hi - lo)
    return Between(events, moments.remapped_ranges(events), top, lost)


class Comparison(NamedTuple):
    a: Moment
    b: Moment
    net: list  # Event: what is different at B (moments.net_change)
    not_compared: str | None  # why the regions were not compared, or None
    recording: Recording | None = None
    between: Between | None = None
    threshold: int = DEFAULT_RSS_THRESHOLD
    # The regions' resident figures were compared (both have some, from two smaps reads).
    resident_compared: bool = True
    # RSS's change that the regions' figures do not hold (figures_read.unseen_rss), when
    # at least ``threshold``: a change the region by region comparison could not see.
    unseen: int = 0
    # Of two processes (or programs), whose regions are not compared: what they hold,
    # by kind and by object, side by side (object_totals); None otherwise.
    by_kind: list[Side] | None = None
    by_object: list[Side] | None = None

    @property
    def changed(self) -> bool:
        recorded = self.between is not None and any(e.event != ev.NOTE for e in self.between.events)
        return bool(self.net) or recorded or self.not_compared is not None or bool(self.unseen)


def compare(a: Moment, b: Moment, threshold: int, rec: Recording | None = None) -> Comparison:
    between = None
    remapped = None
    if rec is not None and a.sample is not None and b.sample is not None:
        between = between_samples(rec, a.sample, b.sample)
        remapped = between.remapped
    reason = moments.comparable(a.snapshot, b.snapshot)
    net = moments.net_change(a.snapshot, b.snapshot, remapped, rss_threshold=threshold)
    unseen = unseen_rss(a.snapshot, b.snapshot) if reason is None else 0
    by_kind = by_object = None
    if reason is not None:
        ra, rb = a.snapshot.regions, b.snapshot.regions
        resident = a.snapshot.has_smaps and b.snapshot.has_smaps
        by_kind = compare_by(ra, rb, kind_of, resident)
        by_object = compare_by(ra, rb, object_of, resident)
    return Comparison(
        a,
        b,
        net,
        reason,
        rec,
        between,
        threshold,
        resident_compared=resident_comparable(a.snapshot, b.snapshot),
        unseen=unseen if abs(unseen) >= threshold else 0,
        by_kind=by_kind,
        by_object=by_object,
    )


# -- summaries (the replay's A→B line too) --------------------------------------------------

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


# -- the command ----------------------------------------------------------------------------


class Trouble(Exception):
    """One line for stderr; exit status 2."""


def cmd_diff(args) -> int:
    threshold = getattr(args, "threshold", None) or DEFAULT_RSS_THRESHOLD
    try:
        comparison = _comparison(args, threshold)
    except Trouble as e:
        print(f"vmtop: {e}", file=sys.stderr)
        return TROUBLE
    out = sys.stdout
    if args.json:
        out.write(json.dumps(json_record(comparison), ensure_ascii=True) + "\n")
    else:
        shown = getattr(args, "events", DEFAULT_EVENT_LINES)
        out.write("\n".join(text_lines(comparison, shown, _all_command(args))) + "\n")
    out.flush()
    return CHANGED if comparison.changed else SAME


def _all_command(args) -> str:
    """The command line that prints every event of this diff's text: its own, with
    ``--events all`` (the moments as given, so a relative one names the same sample)."""
    words = [args.first, args.second or "start", args.third or "end"]
    return "vmtop diff " + " ".join(shlex.quote(display_name(w)) for w in words) + " --events all"


def _comparison(args, threshold: int) -> Comparison:
    from vmtop.output.json_in import SnapshotFileError, read_snapshot_file

    if _is_recording(args.first):
        if args.second is not None and os.path.isfile(args.second):
            raise Trouble(_not_two_recordings(args.second))
        rec = _open_recording(args.first)
        i = _sample_at(rec, args.second or "start", "FROM")
        j = _sample_at(rec, args.third or "end", "TO")
        if j < i:
            # What was recorded between is in time order; after B it read as the undoing
            # of changes that never were ("unmapped", "shrank" of what was only mapped).
            raise Trouble(
                f"TO ({_clock(rec, rec.time_of(j))}) is before FROM "
                f"({_clock(rec, rec.time_of(i))}): give the earlier moment first"
            )
        try:
            a, b = rec.snapshot(i), rec.snapshot(j)
        except RecordingError as e:
            raise Trouble(str(e)) from None
        # Numbered as the file numbers them (as replay does), past samples lost to damage.
        return compare(
            Moment(a, rec.label(i), i, rec.number(i)),
            Moment(b, rec.label(j), j, rec.number(j)),
            threshold,
            rec,
        )
    if (args.second is None or args.third is not None) and not os.path.isfile(args.first):
        # A recording's name mistyped (or no file at all): that, not how to call diff.
        try:
            read_snapshot_file(args.first)
        except SnapshotFileError as e:
            raise Trouble(str(e)) from None
    if args.second is None:
        args.diff_usage_error("two snapshots to compare, or a recording (REC [FROM [TO]])")
    if args.third is not None:
        args.diff_usage_error(
            f"{args.third!r}: a time TO follows a recording, not two snapshots "
            f"({args.first} is not a recording)"
        )
    try:
        a = read_snapshot_file(args.first)
        b = read_snapshot_file(args.second)
    except SnapshotFileError as e:
        raise Trouble(str(e)) from None
    return compare(Moment(a, args.first), Moment(b, args.second), threshold)


def _not_two_recordings(second: str) -> str:
    return (
        f"{display_name(second)} is a file, not a time: diff compares two moments of one "
        "recording (REC FROM TO), or two snapshots. For moments of two recordings, take a "
        "snapshot of each: vmtop replay REC1 --at TIME --format json > a.json, the same "
        "for REC2 > b.json, then vmtop diff a.json b.json"
    )


def _is_recording(path: str) -> bool:
    """Whether the file starts as a recording does (compressed, or its header line)."""
    try:
        with open(path, "rb") as f:
            head = f.read(200)
    except OSError:
        return False  # said when it is read as a snapshot
    return head[:2] == b"\x1f\x8b" or (head[:1] == b"{" and b'"vmtop-recording"' in head)


def _open_recording(path: str) -> Recording:
    from vmtop.commands.replay import print_notes

    try:
        rec = Recording.open(path)
    except RecordingError as e:
        raise Trouble(str(e)) from None
    print_notes(rec)
    return rec


def _sample_at(rec: Recording, text: str, which: str) -> int:
    """The sample nearest the time ``text`` names, as ``replay --at`` finds it."""
    try:
        when = resolve_time(text, rec.start, rec.end)
    except ValueError as e:
        raise Trouble(f"{which}: {e}") from None
    if not within(when, rec.start, rec.end, rec.interval):
        span = f"{_clock(rec, rec.start)} to {_clock(rec, rec.end)}"
        raise Trouble(f"{which} {text} is outside the recording ({span})")
    return rec.index_nearest(when)


def _clock(rec: Recording, t: float) -> str:
    return clock_label(t, rec.digits, trim=True)


# -- text ---------------------------------------------------------------------------------


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


# -- JSON -----------------------------------------------------------------------------------


def _side(m: Moment) -> dict:
    s = m.snapshot
    record: dict = {}
    if m.sample is None:
        record["file"] = m.source
    else:
        record["sample"] = m.number
    record.update(
        pid=s.info.pid,
        start_time=s.info.start_time,
        command=s.info.command,
        time=s.taken_at,
        totals=totals_record(s),
        regions=len(s.regions),
    )
    if carried(s):
        record["smaps_read_at"] = s.smaps_read_at  # the figures' moment, not ``time``'s
    return record


def json_record(c: Comparison) -> dict:
    record: dict = {"format": FORMAT, "format_version": FORMAT_VERSION}
    if c.recording is not None:
        record["recording"] = c.recording.path
    record.update(a=_side(c.a), b=_side(c.b), compared=c.not_compared is None)
    if c.not_compared is not None:
        record["not_compared"] = c.not_compared
    if c.between is not None:
        record["events"] = [event_record(e) for e in c.between.events]
        record["counts"] = {
            t.event: {"count": t.count, "delta": t.delta, "size": t.size}
            for t in moments.tally(c.between.events)
        }
        record["lost_samples"] = c.between.lost
        if c.between.peak is not None:
            record["rss_peak"] = {"rss": c.between.peak[0], "time": c.between.peak[1]}
    record["changes"] = [event_record(e) for e in c.net]
    record["resident_compared"] = c.resident_compared
    if c.unseen:
        record["unseen_rss"] = c.unseen
    if c.by_kind is not None and c.by_object is not None:
        record["by_kind"] = [_side_record(s) for s in c.by_kind]
        record["by_object"] = [_side_record(s) for s in c.by_object]
    record["changed"] = c.changed
    return record


def _side_record(side: Side) -> dict:
    """A kind or object in both processes: its sums at A and at B (null where it has
    no region) and B's less A's."""
    return {
        "name": side.name,
        "a": side.a._asdict() if side.a is not None else None,
        "b": side.b._asdict() if side.b is not None else None,
        "delta": {f: side.delta(f) for f in FIGURES},
    }
