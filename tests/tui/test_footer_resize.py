"""The process screen's footer is fitted to the terminal's width again when it changes.

The keys the footer has room for were chosen only when a binding came or went: after
the terminal shrank the wide footer's keys stayed, cut mid-word ("/ F▏^p palettet"),
"? Help" lost off the edge; after it grew, the narrow footer's few keys stayed.
"""

from __future__ import annotations

import pytest
from textual.widgets import Footer

from .test_process_screen import ScreenApp, settle


def footer_keys(app) -> list[str]:
    return [str(k.render()) for k in app.screen.query_one(Footer).children]


async def keys_at(size: tuple[int, int]) -> list[str]:
    app = ScreenApp()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        return footer_keys(app)


@pytest.mark.parametrize("start, end", [((200, 50), (60, 20)), ((60, 20), (200, 50))])
async def test_after_a_resize_the_footer_is_the_one_of_that_width(start, end):
    fresh = await keys_at(end)
    app = ScreenApp()
    async with app.run_test(size=start) as pilot:
        await settle(pilot)
        before = footer_keys(app)
        await pilot.resize_terminal(*end)
        await settle(pilot)
        after = footer_keys(app)
    assert before != fresh  # (the two widths show different keys)
    assert after == fresh
