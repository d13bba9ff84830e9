"""The process header's USS (smem's) and SHR (top's and htop's) at 80×24, 160×48 and
220×60: whole figures, in the order people know them from (size, RSS, SHR, PSS, USS),
and at 80 columns private dirty (part of USS, the widest figure) left out first. The
truth is the fixture's smaps and status text, summed here."""

from __future__ import annotations

import re

import pytest

from vmtop.tui.formatting import format_bytes
from vmtop.tui.widgets.process_header import ProcessHeader

from .test_process_screen import FIXTURE, PID, ScreenApp, lines, settle


def fixture_kb(name: str, field: str) -> int:
    text = (FIXTURE / str(PID) / name).read_text()
    return sum(int(v) for v in re.findall(rf"^{field}:\s+(\d+) kB", text, re.M)) * 1024


USS = fixture_kb("smaps", "Private_Clean") + fixture_kb("smaps", "Private_Dirty")
SHR = fixture_kb("status", "RssFile") + fixture_kb("status", "RssShmem")


@pytest.mark.parametrize("width, height", [(80, 24), (160, 48), (220, 60)])
async def test_the_header_shows_uss_and_shr_whole(width, height):
    assert (USS, SHR) == (5328 * 1024, 1356 * 1024)
    app = ScreenApp()
    async with app.run_test(size=(width, height)) as pilot:
        await settle(pilot)
        totals = lines(app.screen.query_one(ProcessHeader))[1]
    assert len(totals) == width
    assert f" USS {format_bytes(USS)} " in totals and f" SHR {format_bytes(SHR)} " in totals
    labels = [w for w in totals.split() if w in ("size", "RSS", "SHR", "PSS", "USS", "swap")]
    assert labels == ["size", "RSS", "SHR", "PSS", "USS", "swap"]
    # At 80 columns the region count stays; private dirty, inside USS, gives way.
    assert "regions 28" in totals
    assert ("private dirty" in totals) == (width > 80)


async def test_a_long_command_keeps_its_programs_name_in_the_header(tmp_path):
    """A program run by its full path: at 80 columns the header showed its directories
    ("/root/.cache/vmtop/demo-2ff…"); now its base name and arguments."""
    import shutil

    root = tmp_path / "proc"
    shutil.copytree(FIXTURE, root, symlinks=True)
    program = "/root/.cache/vmtop/demo-2ff13ab9c0ffee42/build/vmtop-demo"
    (root / str(PID) / "cmdline").write_bytes(f"{program}\0malloc\0--rounds\0003\0".encode())
    app = ScreenApp(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = lines(app.screen.query_one(ProcessHeader))[0]
    assert "…/vmtop-demo malloc" in first, first
    assert "/root/.cache" not in first
