"""Settings: built-in defaults, then the config file, then the environment, then the
command line; each later source overrides the earlier ones, setting by setting.

The file is TOML at ``$XDG_CONFIG_HOME/vmtop/config.toml`` (``~/.config/vmtop/...``
when ``XDG_CONFIG_HOME`` is unset), or wherever ``VMTOP_CONFIG`` / ``--config`` say::

    interval = 0.5            # seconds between samples (TUI and `vmtop watch`)
    threshold = 131072        # smallest RSS change of a region that is an event (bytes)
    columns = ["start", "size", "rss", "kind", "drss", "name"]   # region table columns
    theme = "vmtop-light"     # any Textual theme name
    bar_scale = "compact"     # "compact" (empty gaps collapse) or "true" (to scale)

Every value says where it came from (``vmtop --print-config``). A bad value is one
``ConfigError`` naming the file (or variable, or option) and the key.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmtop.model.names import display_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# The region table's columns, in the table's order (CATALOGUE in
# vmtop/tui/widgets/table_columns.py, which a test keeps in step with this list; the
# config cannot import the TUI).
TABLE_COLUMNS = (
    "start",
    "end",
    "size",
    "rss",
    "pss",
    "shared_clean",
    "shared_dirty",
    "private_clean",
    "private_dirty",
    "dirty",
    "anonymous",
    "swap",
    "locked",
    "referenced",
    "pss_dirty",
    "swap_pss",
    "anon_huge",
    "lazyfree",
    "hugetlb",
    "perm",
    "kind",
    "dsize",
    "drss",
    "name",
)
# What the table shows unless told otherwise (DEFAULT_COLUMNS there).
DEFAULT_TABLE_COLUMNS = (
    "start", "end", "size", "rss", "pss", "private_dirty", "swap", "perm", "kind", "dsize",
    "drss", "name",
)  # fmt: skip
BAR_SCALES = ("compact", "true")
DEFAULT_THEME = "vmtop-dark"

DEFAULTS: dict[str, Any] = {
    "interval": 1.0,
    "threshold": 64 * 1024,
    "columns": DEFAULT_TABLE_COLUMNS,
    "theme": DEFAULT_THEME,
    "bar_scale": "compact",
}
KEYS = tuple(DEFAULTS)

ENV_VARS = {
    "interval": "VMTOP_INTERVAL",
    "threshold": "VMTOP_THRESHOLD",
    "columns": "VMTOP_COLUMNS",
    "theme": "VMTOP_THEME",
    "bar_scale": "VMTOP_BAR_SCALE",
}
# Every other VMTOP_ variable vmtop or its tests read: the config file's path, where R
# writes recordings, what a demo is told by the vmtop that started it, and the test
# suite's and CI's own. One not here is a typo to say (tests check the list is whole).
OTHER_ENV_VARS = (
    "VMTOP_CONFIG",
    "VMTOP_RECORDINGS",
    "VMTOP_DEMO_PARENT",
    "VMTOP_DEMO_PACE",
    "VMTOP_DEMO_START_DELAY",
    "VMTOP_FUZZ_EXAMPLES",
    "VMTOP_UPDATE_SCREENSHOTS",
    "VMTOP_CI_VENV",
)
OPTIONS = {
    "interval": "--interval",
    "threshold": "--threshold",
    "columns": "--columns",
    "theme": "--theme",
    "bar_scale": "--bar-scale",
}


class ConfigError(Exception):
    """A bad setting; ``str()`` is one line naming where it came from and the key."""


@dataclass(frozen=True)
class Settings:
    interval: float = DEFAULTS["interval"]
    threshold: int = DEFAULTS["threshold"]
    columns: tuple[str, ...] = DEFAULTS["columns"]
    theme: str = DEFAULTS["theme"]
    bar_scale: str = DEFAULTS["bar_scale"]
    # key -> where its value came from: "default", "file PATH", "env NAME", "option --x"
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    config_path: Path | None = field(default=None, compare=False)
    config_found: bool = field(default=False, compare=False)

    def source(self, key: str) -> str:
        return self.sources.get(key, "default")

    def origin(self, key: str) -> str:
        """Where a value came from, as every settings message begins: the file's path,
        "environment variable NAME", "option --x" (or "default")."""
        return described_source(self.source(key))


def described_source(source: str) -> str:
    """A ``sources`` value ("file PATH", "env NAME", "option --x") as messages say it."""
    kind, _, rest = source.partition(" ")
    if kind == "file":
        return rest
    if kind == "env":
        return f"environment variable {rest}"
    return source


# -- validation: one function per key, from any source --------------------------------------


def _written(value: Any) -> str:
    """A value as the file wrote it, for the message: TOML's true, not Python's True."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


def _interval(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"must be a number of seconds, not {_written(value)}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"must be a number of seconds, not {_written(value)}") from None
    if not 0.05 <= number <= 3600:
        raise ValueError(f"must be between 0.05 and 3600 seconds, not {_written(value)}")
    return number


# A size as vmtop prints them ("64K", "1.0M") or as people write them ("1MiB", "512 kB"):
# binary units, as everywhere in vmtop (and in pmap, smaps, top).
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_bytes(text: str) -> int:
    """A number of bytes from ``text``: 65536, 0x10000, 64K, 64k, 64KiB, 64 KB, 1.5M
    (K, M, G, T in 1024s: vmtop's own sizes read back). ValueError where it is none, or
    not a whole number of bytes."""
    try:
        return int(text.strip(), 0)
    except ValueError:
        pass
    written = _SIZE.fullmatch(text.strip())
    if written is None:
        raise ValueError(f"not a size: {text!r}")
    value = float(written["number"]) * _UNITS[(written["unit"] or "").lower()]
    if not value.is_integer():
        raise ValueError(f"not a whole number of bytes: {text!r}")
    return int(value)


_SIZE = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?:(?P<unit>[kmgt])i?b?|b)?", re.IGNORECASE)


def size_in_bytes(text: str) -> int:
    """An option's positive number of bytes, written as vmtop prints sizes too: 65536,
    64K, 1M (an argparse type)."""
    try:
        value = parse_bytes(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a size in bytes (65536, 64K, 1M): {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte: {text!r}")
    return value


def _threshold(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number of bytes, not {_written(value)}")
    if isinstance(value, str):
        try:
            value = parse_bytes(value)
        except ValueError:
            raise ValueError(
                f"must be a whole number of bytes (65536, 64K, 1M), not {_written(value)}"
            ) from None
    if isinstance(value, float) and value.is_integer() and value >= 1:
        # TOML reads 1e6 as a float: say how to write the number instead.
        raise ValueError(
            f"must be a whole number of bytes: write {int(value)}, not {_written(value)}"
        )
    if not isinstance(value, int):
        raise ValueError(f"must be a whole number of bytes, not {_written(value)}")
    if value < 1:
        raise ValueError(f"must be at least 1 byte, not {_written(value)}")
    return value


def _columns(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"must be a list of column names, not {_written(value)}")
    unknown = [v for v in value if v not in TABLE_COLUMNS]
    if unknown:
        raise ValueError(f"unknown column {unknown[0]!r} (columns: {', '.join(TABLE_COLUMNS)})")
    if not value:
        raise ValueError("must name at least one column")
    chosen = set(value)
    return tuple(c for c in TABLE_COLUMNS if c in chosen)  # the table's order


def _theme(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f'must be a theme name, e.g. "vmtop-dark" or "vmtop-light", not {_written(value)}'
        )
    return value.strip()


def _bar_scale(value: Any) -> str:
    if value not in BAR_SCALES:
        raise ValueError(
            f"must be one of {', '.join(map(repr, BAR_SCALES))}, not {_written(value)}"
        )
    return value


VALIDATORS = {
    "interval": _interval,
    "threshold": _threshold,
    "columns": _columns,
    "theme": _theme,
    "bar_scale": _bar_scale,
}


# -- sources ----------------------------------------------------------------------------


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file is looked for: ``VMTOP_CONFIG``, else the XDG location."""
    env = os.environ if environ is None else environ
    if env.get("VMTOP_CONFIG"):
        return Path(env["VMTOP_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or ""
    if not base or not os.path.isabs(base):  # the spec: ignore a relative value
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".config")
    return Path(base) / "vmtop" / "config.toml"


def read_file(path: Path) -> dict[str, Any] | None:
    """The file's settings, validated; None when there is no such file."""
    # (a path is the user's bytes: an escape or a newline in it is shown, not obeyed)
    shown = display_name(str(path))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(f"{shown}: cannot read: {e.strerror or e}") from None
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{shown}: not valid TOML: {e}") from None
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in VALIDATORS:
            raise ConfigError(f"{shown}: unknown key {key!r} (known keys: {', '.join(KEYS)})")
        try:
            out[key] = VALIDATORS[key](value)
        except ValueError as e:
            raise ConfigError(f"{shown}: key {key!r}: {e}") from None
    return out


def read_env(environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    out: dict[str, tuple[Any, str]] = {}
    for key, name in ENV_VARS.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            out[key] = (VALIDATORS[key](raw), f"env {name}")
        except ValueError as e:
            raise ConfigError(f"environment variable {name}: key {key!r}: {e}") from None
    # Textual's own theme selection counts, below vmtop's variable.
    if "theme" not in out and environ.get("TEXTUAL_THEME"):
        out["theme"] = (_theme(environ["TEXTUAL_THEME"]), "env TEXTUAL_THEME")
    return out


def unknown_env_warnings(environ: Mapping[str, str]) -> list[str]:
    """A VMTOP_ variable vmtop does not read is most likely a misspelt one, which
    would otherwise be ignored without a word: one line each, with the likely name."""
    known = (*ENV_VARS.values(), *OTHER_ENV_VARS)
    out = []
    for name in sorted(n for n in environ if n.startswith("VMTOP_") and n not in known):
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
        # (the first seven are the ones a user sets: the settings, the file, recordings)
        hint = f"did you mean {close[0]}?" if close else "vmtop reads " + ", ".join(known[:7])
        out.append(f"environment variable {name} is not one vmtop reads ({hint})")
    return out


def load_settings(
    options: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    path: Path | str | None = None,
) -> Settings:
    """Defaults, then the file, then the environment, then ``options`` (not None values).

    ``options`` holds raw command-line values by key; ``path`` is ``--config``.
    """
    env = os.environ if environ is None else environ
    file_path = Path(path) if path is not None else config_path(env)
    values: dict[str, Any] = dict(DEFAULTS)
    sources: dict[str, str] = {}
    from_file = read_file(file_path)
    if from_file is None and path is not None:
        raise ConfigError(f"{display_name(str(file_path))}: no such file (given with --config)")
    if from_file is None and env.get("VMTOP_CONFIG"):
        raise ConfigError(f"{display_name(str(file_path))}: no such file (given with VMTOP_CONFIG)")
    for key, value in (from_file or {}).items():
        values[key] = value
        sources[key] = f"file {display_name(str(file_path))}"
    for key, (value, source) in read_env(env).items():
        values[key] = value
        sources[key] = source
    for key, raw in (options or {}).items():
        if raw is None:
            continue
        try:
            values[key] = VALIDATORS[key](raw)
        except ValueError as e:
            raise ConfigError(f"option {OPTIONS[key]}: key {key!r}: {e}") from None
        sources[key] = f"option {OPTIONS[key]}"
    return Settings(
        **values,
        sources=sources,
        config_path=file_path,
        config_found=from_file is not None,
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def format_settings(settings: Settings) -> str:
    """What ``vmtop --print-config`` prints: valid TOML, each value with its source."""
    found = "found" if settings.config_found else "not found"
    lines = [
        "# vmtop settings in effect. Sources, each overriding the one before:",
        "# defaults, config file, environment (VMTOP_*), command line.",
        f"# config file: {display_name(str(settings.config_path))} ({found})",
    ]
    for key in KEYS:
        lines.append(f"{key} = {_toml_value(getattr(settings, key))}  # {settings.source(key)}")
    return "\n".join(lines) + "\n"


# -- the command line ------------------------------------------------------------------


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """The command-line options for the settings (on vmtop itself); dest cfg_* so that a
    subcommand's own --interval does not clobber them."""
    group = parser.add_argument_group("settings (override the config file and VMTOP_* variables)")
    group.add_argument(
        "--interval", dest="cfg_interval", metavar="S", help="seconds between samples (default 1)"
    )
    group.add_argument(
        "--threshold",
        dest="cfg_threshold",
        metavar="BYTES",
        help="smallest RSS change of a region that is an event: 65536, 64K, 1M (default 64K)",
    )
    group.add_argument(
        "--columns",
        dest="cfg_columns",
        metavar="LIST",
        help="region table columns, comma-separated",
    )
    group.add_argument(
        "--theme",
        dest="cfg_theme",
        metavar="NAME",
        help="vmtop-dark, vmtop-light or any Textual theme",
    )
    group.add_argument(
        "--bar-scale",
        dest="cfg_bar_scale",
        choices=BAR_SCALES,
        help="the address-space bar's scale",
    )
    group.add_argument(
        "--config", metavar="PATH", help="read this config file (default: XDG config dir)"
    )
    group.add_argument(
        "--print-config",
        action="store_true",
        help="print the settings in effect and where each came from, then exit",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings for a parsed command line (with ``add_settings_options``)."""
    options = {key: getattr(args, "cfg_" + key, None) for key in KEYS}
    # A subcommand's own --interval / --threshold (vmtop watch) is the command line too.
    for key in ("interval", "threshold"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    return load_settings(options, path=getattr(args, "config", None))
