"""The picker on a copied tree holding a FIFO, a device and symlinks out of the tree
where files should be (issue 12, item 13): it lists at once, marks the process whose
maps it will not read, and says why when it is picked. Before, opening the FIFO blocked
the picker for ever on a blank screen.
"""

from __future__ import annotations

import asyncio
import os
import shutil

from vmtop.procfs.reader import ProcFS
from vmtop.tui.screens.picker import ProcessTable

from .conftest import TUI_PROC
from .test_picker import PickerApp, selected_pid


def hostile_copy(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(TUI_PROC, tree, ignore=shutil.ignore_patterns("*.c", "*.py"))
    os.unlink(tree / "4242" / "maps")
    os.mkfifo(tree / "4242" / "maps")  # the picker opens maps to learn if it may read it
    os.unlink(tree / "4343" / "status")
    os.mkfifo(tree / "4343" / "status")
    os.unlink(tree / "4343" / "cmdline")
    os.symlink("/dev/zero", tree / "4343" / "cmdline")
    return tree


async def test_picker_lists_a_tree_with_fifos_without_blocking(tmp_path):
    tree = hostile_copy(tmp_path)
    app = PickerApp(ProcFS(str(tree)))

    async def drive() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            rows = {row.pid: row for row in app.screen.query_one(ProcessTable).rows}
            assert set(rows) >= {4242, 4343}
            assert "FIFO" in rows[4242].denied and f"{tree}/4242/maps" in rows[4242].denied
            assert rows[4343].denied is None  # its maps is fine; status and cmdline skipped
            while selected_pid(app) != 4242:
                await pilot.press("down")
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "AccessExplanation"

    await asyncio.wait_for(drive(), timeout=20)
