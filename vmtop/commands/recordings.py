"""The recording subcommands (record, replay, report) as the CLI registers them."""

from __future__ import annotations

COMMANDS = ("record", "replay", "report")


def add_parsers(sub, common, parse_pid, positive_float, positive_int) -> None:
    from vmtop.commands import record, replay, report

    record.add_parser(sub, common, parse_pid, positive_float, positive_int)
    replay.add_parser(sub)
    report.add_parser(sub, positive_int)


def run(procfs, args) -> int:
    if args.command == "record":
        from vmtop.commands.record import cmd_record

        return cmd_record(procfs, args)
    if args.command == "replay":
        from vmtop.commands.replay import cmd_replay

        return cmd_replay(args)
    from vmtop.commands.report import cmd_report

    return cmd_report(args)
