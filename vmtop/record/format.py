"""The recording format, version 1: what each line holds, and how values are encoded.

A recording is JSON Lines, gzip-compressed, one gzip member per keyframe (so a reader
can start decompressing at any keyframe), and a new one after every 1024 samples in
one (writer.MEMBER_SAMPLES: so a reader can read any sample line back decompressing no
more than that many; files written before hold an idle stretch in one member, and a
reader takes members as they come). Lines, in order:

- ``{"type": "header", ...}``: once, first (see ``header_record``);
- per sample, a body then its commit line: the body is ``{"type": "keyframe", ...}``
  (the whole map) or ``{"type": "delta", ...}`` (only what changed since the previous
  sample); the commit line ``{"type": "sample", ...}`` carries the time, the totals the
  timeline needs and the sample's events. A sample exists once its commit line does:
  a file cut short anywhere replays up to its last complete sample;
- ``{"type": "end", ...}``: once, when the recording stopped cleanly;
- ``{"type": "index", ...}``: after the end mark, in a gzip member of its own followed
  by a trailer that says where it is: what a scan of the file finds, for a reader to
  open it without reading it through (``record.index``).

Regions, events, process info and totals are JSON arrays in the field order named in
the header (``region_fields`` ...), so a reader can map them to names without this code.
"""

from __future__ import annotations

from vmtop.model.events import Event
from vmtop.model.region import ProcessInfo, Region, Totals

FORMAT_NAME = "vmtop-recording"
FORMAT_VERSION = 1

REGION_FIELDS = Region._fields
EVENT_FIELDS = Event._fields
INFO_FIELDS = ProcessInfo._fields
TOTALS_FIELDS = Totals._fields
# The resident figures of a region, in order (Region fields 7 to 14): what a "resident"
# entry of a delta carries for a region whose range and identity stayed the same.
RESIDENT_FIELDS = REGION_FIELDS[7:15]
MAP_PART = slice(0, 7)  # start end perms offset dev inode path
RESIDENT_PART = slice(7, 15)
CLASS_PART = slice(15, 18)  # kind object tid


class RecordingError(Exception):
    """A file that cannot be replayed: the message is one line, for a person."""


# The JSON types of each field, for rows read from a file that may be damaged (a digit
# turned into a dot is still JSON): what the readers check rows against.
_NONE = type(None)
_INT, _OPT_INT, _STR, _OPT_STR = (int,), (int, _NONE), (str,), (str, _NONE)
REGION_TYPES = (_INT, _INT, _STR, _INT, _STR, _INT, _STR, *[_OPT_INT] * 8, _STR, _OPT_STR, _OPT_INT)
RESIDENT_TYPES = (_INT, *[_OPT_INT] * len(RESIDENT_FIELDS))  # start, then the figures
EVENT_TYPES = (
    (int, float), _STR, _INT, _INT, _STR, _INT, _INT, _STR, _OPT_INT, _STR, _OPT_INT, _OPT_STR
)  # fmt: skip
EVENT_REQUIRED = 7  # time to delta: the fields without a default
INFO_TYPES = (_INT, _INT, _STR, _STR, _STR, _INT, _OPT_INT, _OPT_INT, _OPT_INT)
TOTALS_TYPES = (_INT, *[_OPT_INT] * (len(TOTALS_FIELDS) - 1))
TOTALS_REQUIRED = 9  # size to rss_shmem: files written before ``uss`` have these alone
assert len(REGION_TYPES) == len(REGION_FIELDS) and len(EVENT_TYPES) == len(EVENT_FIELDS)
assert len(INFO_TYPES) == len(INFO_FIELDS) and len(TOTALS_TYPES) == len(TOTALS_FIELDS)


def _fits(value, types: tuple) -> bool:
    return type(value) in types  # not isinstance: true is no number here


def check_row(
    row, types: tuple, what: str, required: int | None = None, *, later: bool = False
) -> list:
    """``row`` if it is a JSON array of values of ``types`` (the first ``required`` of
    them at least), else ValueError naming ``what``. With ``later``, values after the
    ones this version knows (fields a later vmtop added) are left out, not refused: an
    older vmtop refused every recording made after totals gained USS."""
    if (
        type(row) is not list
        or not (len(types) if required is None else required) <= len(row)
        or (len(row) > len(types) and not later)
        or not all(map(_fits, row, types))
    ):
        raise ValueError(f"{what} that does not hold what it should")
    return row[: len(types)] if later else row


def checked_region(row) -> Region:
    """row_region, with the types of its values checked."""
    return Region._make(check_row(row, REGION_TYPES, "a region"))


def region_row(region: Region) -> list:
    return list(region)


def row_region(row: list) -> Region:
    if len(row) != len(REGION_FIELDS):
        raise ValueError(f"a region has {len(row)} fields, not {len(REGION_FIELDS)}")
    return Region._make(row)


def event_row(event: Event) -> list:
    return list(event)


def row_event(row: list) -> Event:
    # (Event(*row): recordings written before events had ``rss`` or ``object`` have a
    # field or two less.)
    return Event(*check_row(row, EVENT_TYPES, "an event", EVENT_REQUIRED, later=True))


def info_row(info: ProcessInfo) -> list:
    return list(info)


def row_info(row: list) -> ProcessInfo:
    return ProcessInfo._make(check_row(row, INFO_TYPES, "process info", later=True))


def totals_row(totals: Totals) -> list:
    return list(totals)


def row_totals(row: list) -> Totals:
    # (Totals(*row): the fields a file written before them lacks read as None.)
    return Totals(*check_row(row, TOTALS_TYPES, "totals", TOTALS_REQUIRED, later=True))


def hugetlb_rows(hugetlb) -> list | None:
    """A snapshot's memory in hugetlb pages (``Snapshot.hugetlb``) as the ``hugetlb``
    of a keyframe or delta body: ``[[start, bytes], ...]``, or None (not known)."""
    return None if hugetlb is None else [[start, size] for start, size in hugetlb]


def row_hugetlb(value) -> tuple[tuple[int, int], ...] | None:
    """``Snapshot.hugetlb`` from a body's ``hugetlb``, checked: None stays not known."""
    if value is None:
        return None
    if type(value) is not list or not all(
        type(row) is list and len(row) == 2 and type(row[0]) is int and type(row[1]) is int
        for row in value
    ):
        raise ValueError("memory in hugetlb pages that does not hold what it should")
    return tuple((start, size) for start, size in value)


def row_hugetlb_total(value) -> int | None:
    """A sample line's ``hugetlb`` (status' HugetlbPages in bytes), checked."""
    if value is not None and type(value) is not int:
        raise ValueError("a hugetlb total that is not a number")
    return value


def hugetlb_total(status: dict) -> int | None:
    """The process's memory in hugetlb pages (status' HugetlbPages), if it says."""
    value = status.get("HugetlbPages") if status else None
    return value if type(value) is int else None


def row_kinds(value) -> dict[str, int]:
    """A sample's resident bytes by kind, checked."""
    if type(value) is not dict or not all(
        type(k) is str and type(v) is int for k, v in value.items()
    ):
        raise ValueError("resident bytes by kind that are not")
    return value


def kind_rss(regions) -> dict[str, int]:
    """Resident bytes per kind: what the timeline draws for each sample."""
    out: dict[str, int] = {}
    for r in regions:
        if r.rss:
            out[r.kind] = out.get(r.kind, 0) + r.rss
    return out


def header_record(
    *,
    vmtop_version: str,
    kernel: str | None,
    page_size: int,
    pid: int,
    process_start_time: int,
    command: str,
    started_at: float,
    interval: float,
    keyframe_every: int,
    hostname: str | None = "",
    source: str = "live",
    rss_threshold: int | None = None,
) -> dict:
    """The header line. ``kernel`` and ``hostname`` None (not known) are left out, and
    ``rss_threshold`` (the smallest resident change of a region its events report, when
    it started) where not given."""
    record = {
        "type": "header",
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "vmtop_version": vmtop_version,
        "kernel": kernel,
        "hostname": hostname,
        "page_size": page_size,
        "pid": pid,
        "process_start_time": process_start_time,
        "command": command,
        "started_at": started_at,
        "interval": interval,
        "rss_threshold": rss_threshold,
        "keyframe_every": keyframe_every,
        "source": source,
        "region_fields": list(REGION_FIELDS),
        "resident_fields": list(RESIDENT_FIELDS),
        "event_fields": list(EVENT_FIELDS),
        "info_fields": list(INFO_FIELDS),
        "totals_fields": list(TOTALS_FIELDS),
    }
    optional = ("kernel", "hostname", "rss_threshold")
    return {k: v for k, v in record.items() if v is not None or k not in optional}
