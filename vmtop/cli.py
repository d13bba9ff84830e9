"""Command line: the TUI by default, and the headless subcommands.

Exit status: 0 success, 1 the process could not be read (one line on stderr, never a
traceback), 2 usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import replace

from vmtop import __version__
from vmtop.commands import recordings
from vmtop.config import (
    DEFAULTS,
    ConfigError,
    add_settings_options,
    format_settings,
    settings_from_args,
    size_in_bytes,
    unknown_env_warnings,
)
from vmtop.model.address_text import parse_address_text
from vmtop.model.names import display_name
from vmtop.procfs.errors import ProcError
from vmtop.procfs.reader import ProcFS
from vmtop.terminal import (
    HEADLESS,
    NO_TERMINAL_STATUS,
    make_output_safe,
    no_terminal_reason,
    served_to_browser,
)

SUBCOMMANDS = (
    "snapshot",
    "where",
    "watch",
    "demo",
    *recordings.COMMANDS,
    "diff",
    "serve",
    "completion",
    "man",
)
# Top-level options that take a value (so `vmtop --theme X PID` finds the PID).
VALUE_OPTIONS = (
    "--proc-root",
    "--interval",
    "--threshold",
    "--columns",
    "--theme",
    "--bar-scale",
    "--config",
    "--notice",
)


def parse_pid(text: str) -> int:
    try:
        pid = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a process ID: {text!r}") from None
    if pid <= 0:
        raise argparse.ArgumentTypeError(f"not a process ID: {text!r}")
    return pid


class TypedAddress(int):
    """An address from the command line, with the text it was typed as (``where``
    says when digits alone were read as decimal)."""

    text: str


def parse_address(text: str) -> TypedAddress:
    value = parse_address_text(text)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"not an address: {text!r} (hex, with 0x or as maps prints it, or decimal, below 2^64)"
        )
    address = TypedAddress(value)
    address.text = text
    return address


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--proc-root",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="read this /proc tree instead of /proc (a copy from another machine)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmtop",
        # The main use first: `vmtop PID` (the TUI) takes no COMMAND, which argparse's
        # own usage line (COMMAND ...) does not show.
        usage="%(prog)s [options] [PID]\n       %(prog)s [options] COMMAND ...",
        description="top for one process's address space: watch its memory map live. "
        "'vmtop PID' watches process PID in the terminal; 'vmtop' alone opens a list of "
        "processes to pick from.",
        epilog="Run 'vmtop' to pick a process, 'vmtop PID' to watch one, "
        "'vmtop demo malloc' to see the heap and mmap at work.",
    )
    parser.add_argument("--version", action="version", version=f"vmtop {__version__}")
    parser.add_argument(
        "--proc-root",
        default="/proc",
        metavar="PATH",
        help="read this /proc tree instead of /proc (a copy from another machine)",
    )
    add_settings_options(parser)
    # Said on the TUI's screen once it is up: `vmtop serve TID` gives its visitors'
    # vmtop the process's PID and, with this, what the TUI says of a thread's ID.
    parser.add_argument("--notice", action="append", default=[], help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="vmtop")

    snap = sub.add_parser("snapshot", help="print one snapshot of a process's memory map")
    _common(snap)
    snap.add_argument("pid", type=parse_pid, metavar="PID")
    snap.add_argument(
        "--format",
        choices=("pmap", "json", "csv"),
        default="pmap",
        help="pmap: like 'pmap -x'; json: one object; csv: one row per region",
    )
    snap.add_argument(
        "--no-smaps",
        action="store_true",
        help="read only maps (cheaper: sizes without resident figures)",
    )

    where = sub.add_parser("where", help="say what is at each address of a process")
    _common(where)
    where.add_argument("pid", type=parse_pid, metavar="PID")
    where.add_argument(
        "addresses",
        type=parse_address,
        nargs="+",
        metavar="ADDRESS",
        help="hex (0x7f12…, or 7f12… / 00401000 as maps prints it) or decimal (digits "
        "alone, without a leading zero)",
    )
    where.add_argument(
        "--json", action="store_true", help="print a JSON object with one result per address"
    )

    watch = sub.add_parser(
        "watch",
        help="print one line per change to the memory map",
        description="Print one line per change to a process's memory map, as it happens "
        "(three or more regions of one object mapped, unmapped, committed or released in "
        "one sample, as V8's heap pages are, or whose resident, shared or lazily freed "
        "memory moved alike, as one line with their count; --json gives each). "
        "What watching costs the process is kept small: smaps (resident sizes; reading it "
        "walks the page tables, and the process's mmap waits) is read on a budget, "
        "at most 10% of a core, and maps in between; maps too is read less often when it "
        "costs more than that. A map of more than 100 000 regions is read a piece at a "
        "time, its text never held. The plans are said on stderr, and again when they "
        "change.",
    )
    _common(watch)
    watch.add_argument("pid", type=parse_pid, metavar="PID")
    watch.add_argument(
        "--interval",
        type=positive_float,
        default=None,
        metavar="S",
        help="seconds between samples (default: the config's interval, 1)",
    )
    watch.add_argument(
        "--count",
        type=positive_int,
        default=None,
        metavar="N",
        help="stop after N snapshots, the first included (default: until the process "
        "exits or Ctrl-C)",
    )
    watch.add_argument("--json", action="store_true", help="one JSON object per line")
    watch.add_argument(
        "--threshold",
        type=size_in_bytes,
        default=None,
        metavar="BYTES",
        help="smallest RSS change of a region that is reported: 65536, 64K, 1M "
        "(default: the config's, 64K)",
    )

    demo = sub.add_parser("demo", help="run a workload that shows memory behaviour")
    demo.add_argument(
        "name",
        nargs="?",
        default="malloc",
        choices=("malloc", "mmap", "stack", "threads"),
        metavar="NAME",
        help="malloc: the heap and mmap thresholds (the default); mmap: a file paged in; "
        "stack: the stack growing down; threads: thread stacks and malloc arenas",
    )
    demo.add_argument("--no-tui", action="store_true", help="run it in the foreground")
    demo.add_argument(
        "--python",
        action="store_true",
        help="run the Python version even where a C compiler is present",
    )
    demo.add_argument(
        "--size-mib",
        type=positive_int,
        default=None,
        metavar="MIB",
        help="mmap demo: size of the file (default 256)",
    )
    recordings.add_parsers(sub, _common, parse_pid, positive_float, positive_int)
    from vmtop.commands import diff as diff_command
    from vmtop.commands.completion import add_completion_parsers

    diff_command.add_parser(sub, positive_int)
    from vmtop.commands.serve import add_serve_parser

    add_serve_parser(sub, _common)
    add_completion_parsers(sub)
    return parser


# Options whose value may be a time before the end ("-30s"), which argparse would
# otherwise take for an option of its own.
_TIME_OPTIONS = ("--at",)


def _times_before_the_end(argv: list[str]) -> list[str]:
    """``--at -30s`` as ``--at=-30s``."""
    out: list[str] = []
    k = 0
    while k < len(argv):
        word = argv[k]
        after = argv[k + 1] if k + 1 < len(argv) else ""
        if word in _TIME_OPTIONS and len(after) > 1 and after[0] == "-" and after[1].isdigit():
            out.append(f"{word}={after}")
            k += 2
            continue
        if word == "--":  # the rest are not options
            out.extend(argv[k:])
            break
        out.append(word)
        k += 1
    return out


def _parser_of(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    """The parser of a subcommand (vmtop's own for none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


# The commands that read the /proc tree (None: the TUI).
READS_PROC = (None, "snapshot", "where", "watch", "record", "serve")


def proc_root_problem(path: str) -> str | None:
    """Why ``path`` is no /proc tree to read (a mistyped path showed an empty picker,
    "0 processes"), or None."""
    if not os.path.exists(path):
        return "no such directory"
    if not os.path.isdir(path):
        return "not a directory"
    try:
        with os.scandir(path) as entries:
            if any(e.name.isdigit() for e in entries):
                return None
    except OSError as e:
        return e.strerror or str(e)
    return "it holds no process directory (PID/): not a copy of /proc"


def main(argv: list[str] | None = None) -> int:
    if not served_to_browser():
        return _main(argv)
    # A visitor's vmtop under `vmtop serve`. Out of the terminal's process group: Ctrl-C
    # there is the server's to stop (it ends its sessions); received here too, it
    # printed the visitor's KeyboardInterrupt traceback on the server's terminal.
    with contextlib.suppress(OSError):
        os.setsid()
    # What ends it before its screen is said in the browser too (its stderr is the
    # server's terminal; the page stayed blank).
    said = io.StringIO()
    with contextlib.redirect_stderr(_Tee(sys.stderr, said)):
        try:
            status = _main(argv)
        except SystemExit as done:
            status = done.code if isinstance(done.code, int) else 1
    if status:
        from vmtop.tui.served_error import show_in_browser

        show_in_browser(said.getvalue())
    return status


class _Tee(io.TextIOBase):
    """Text written to two streams."""

    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def _main(argv: list[str] | None = None) -> int:
    command_line = list(sys.argv[1:] if argv is None else argv)  # as typed, for advice
    argv = _times_before_the_end(command_line)
    make_output_safe()
    parser = build_parser()
    # `vmtop PID` (and `vmtop --proc-root X PID`) opens the TUI on PID: take the PID
    # out before argparse sees it, or it would be read as a subcommand name.
    tui_pid: int | None = None
    first = _first_positional(argv)
    if first is not None and argv[first] not in SUBCOMMANDS:
        if not argv[first].isdigit():
            parser.error(f"unknown command or PID: {argv[first]!r}")
        tui_pid = parse_pid(argv[first])
        argv = argv[:first] + argv[first + 1 :]
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse leaves a subcommand's unknown options to vmtop's own parser, whose
        # usage line then names no option of that command: the command's parser says it.
        _parser_of(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "serve" or not _draws_screen(args):  # the screen says it itself
        for warning in unknown_env_warnings(os.environ):
            print(f"vmtop: warning: {warning}", file=sys.stderr)
    try:
        settings = settings_from_args(args)
    except ConfigError as e:
        if args.command in SETTINGS_UNUSED and not args.print_config:
            # None of them is used: a bad one is no reason to fail, only to say so.
            print(f"vmtop: warning: {e} ('{args.command}' uses no settings)", file=sys.stderr)
            settings = None
        else:
            print(f"vmtop: {e}", file=sys.stderr)
            return 2
    if args.print_config:
        return print_config(settings)
    warning = None if _draws_screen(args) else unused_theme_warning(args.command, settings)
    if warning:
        print(f"vmtop: warning: {warning}", file=sys.stderr)
    args.settings = settings
    if args.command == "watch":
        args.interval, args.threshold = settings.interval, settings.threshold
    if args.command == "diff":
        args.threshold = settings.threshold
    if _wants_tui(args):
        # A demo's own way without a terminal: it prints its PID and its narration.
        instead = f"'vmtop demo {args.name} --no-tui'" if args.command == "demo" else HEADLESS
        reason = no_terminal_reason(instead=instead)
        if reason is not None:
            print(f"vmtop: {reason}", file=sys.stderr)
            return NO_TERMINAL_STATUS
    if args.command in READS_PROC and args.proc_root != "/proc":
        problem = proc_root_problem(args.proc_root)
        if problem:
            print(f"vmtop: --proc-root {display_name(args.proc_root)}: {problem}", file=sys.stderr)
            return 2
    procfs = ProcFS(args.proc_root)
    if args.command in TAKES_PID and args.pid is not None:
        given = args.pid
        args.pid, notice = process_for(procfs, given, args.command)
        if notice:
            print(f"vmtop: {notice}", file=sys.stderr)
            # Advice that repeats the command (run it as root) names the process read.
            command_line = _naming_process(command_line, given, args.pid)
            if args.command == "serve":
                # Its visitors' vmtop is given the process's PID: the notice the TUI
                # shows of a thread's ID goes with it, to their screen (app_command).
                shown = process_for(procfs, given, None)[1]
                args.notice = [*args.notice, *([shown] if shown else [])]
    try:
        if args.command == "snapshot":
            return cmd_snapshot(procfs, args)
        if args.command == "where":
            from vmtop.commands.where import cmd_where

            return cmd_where(procfs, args)
        if args.command == "watch":
            from vmtop.commands.watch import cmd_watch

            return cmd_watch(procfs, args)
        if args.command == "demo":
            from vmtop.commands.demo import cmd_demo

            return cmd_demo(procfs, args)
        if args.command in recordings.COMMANDS:
            return recordings.run(procfs, args)
        if args.command == "diff":
            from vmtop.commands.diff import cmd_diff

            return cmd_diff(args)
        if args.command == "serve":
            from vmtop.commands.serve import cmd_serve

            return cmd_serve(args, settings)
        if args.command in ("completion", "man"):
            from vmtop.commands.completion import cmd_completion

            return cmd_completion(parser, args)
        return run_tui(procfs, tui_pid, settings, args.notice)
    except ProcError as e:
        print(f"vmtop: {display_name(e.message_for(command_line))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `vmtop snapshot PID | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0


def _draws_screen(args: argparse.Namespace) -> bool:
    """Whether the command draws the TUI, and so checks the theme itself, refusing a
    bad one (run_tui, serve, replay's _run_tui)."""
    if args.command == "serve":
        return True
    if args.command == "replay":
        return not (args.events or args.at is not None)
    return _wants_tui(args)


def unused_theme_warning(command: str | None, settings) -> str | None:
    """A theme vmtop does not have, given to a command that draws no screen: not
    refused (nothing uses it), but said, as a bad --interval is, rather than left to
    surprise on the next start of the TUI. TEXTUAL_THEME is every Textual app's."""
    if settings is None:
        return None
    if settings.source("theme") in ("default", "env TEXTUAL_THEME"):
        return None
    from vmtop.tui.theme import theme_names

    names = theme_names()
    if settings.theme in names:
        return None
    return (
        f"{settings.origin('theme')}: key 'theme': unknown theme {settings.theme!r} "
        f"(themes: {', '.join(names)}; '{command}' draws no screen)"
    )


def _wants_tui(args: argparse.Namespace) -> bool:
    """Whether the command runs the TUI (and so needs a terminal)."""
    if args.command is None:
        return True
    # (replay checks its options and the terminal itself: commands.replay.cmd_replay)
    return args.command == "demo" and not args.no_tui


def _first_positional(argv: list[str]) -> int | None:
    """Index of the first argument that is not an option or an option's value."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return i + 1 if i + 1 < len(argv) else None
        if arg in VALUE_OPTIONS:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        return i
    return None


# The commands given a PID to read (the TUI's is resolved in run_tui), and what each
# does with the process that a thread ID leads to, for its notice.
TAKES_PID = ("snapshot", "where", "watch", "record", "serve")
_DOING = {"watch": "watching", "record": "recording", "serve": "serving"}


def process_for(procfs: ProcFS, pid: int, command: str | None) -> tuple[int, str | None]:
    """The PID to read for ``pid`` as given, and what to say about it: the process's
    PID when ``pid`` is one of its threads (as pmap and top take it), with the notice
    saying so; ``pid`` itself and None otherwise."""
    from vmtop.procfs.thread_group import thread_of

    thread = thread_of(procfs, pid)
    if thread is None:
        return pid, None
    return thread.pid, display_name(thread.notice(_DOING.get(command or "", "showing")))


def _naming_process(command_line: list[str], tid: int, pid: int) -> list[str]:
    """The command as typed with its thread ID ``tid`` (the first argument that is it)
    replaced by the process's ``pid``."""
    at = next((i for i, arg in enumerate(command_line) if arg == str(tid)), None)
    if at is None:
        return command_line
    return [*command_line[:at], str(pid), *command_line[at + 1 :]]


def cmd_snapshot(procfs: ProcFS, args: argparse.Namespace) -> int:
    from vmtop.output.streamed import write_snapshot

    write_snapshot(procfs, args.pid, args.format, sys.stdout, smaps=not args.no_smaps)
    sys.stdout.flush()
    return 0


# Commands that read none of the settings (interval, threshold, columns, theme, bar scale).
SETTINGS_UNUSED = ("snapshot", "where", "report", "completion", "man")


def print_config(settings) -> int:
    """``--print-config``: the settings in effect, as a file vmtop takes back. Checked
    first as the TUI would (the theme), so that nothing is printed that is refused; a
    TEXTUAL_THEME the TUI passes over is shown as the theme it uses instead."""
    from vmtop.tui.app import VmtopApp

    app = VmtopApp(ProcFS(), settings=settings)
    problem = app.settings_problem()
    if problem:
        print(f"vmtop: {problem}", file=sys.stderr)
        return 2
    warning = app.settings_warning()
    if warning:
        print(f"vmtop: warning: {warning}", file=sys.stderr)
        sources = {k: v for k, v in settings.sources.items() if k != "theme"}
        settings = replace(settings, theme=DEFAULTS["theme"], sources=sources)
    sys.stdout.write(format_settings(settings))
    return 0


def run_tui(procfs: ProcFS, pid: int | None, settings=None, notices: Sequence[str] = ()) -> int:
    try:
        from vmtop.tui.app import VmtopApp, freeze_startup_objects
    except ImportError as e:  # pragma: no cover - the TUI ships with the package
        print(f"vmtop: the TUI is not available: {e}", file=sys.stderr)
        return 1
    notices = list(notices)  # (--notice: a served thread's, see commands.serve)
    if pid is not None:
        pid, notice = process_for(procfs, pid, None)  # said on the screen, once it is up
        notices += [notice] if notice else []
    app = VmtopApp(procfs=procfs, pid=pid, settings=settings, notices=notices)
    problem = app.settings_problem()
    if problem:
        print(f"vmtop: {problem}", file=sys.stderr)
        return 2
    if pid is not None:
        # A PID that cannot be watched (no such process, a kernel thread, a zombie,
        # permission denied) is said in one line, as every other command says it, not
        # on a full screen the user then has to leave (ProcError: main prints it).
        from vmtop.procfs.snapshot import check_watchable

        check_watchable(procfs, pid)
    freeze_startup_objects()
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
