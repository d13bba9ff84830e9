"""``vmtop completion bash|zsh|fish`` and ``vmtop man``: generated from the argparse parser.

``command_specs(parser)`` reads the parser once into plain data (commands, options,
positionals, what each value can be); one small generator per shell turns that into a
script. Values are: a fixed list (argparse ``choices``: formats, demo names, bar
scales), the process IDs under /proc (read when the user presses Tab), a file or
directory path, or anything. Adding an option or a subcommand to the parser is all it
takes for it to be completed and to appear in the man page.
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
    names = ["vmtop-dark", "vmtop-light"]
    try:
        from textual.theme import BUILTIN_THEMES

        names += sorted(BUILTIN_THEMES)
    except ImportError:  # pragma: no cover - textual is a dependency
        pass
    return names


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


# -- bash -------------------------------------------------------------------------------


def _bash_words(values) -> str:
    if values == PIDS:
        return '$(__vmtop_pids "$proc_root")'
    if isinstance(values, list):
        return " ".join(values)
    return ""


def _bash_case_values(values) -> str:
    if isinstance(values, CommaList):
        return f'__vmtop_comma "{" ".join(values.names)}"; return;;'
    if values in (FILES, DIRS):
        flag = "-d" if values == DIRS else "-f"
        return f"__vmtop_paths {flag}; return;;"
    words = _bash_words(values)
    return f'COMPREPLY=($(compgen -W "{words}" -- "$cur")); return;;'


def bash_script(commands: list[Command]) -> str:
    top, subs = commands[0], commands[1:]
    lines = [
        "# bash completion for vmtop (generated by 'vmtop completion bash')",
        "# Install: vmtop completion bash > ~/.local/share/bash-completion/completions/vmtop",
        "# The processes under the /proc tree (--proc-root), leaving out kernel threads",
        "# (PF_KTHREAD in stat's flags) and zombies: they have no map to show.",
        "__vmtop_pids() {",
        "    local p line",
        "    local -a f",
        '    for p in "${1:-/proc}"/[0-9]*; do',
        '        line=""',
        '        { read -r line < "$p/stat"; } 2>/dev/null',
        "        f=(${line##*) })",
        "        [[ ${f[0]} == [ZX] ]] && continue",
        "        ((${f[6]:-0} & 0x200000)) && continue",
        "        printf '%s\\n' \"${p##*/}\"",
        "    done",
        "}",
        "",
        "# Paths (-f files, -d directories), one per line so that spaces stay; readline",
        "# then adds / to a directory and no space after it, and quotes what needs it.",
        "__vmtop_paths() {",
        "    local IFS=$'\\n'",
        '    COMPREPLY=($(compgen "$1" -- "$cur"))',
        "    compopt -o filenames 2>/dev/null",
        "}",
        "",
        "# One more name of a comma-separated list: those typed stay, and are not offered.",
        "__vmtop_comma() {",
        '    local done_="${cur%"${cur##*,}"}" name',
        "    local -a left=()",
        '    for name in $1; do [[ ",$done_" == *",$name,"* ]] || left+=("$name"); done',
        '    COMPREPLY=($(compgen -P "$done_" -W "${left[*]}" -- "${cur##*,}"))',
        "    compopt -o nospace 2>/dev/null",
        "}",
        "",
        "_vmtop() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local cmd="" i w npos=0 proc_root=/proc',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        w="${COMP_WORDS[i]}"',
        '        case "$w" in',
        '            --proc-root=*) proc_root="${w#*=}"; continue;;',
        "            --proc-root)",
        "                ((i++))",
        '                [[ "${COMP_WORDS[i]}" == = ]] && ((i++))  # --proc-root=PATH, split at =',
        '                proc_root="${COMP_WORDS[i]/#\\~/$HOME}"',
        "                continue;;",
    ]
    value_opts = sorted({f for c in commands for o in c.options if o.takes_value for f in o.flags})
    value_opts.remove("--proc-root")
    lines.append(
        f"            {'|'.join(value_opts)})"
        ' ((i++)); [[ "${COMP_WORDS[i]}" == = ]] && ((i++)); continue;;'
    )
    lines.append("            -*) continue;;")
    lines.append("        esac")
    names = "|".join(c.name for c in subs)
    lines.append('        if [[ -z "$cmd" ]]; then')
    lines.append(f'            case "$w" in {names}) cmd="$w"; npos=0; continue;; esac')
    lines.append("        fi")
    lines.append("        ((npos++))")
    lines.append("    done")
    lines.append('    case "$cmd" in')
    for command in commands:
        label = command.name or '""'
        lines.append(f"    {label})")
        lines.append('        case "$prev" in')
        for option in command.options:
            if option.takes_value:
                lines.append(
                    f"            {'|'.join(option.flags)}) {_bash_case_values(option.values)}"
                )
        lines.append("        esac")
        flags = " ".join(f for o in command.options for f in o.flags)
        lines.append('        if [[ "$cur" == -* ]]; then')
        lines.append(f'            COMPREPLY=($(compgen -W "{flags}" -- "$cur")); return')
        lines.append("        fi")
        if command is top:
            words = " ".join(c.name for c in subs) + ' $(__vmtop_pids "$proc_root")'
            lines.append("        if ((npos == 0)); then")
            lines.append(f'            COMPREPLY=($(compgen -W "{words}" -- "$cur"))')
            lines.append("        fi")
        else:
            lines.append('        case "$npos" in')
            for k, pos in enumerate(command.positionals):
                pattern = "*" if pos.many else str(k)
                if pos.values in (FILES, DIRS):
                    flag = "-d" if pos.values == DIRS else "-f"
                    lines.append(f"            {pattern}) __vmtop_paths {flag};;")
                elif pos.values:
                    words = _bash_words(pos.values)
                    lines.append(
                        f'            {pattern}) COMPREPLY=($(compgen -W "{words}" -- "$cur"));;'
                    )
                if pos.many:
                    break
            lines.append("        esac")
        lines.append("        ;;")
    lines.append("    esac")
    lines.append("}")
    lines.append("complete -F _vmtop vmtop")
    return "\n".join(lines) + "\n"


# -- zsh --------------------------------------------------------------------------------


def _zq(text: str) -> str:
    """Text inside a single-quoted _arguments spec or description."""
    text = text.replace("'", "'\\''")
    for ch in "[]:":
        text = text.replace(ch, "\\" + ch)
    return text


def _zsh_action(values) -> str:
    if values == PIDS:
        return "_vmtop_pids"
    if isinstance(values, CommaList):
        return "_values -s , " + _zq(" ".join(("column", *values.names)))
    if values == FILES:
        return "_files"
    if values == DIRS:
        return "_files -/"
    if isinstance(values, list):
        return "(" + " ".join(values) + ")"
    return " "


# The processes of the /proc tree (--proc-root, given to vmtop or to the command),
# described by their names, leaving out kernel threads and zombies (no map to show).
_ZSH_PIDS = r"""_vmtop_pids() {
    local root=${opt_args[--proc-root]:-${_vmtop_proc_root:-/proc}} p line
    local -a pids fields
    root=${root/#\~/$HOME}
    for p in $root/<->(N); do
        line=""
        [[ -r $p/stat ]] && line=$(<$p/stat)
        fields=(${=${line##*\) }})
        [[ $fields[1] == [ZX] ]] && continue
        (( ${fields[7]:-0} & 0x200000 )) && continue
        if [[ $line == *\(*\)* ]]; then
            pids+=("${p:t}:${${${line#*\(}%\)*}//:/\\:}")
        else
            pids+=("${p:t}")
        fi
    done
    _describe -t pids 'process ID' pids
}"""


def _zsh_specs(command: Command) -> list[str]:
    specs = []
    for option in command.options:
        exclusive = f"({' '.join(option.flags)})" if len(option.flags) > 1 else ""
        names = option.flags[0] if len(option.flags) == 1 else "{" + ",".join(option.flags) + "}"
        value = ""
        if option.takes_value:
            value = f":{_zq(option.metavar)}:{_zsh_action(option.values)}"
        spec = f"'{exclusive}'{names}'[{_zq(option.help)}]{value}'"
        if not exclusive:
            spec = f"'{names}[{_zq(option.help)}]{value}'"
        specs.append(spec)
    return specs


def zsh_script(commands: list[Command]) -> str:
    top, subs = commands[0], commands[1:]
    lines = [
        "#compdef vmtop",
        "# zsh completion for vmtop (generated by 'vmtop completion zsh')",
        "# Install: vmtop completion zsh > ~/.zfunc/_vmtop, with ~/.zfunc in $fpath before",
        "# compinit; or: source <(vmtop completion zsh)",
        "",
        *_ZSH_PIDS.splitlines(),
        "",
        "_vmtop() {",
        "    local curcontext=$curcontext state line",
        "    local -a commands",
        "    commands=(",
    ]
    lines += [f"        '{_zq(c.name)}:{_zq(c.help)}'" for c in subs]
    lines.append("    )")
    # -A '-*': after the command, its words are the command's own, even an option
    # vmtop has too (--proc-root, --interval); else nothing is completed after them.
    lines.append("    _arguments -C -A '-*' \\")
    for spec in _zsh_specs(top):
        lines.append(f"        {spec} \\")
    lines.append("        '1: :->first' \\")
    lines.append("        '*:: :->args'")
    lines.append("    local _vmtop_proc_root=${opt_args[--proc-root]}  # for _vmtop_pids")
    lines.append("    case $state in")
    lines.append("    first)")
    lines.append("        _describe -t commands 'vmtop command' commands")
    lines.append("        _vmtop_pids")
    lines.append("        ;;")
    lines.append("    args)")
    lines.append("        case $words[1] in")
    for command in subs:
        lines.append(f"        {command.name})")
        lines.append("            _arguments \\")
        for spec in _zsh_specs(command):
            lines.append(f"                {spec} \\")
        for k, pos in enumerate(command.positionals):
            where = "*" if pos.many else str(k + 1)
            lines.append(f"                '{where}:{_zq(pos.name)}:{_zsh_action(pos.values)}' \\")
        lines[-1] = lines[-1].removesuffix(" \\")
        lines.append("            ;;")
    lines.append("        esac")
    lines.append("        ;;")
    lines.append("    esac")
    lines.append("}")
    lines.append("")
    lines.append("if [[ $zsh_eval_context[-1] == loadautofunc ]]; then")
    lines.append('    _vmtop "$@"')
    lines.append("else")
    lines.append("    compdef _vmtop vmtop")
    lines.append("fi")
    return "\n".join(lines) + "\n"


# -- fish -------------------------------------------------------------------------------


def _fq(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_values(values) -> str:
    if values == PIDS:
        return "-x -a '(__vmtop_pids)'"
    if isinstance(values, CommaList):
        return "-x -a '(__fish_complete_list , __vmtop_columns)'"
    if values in (FILES, DIRS):
        return "-r -F"
    if isinstance(values, list):
        return "-x -a " + _fq(" ".join(values))
    return "-x"


# As _ZSH_PIDS: the PID, a tab, and the name.
_FISH_PIDS = r"""function __vmtop_pids
    set -l root /proc
    set -l words (commandline -opc)
    for i in (seq (count $words))
        switch $words[$i]
            case '--proc-root=*'
                set root (string replace -- --proc-root= '' $words[$i])
            case --proc-root
                set -l next (math $i + 1)
                set -q words[$next]; and set root $words[$next]
        end
    end
    set root (string replace -r '^~' $HOME -- $root)
    for p in $root/*
        set -l pid (string replace -r '.*/' '' -- $p)
        string match -qr '^[0-9]+$' -- $pid; or continue
        set -l line ''
        test -r $p/stat; and read -l line < $p/stat
        set -l fields (string split ' ' -- (string replace -r '^.*\) ' '' -- $line))
        if set -q fields[7]
            contains -- $fields[1] Z X; and continue
            test (math "bitand($fields[7], 2097152)") -ne 0; and continue
        end
        printf '%s\t%s\n' $pid (string replace -r '^[^(]*\((.*)\).*$' '$1' -- $line)
    end
end"""


def fish_script(commands: list[Command]) -> str:
    top, subs = commands[0], commands[1:]
    names = " ".join(c.name for c in subs)
    lines = [
        "# fish completion for vmtop (generated by 'vmtop completion fish')",
        "# Install: vmtop completion fish > ~/.config/fish/completions/vmtop.fish",
        *_FISH_PIDS.splitlines(),
        "function __vmtop_columns",
        f"    printf '%s\\n' {' '.join(TABLE_COLUMNS)}",
        "end",
        "complete -c vmtop -f",
    ]
    for command in commands:
        if command is top:
            cond = f"not __fish_seen_subcommand_from {names}"
        else:
            cond = f"__fish_seen_subcommand_from {command.name}"
        for option in command.options:
            parts = []
            for flag in option.flags:
                if flag.startswith("--"):
                    parts.append(f"-l {flag[2:]}")
                else:
                    parts.append(f"-s {flag[1:]}")
            value = _fish_values(option.values) if option.takes_value else ""
            lines.append(
                f"complete -c vmtop -n {_fq(cond)} {' '.join(parts)} {value} -d {_fq(option.help)}".replace(
                    "  ", " "
                )
            )
    for command in subs:
        cond = f"not __fish_seen_subcommand_from {names}"
        lines.append(f"complete -c vmtop -n {_fq(cond)} -a {command.name} -d {_fq(command.help)}")
    lines.append(
        f"complete -c vmtop -n {_fq(f'not __fish_seen_subcommand_from {names}')} "
        "-a '(__vmtop_pids)' -d 'process ID'"
    )
    for command in subs:
        for pos in command.positionals[:1]:
            cond = f"__fish_seen_subcommand_from {command.name}"
            if pos.values == PIDS:
                lines.append(
                    f"complete -c vmtop -n {_fq(cond)} -a '(__vmtop_pids)' -d 'process ID'"
                )
            elif isinstance(pos.values, list):
                lines.append(f"complete -c vmtop -n {_fq(cond)} -a {_fq(' '.join(pos.values))}")
            elif pos.values in (FILES, DIRS):
                lines.append(f"complete -c vmtop -n {_fq(cond)} -F")
    return "\n".join(lines) + "\n"


# -- man page ---------------------------------------------------------------------------


def _roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.splitlines() or [""]:
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def _option_roff(option: Option) -> list[str]:
    flags = ", ".join(f"\\fB{_roff(f)}\\fR" for f in option.flags)
    if option.takes_value:
        if isinstance(option.values, list) and option.metavar.startswith("{"):
            flags += " \\fI" + _roff("{" + ",".join(option.values) + "}") + "\\fR"
        else:
            flags += f" \\fI{_roff(option.metavar)}\\fR"
    return [".TP", flags, _roff(option.help or "")]


def man_page(commands: list[Command], version: str) -> str:
    top, subs = commands[0], commands[1:]
    out = [
        '.\\" Generated by "vmtop man" from the argument parser; do not edit.',
        f'.TH VMTOP 1 "" "vmtop {version}" "User Commands"',
        ".SH NAME",
        "vmtop \\- " + _roff(top.help.rstrip(".")),
        ".SH SYNOPSIS",
        ".B vmtop",
        "[\\fIOPTIONS\\fR] [\\fIPID\\fR]",
        ".br",
        ".B vmtop",
        "[\\fIOPTIONS\\fR] \\fICOMMAND\\fR ...",
        ".SH DESCRIPTION",
        _roff(
            "vmtop is top for one process's address space. Run without arguments it shows a "
            "list of processes to pick from; with a PID it opens that process: the address-"
            "space bar, the table of regions with their sizes and resident memory, and the "
            "events as the map changes. The commands below print the same model without "
            "the TUI."
        ),
        ".SH OPTIONS",
    ]
    for option in top.options:
        out += _option_roff(option)
    out.append(".SH COMMANDS")
    for command in subs:
        out.append(".SS " + _roff(command.name))
        out.append(".nf")
        out.append(_roff(command.usage))
        out.append(".fi")
        out.append(".PP")
        out.append(_roff(command.description))
        for pos in command.positionals:
            if pos.help:
                out += [".TP", f"\\fI{_roff(pos.name)}\\fR", _roff(pos.help)]
            elif isinstance(pos.values, list):
                out += [
                    ".TP",
                    f"\\fI{_roff(pos.name)}\\fR",
                    _roff("one of: " + ", ".join(pos.values)),
                ]
        for option in command.options:
            if option.flags == ["-h", "--help"]:
                continue
            out += _option_roff(option)
    out += [
        ".SH FILES",
        ".TP",
        ".I $XDG_CONFIG_HOME/vmtop/config.toml",
        _roff(
            "Settings (TOML): interval, threshold, columns, theme, bar_scale. Defaults to "
            "~/.config/vmtop/config.toml; vmtop --print-config shows what is in effect "
            "and where each value came from."
        ),
        ".SH ENVIRONMENT",
        ".TP",
        ".B VMTOP_CONFIG",
        "The config file to read instead of the default one.",
        ".TP",
        ".B VMTOP_INTERVAL, VMTOP_THRESHOLD, VMTOP_COLUMNS, VMTOP_THEME, VMTOP_BAR_SCALE",
        _roff("Override the config file; the command line overrides these."),
        ".TP",
        ".B TEXTUAL_THEME",
        _roff("A Textual theme to use when neither vmtop's settings nor options name one."),
        ".TP",
        ".B NO_COLOR",
        "When set, vmtop draws without colour.",
        ".SH EXIT STATUS",
        _roff(
            "0 on success, 1 when the process could not be read (one line on standard error), "
            "2 for a usage or configuration error."
        ),
        ".SH NOTES",
        _roff(
            "Reading another user's process needs root. pipx and uv install vmtop in "
            "~/.local/bin, which sudo does not search: run"
        ),
        ".RS",
        '\\fBsudo "$(command \\-v vmtop)" \\fIPID\\fR',
        ".RE",
        ".SH SEE ALSO",
        ".BR pmap (1),",
        ".BR top (1),",
        ".BR proc (5)",
    ]
    return "\n".join(out) + "\n"


# -- the subcommands ----------------------------------------------------------------------


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
