"""Every event vmtop can say has its own colour in the log (not the fallback white a
name unknown to the theme gets), and a region event folded into a line of alike ones
says in its detail what was done to them."""

from __future__ import annotations

import pytest

from vmtop.model import events as ev
from vmtop.tui.screens.event_detail import _DID_ALIKE
from vmtop.tui.theme import EVENT_PALETTE, FALLBACK_EVENT

EVERY_EVENT = sorted(ev.EVENT_DESCRIPTIONS)


@pytest.mark.parametrize("name", EVERY_EVENT)
def test_every_event_has_a_colour_of_its_own(name):
    assert name in EVENT_PALETTE, f"{name}: the fallback colour"
    assert EVENT_PALETTE[name] != FALLBACK_EVENT


def test_flags_changed_folded_says_what_was_done():
    how, ranges = _DID_ALIKE[ev.FLAGS_CHANGED]
    assert "VmFlags" in how and ranges
