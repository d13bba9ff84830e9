"""vmtop's commands and options as plain data, read from the argparse parser once.

``command_specs(parser)`` gives the commands, their options and positionals, and what
each value can be: a fixed list (argparse ``choices``: formats, demo names, bar
scales), the process IDs under /proc (read when the user presses Tab), a file or
directory path, several names of a fixed list (``--columns``), or anything. The shell
scripts (``completion_scripts``) and the man page (``man_page``) are made from it, so
adding an option or a subcommand to the parser is all it takes for both.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from vmtop.config import TABLE_COLUMNS

SHELLS = ("bash", "zsh", "fish")
PIDS = "pids"
FILES = "files"
DIRS = "dirs"


@dataclass(frozen=True)
class CommaList:
    """A value that is one or more of ``names``, comma-separated (``--columns``)."""

    names: tuple[str, ...]


@dataclass
class Option:
    flags: list[str]
    help: str
    takes_value: bool
    # list: fixed choices; PIDS / FILES / DIRS; CommaList: several of a fixed list
    values: list[str] | str | CommaList | None = None
    metavar: str = ""


@dataclass
class Positional:
    name: str
    help: str
    values: list[str] | str | None = None
    many: bool = False
    optional: bool = False


@dataclass
class Command:
    name: str  # "" for vmtop itself
    help: str
    options: list[Option] = field(default_factory=list)
    positionals: list[Positional] = field(default_factory=list)
    usage: str = ""
    description: str = ""


def _values(action: argparse.Action) -> list[str] | str | None:
    if action.choices is not None:
        return [str(c) for c in action.choices]
    metavar = str(action.metavar or "")
    if metavar == "PID":
        return PIDS
    if metavar in ("PATH", "FILE"):
        return DIRS if action.dest == "proc_root" else FILES
    if action.dest == "cfg_theme":
        return _theme_names()
    if action.dest == "cfg_columns":
        return CommaList(TABLE_COLUMNS)
    return None


def _metavar(action: argparse.Action) -> str:
    if action.metavar:
        return str(action.metavar)
    if action.choices is not None:
        return "{" + ",".join(map(str, action.choices)) + "}"
    return action.dest.removeprefix("cfg_").upper()


def _theme_names() -> list[str]:
    from vmtop.tui.theme import theme_names

    return theme_names()


def _help(action: argparse.Action) -> str:
    text = action.help or ""
    if text == argparse.SUPPRESS:
        return ""
    return " ".join(text.split())


def _read(parser: argparse.ArgumentParser, name: str, help_text: str) -> Command:
    command = Command(
        name=name,
        help=help_text,
        usage=" ".join(parser.format_usage().split()).removeprefix("usage: "),
        description=parser.description or help_text,
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            if action.help == argparse.SUPPRESS:
                continue
            command.options.append(
                Option(
                    flags=list(action.option_strings),
                    help=_help(action),
                    takes_value=action.nargs != 0,
                    values=_values(action),
                    metavar=_metavar(action),
                )
            )
        else:
            command.positionals.append(
                Positional(
                    name=str(action.metavar or action.dest),
                    help=_help(action),
                    values=_values(action),
                    many=action.nargs in ("+", "*"),
                    optional=action.nargs in ("?", "*"),
                )
            )
    return command


def command_specs(parser: argparse.ArgumentParser) -> list[Command]:
    """vmtop itself first (with PID as its positional), then every subcommand."""
    top = _read(parser, "", parser.description or "")
    top.positionals = [Positional("PID", "watch this process in the TUI", PIDS, optional=True)]
    commands = [top]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                commands.append(_read(sub, name, helps.get(name, "")))
    return commands
