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
(``diff_lines``, with ``diff_text``'s sections); ``--json`` one object, with every event
(``diff_json``). Exit status as diff(1)'s: 0 nothing changed, 1 something did, 2
trouble (a file that cannot be read, a bad time, a usage error).

Here are the arguments, the comparison and the command. ``between_samples``, and the
summaries taken from the text's modules (``tally_parts``, ``net_parts``,
``figures_parts``), are the replay screen's A→B line too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from typing import NamedTuple

from vmtop.commands.diff_json import json_record
from vmtop.commands.diff_lines import text_lines
from vmtop.commands.diff_text import (
    DEFAULT_EVENT_LINES,
    SIDE_BY_SIDE_ROWS,
    event_lines_option,
)
from vmtop.config import size_in_bytes
from vmtop.model import events as ev
from vmtop.model import moments
from vmtop.model.diff import DEFAULT_RSS_THRESHOLD
from vmtop.model.figures_read import resident_comparable, unseen_rss
from vmtop.model.names import display_name
from vmtop.model.object_totals import Side, compare_by_each, kind_of, object_of
from vmtop.model.recording_summary import peak_of
from vmtop.model.region import Snapshot
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.record.timespec import clock_label, resolve_time, within

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
    "PSS and USS at A, at B and the difference, the largest first, ten rows of each "
    "(--top N: N rows). "
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
        usage="%(prog)s [-h] [--json] [--threshold BYTES] [--events all|none|N] [--top N] "
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
        "--top",
        type=positive_int,
        default=SIDE_BY_SIDE_ROWS,
        metavar="N",
        help="of two processes, how many kinds and how many objects the text lists, the "
        "largest difference first; a line then says how many more, and the --top that "
        f"lists them all (default {SIDE_BY_SIDE_ROWS}). --json keeps every one",
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
        by_kind, by_object = compare_by_each(ra, rb, (kind_of, object_of), resident)
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
        top = getattr(args, "top", SIDE_BY_SIDE_ROWS)
        out.write("\n".join(text_lines(comparison, shown, _all_command(args), top)) + "\n")
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
