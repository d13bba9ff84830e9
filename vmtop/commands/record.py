"""`vmtop record PID -o FILE`: sample a process and write a recording (docs/recording-format.md).

Samples like the process screen does (vmtop.tui.sampler: smaps on a budget, resident
figures carried between reads, events from the diff), every --interval seconds, until
--duration or --count is reached, the process exits, or Ctrl-C / SIGTERM: each ends the
recording cleanly with its end mark. What was written before a crash stays readable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from vmtop.model.names import display_name
from vmtop.procfs.reader import ProcFS
from vmtop.record.timespec import parse_duration
from vmtop.record.writer import RecordingWriter
from vmtop.tui.formatting import format_bytes


def duration_arg(text: str) -> float:
    seconds = parse_duration(text)
    if seconds is None or seconds <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 90, 90s, 10m, 1h)")
    return seconds


def add_parser(sub, common, parse_pid, positive_float, positive_int) -> None:
    record = sub.add_parser("record", help="record a process's memory map to a file")
    common(record)
    record.add_argument("pid", type=parse_pid, metavar="PID")
    record.add_argument("-o", "--output", required=True, metavar="FILE", help="the recording")
    record.add_argument(
        "--interval",
        type=positive_float,
        default=1.0,
        metavar="S",
        help="seconds between samples (default 1)",
    )
    record.add_argument(
        "--duration",
        type=duration_arg,
        default=None,
        metavar="D",
        help="stop after this long: 90, 90s, 10m, 1h",
    )
    record.add_argument(
        "--count",
        type=positive_int,
        default=None,
        metavar="N",
        help="stop after N samples (default: when the process exits, or Ctrl-C)",
    )


class _Stop(Exception):
    pass


def _on_term(signum, frame) -> None:
    raise _Stop()


def cmd_record(procfs: ProcFS, args) -> int:
    from vmtop.tui.sampler import Sampler

    interval = float(args.interval)
    sampler = Sampler(procfs, args.pid)
    first = sampler.sample(interval)  # before the file exists: a process we cannot read
    if first.snapshot is None:
        assert first.error is not None
        raise first.error
    try:
        writer = RecordingWriter(args.output, interval=interval, source=_source(procfs))
    except OSError as e:
        print(f"vmtop: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 1
    info = first.snapshot.info
    print(
        f"vmtop: recording PID {info.pid} ({display_name(info.comm)}) to {args.output} every "
        f"{interval:g} s; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    old_term = signal.signal(signal.SIGTERM, _on_term)
    started = time.monotonic()
    first_at = last_at = first.snapshot.taken_at
    reason = "stopped"
    end_events: tuple = ()
    try:
        result = first
        next_at = started
        while True:
            if result.snapshot is None:
                reason, end_events = "exited", result.events
                break
            writer.write_sample(result.snapshot, result.events)
            last_at = result.snapshot.taken_at
            if args.count is not None and writer.samples >= args.count:
                reason = "count"
                break
            if not procfs.is_live:
                reason = "copy"  # a copied tree does not change: one sample is all
                break
            next_at = max(next_at + interval, time.monotonic())
            if args.duration is not None and next_at - started > args.duration + 1e-6:
                reason = "duration"
                break
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            result = sampler.sample(interval)
    except (KeyboardInterrupt, _Stop):
        reason = "stopped"
    except OSError as e:
        print(f"vmtop: writing {args.output}: {e.strerror or e}", file=sys.stderr)
        _close(writer, "error", ())
        return 1
    finally:
        signal.signal(signal.SIGTERM, old_term)
    _close(writer, reason, end_events)
    why = {"exited": "the process exited", "stopped": "stopped"}.get(reason, "done")
    print(
        # The span from the first sample to the last, as `vmtop report` gives it.
        f"vmtop: {why}: {writer.samples} samples over {last_at - first_at:.0f} s, "
        f"{format_bytes(writer.bytes_written)} in {args.output}",
        file=sys.stderr,
    )
    return 0


def _close(writer: RecordingWriter, reason: str, events) -> None:
    try:
        writer.close(reason, events)
    except OSError as e:
        print(f"vmtop: closing {writer.path}: {e.strerror or e}", file=sys.stderr)


def _source(procfs: ProcFS) -> str:
    return "live" if procfs.is_live else "copy"
