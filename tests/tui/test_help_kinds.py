"""The help's kinds say the name JSON and CSV give a kind where its label is short
("tstack" is ``thread_stack`` in `vmtop snapshot --format json`: a script written from
the help looked for a kind no output has)."""

from __future__ import annotations

from rich.console import Console

from vmtop.model.kinds import ALL_KINDS
from vmtop.tui.screens.help import kinds_table
from vmtop.tui.theme import kind_label


def test_short_labels_say_the_kind_scripts_read():
    console = Console(width=200, record=True, color_system=None)
    console.print(kinds_table())
    text = console.export_text()
    short = [k for k in ALL_KINDS if kind_label(k) != k]
    assert "thread_stack" in short and "named_anon" in short
    for kind in short:
        line = next(x for x in text.splitlines() if f" {kind_label(kind)} " in x)
        assert f"({kind} in JSON and CSV)" in line, line
    # A kind whose label is its name says nothing more.
    assert "(heap in JSON" not in text
