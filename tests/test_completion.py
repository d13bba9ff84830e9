"""Shell completion and the man page, generated from the parser, run in the real shells."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmtop.cli import build_parser
from vmtop.commands.completion_scripts import bash_script, fish_script, zsh_script
from vmtop.commands.completion_specs import command_specs
from vmtop.commands.man_page import man_page

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (
    "snapshot",
    "where",
    "watch",
    "demo",
    "record",
    "replay",
    "report",
    "diff",
    "serve",
    "completion",
    "man",
)


@pytest.fixture(scope="module")
def specs():
    return command_specs(build_parser())


def vmtop_stdout(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "vmtop", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_specs_follow_the_parser(specs):
    assert [c.name for c in specs] == ["", *COMMANDS]
    by_name = {c.name: c for c in specs}
    formats = next(o for o in by_name["snapshot"].options if "--format" in o.flags)
    assert formats.values == ["pmap", "json", "csv"]
    assert by_name["demo"].positionals[0].values == ["malloc", "mmap", "stack", "threads"]
    assert by_name["watch"].positionals[0].values == "pids"
    assert by_name[""].positionals[0].values == "pids"


def bash_complete(script: Path, *words: str) -> list[str]:
    words_array = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {script}; COMP_WORDS=({words_array}); COMP_CWORD={len(words) - 1}; "
        '_vmtop; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def bash_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("completion") / "vmtop.bash"
    path.write_text(vmtop_stdout("completion", "bash"))
    return path


def test_bash_completes_commands_options_formats_demos_and_pids(bash_file):
    first = set(bash_complete(bash_file, "vmtop", ""))
    assert set(COMMANDS) <= first
    assert str(os.getpid()) in first  # this process is one of the PIDs offered
    assert bash_complete(bash_file, "vmtop", "sn") == ["snapshot"]
    assert bash_complete(bash_file, "vmtop", "snapshot", "--format", "") == ["pmap", "json", "csv"]
    assert bash_complete(bash_file, "vmtop", "demo", "") == ["malloc", "mmap", "stack", "threads"]
    assert bash_complete(bash_file, "vmtop", "--bar-scale", "") == ["compact", "true"]
    assert "vmtop-light" in bash_complete(bash_file, "vmtop", "--theme", "vmtop-")
    assert set(bash_complete(bash_file, "vmtop", "watch", "--")) >= {
        "--interval",
        "--count",
        "--json",
        "--threshold",
    }
    # Options that take a value are skipped when finding the command and the PID.
    pids = set(bash_complete(bash_file, "vmtop", "--theme", "nord", "watch", ""))
    assert str(os.getpid()) in pids and all(p.isdigit() for p in pids)
    assert "watch" not in pids and "nord" not in pids
    assert bash_complete(bash_file, "vmtop", "watch", "1", "") == []
    assert bash_complete(bash_file, "vmtop", "completion", "") == ["bash", "zsh", "fish"]


FIXTURE_PROC = ROOT / "tests" / "fixtures" / "proc"
# In the fixture tree: 2 is kthreadd (PF_KTHREAD), 7919 a zombie; the rest have maps.
FIXTURE_SHOWN = {"7925", "7932", "7936", *(str(p) for p in range(90001, 90011))}
PF_KTHREAD = 0x00200000


def _kernel_thread(pid: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # gone since
    return bool(int(stat.rsplit(")", 1)[1].split()[6]) & PF_KTHREAD)


@pytest.fixture
def zombie():
    """A child that exited and was not reaped: a PID with no map to show."""
    child = subprocess.Popen(["true"])
    stat = Path(f"/proc/{child.pid}/stat")
    for _ in range(500):
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.01)
    yield str(child.pid)
    child.wait()


def test_bash_pids_leave_out_the_completions_own_subshells(bash_file):
    """The $(...) subshells that build the list were offered too: gone before one
    could be picked ("no such process"), and other ones on every Tab."""
    # (A process of the machine's that ended meanwhile is gone too, a test's child on
    # a busy machine: the subshells are the ones started after this bash.)
    program = (
        f"source {bash_file}; COMP_WORDS=(vmtop watch ''); COMP_CWORD=2; _vmtop; "
        'for p in "${COMPREPLY[@]}"; do [[ -d /proc/$p ]] || (( p <= $$ )) || echo "gone $p"; '
        "done"
    )
    for _ in range(3):
        result = subprocess.run(["bash", "-c", program], capture_output=True, text=True)
        assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_bash_pids_leave_out_kernel_threads_and_zombies(bash_file, zombie):
    offered = bash_complete(bash_file, "vmtop", "watch", "")
    assert str(os.getpid()) in offered
    assert zombie not in offered
    assert not [pid for pid in offered if _kernel_thread(pid)]


@pytest.fixture
def leader_exit_tree(tmp_path):
    """500: its main thread exited (Z) while another runs (Threads 2): alive. 600: a
    zombie (Z, one thread). 700: a sleeping process."""
    from helpers_proc_trees import leader_exited, stat_line, zombie

    root = tmp_path / "proc"
    leader_exited(root, 500)
    zombie(root, 600)
    (root / "700").mkdir()
    (root / "700" / "stat").write_bytes(stat_line(700, "sleep", "S", 1))
    return root


def test_bash_pids_keep_a_process_whose_main_thread_exited(bash_file, leader_exit_tree):
    offered = bash_complete(bash_file, "vmtop", "--proc-root", str(leader_exit_tree), "watch", "")
    assert sorted(offered) == ["500", "700"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_pids_keep_a_process_whose_main_thread_exited(tmp_path, leader_exit_tree):
    complete = fish_completer(tmp_path)
    assert sorted(complete(f"vmtop --proc-root {leader_exit_tree} watch ")) == ["500", "700"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_pids_keep_a_process_whose_main_thread_exited(tmp_path, leader_exit_tree):
    (tmp_path / "_vmtop").write_text(vmtop_stdout("completion", "zsh"))
    listed = zsh_complete(tmp_path, f"vmtop --proc-root {leader_exit_tree} watch ").split()
    assert "500" in listed and "700" in listed and "600" not in listed


def test_bash_pids_come_from_the_proc_root_given(bash_file):
    root = str(FIXTURE_PROC)
    assert set(bash_complete(bash_file, "vmtop", "--proc-root", root, "snapshot", "")) == (
        FIXTURE_SHOWN
    )
    # Given to the command, or as --proc-root=PATH (which bash splits at the =).
    assert set(bash_complete(bash_file, "vmtop", "where", "--proc-root", root, "")) == (
        FIXTURE_SHOWN
    )
    first = set(bash_complete(bash_file, "vmtop", "--proc-root", "=", root, ""))
    assert FIXTURE_SHOWN <= first and str(os.getpid()) not in first


def test_bash_completes_columns_one_name_at_a_time(bash_file):
    assert bash_complete(bash_file, "vmtop", "--columns", "start,en") == ["start,end"]
    after = bash_complete(bash_file, "vmtop", "--columns", "start,end,")
    assert "start,end,size" in after and "start,end,name" in after
    assert "start,end,start" not in after and "start,end,end" not in after
    assert "size" in bash_complete(bash_file, "vmtop", "--columns", "")


def test_bash_paths_keep_spaces(bash_file, tmp_path):
    (tmp_path / "rec one.jsonl").touch()
    (tmp_path / "rec.jsonl").touch()
    got = bash_complete(bash_file, "vmtop", "replay", f"{tmp_path}/rec")
    assert sorted(got) == [f"{tmp_path}/rec one.jsonl", f"{tmp_path}/rec.jsonl"]


def test_bash_goes_into_directories_as_a_person_types(bash_file, tmp_path):
    """Interactive bash, through a pseudo-terminal: Tab on a directory gives its name
    and a slash, with no space after, so the next Tab goes on inside it."""
    import pty
    import select

    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "churn.jsonl").touch()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="dumb", PS1="READY> ", INPUTRC="/dev/null")
        os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
    out = b""
    try:
        os.write(fd, f"source {bash_file}; cd {tmp_path}\n".encode())
        os.write(fd, b"vmtop replay rec\t\tch\t")
        end = time.monotonic() + 10
        while time.monotonic() < end and b"churn.jsonl" not in out:
            if select.select([fd], [], [], 0.1)[0]:
                out += os.read(fd, 65536)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    assert b"vmtop replay recordings/churn.jsonl" in out, out[-300:]


def fish_completer(tmp_path: Path):
    """``complete(line) -> {candidate: description}``, from fish with vmtop's script."""
    script = tmp_path / "vmtop.fish"
    script.write_text(vmtop_stdout("completion", "fish"))

    def complete(line: str) -> dict[str, str]:
        result = subprocess.run(
            ["fish", "--no-config", "-c", f"source {script}; complete -C '{line}'"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return dict((row.split("\t") + [""])[:2] for row in result.stdout.splitlines())

    return complete


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_pids_have_names_and_follow_the_proc_root(tmp_path, zombie):
    complete = fish_completer(tmp_path)

    live = complete("vmtop watch ")
    assert live[str(os.getpid())] == Path("/proc/self/comm").read_text().strip()
    assert zombie not in live and not [p for p in live if _kernel_thread(p)]
    copied = complete(f"vmtop --proc-root {FIXTURE_PROC} snapshot ")
    assert set(copied) == FIXTURE_SHOWN and copied["7936"] == "sleep"
    assert set(complete(f"vmtop where --proc-root={FIXTURE_PROC} ")) == FIXTURE_SHOWN
    assert "start,end" in complete("vmtop --columns start,en")


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_commands_formats_demos_and_pids(tmp_path):
    described = fish_completer(tmp_path)

    def complete(line: str) -> list[str]:
        return list(described(line))

    assert set(COMMANDS) <= set(complete("vmtop "))
    assert str(os.getpid()) in complete("vmtop ")
    assert sorted(complete("vmtop snapshot --format ")) == ["csv", "json", "pmap"]
    assert complete("vmtop demo ") == ["malloc", "mmap", "stack", "threads"]
    assert str(os.getpid()) in complete("vmtop where ")
    assert "--print-config" in complete("vmtop --print")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_script_parses_and_registers(tmp_path):
    script = tmp_path / "_vmtop"
    script.write_text(vmtop_stdout("completion", "zsh"))
    subprocess.run(["zsh", "-n", str(script)], check=True, timeout=30)
    program = (
        f"autoload -U compinit && compinit -u -d {tmp_path}/zcompdump; "
        f"source {script}; print -r -- $_comps[vmtop]"
    )
    result = subprocess.run(["zsh", "-fc", program], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "_vmtop", result.stderr


def zsh_complete(fpath_dir: Path, line: str) -> str:
    """What interactive zsh lists after ``line`` and Tab, with vmtop's completion in
    fpath, driven through a pseudo-terminal as a person would."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: an interactive zsh, no user startup files
        os.environ.update(TERM="dumb", HOME=str(fpath_dir))
        os.execvp("zsh", ["zsh", "-f", "-i"])

    def read(seconds: float, until: bytes = b"") -> bytes:
        out = b""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
                if until and until in out:
                    break
        return out

    try:
        setup = (
            f"fpath=({fpath_dir} $fpath); autoload -U compinit; "
            f"compinit -u -d {fpath_dir}/.zcompdump; setopt autolist nolistbeep; "
            # List even when the candidates share a prefix zsh could insert instead
            # (every PID starting with 1, say), so what is offered can be read back.
            "unsetopt listambiguous; "
            "LISTMAX=100000; PROMPT='READY> '\n"
        )
        os.write(fd, setup.encode())
        read(10, b"READY>")
        os.write(fd, (line + "\t").encode())
        out = read(10, b"\nREADY> ")  # the prompt again, under the list
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return out.decode(errors="replace")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_commands_formats_demos_and_pids(tmp_path):
    (tmp_path / "_vmtop").write_text(vmtop_stdout("completion", "zsh"))
    listed = zsh_complete(tmp_path, "vmtop demo ").split()
    assert {"malloc", "mmap", "stack", "threads"} <= set(listed)
    assert {"csv", "json", "pmap"} <= set(
        zsh_complete(tmp_path, "vmtop snapshot --format ").split()
    )
    assert {"compact", "true"} <= set(zsh_complete(tmp_path, "vmtop --bar-scale ").split())
    assert str(os.getpid()) in zsh_complete(tmp_path, "vmtop watch ").split()
    first = zsh_complete(tmp_path, "vmtop ")
    assert all(name in first for name in COMMANDS)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_pids_follow_the_proc_root_and_options_shared_with_vmtop(tmp_path):
    (tmp_path / "_vmtop").write_text(vmtop_stdout("completion", "zsh"))
    # --proc-root and --interval are options of vmtop and of the command both: after
    # them, the command's PID is still completed, from the tree given.
    copied = zsh_complete(tmp_path, f"vmtop snapshot --proc-root {FIXTURE_PROC} ")
    assert "90001" in copied.split() and "torn" in copied.split()
    assert str(os.getpid()) not in copied.split()
    assert "7936" in zsh_complete(tmp_path, f"vmtop --proc-root {FIXTURE_PROC} where ").split()
    assert str(os.getpid()) in zsh_complete(tmp_path, "vmtop watch --interval 2 ").split()
    listed = zsh_complete(tmp_path, "vmtop --columns start,").split()
    assert {"size", "rss", "name"} <= set(listed)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_lists_pids_that_share_a_prefix(tmp_path):
    # On a machine where every PID starts with 1 the harness once read back only
    # the prefix zsh inserted; two PIDs sharing "9000" must both be read back.
    (tmp_path / "_vmtop").write_text(vmtop_stdout("completion", "zsh"))
    tree = tmp_path / "proc"
    shutil.copytree(FIXTURE_PROC / "90001", tree / "90001")
    shutil.copytree(FIXTURE_PROC / "90002", tree / "90003")
    listed = zsh_complete(tmp_path, f"vmtop snapshot --proc-root {tree} ").split()
    assert {"90001", "90003"} <= set(listed)


def test_zsh_specs_carry_the_values(specs):
    script = zsh_script(specs)
    assert "--format[" in script and ":(pmap json csv)'" in script
    assert ":(malloc mmap stack threads)'" in script
    assert "_vmtop_pids" in script
    for name in COMMANDS:
        assert f"\n        {name})\n" in script


def test_scripts_cover_every_option_of_the_parser(specs):
    every_flag = {f for c in specs for o in c.options for f in o.flags}
    assert {"--print-config", "--theme", "--format", "--allow-remote", "--count"} <= every_flag
    for text in (bash_script(specs), fish_script(specs)):
        for flag in every_flag:
            if flag.startswith("--"):
                name = flag if "bash" in text[:30] else flag[2:]
                assert name in text, flag


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_page_renders_with_every_command_and_option(tmp_path, specs):
    page = tmp_path / "vmtop.1"
    page.write_text(vmtop_stdout("man"))
    result = subprocess.run(
        ["man", "-l", str(page)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0", PAGER="cat"),
    )
    assert result.returncode == 0, result.stderr
    text = re.sub(".\b", "", result.stdout)  # man's overstrike bold and underline
    assert "VMTOP(1)" in text
    for name in COMMANDS:
        assert f"\n   {name}\n" in text, name
    for flag in ("--print-config", "--allow-remote", "--format {pmap,json,csv}", "--bar-scale"):
        assert flag in text
    assert 'sudo "$(command -v vmtop)" PID' in text
    assert "config.toml" in text
    assert "VMTOP_RECORDINGS" in text and "~/.cache/vmtop" in text


def test_man_page_is_ascii_where_it_can_be():
    """Under LANG=C man dropped "…": "0x7f12…" read as a whole address."""
    page = vmtop_stdout("man")
    assert "…" not in page and "0x7f12..." in page


def test_man_page_escapes_roff(specs):
    page = man_page(specs, "9.9")
    assert '.TH VMTOP 1 "" "vmtop 9.9"' in page
    body = [line for line in page.splitlines() if not line.startswith((".", "'", "\\&"))]
    # Every hyphen in text is escaped, so man does not turn options into dashes.
    assert all("-" not in line.replace("\\-", "") for line in body if "--" in line)


def test_every_option_says_what_it_does():
    """`vmtop CMD --help` and the man page: no option left as a bare name."""
    import argparse

    parser = build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    bare = [
        f"{name} {action.option_strings[-1]}"
        for name, command in [("vmtop", parser), *sub.choices.items()]
        for action in command._actions
        if action.option_strings and not action.help
    ]
    assert not bare, bare
