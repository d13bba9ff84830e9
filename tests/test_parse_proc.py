"""parse_stat / parse_status / parse_cmdline / status_uid.

Ground truth: lines written by hand, and live facts about this test process that come
from elsewhere than /proc (os.getpid, os.getppid, threading, os.getuid).
"""

from __future__ import annotations

import os

import pytest

from vmtop.procfs.parse_proc import parse_cmdline, parse_stat, parse_status, status_uid

# A 6.18 stat line of `sleep`, fields numbered as in proc_pid_stat(5).
SLEEP_STAT = (
    b"7054 (sleep) T 7036 6992 2422 0 -1 4194304 76 0 0 0 0 0 0 0 20 0 1 0 46555 "
    b"5742592 316 18446744073709551615 94876236578816 94876236594177 140725578839296 "
    b"0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94876236605136 94876236606240 94876244791296 "
    b"140725578842929 140725578842940 140725578842940 140725578846187 0\n"
)


def test_stat_fields_by_number():
    stat = parse_stat(SLEEP_STAT)
    assert (stat.pid, stat.comm, stat.state, stat.ppid) == (7054, "sleep", "T", 7036)
    assert stat.num_threads == 1  # field 20
    assert stat.start_time == 46555  # field 22
    assert stat.vsize == 5742592  # field 23
    assert stat.rss_pages == 316  # field 24
    assert stat.start_stack == 140725578839296  # field 28
    assert stat.kstkesp == 0  # field 29


@pytest.mark.parametrize(
    "comm",
    [b"a b", b"x) Z 1 2 (", b"))", b"(", b"", b"caf\xc3\xa9", b"\xff\xfe", b"tab\tnl\n"],
)
def test_stat_comm_with_spaces_and_parentheses(comm):
    line = SLEEP_STAT.replace(b"(sleep)", b"(" + comm + b")")
    stat = parse_stat(line)
    assert stat.comm.encode("utf-8", "surrogateescape") == comm
    assert (stat.state, stat.ppid, stat.start_time) == ("T", 7036, 46555)


def test_stat_of_a_zombie_and_a_kernel_thread():
    zombie = b"7037 (true) Z 7036 6992 2422 0 -1 4227084 51 0 1 0 0 0 0 0 20 0 1 0 46531 0 0 "
    zombie += b"18446744073709551615 0 0 0 0 0 0 0 0 0 1 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    stat = parse_stat(zombie)
    assert (stat.state, stat.vsize, stat.start_stack) == ("Z", 0, 0)
    kthread = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 10 0 0 "
    kthread += (
        b"18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    )
    stat = parse_stat(kthread)
    assert (stat.pid, stat.comm, stat.ppid, stat.start_time) == (2, "kthreadd", 0, 10)


def test_stat_short_line_gives_zeros_not_a_crash():
    stat = parse_stat(b"12 (x) R 1")
    assert (stat.pid, stat.state, stat.ppid, stat.start_time) == (12, "R", 1, 0)


@pytest.mark.parametrize("data", [b"", b"12 x R 1", b"(x) R", b"12 )x( R", b"abc (x) R 1"])
def test_stat_malformed(data):
    with pytest.raises(ValueError):
        parse_stat(data)


def test_stat_of_this_process():
    with open("/proc/self/stat", "rb") as f:
        stat = parse_stat(f.read())
    assert stat.pid == os.getpid()
    assert stat.ppid == os.getppid()
    assert stat.state == "R"  # it is reading its own stat
    assert stat.num_threads == len(os.listdir("/proc/self/task"))
    assert stat.start_time > 0


def test_status_units_and_text():
    data = (
        b"Name:\tmy prog\nState:\tS (sleeping)\nUid:\t1000\t1001\t1002\t1003\n"
        b"VmRSS:\t    1234 kB\nRssAnon:\t       0 kB\nThreads:\t3\n"
        b"Cpus_allowed_list:\t0-1\nweird line without colon\n"
        b"VmOdd:\t\xc2\xb2 kB\nSig\xffKey:\tv\n"
    )
    status = parse_status(data)
    assert status["Name"] == "my prog"
    assert status["State"] == "S (sleeping)"
    assert status["VmRSS"] == 1234 * 1024
    assert status["RssAnon"] == 0
    assert status["Threads"] == "3"
    assert status["Cpus_allowed_list"] == "0-1"
    assert status["VmOdd"] == "\u00b2 kB"  # a superscript two is not a number of kB
    assert status_uid(status) == 1000
    assert len(status) == 9


def test_status_of_this_process():
    with open("/proc/self/status", "rb") as f:
        status = parse_status(f.read())
    assert int(status["Pid"]) == os.getpid()
    assert status_uid(status) == os.getuid()
    assert isinstance(status["VmRSS"], int) and status["VmRSS"] > 1024 * 1024


def test_status_uid_missing_or_odd():
    assert status_uid({}) is None
    assert status_uid({"Uid": ""}) is None
    assert status_uid({"Uid": "x 1 2 3"}) is None


@pytest.mark.parametrize(
    "data, argv",
    [
        (b"", []),
        (b"/bin/sleep\x001000\x00", ["/bin/sleep", "1000"]),
        (b"a\x00\x00b\x00", ["a", "", "b"]),  # an empty argument stays
        (b"rewritten title with spaces", ["rewritten title with spaces"]),  # no NUL
        # A title written over argv: what is left of the old arguments is NUL padding.
        (b"postgres: checkpointer \x00\x00\x00\x00", ["postgres: checkpointer "]),
        (b"\x00\x00", []),
        (b"caf\xc3\xa9\x00\xff\x00", ["caf\u00e9", "\udcff"]),
    ],
)
def test_cmdline(data, argv):
    assert parse_cmdline(data) == argv
