"""`vmtop record PID -o FILE`: sample a process and write a recording (docs/recording-format.md).

Samples like the process screen does (vmtop.tui.sampler: smaps on a budget, resident
figures carried between reads, events from the diff), every --interval seconds, until
--duration or --count is reached, the process exits (or runs a program vmtop may not
read: a setuid one), or Ctrl-C / SIGTERM / SIGHUP: each ends the recording cleanly with its end
mark. What was written before a crash stays readable. How often smaps is read is said
on stderr when it is not with every sample (a big map): the samples in between keep the
last read's resident figures, and each says in the file when they were read.

A FILE that exists is not overwritten without --force; ``-o -`` writes the recording
to stdout (not a terminal), for a pipe: ``vmtop record PID -o - | ssh host 'cat > r'``.
A copied /proc tree (--proc-root) does not change: one sample of it is recorded, with
the copy's host name and kernel where the tree has them (sys/kernel/hostname,
osrelease), else none: never this machine's.
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from vmtop.commands.plan_notice import PlanNotice
from vmtop.config import size_in_bytes
from vmtop.model.names import display_name
from vmtop.procfs.errors import NoLongerReadable
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_budget import SMAPS_BUDGET
from vmtop.record.timespec import LabelDigits, parse_duration, span_label
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
    record.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="the recording (- for stdout)",
    )
    record.add_argument(
        "--force", action="store_true", help="overwrite FILE if it exists (a recording lost)"
    )
    record.add_argument(
        "--interval",
        type=positive_float,
        default=None,  # not 1: a copied tree says when it is given to no purpose
        metavar="S",
        help="seconds between samples (default: the config's interval, 1)",
    )
    record.add_argument(
        "--threshold",
        type=size_in_bytes,
        default=None,
        metavar="BYTES",
        help="smallest RSS change of a region its events report: 65536, 64K, 1M (default: the "
        "config's, 64K)",
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


class StopSignals:
    """SIGINT (Ctrl-C) and SIGTERM stop the recording, but not halfway through writing
    to the file: a signal that comes while a sample or the end mark is being written
    (a keyframe of a big map compressed, a write waiting on a slow pipe or disk) stops
    it once that is out, so the file ends with its end mark. Raised in the middle, it
    left the compressor between two gzip members: closing then failed with a zlib
    traceback, or the file had no end mark after "stopped" (review). A second signal
    while the write still waits stops at once. A SIGINT ignored when vmtop started (a
    background job of a shell) stays ignored, as it was before.

    SIGHUP (the terminal or the ssh session gone) ends the recording the same way: it
    killed vmtop outright, and the file had no end mark (review). Under ``nohup`` it is
    ignored from the start, and stays ignored: the recording goes on."""

    def __init__(self) -> None:
        self.holding = False  # writing: a first signal waits until it is done
        self.pending = False  # a signal came while writing
        self._old: dict = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if sig != signal.SIGTERM and signal.getsignal(sig) is signal.SIG_IGN:
                continue
            self._old[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}

    def _handle(self, signum, frame) -> None:
        if self.holding and not self.pending:
            self.pending = True
            return
        raise _Stop()

    @contextmanager
    def held(self) -> Iterator[None]:
        """While the body writes, a first signal only says to stop after it."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False

    def check(self) -> None:
        """Stop now if a signal came while writing."""
        if self.pending:
            raise _Stop()


def plural(n: int, word: str) -> str:
    """ "1 sample", "2 samples"."""
    return f"{n} {word}{'' if n == 1 else 's'}"


STDOUT = "-"


def cmd_record(procfs: ProcFS, args) -> int:
    from vmtop.tui.sampler import RSS_THRESHOLD, Sampler

    output = args.output
    # (a path is the user's bytes: a newline or an escape in it is shown, not obeyed)
    shown = "stdout" if output == STDOUT else display_name(output)
    refused = _refuse_output(output, args.force)
    if refused:
        print(f"vmtop: {refused}", file=sys.stderr)
        return 1
    settings = getattr(args, "settings", None)
    # Its own --interval, else the settings' (vmtop --interval, VMTOP_INTERVAL, the
    # config file): the same sources as watch and the TUI.
    if args.interval is not None:
        interval = float(args.interval)
    else:
        interval = settings.interval if settings is not None else 1.0
    threshold = settings.threshold if settings is not None else RSS_THRESHOLD
    sampler = Sampler(procfs, args.pid, rss_threshold=threshold)
    first = sampler.sample(interval)  # before the file exists: a process we cannot read
    if first.snapshot is None:
        assert first.error is not None
        raise first.error
    # The stop signals are ours from before the file is made: a Ctrl-C the moment
    # "Ctrl-C stops" was printed raised KeyboardInterrupt before they were, and left an
    # empty file with no sample (exit 130, nothing said). Held until the loop's first
    # write is out (its held() ends it): a signal meanwhile stops the recording then.
    stop = StopSignals()
    stop.install()
    stop.holding = True
    try:
        try:
            writer = _writer(procfs, output, interval, threshold, args.force)
        except FileExistsError:  # made meanwhile
            print(f"vmtop: {_exists(output)}", file=sys.stderr)
            return 1
        except OSError as e:
            print(f"vmtop: cannot write {shown}: {e.strerror or e}", file=sys.stderr)
            return 1
        say = _start_words(procfs, args, first, interval, shown)
        print(f"vmtop: {say}", file=sys.stderr, flush=True)
        return _record_loop(args, procfs, sampler, writer, first, interval, shown, stop)
    finally:
        stop.restore()


def _start_words(procfs: ProcFS, args, first, interval: float, shown: str) -> str:
    """What the recording will be: of whom, where, how often, until when."""
    info = first.snapshot.info
    who = f"PID {info.pid} ({display_name(info.comm)})"
    if procfs.is_live:
        until = ""
        if args.duration is not None:
            until += f" for {args.duration:g} s"
        if args.count is not None:
            until += f"{' or' if until else ''} for {plural(args.count, 'sample')}"
        return f"recording {who} to {shown} every {interval:g} s{until}; Ctrl-C stops"
    # A copy does not change: one sample is all there is to record.
    say = (
        f"recording one sample of {who} in the copied tree "
        f"{display_name(procfs.root)} to {shown}: a copy does not change"
    )
    unused = [
        option
        for option, value in (
            ("--interval", args.interval),
            ("--duration", args.duration),
            ("--count", args.count),
        )
        if value is not None
    ]
    if unused:
        say += f" ({' and '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply)"
    return say


def _record_loop(args, procfs: ProcFS, sampler, writer, first, interval, shown, stop) -> int:
    """Sample and write until the recording ends, then close it: the exit status."""
    live = procfs.is_live
    output = args.output
    started = time.monotonic()
    first_at = last_at = first.snapshot.taken_at
    label_digits = LabelDigits()  # the span's decimals, as `report` will give them
    reason = "stopped"
    end_events: tuple = ()
    refused: NoLongerReadable | None = None  # it exec'd a program vmtop may not read
    plan_notice = PlanNotice()  # the smaps plan said on stderr (as watch says its own)
    try:
        result = first
        next_at = started
        while True:
            if result.snapshot is None:
                end_events = result.events
                reason = "exited"
                if isinstance(result.error, NoLongerReadable):
                    reason, refused = "unreadable", result.error
                break
            with stop.held():
                writer.write_sample(result.snapshot, result.events)
            last_at = result.snapshot.taken_at
            label_digits.add(last_at)
            stop.check()
            if live and plan_notice.news(sampler.smaps_every, time.monotonic()):
                words = smaps_plan_words(plan_notice.said, sampler.smaps_cost + sampler.text_cost)
                print(f"vmtop: now {words}", file=sys.stderr, flush=True)
            if not live:
                reason = "copy"  # a copied tree does not change: one sample is all
                break
            if args.count is not None and writer.samples >= args.count:
                reason = "count"
                break
            sampled_at = time.monotonic()
            # A sample taken late (the machine busy, vmtop stopped a moment, a slow
            # read) is not followed by one at once to catch up, but half an interval on:
            # the two were a millisecond apart, and one such pair in an hour gave every
            # time that report, diff and the replay print of the recording milliseconds.
            next_at = max(next_at + interval, sampled_at + interval / 2)
            if args.duration is not None and next_at - started > args.duration + 1e-6:
                # The next sample would come after the duration: one last sample when it
                # ends, so the recording covers it (an interval longer than the duration
                # stopped at once, saying the duration had run out).
                end_at = started + args.duration
                if sampled_at >= end_at - 1e-3:
                    reason = "duration"
                    break
                next_at = end_at
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            result = sampler.sample(interval)
    except (KeyboardInterrupt, _Stop):
        reason = "stopped"
    except OSError as e:
        # What a file holds replays up to the last sample written whole (a full
        # disk): said, and closing does not say the same error again.
        kept = (
            ""
            if output == STDOUT
            else f": the recording stops after {plural(writer.samples, 'sample')}"
        )
        print(f"vmtop: writing {shown}: {e.strerror or e}{kept}", file=sys.stderr)
        _close_held(writer, "error", (), shown, stop, quiet=True)
        return 1
    if not _close_held(writer, reason, end_events, shown, stop):
        return 1
    why = {
        "exited": "the process exited",
        "stopped": "stopped",
        "unreadable": "stopped, the process can no longer be read",
    }.get(reason, "done")
    # The span from the first sample to the last, as `vmtop report` gives it.
    span = (
        f" over {span_label(last_at - first_at, label_digits.digits, trim=True)}"
        if writer.samples > 1
        else ""
    )
    # (Stopped again while a write still waited: what is out ends without its end mark.)
    cut = "" if writer.ended else ", without its end mark (it replays as cut short)"
    # (A terminal hung up, SIGHUP's, refuses the words with EIO: the file is whole.)
    with suppress(OSError):
        print(
            f"vmtop: {why}: {plural(writer.samples, 'sample')}{span}, "
            f"{format_bytes(writer.bytes_written)} {'to' if output == STDOUT else 'in'} "
            f"{shown}{cut}",
            file=sys.stderr,
        )
    if refused is not None:
        raise refused  # the CLI says why, and what to run instead; it still runs
    return 0


def smaps_plan_words(every: int, cost: float) -> str:
    """How often the recording reads smaps, in words: every sample, or every ``every``
    samples when one read costs ``cost`` seconds of CPU (the smaps budget)."""
    if every <= 1:
        return "smaps read with every sample"
    return (
        f"smaps read every {every} samples ({cost * 1000:.0f} ms a read; at most "
        f"{SMAPS_BUDGET:.0%} of a core): the samples between keep the last read's resident "
        "figures, and the file says when each was read"
    )


def _exists(output: str) -> str:
    return f"{display_name(output)} exists: not overwriting it (--force replaces it)"


def _refuse_output(output: str, force: bool) -> str | None:
    """Why the recording cannot go to ``output``, or None: a regular file that exists
    without --force (a recording it may be), stdout that is a terminal."""
    if output == STDOUT:
        if sys.stdout.isatty():
            return "not writing a recording to a terminal: redirect stdout, or give -o FILE"
        return None
    try:
        mode = os.stat(output).st_mode
    except OSError:
        return None  # not there (or not reachable: opening it says why)
    if stat.S_ISREG(mode) and not force:
        return _exists(output)
    return None


def _writer(
    procfs: ProcFS, output: str, interval: float, threshold: int, force: bool
) -> RecordingWriter:
    source = _source(procfs)
    machine = {} if procfs.is_live else _copied_machine(procfs)
    if output == STDOUT:
        return RecordingWriter(
            output,
            interval=interval,
            rss_threshold=threshold,
            source=source,
            file=sys.stdout.buffer,
            **machine,
        )
    try:
        existing = os.stat(output).st_mode
    except OSError:
        existing = None
    # Without --force, a new file only (made here, not one made meanwhile); a device or a
    # FIFO given as FILE is written to as it is.
    overwrite = force or (existing is not None and not stat.S_ISREG(existing))
    return RecordingWriter(
        output,
        interval=interval,
        rss_threshold=threshold,
        source=source,
        overwrite=overwrite,
        **machine,
    )


def _copied_machine(procfs: ProcFS) -> dict:
    """The host name and kernel of the machine a copied tree comes from, where the tree
    has them (sys/kernel/hostname, sys/kernel/osrelease: the scripts that copy the
    fixture trees do not copy them), else None each: not known, left out."""
    out = {}
    for key, name in (("hostname", "hostname"), ("kernel", "osrelease")):
        data = procfs.read_global(f"sys/kernel/{name}")
        value = None
        if data is not None:
            try:
                text = data.decode("utf-8").strip()
            except UnicodeDecodeError:
                text = ""
            if text and len(text) <= 256 and text.isprintable():
                value = text
        out[key] = value
    return out


def _close_held(
    writer: RecordingWriter, reason: str, events, shown: str, stop: StopSignals, **kw
) -> bool:
    """_close, with a first signal held until the end mark is out (a second one
    leaves the file without it, as a recording cut short)."""
    try:
        with stop.held():
            return _close(writer, reason, events, shown, **kw)
    except _Stop:
        print(f"vmtop: stopped before the end mark was written to {shown}", file=sys.stderr)
        return False


def _close(
    writer: RecordingWriter, reason: str, events, shown: str, *, quiet: bool = False
) -> bool:
    try:
        writer.close(reason, events)
    except OSError as e:
        if not quiet:
            print(f"vmtop: closing {shown}: {e.strerror or e}", file=sys.stderr)
        return False
    finally:
        if writer.path == STDOUT:
            _quiet_stdout()
    return True


def _quiet_stdout() -> None:
    """Whatever is left in stdout's buffer (a pipe closed early) is not flushed again
    at exit, where Python would print a traceback for it."""
    try:
        sys.stdout.flush()
    except OSError:
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except OSError:
        pass


def _source(procfs: ProcFS) -> str:
    return "live" if procfs.is_live else "copy"
