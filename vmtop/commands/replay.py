"""`vmtop replay FILE`: a recording on the process screen, or, headless, the map at one
moment (``--at TIME --format pmap|json|csv``) or the event stream (``--events``)."""

from __future__ import annotations

import json
import sys

from vmtop import terminal
from vmtop.commands.watch import WATCH_FORMAT, WATCH_FORMAT_VERSION, event_record, human_lines
from vmtop.model.names import display_name
from vmtop.record.format import RecordingError
from vmtop.record.reader import Recording
from vmtop.record.timespec import clock_label, resolve_time, span_label, within

FORMATS = ("pmap", "json", "csv")


def add_parser(sub) -> None:
    replay = sub.add_parser("replay", help="replay a recording (the TUI, or headless)")
    replay.add_argument("file", metavar="FILE")
    # Two different outputs, the map at one moment or the whole event stream: asking for
    # both is a usage error, not one of them silently dropped.
    output = replay.add_mutually_exclusive_group()
    output.add_argument(
        "--at",
        metavar="TIME",
        default=None,
        help="print the map of the sample nearest that time: 12:03:10, 90s or +5m (after "
        "the start), -30s (before the end), start, end",
    )
    output.add_argument("--events", action="store_true", help="print the recorded events")
    replay.add_argument(
        "--format",
        choices=FORMATS,
        default=None,  # not "pmap": cmd_replay must tell a --format given without --at
        help="with --at: pmap like 'pmap -x' (the default), json, or csv",
    )
    replay.add_argument("--json", action="store_true", help="with --events: JSON lines")
    # cmd_replay checks what argparse cannot (an option that needs another one) and says
    # so the way argparse does: this parser's usage line, exit status 2.
    replay.set_defaults(replay_usage_error=replay.error)


def usage_problem(args) -> str | None:
    """What is wrong with the options together, or None: each of --format and --json
    only shapes the output of another option, and alone it would open the TUI."""
    if args.format is not None and args.at is None:
        hint = "; with --events use --json" if args.events else ""
        return f"--format needs --at (a headless snapshot of one moment){hint}"
    if args.json and not args.events:
        hint = "; with --at use --format json" if args.at is not None else ""
        return f"--json needs --events (the recorded events as JSON lines){hint}"
    return None


def no_terminal_reason() -> str | None:
    """Why the replay TUI cannot start here, pointing to the headless replays rather than
    to the live commands (snapshot, watch, record) that the general reason names."""
    reason = terminal.no_terminal_reason()
    if reason is None:
        return None
    need = reason.partition("; ")[0]  # "the TUI needs a terminal, and stdout is not one"
    return (
        f"{need}; without a terminal use 'vmtop replay FILE --at TIME' (the map at one "
        "moment) or 'vmtop replay FILE --events' (what changed, in order)"
    )


def open_recording(path: str) -> Recording:
    """The recording, or a one-line error on stderr and exit status 1 (SystemExit)."""
    try:
        return Recording.open(path)
    except RecordingError as e:
        print(f"vmtop: {e}", file=sys.stderr)
        raise SystemExit(1) from None


def print_notes(rec: Recording) -> None:
    for note in rec.notes:
        print(f"vmtop: {display_name(rec.path)}: {note}", file=sys.stderr)


def cmd_replay(args) -> int:
    problem = usage_problem(args)
    if problem is not None:
        args.replay_usage_error(problem)  # exits 2
    headless = args.events or args.at is not None
    if not headless:
        # Before the file is opened: without a terminal, say so at once (a recording of
        # hours takes a while to scan), whether or not the file is readable.
        reason = no_terminal_reason()
        if reason is not None:
            print(f"vmtop: {reason}", file=sys.stderr)
            return terminal.NO_TERMINAL_STATUS
        problem = theme_problem(getattr(args, "settings", None))
        if problem is not None:
            print(f"vmtop: {problem}", file=sys.stderr)
            return 2
    rec = open_recording(args.file)
    print_notes(rec)
    if args.events:
        return _print_events(rec, json_lines=args.json)
    if args.at is not None:
        return _print_at(rec, args.at, args.format or "pmap")
    return _run_tui(rec, getattr(args, "settings", None))


def events_header(rec: Recording) -> dict:
    """The first line of ``--events --json``. The event lines are those `vmtop watch
    --json` prints (the same event_record), so the stream is a ``vmtop-watch`` one: a
    reader of watch's output reads a replay's. Watch's smaps plan (``smaps_every``,
    ``smaps_budget``) is not recorded and is left out; ``recording`` names the file."""
    header = rec.header
    return {
        "format": WATCH_FORMAT,
        "format_version": WATCH_FORMAT_VERSION,
        "pid": rec.pid,
        "start_time": header.get("process_start_time"),
        "command": rec.command,
        "interval": rec.interval,
        "recording": rec.path,
    }


def _print_events(rec: Recording, *, json_lines: bool) -> int:
    out = sys.stdout
    if json_lines:
        out.write(json.dumps(events_header(rec), ensure_ascii=True) + "\n")
    events = [event for _i, event in rec.events()]
    if json_lines:
        for event in events:
            out.write(json.dumps(event_record(event), ensure_ascii=True) + "\n")
    else:  # (a sample's regions alike on one line, as watch prints them)
        out.writelines(line + "\n" for line in human_lines(events))
    out.flush()
    return 0


def _print_at(rec: Recording, text: str, form: str) -> int:
    try:
        when = resolve_time(text, rec.start, rec.end)
    except ValueError as e:
        print(f"vmtop: {e}", file=sys.stderr)
        return 2
    if not within(when, rec.start, rec.end, rec.interval):
        span = f"{_clock(rec, rec.start)} to {_clock(rec, rec.end)}"
        print(f"vmtop: {text} is outside the recording ({span})", file=sys.stderr)
        return 2  # (a usage error, as in diff REC: the time given names no sample)
    index = rec.index_nearest(when)
    try:
        snapshot = rec.snapshot(index)
    except RecordingError as e:
        print(f"vmtop: {e}", file=sys.stderr)
        return 1
    # Which sample that is, as the report and the replay name it: the nearest one to the
    # time asked for, which the map formats (pmap's above all) have no place to say.
    taken = rec.time_of(index)
    print(
        f"vmtop: {rec.path}: {rec.label(index)}, taken at {_clock(rec, taken)} "
        f"(+{span_label(taken - rec.start, rec.digits, trim=True)})",
        file=sys.stderr,
    )
    read_at = snapshot.smaps_read_at
    if read_at is not None:
        # smaps was not read with this sample (its budget): the figures are of a read
        # before, which every format would otherwise give as this moment's.
        print(
            f"vmtop: {display_name(rec.path)}: {carried_words(rec, taken, read_at)}",
            file=sys.stderr,
        )
    out = sys.stdout
    if form == "pmap":
        from vmtop.output.pmap import render_pmap

        out.write(render_pmap(snapshot))
    elif form == "json":
        from vmtop.output.fields import RESIDENT_FIELDS
        from vmtop.output.json_out import write_json

        # A recording keeps a region's resident figures, not the rest of its smaps
        # fields, and none where smaps was not read: the document says which it has.
        write_json(snapshot, out, smaps_fields=RESIDENT_FIELDS if snapshot.has_smaps else ())
    else:
        from vmtop.output.csv_out import write_csv

        write_csv(snapshot, out)
    out.flush()
    return 0


def _clock(rec: Recording, t: float) -> str:
    return clock_label(t, rec.digits, trim=True)


def carried_words(rec: Recording, taken: float, read_at: float) -> str:
    """What a sample whose smaps read was skipped holds: the regions' resident figures
    (and the totals summed from them) of an earlier read; RSS from status, its own."""
    return (
        f"smaps was not read with this sample: each region's resident figures (and the "
        f"totals' pss, uss, dirty and swap, summed from them) are those read at "
        f"{_clock(rec, read_at)}, {span_label(taken - read_at, rec.digits, trim=True)} "
        "before; the totals' rss (from status) is this sample's"
    )


def theme_problem(settings) -> str | None:
    """A theme the replay's screen would not have, refused as the live TUI refuses it."""
    if settings is None:
        return None
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.app import VmtopApp

    return VmtopApp(ProcFS(), settings=settings).settings_problem()


def _run_tui(rec: Recording, settings=None) -> int:
    from vmtop.tui.app import freeze_startup_objects
    from vmtop.tui.replay_app import ReplayApp

    app = ReplayApp(rec, settings=settings)
    freeze_startup_objects()
    app.run()
    return app.return_code or 0
