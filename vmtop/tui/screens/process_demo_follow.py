"""While a demo runs, the table keeps the region the demo is about in sight.

A demo's narration is about one region at a time (the heap, a big malloc's mapping, the
stack, a thread's stack), and at 80×24 the table shows a dozen rows: the stack and the
thread stacks were below them, and the narration spoke of rows no one could see. So
while the person has not moved the cursor, each sample's newest change to the map
selects its region (scrolling it into view). Moving the cursor ends it.

A mixin of ``ProcessScreen``: it reads the screen's snapshot and moves its table.
"""

from __future__ import annotations

from vmtop.model import events as ev
from vmtop.tui.widgets.region_table import RegionTable


def _identity(region) -> tuple:
    # (Not the start: the stack's moves down as it grows.)
    return (region.kind, region.path, region.object, region.tid)


class DemoFollow:
    """Keep the demo's region selected until the person moves the cursor."""

    _demo_follows = True
    _demo_region: tuple | None = None  # the identity of the region last selected so

    def follow_demo(self, events) -> None:
        if self.demo is None or not self._demo_follows or self.snapshot is None:
            return
        table = self.query_one(RegionTable)
        selected = table.selected_region
        if self._demo_region is None:
            if table.cursor != 0:
                self._demo_follows = False  # moved before the first change
                return
        elif selected is None or _identity(selected) != self._demo_region:
            self._demo_follows = False  # the person moved it
            return
        for event in reversed(events):
            if event.event in ev.WHOLE_PROCESS or event.end <= event.start:
                continue
            region = self.snapshot.region_at(event.start)
            if region is not None and table.select_region(region):
                self._demo_region = _identity(region)
                return
