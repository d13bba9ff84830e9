"""What ``vmtop diff --json`` prints: the comparison (``vmtop.commands.diff``) as one
object, with every event recorded between A and B and every kind and object of two
processes, where the text is bounded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmtop.commands.watch import event_record
from vmtop.model import moments
from vmtop.model.figures_read import carried
from vmtop.model.object_totals import FIGURES, Side
from vmtop.output.fields import totals_record

if TYPE_CHECKING:  # (for annotations only: diff imports this module to print with it)
    from vmtop.commands.diff import Comparison, Moment

FORMAT = "vmtop-diff"
FORMAT_VERSION = 1


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


def _side_record(side: Side) -> dict:
    """A kind or object in both processes: its sums at A and at B (null where it has
    no region) and B's less A's."""
    return {
        "name": side.name,
        "a": side.a._asdict() if side.a is not None else None,
        "b": side.b._asdict() if side.b is not None else None,
        "delta": {f: side.delta(f) for f in FIGURES},
    }
