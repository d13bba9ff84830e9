"""What a recording's sample lines say, read and checked: a sample's time, totals, RSS by
kind, events and what its line leaves out because it did not change (``Carried``).

The scan (``record.scan``) reads every sample line with ``sample_values``, which checks
each value; a sample read back later from a line the scan (or the file's checksums)
vouched for is read with ``read_back_values``, which does not check them again. What is
kept of each sample is ``record.sample_index``; reading samples back from the file,
``record.read_back``.
"""

from __future__ import annotations

import json
import math
import re
from sys import intern
from typing import NamedTuple

from vmtop.model.events import Event
from vmtop.model.region import Totals
from vmtop.record import format as fmt
from vmtop.record.members import Damage

SAMPLE_LINE = b'{"type":"sample"'
_JSON_KINDS = {list: "a JSON array", str: "a JSON string", bool: "true or false"}
_REQUIRED = object()


class SampleInfo(NamedTuple):
    time: float
    totals: tuple  # vmtop.model.region.Totals
    kinds: dict  # kind -> resident bytes
    keyframe: int  # index of the sample whose keyframe this one is rebuilt from
    events: tuple  # Event, this sample's
    # The process's memory in hugetlb pages (status' HugetlbPages), which no RSS
    # counts; None where not recorded (a file written before vmtop kept it).
    hugetlb: int | None = None
    # When the regions' resident figures (and ``kinds``, and the totals summed from
    # them) were read, where smaps was not read with this sample: the time of an
    # earlier one. None: read with it (or not at all), and in files written before.
    smaps_read_at: float | None = None


# -- a sample line's values, checked ------------------------------------------------------


def read_record(line: bytes) -> dict:
    """The line as a record object with a type, or Damage saying what it is instead."""
    try:
        record = json.loads(line)
    except ValueError:  # UnicodeDecodeError is one too
        raise Damage("not JSON") from None
    if not isinstance(record, dict):
        kind = "null" if record is None else _JSON_KINDS.get(type(record), "a number")
        raise Damage(f"{kind}, not a record object")
    if "type" not in record:
        raise Damage("a record object without a type")
    return record


# The sample line of an idle sample, as the writer writes it: what most lines of a long
# recording are. Read without JSON (a third of the time of opening an idle day).
_IDLE_SAMPLE = re.compile(
    rb'\{"type":"sample","i":(0|[1-9][0-9]{0,17}),"time":(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\}'
)


def read_line(line: bytes) -> dict:
    """read_record, the sample line of an idle sample read without JSON."""
    idle = _IDLE_SAMPLE.fullmatch(line) if len(line) < 96 else None
    if idle is None:
        return read_record(line)
    return {"type": "sample", "i": int(idle[1]), "time": float(idle[2])}


def read_field(record: dict, key: str, convert, of: str, default=_REQUIRED, *, what: str = ""):
    """``convert(record[key])``, ``default`` where the key is absent, or Damage naming
    the field and the record ("bad totals in sample 5", "no time in sample 5")."""
    name = what or key
    if key not in record:
        if default is _REQUIRED:
            raise Damage(f"no {name} in {of}")
        return default
    try:
        return convert(record[key])
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
        raise Damage(f"bad {name} in {of}") from None


def read_events(rows) -> tuple:
    return tuple(Event._make(map(_shared, fmt.row_event(row))) for row in rows)


def read_kinds(value) -> dict:
    return {intern(kind): rss for kind, rss in fmt.row_kinds(value).items()}


def _shared(value):
    """One string for every line that says it (interned): JSON gives each sample line
    its own copies. A recording's events say the same few hundred things (kinds, names,
    the words of the details) thousands of times."""
    return intern(value) if type(value) is str else value


def read_time(value) -> float:
    """A sample's time: a finite number of seconds."""
    when = float(value)
    if not math.isfinite(when):
        raise ValueError(when)
    return when


class Carried(NamedTuple):
    """What a sample line leaves out when it has not changed since the one before."""

    totals: tuple | None = None
    kinds: dict = {}  # noqa: RUF012 - never changed: replaced
    hugetlb: int | None = None


NOTHING_CARRIED = Carried()


def sample_values(record: dict, carried: Carried, of: str) -> tuple:
    """(time, totals, kinds, events, hugetlb, smaps_read_at) of a sample line, with
    what it leaves out ``carried``; Damage where one does not hold what it should."""
    totals = carried.totals
    if "totals" in record:
        totals = read_field(record, "totals", fmt.row_totals, of)
    kinds = carried.kinds
    if "kinds" in record:
        kinds = read_field(record, "kinds", read_kinds, of, what="resident bytes by kind")
    events = read_field(record, "events", read_events, of) if "events" in record else ()
    hugetlb = carried.hugetlb
    if "hugetlb" in record:
        hugetlb = read_field(record, "hugetlb", fmt.row_hugetlb_total, of)
    when = read_field(record, "time", read_time, of)
    read_at = None
    if "smaps_read_at" in record:
        read_at = read_field(record, "smaps_read_at", read_time, of, what="smaps read time")
    return when, totals, kinds, events, hugetlb, read_at


_TOTALS = len(fmt.TOTALS_FIELDS)
_EVENT = len(fmt.EVENT_FIELDS)


def read_back_values(record: dict, carried: Carried) -> tuple:
    """sample_values of a line the scan checked: its values are not checked again
    (that took two thirds of reading a busy recording back). Fields a later vmtop
    added are left out, as there."""
    totals = record.get("totals")
    totals = carried.totals if totals is None else Totals(*totals[:_TOTALS])
    kinds = record.get("kinds")
    kinds = carried.kinds if kinds is None else {intern(k): v for k, v in kinds.items()}
    events = record.get("events")
    if events:
        events = tuple(Event(*map(_shared, row[:_EVENT])) for row in events)
    hugetlb = record["hugetlb"] if "hugetlb" in record else carried.hugetlb
    read_at = record.get("smaps_read_at")
    return (
        float(record["time"]),
        totals,
        kinds,
        events or (),
        hugetlb,
        None if read_at is None else float(read_at),
    )


def timeline_rss(totals, kinds: dict) -> int:
    """The RSS the timeline stacks for a sample: its RSS by kind summed, else VmRSS."""
    if kinds:
        return sum(kinds.values())
    return (totals.rss or 0) if totals is not None else 0
