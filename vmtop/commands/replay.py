"""`vmtop replay FILE`: a recording on the process screen, or, headless, the map at one
moment (``--at TIME --format pmap|json|csv``) or the event stream (``--events``)."""

from __future__ import annotations

import json
import sys
import time

from vmtop.commands.watch import event_record, human_line
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.record.timespec import resolve_time


def add_parser(sub) -> None:
    replay = sub.add_parser("replay", help="replay a recording (the TUI, or headless)")
    replay.add_argument("file", metavar="FILE")
    replay.add_argument(
        "--at",
        metavar="TIME",
        default=None,
        help="print the map as it was then: 12:03:10, 90s or +5m (after the start), "
        "-30s (before the end), start, end",
    )
    replay.add_argument(
        "--format",
        choices=("pmap", "json", "csv"),
        default="pmap",
        help="with --at: pmap like 'pmap -x', json, or csv",
    )
    replay.add_argument("--events", action="store_true", help="print the recorded events")
    replay.add_argument("--json", action="store_true", help="with --events: JSON lines")


def open_recording(path: str) -> Recording:
    """The recording, or a one-line error on stderr and exit status 1 (SystemExit)."""
    try:
        return Recording.open(path)
    except RecordingError as e:
        print(f"vmtop: {e}", file=sys.stderr)
        raise SystemExit(1) from None


def print_notes(rec: Recording) -> None:
    for note in rec.notes:
        print(f"vmtop: {rec.path}: {note}", file=sys.stderr)


def cmd_replay(args) -> int:
    rec = open_recording(args.file)
    print_notes(rec)
    if args.events:
        return _print_events(rec, json_lines=args.json)
    if args.at is not None:
        return _print_at(rec, args.at, args.format)
    return _run_tui(rec, getattr(args, "settings", None))


def _print_events(rec: Recording, *, json_lines: bool) -> int:
    out = sys.stdout
    for _i, event in rec.events():
        if json_lines:
            out.write(json.dumps(event_record(event), ensure_ascii=True) + "\n")
        else:
            out.write(human_line(event) + "\n")
    out.flush()
    return 0


def _print_at(rec: Recording, text: str, form: str) -> int:
    try:
        when = resolve_time(text, rec.start, rec.end)
    except ValueError as e:
        print(f"vmtop: {e}", file=sys.stderr)
        return 2
    if when < rec.start - 0.5 or when > rec.end + rec.interval:
        span = f"{_clock(rec.start)} to {_clock(rec.end)}"
        print(f"vmtop: {text} is outside the recording ({span})", file=sys.stderr)
        return 1
    try:
        snapshot = rec.snapshot(rec.index_at(when))
    except RecordingError as e:
        print(f"vmtop: {e}", file=sys.stderr)
        return 1
    out = sys.stdout
    if form == "pmap":
        from vmtop.output.pmap import render_pmap

        out.write(render_pmap(snapshot))
    elif form == "json":
        from vmtop.output.json_out import write_json

        write_json(snapshot, out)
    else:
        from vmtop.output.csv_out import write_csv

        write_csv(snapshot, out)
    out.flush()
    return 0


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def _run_tui(rec: Recording, settings=None) -> int:
    from vmtop.tui.app import freeze_startup_objects
    from vmtop.tui.replay_app import ReplayApp

    app = ReplayApp(rec, settings=settings)
    freeze_startup_objects()
    app.run()
    return app.return_code or 0
