"""`vmtop watch PID`: one line per change to a process's memory map, as it happens.

A snapshot every interval, each diffed with the one before (vmtop.model.diff). Stops
after --count snapshots, on Ctrl-C, or when the process exits (printing ``exited``);
all three exit with status 0. A process that cannot be read at the start is a ProcError
(exit 1, by the CLI). A snapshot is never compared with one of another process: the
start time of the PID is checked on every read.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from vmtop.model import events as ev
from vmtop.model.diff import DEFAULT_RSS_THRESHOLD, diff_snapshots, exited_event
from vmtop.model.events import Event
from vmtop.model.names import display_name
from vmtop.model.region import Snapshot
from vmtop.procfs.errors import NoSuchProcess, PidReused, ProcError, ProcessGone, ZombieProcess
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

# The process is gone (or its PID is someone else's now): the end of the watch.
_GONE = (NoSuchProcess, ProcessGone, ZombieProcess)


def cmd_watch(procfs: ProcFS, args) -> int:
    out = sys.stdout
    write = _json_line if getattr(args, "json", False) else _human_line
    threshold = getattr(args, "threshold", None) or DEFAULT_RSS_THRESHOLD
    interval = float(getattr(args, "interval", None) or 1.0)
    count = getattr(args, "count", None)
    prev = take_snapshot(procfs, args.pid)  # a ProcError here is the CLI's exit 1
    # On stderr, so that stdout holds events only (one JSON object per line with --json).
    print(
        f"vmtop: watching PID {prev.info.pid} ({display_name(prev.info.comm)}) every "
        f"{interval:g} s; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    try:
        for cur in _snapshots(procfs, prev, interval, count):
            if isinstance(cur, Event):
                write(cur, out)
                return 0
            for event in diff_snapshots(prev, cur, rss_threshold=threshold):
                write(event, out)
            prev = cur
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0  # the reader (`| head`) left
    return 0


def _snapshots(procfs: ProcFS, first: Snapshot, interval: float, count: int | None):
    """Snapshots after ``first`` every ``interval`` seconds; an exited event (and the
    end) when the process is gone. ``count`` counts ``first`` too."""
    taken = 1
    next_at = time.monotonic() + interval
    last = first
    while count is None or taken < count:
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        # A slow read (a huge smaps) pushes the schedule back rather than piling up.
        next_at = max(next_at + interval, time.monotonic())
        try:
            cur = take_snapshot(
                procfs, first.info.pid, expected_start_time=first.info.start_time or None
            )
        except PidReused:
            gone = exited_event(last, time.time())
            yield gone._replace(detail=gone.detail + "; its PID now belongs to another process")
            return
        except _GONE:
            yield exited_event(last, time.time())
            return
        except ProcError:
            raise
        taken += 1
        last = cur
        yield cur


# -- output -------------------------------------------------------------------------------


def _hex(value: int) -> str:
    return f"0x{value:x}"


def event_record(event: Event) -> dict:
    """An event as the JSON object `watch --json` prints (addresses as 0x… strings)."""
    record = {
        "time": round(event.time, 6),
        "event": event.event,
        "start": _hex(event.start),
        "end": _hex(event.end),
        "size": event.size,
        "delta": event.delta,
        "kind": event.kind,
        "path": event.path,
    }
    if event.tid is not None:
        record["tid"] = event.tid
    if event.detail:
        record["detail"] = event.detail
    return record


def _json_line(event: Event, out: TextIO) -> None:
    # ensure_ascii keeps surrogate-escaped bytes of odd names printable as \udcXX.
    out.write(json.dumps(event_record(event), ensure_ascii=True) + "\n")
    out.flush()


def format_size(n: int, *, signed: bool = False) -> str:
    """Bytes in binary units: 4.0 KiB, 1.5 MiB; with a sign when asked."""
    sign = ("+" if n >= 0 else "-") if signed else ("-" if n < 0 else "")
    value = float(abs(n))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.1f} {unit}"
        value /= 1024
    return f"{sign}{n}"


# Events that are about the whole process, not one range.
_PROCESS_EVENTS = {ev.EXEC, ev.EXITED, ev.PID_REUSED}


def human_line(event: Event) -> str:
    """time, event, size, range, kind, name (and what it means)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    stamp += f".{int(event.time * 1000) % 1000:03d}"
    if event.event in _PROCESS_EVENTS:
        text = f"{stamp}  {event.event:<18}"
        if event.path:
            text += f"  {display_name(event.path)}"
        return text + (f"  {display_name(event.detail)}" if event.detail else "")
    if event.event == ev.RSS_CHANGED:
        size = "RSS " + format_size(event.delta, signed=True)
    elif event.delta:
        size = format_size(event.delta, signed=True)
    else:
        size = format_size(event.size)
    name = display_name(event.path) if event.path else "[anon]"
    text = (
        f"{stamp}  {event.event:<18} {size:>14}  {event.start:#014x}-{event.end:#014x}  "
        f"{event.kind or '-':<12} {name}"
    )
    if event.detail:
        text += f"  ({display_name(event.detail)})"
    return text


def _human_line(event: Event, out: TextIO) -> None:
    out.write(human_line(event) + "\n")
    out.flush()
