"""The words of one line for a figure that moved alike in many regions of one sample.

V8 maps its heap a 256 KiB page at a time, and the pages fill as the heap grows: one
growth of Node's heap was 293 ``rss_changed`` of its pages in one sample of
``vmtop watch``, and where smaps was read only every few ticks, 324 "pages faulted in
since it was mapped" (measured, Node 20). After a fork of a process with 500 regions,
each of them said its pages shared (500 ``shared_changed``), then copied; freed with
MADV_FREE, 500 ``lazyfree_changed``. ``vmtop.model.event_runs`` folds such events of
one sample into one line; this module says what they are alike in and what that line
says.

Alike: the same words but for their figures (``shape``: "pages faulted in: now #
resident"). The line's words are those words with each figure summed over the regions
("now 75.0 MiB resident": in them together), which they are where each figure is
exact: said in bytes or whole KiB (smaps counts in kB), or the event's own change (a
page mapped since the last read holds what it brought). A figure in MiB is rounded:
300 of them summed would be off by up to 15 MiB, so the clause that says it is left
out ("pages faulted in, in 22 regions"; the line's change says the sum, exactly).
"since it was mapped" becomes "since they were mapped", and where the regions are
counted is said: "in 300 regions". Pages mapped since the last read and pages that were
there are one line ("in 71 regions (57 of them mapped since the last read, counted
whole)"): both are pages faulted in, and as two lines a sample was still two to four.
Memory in hugetlb pages is none of this (a few regions, and its words say it is no
Rss): lines of their own. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vmtop.model.event_words import size_text
from vmtop.model.events import Event
from vmtop.model.hugetlb_events import HUGETLB_WORDS

# A figure as ``size_text`` writes it: bytes whole, larger units with one decimal. (Other
# numbers in words, "2 MiB each" of a huge page, are no figure of a region.)
FIGURE = re.compile(r"(?<![\w.])-?(?:\d+ B|\d+\.\d (?:KiB|MiB|GiB|TiB))\b")
_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
# Where a clause that says a figure begins: the words are cut there when its sum is
# not known exactly.
_CLAUSE = re.compile(r"(: |; |, )")
SINCE_ONE = " since it was mapped"
SINCE_MANY = " since they were mapped"


def shape(detail: str) -> str | None:
    """The words with their figures left out: what regions alike say the same. None
    for words that are not to be folded (memory in hugetlb pages). Pages faulted in
    since their region was mapped are pages faulted in: one line with the others."""
    if HUGETLB_WORDS in detail:
        return None
    return FIGURE.sub("#", detail.replace(SINCE_ONE, ""))


def together(events: Sequence[Event]) -> str:
    """The words of one line for ``events`` (one sample, their words of one ``shape``):
    each figure the sum of theirs where that is exact, the clause of one that is not
    left out, the regions counted (and of them, those mapped since the last read)."""
    n = len(events)
    since = sum(SINCE_ONE in e.detail for e in events)
    words = next((e.detail for e in events if SINCE_ONE not in e.detail), events[0].detail)
    template = FIGURE.split(words)
    figures = [FIGURE.findall(e.detail) for e in events]
    sums = [_summed(events, [said[k] for said in figures]) for k in range(len(template) - 1)]
    text = template[0]
    for k, total in enumerate(sums):
        if total is None:
            text = _before_clause(text)
            break
        text += size_text(total) + template[k + 1]
    if since == n:
        return _counted(text.replace(SINCE_ONE, SINCE_MANY), n)
    if since:
        # (Their figure is all they hold: nothing was read of them before.)
        return _counted(text, n, f" ({since} of them mapped since the last read, counted whole)")
    return _counted(text, n)


def _summed(events: Sequence[Event], said: list[str]) -> int | None:
    """The sum of one figure of each event (``said``: as its words give it); None where
    a figure is rounded and is not the event's own change."""
    total = 0
    for e, figure in zip(events, said, strict=True):
        exact = _exact(figure)
        if exact is None:
            if figure != size_text(abs(e.delta)):
                return None
            exact = abs(e.delta)  # (what a region mapped since brought: all it holds)
        total += exact
    return total


def _exact(figure: str) -> int | None:
    """The bytes a figure says, where its text says them exactly: bytes, or whole KiB
    (smaps's figures are in kB); None for a rounded one."""
    number, unit = figure.rsplit(" ", 1)
    if unit == "B":
        return int(number)
    if unit == "KiB" and number.endswith(".0"):
        return int(number[:-2]) * _UNITS[unit]
    return None


def _before_clause(text: str) -> str:
    """``text`` without its last clause (the one whose figure is not known)."""
    cuts = list(_CLAUSE.finditer(text))
    return text[: cuts[-1].start()] if cuts else text.rstrip()


def _counted(text: str, n: int, note: str = "") -> str:
    """The words with the regions counted where they say what happened: "pages faulted
    in, in 300 regions: now 75.0 MiB resident"."""
    said = f", in {n} regions{note}"
    cut = text.find(": ")
    return text + said if cut < 0 else text[:cut] + said + text[cut:]
