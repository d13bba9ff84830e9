"""The picker's USER column: a UID with no name shows as its number (rootless
containers' subordinate UIDs are six digits: "uid 100000" was cut to "uid 10000", a
different, valid-looking UID), and a long name is cut with "…", never silently."""

from __future__ import annotations

from vmtop.procfs.processes import ProcessRow
from vmtop.tui.screens.picker_table import _cells, format_line


def row(user: str) -> ProcessRow:
    return ProcessRow(
        pid=22913, user=user, uid=None, state="S", rss=1 << 20, swap=0, vsize=2 << 20,
        threads=1, command="/srv/dl a.so", comm="dl", start_time=1, cpu_ticks=0,
        kernel_thread=False,
    )  # fmt: skip


def user_shown(user: str) -> str:
    line = format_line(_cells(row(user)), 120)
    return line.split()[1]  # after the PID (the mark column is blank)


def test_an_unnamed_uid_of_six_digits_shows_whole():
    assert user_shown("uid 100000") == "100000"


def test_a_long_user_name_is_cut_with_an_ellipsis():
    assert user_shown("systemd-network") == "systemd-…"


def test_a_short_name_is_as_it_is():
    assert user_shown("postgres") == "postgres"
