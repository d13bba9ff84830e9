"""``vmtop completion bash|zsh|fish`` and ``vmtop man``: generated from the argparse
parser (``completion_specs``), by ``completion_scripts`` and ``man_page``."""

from __future__ import annotations

import argparse

from vmtop.commands.completion_scripts import bash_script, fish_script, zsh_script
from vmtop.commands.completion_specs import SHELLS, command_specs
from vmtop.commands.man_page import man_page


def add_completion_parsers(sub) -> None:
    completion = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print a completion script for vmtop's commands, options, formats, "
        "demo names and process IDs. Install for bash: vmtop completion bash > "
        "~/.local/share/bash-completion/completions/vmtop",
    )
    completion.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    sub.add_parser(
        "man",
        help="print the man page (roff)",
        description="Print vmtop's man page. Install: vmtop man > "
        "~/.local/share/man/man1/vmtop.1 (then: man vmtop)",
    )


def cmd_completion(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import sys

    from vmtop import __version__

    commands = command_specs(parser)
    if args.command == "man":
        sys.stdout.write(man_page(commands, __version__))
    else:
        writer = {"bash": bash_script, "zsh": zsh_script, "fish": fish_script}[args.shell]
        sys.stdout.write(writer(commands))
    return 0
