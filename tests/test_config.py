"""Settings: file, then environment, then command line; bad values say file and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vmtop.config import ConfigError, Settings, config_path, load_settings

ROOT = Path(__file__).resolve().parents[1]


def write_config(home: Path, text: str) -> Path:
    path = home / "vmtop" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run_vmtop(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vmtop", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """An environment with no VMTOP_* / TEXTUAL_THEME and XDG_CONFIG_HOME in tmp_path."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMTOP_", "TEXTUAL_THEME"))}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    return env


def test_the_file_is_in_the_xdg_config_dir(tmp_path):
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path), "HOME": "/h"}) == (
        tmp_path / "vmtop" / "config.toml"
    )
    assert config_path({"HOME": "/h"}) == Path("/h/.config/vmtop/config.toml")
    # A relative XDG_CONFIG_HOME is invalid by the spec and ignored.
    assert config_path({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) == Path(
        "/h/.config/vmtop/config.toml"
    )
    assert config_path({"VMTOP_CONFIG": "/etc/x.toml", "HOME": "/h"}) == Path("/etc/x.toml")


def test_no_file_gives_the_defaults(clean_env):
    settings = load_settings({}, environ=clean_env)
    assert settings == Settings()
    assert not settings.config_found
    assert all(settings.source(k) == "default" for k in ("interval", "theme", "columns"))


def test_file_then_environment_then_command_line(tmp_path, clean_env):
    path = write_config(
        tmp_path,
        'interval = 0.5\nthreshold = 1000\ntheme = "vmtop-light"\n'
        'columns = ["name", "start", "rss"]\nbar_scale = "true"\n',
    )
    env = dict(clean_env, VMTOP_THRESHOLD="2000", VMTOP_THEME="nord")
    settings = load_settings({"theme": "gruvbox", "interval": None}, environ=env)
    assert settings.interval == 0.5 and settings.source("interval") == f"file {path}"
    assert settings.threshold == 2000 and settings.source("threshold") == "env VMTOP_THRESHOLD"
    assert settings.theme == "gruvbox" and settings.source("theme") == "option --theme"
    assert settings.columns == ("start", "rss", "name")  # the table's order
    assert settings.bar_scale == "true"
    # The environment alone beats the file.
    assert load_settings({}, environ=env).theme == "nord"


def test_textual_theme_counts_below_vmtop_theme(clean_env):
    env = dict(clean_env, TEXTUAL_THEME="dracula")
    settings = load_settings({}, environ=env)
    assert settings.theme == "dracula" and settings.source("theme") == "env TEXTUAL_THEME"
    env["VMTOP_THEME"] = "vmtop-light"
    assert load_settings({}, environ=env).theme == "vmtop-light"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("interval = -1\n", "interval", "between"),
        ('interval = "fast"\n', "interval", "number"),
        ("threshold = 1.5\n", "threshold", "whole number"),
        ('columns = ["start", "colour"]\n', "columns", "'colour'"),
        ('bar_scale = "log"\n', "bar_scale", "'compact'"),
        ("intervall = 1\n", "intervall", "unknown key"),
    ],
)
def test_a_bad_value_names_the_file_and_the_key(tmp_path, clean_env, text, key, words):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_settings({}, environ=clean_env)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert repr(key) in message and words in message


def test_bad_toml_names_the_file_and_the_line(tmp_path, clean_env):
    path = write_config(tmp_path, 'interval = 1\ntheme = "vmtop-light\n')
    with pytest.raises(ConfigError) as e:
        load_settings({}, environ=clean_env)
    assert str(e.value).startswith(f"{path}: not valid TOML")
    assert "line 2" in str(e.value)


def test_a_bad_environment_value_names_the_variable(clean_env):
    with pytest.raises(ConfigError, match="VMTOP_INTERVAL.*'interval'"):
        load_settings({}, environ=dict(clean_env, VMTOP_INTERVAL="soon"))


def test_print_config_shows_each_value_and_its_source(tmp_path, clean_env):
    path = write_config(tmp_path, "interval = 0.25\n")
    env = dict(clean_env, VMTOP_BAR_SCALE="true")
    result = run_vmtop("--threshold", "4096", "--print-config", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"# config file: {path} (found)" in lines
    assert f"interval = 0.25  # file {path}" in lines
    assert "threshold = 4096  # option --threshold" in lines
    assert 'bar_scale = "true"  # env VMTOP_BAR_SCALE' in lines
    assert 'theme = "vmtop-dark"  # default' in lines


def test_print_config_output_reads_back_as_the_same_settings(tmp_path, clean_env):
    env = dict(clean_env, VMTOP_COLUMNS="start,kind,name", VMTOP_INTERVAL="3")
    first = run_vmtop("--theme", "vmtop-light", "--print-config", env=env)
    assert first.returncode == 0, first.stderr
    copy = tmp_path / "copy.toml"
    copy.write_text(first.stdout)
    again = load_settings({}, environ=clean_env, path=copy)
    assert again.columns == ("start", "kind", "name")
    assert again.interval == 3.0 and again.theme == "vmtop-light"


def test_a_bad_config_file_is_one_line_and_exit_status_2(tmp_path, clean_env):
    path = write_config(tmp_path, "threshold = 0\n")
    result = run_vmtop("watch", "1", env=clean_env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"vmtop: {path}: key 'threshold'")


def test_a_command_that_uses_no_setting_runs_despite_a_bad_one(clean_env):
    """`where` and `snapshot` read no interval, threshold or theme: a bad VMTOP_INTERVAL
    is said, and they run (they exited 2)."""
    import os

    env = dict(clean_env, VMTOP_INTERVAL="abc")
    for args in (("where", str(os.getpid()), "0x1"), ("snapshot", str(os.getpid()))):
        result = run_vmtop(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        assert "warning: environment variable VMTOP_INTERVAL" in result.stderr
    assert run_vmtop("watch", str(os.getpid()), "--count", "1", env=env).returncode == 2


def test_vmtop_config_naming_no_file_is_an_error_as_config_is(tmp_path, clean_env):
    env = dict(clean_env, VMTOP_CONFIG=str(tmp_path / "nope.toml"))
    result = run_vmtop("--print-config", env=env)
    assert result.returncode == 2
    assert "nope.toml: no such file (given with VMTOP_CONFIG)" in result.stderr


def test_a_float_threshold_says_how_to_write_it(tmp_path, clean_env):
    write_config(tmp_path, "threshold = 1e6\n")
    with pytest.raises(ConfigError, match="write 1000000, not 1000000.0"):
        load_settings({}, environ=clean_env)


def test_print_config_refuses_a_theme_the_tui_would_refuse(clean_env):
    result = run_vmtop("--theme", "nope", "--print-config", env=clean_env)
    assert result.returncode == 2
    assert "unknown theme 'nope'" in result.stderr


def test_an_unknown_textual_theme_is_passed_over_with_a_warning(clean_env):
    """TEXTUAL_THEME is every Textual app's: vmtop starts with its own theme and says
    so, where it refused to start."""
    from vmtop.config import load_settings as load
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.app import VmtopApp

    settings = load({}, environ=dict(clean_env, TEXTUAL_THEME="nope"))
    app = VmtopApp(ProcFS(), settings=settings)
    assert app.settings_problem() is None and app.theme == "vmtop-dark"
    assert "TEXTUAL_THEME 'nope'" in app.settings_warning()
    result = run_vmtop("--print-config", env=dict(clean_env, TEXTUAL_THEME="nope"))
    assert result.returncode == 0, result.stderr


def test_unknown_theme_is_refused_before_the_tui_starts(clean_env):
    # As textual-serve would run it (no terminal, a driver named), so that the check for
    # a terminal lets it through: the theme is what must stop it.
    env = dict(clean_env, TEXTUAL_DRIVER="textual.drivers.headless_driver:HeadlessDriver")
    result = run_vmtop("--theme", "no-such-theme", "1", env=env)
    assert result.returncode == 2
    assert "option --theme: key 'theme': unknown theme 'no-such-theme'" in result.stderr
    assert "vmtop-light" in result.stderr


def test_a_command_that_draws_no_screen_warns_of_an_unknown_theme(tmp_path, clean_env):
    # Before, `VMTOP_THEME=bogus vmtop snapshot` said nothing, and the TUI refused it
    # at its next start; a bad --interval was already said by every command.
    import os

    pid = str(os.getpid())
    result = run_vmtop("--theme", "bogus", "snapshot", pid, env=clean_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{pid}:")  # the map is still printed
    assert "warning: option --theme: key 'theme': unknown theme 'bogus'" in result.stderr
    assert "'snapshot' draws no screen" in result.stderr
    write_config(tmp_path, 'theme = "bogus"\n')
    result = run_vmtop("watch", "--count", "1", pid, env=clean_env)
    assert "config.toml: key 'theme': unknown theme 'bogus'" in result.stderr
    # A theme there is, or TEXTUAL_THEME (every Textual app's), draws no warning.
    result = run_vmtop("--theme", "nord", "snapshot", pid, env=clean_env)
    assert "theme" not in result.stderr
    (tmp_path / "vmtop" / "config.toml").unlink()
    result = run_vmtop("snapshot", pid, env=dict(clean_env, TEXTUAL_THEME="bogus"))
    assert result.returncode == 0 and "theme" not in result.stderr


def test_replay_refuses_an_unknown_theme_before_its_screen(tmp_path, clean_env):
    # The live TUI refused it; the replay's screen fell back to the default silently.
    from conftest import PROC_FIXTURES

    from vmtop.procfs.reader import ProcFS
    from vmtop.procfs.snapshot import take_snapshot
    from vmtop.record.writer import RecordingWriter

    path = tmp_path / "r.jsonl.gz"
    with RecordingWriter(str(path), interval=1.0) as writer:
        writer.write_sample(take_snapshot(ProcFS(str(PROC_FIXTURES)), 7925))
    env = dict(clean_env, TEXTUAL_DRIVER="textual.drivers.headless_driver:HeadlessDriver")
    result = run_vmtop("--theme", "no-such-theme", "replay", str(path), env=env)
    assert result.returncode == 2
    assert "option --theme: key 'theme': unknown theme 'no-such-theme'" in result.stderr
    # Printing the map at a moment draws no screen: said, not refused.
    result = run_vmtop("--theme", "no-such-theme", "replay", str(path), "--at", "end", env=env)
    assert result.returncode == 0, result.stderr
    assert "'replay' draws no screen" in result.stderr


def test_watch_takes_its_defaults_from_the_config(tmp_path, clean_env):
    import argparse

    from vmtop.cli import build_parser
    from vmtop.config import settings_from_args

    parser = build_parser()
    args = parser.parse_args(["watch", "1"])
    assert args.interval is None  # so the config can give it
    write_config(tmp_path, "interval = 7\nthreshold = 12345\n")
    import os

    old = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(clean_env)
        settings = settings_from_args(args)
        assert (settings.interval, settings.threshold) == (7.0, 12345)
        args = parser.parse_args(["watch", "1", "--interval", "2"])
        assert settings_from_args(args).interval == 2.0
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert isinstance(args, argparse.Namespace)


def test_the_table_columns_are_the_region_tables():
    from vmtop.config import DEFAULT_TABLE_COLUMNS, TABLE_COLUMNS
    from vmtop.tui.widgets.table_columns import COLUMN_IDS, DEFAULT_COLUMNS

    assert COLUMN_IDS == TABLE_COLUMNS
    assert DEFAULT_COLUMNS == DEFAULT_TABLE_COLUMNS


def test_print_config_prints_nothing_it_would_refuse(tmp_path, clean_env):
    """A theme the TUI refuses: the whole config went to stdout first, so
    `vmtop --print-config > config.toml` left a file vmtop then rejected."""
    config = tmp_path / "bad.toml"
    config.write_text('theme = "nonexistent-theme"\n')
    result = run_vmtop("--config", config, "--print-config", env=clean_env)
    assert result.returncode == 2 and result.stdout == ""
    assert f"{config}: key 'theme': unknown theme 'nonexistent-theme'" in result.stderr


def test_print_config_shows_the_theme_in_effect_when_textual_theme_is_passed_over(clean_env):
    result = run_vmtop("--print-config", env=dict(clean_env, TEXTUAL_THEME="nope"))
    assert result.returncode == 0
    assert 'theme = "vmtop-dark"' in result.stdout and "nope" not in result.stdout
    assert "warning: TEXTUAL_THEME 'nope' is no theme here" in result.stderr


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("file", "{config}: key 'interval': "),
        ("env", "environment variable VMTOP_INTERVAL: key 'interval': "),
        ("option", "option --interval: key 'interval': "),
    ],
)
def test_every_bad_setting_is_said_the_same_way(tmp_path, clean_env, how, said):
    """Where the value came from, the key, the problem: the same form from a file, the
    environment and an option (they were three)."""
    config = tmp_path / "c.toml"
    config.write_text('interval = "x"\n' if how == "file" else "")
    env = dict(clean_env, VMTOP_INTERVAL="x") if how == "env" else clean_env
    args = ["--interval", "x"] if how == "option" else []
    result = run_vmtop("--config", config, *args, "--print-config", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("vmtop: " + said.format(config=config)), result.stderr


def test_a_misspelt_vmtop_variable_is_said_with_the_likely_name():
    from vmtop.config import unknown_env_warnings

    said = unknown_env_warnings({"VMTOP_INTREVAL": "3", "VMTOP_THEME": "nord", "HOME": "/h"})
    assert said == [
        "environment variable VMTOP_INTREVAL is not one vmtop reads (did you mean VMTOP_INTERVAL?)"
    ]
    (far,) = unknown_env_warnings({"VMTOP_XYZZY": "1"})
    assert "VMTOP_XYZZY" in far and "VMTOP_INTERVAL" in far and "VMTOP_RECORDINGS" in far
    assert unknown_env_warnings({"VMTOP_RECORDINGS": "/tmp", "VMTOP_CONFIG": "/c"}) == []


def test_every_vmtop_variable_the_source_reads_is_known():
    # A new VMTOP_ variable left off the list would be called a typo on every run.
    import re

    from vmtop.config import unknown_env_warnings

    names = set()
    for path in [*ROOT.glob("vmtop/**/*.py"), *ROOT.glob("tests/**/*.py"), ROOT / ".ci/run"]:
        names |= set(re.findall(r"\bVMTOP_[A-Z_]*[A-Z]\b", path.read_text()))
    names -= {"VMTOP_INTREVAL", "VMTOP_XYZZY"}  # this file's own typos
    assert len(names) >= 10
    assert unknown_env_warnings(dict.fromkeys(names, "1")) == []


def test_a_misspelt_variable_is_warned_of_by_a_command(clean_env):
    import os

    env = dict(clean_env, VMTOP_INTREVAL="3")
    result = run_vmtop("snapshot", str(os.getpid()), env=env)
    assert result.returncode == 0
    assert "warning: environment variable VMTOP_INTREVAL" in result.stderr
    assert "did you mean VMTOP_INTERVAL?" in result.stderr


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("interval = true", "key 'interval': must be a number of seconds, not true"),
        ("threshold = false", "key 'threshold': must be a whole number of bytes, not false"),
        ("columns = 3", "key 'columns': must be a list of column names, not 3"),
        ("theme = 5", 'or "vmtop-light", not 5'),
        ("threshold = {a = 1}", "must be a whole number of bytes, not a table"),
    ],
)
def test_a_value_of_the_wrong_type_is_echoed_as_the_file_wrote_it(tmp_path, clean_env, line, says):
    # `interval = true` was "must be a number of seconds", with no word of what it was.
    write_config(tmp_path, line + "\n")
    with pytest.raises(ConfigError, match="config.toml: ") as caught:
        load_settings({}, environ=clean_env)
    assert str(caught.value).endswith(says), str(caught.value)


def test_a_threshold_is_written_as_vmtop_prints_sizes(tmp_path, clean_env):
    """vmtop says "RSS changes of 64K or more": 64K (and 1M, 1.5M, 64KiB) is read back as
    the bytes it printed, in 1024s, from the file, the environment and the options."""
    from vmtop.tui.formatting import format_bytes

    env = dict(clean_env, VMTOP_THRESHOLD="64k")
    assert load_settings({}, environ=env).threshold == 64 * 1024
    write_config(tmp_path, 'threshold = "1.5M"\n')
    assert load_settings({}, environ=clean_env).threshold == 1536 * 1024
    assert load_settings({"threshold": "64KiB"}, environ=clean_env).threshold == 65536
    for size in (4096, 16 * 1024, 64 * 1024, 256 * 1024, 1 << 20, 4 << 20, 3 << 29):
        shown = format_bytes(size)
        assert load_settings({"threshold": shown}, environ=clean_env).threshold == size
    with pytest.raises(ConfigError, match=r"whole number of bytes \(65536, 64K, 1M\)"):
        load_settings({}, environ=dict(clean_env, VMTOP_THRESHOLD="64 kilo"))


def test_watch_threshold_takes_a_size_with_its_unit():
    from vmtop.cli import build_parser

    args = build_parser().parse_args(["watch", "1", "--threshold", "1M"])
    assert args.threshold == 1 << 20
    for bad in ("1.5", "0K", "64 parsecs"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["watch", "1", "--threshold", bad])
