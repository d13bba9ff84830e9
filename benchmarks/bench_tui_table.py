"""Per-refresh cost of the process screen for a process with many regions. Not a test:
it prints numbers.

    python benchmarks/bench_tui_table.py [--regions 60000] [--repeats 5]

Starts benchmarks/many_regions.c (N separate regions) and times, per refresh, each step
the process screen does at every tick, split by where it runs:

- worker thread: reading + parsing maps (every tick) or smaps (on the smaps budget),
  carrying resident figures across maps-only ticks, the diff (events, per-region
  changes, unmapped ranges);
- worker thread too, since issue 10: the bar's layout (compact and true scale) and
  the kind summary, handed to the screen with the sample;
- UI thread: the screen's bookkeeping (highlights), the region table's rows (filter +
  sort), drawing one screenful of table lines, and taking over and drawing the bar
  and the summary laid out in the worker.

The UI-thread total is what a refresh can delay a key press by; the sum of both is
vmtop's CPU per tick (at a 1 s interval, 0.25 s per tick is 25 % of one core).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from map_count import max_map_count_for  # noqa: E402

from vmtop.model import diff  # noqa: E402
from vmtop.model.region_changes import unmapped_ranges  # noqa: E402
from vmtop.procfs.reader import ProcFS  # noqa: E402
from vmtop.procfs.snapshot import take_snapshot  # noqa: E402
from vmtop.tui import sampler  # noqa: E402
from vmtop.tui.screens.process import _starts_at  # noqa: E402
from vmtop.tui.widgets import bar_layout as bl  # noqa: E402
from vmtop.tui.widgets.kind_summary import kind_totals  # noqa: E402
from vmtop.tui.widgets.table_model import build_rows  # noqa: E402


def start_child(n: int, workdir: Path) -> subprocess.Popen:
    if shutil.which("gcc") is None:
        sys.exit("gcc is needed to build benchmarks/many_regions.c")
    exe = workdir / "many_regions"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "many_regions.c")], check=True)
    child = subprocess.Popen([str(exe), str(n)], stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    if not line.startswith("READY"):
        child.kill()
        sys.exit(f"many_regions did not start: {line!r}")
    return child


def timed(fn, repeats: int):
    """(median seconds, last result) of ``repeats`` calls."""
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def report(name: str, seconds: float) -> None:
    print(f"  {name:<44} {seconds * 1000:9.1f} ms")


async def draw_screenful(regions, changes, recent) -> tuple[float, float, int, float, float]:
    """Set the table's data in a running app and draw one screen at 160x48: (seconds to
    set the data, seconds to draw the visible lines, lines drawn, seconds for the
    worker's share of the bar and summary, seconds for the UI thread to take them over
    and draw them)."""
    from textual.app import App

    from vmtop.tui.widgets.address_bar import AddressBar, prepare_bar
    from vmtop.tui.widgets.kind_summary import KindSummary, prepare_summary
    from vmtop.tui.widgets.region_table import RegionTable

    class TableApp(App):
        def compose(self):
            yield AddressBar()
            yield KindSummary()
            yield RegionTable()

    app = TableApp()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(RegionTable)
        t0 = time.perf_counter()
        table.set_regions(regions, changes, recent)
        t1 = time.perf_counter()
        before = table.lines_rendered
        table._cache.clear()
        for y in range(table.size.height):
            table.render_line(y)
        t2 = time.perf_counter()
        bar = app.query_one(AddressBar)
        summary = app.query_one(KindSummary)
        status = {start: "new" for start in list(recent)[:3]}
        t3 = time.perf_counter()
        prepared_bar = prepare_bar(regions, bar.bar_view())  # in the sampling worker
        prepared_summary = prepare_summary(regions)
        t4 = time.perf_counter()
        bar.set_regions(regions, status, (), prepared_bar)  # on the UI thread
        for y in range(5):
            bar.render_line(y)
        summary.set_prepared(prepared_summary)
        for y in range(len(summary.lines) + 2):
            summary.render_line(y)
        t5 = time.perf_counter()
        await pilot.pause()
        return t1 - t0, t2 - t1, table.lines_rendered - before, t4 - t3, t5 - t4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    procfs = ProcFS()
    with tempfile.TemporaryDirectory() as tmp, max_map_count_for(args.regions):
        child = start_child(args.regions, Path(tmp))
        try:
            run(procfs, child.pid, args.repeats)
        finally:
            child.kill()
            child.wait()


def run(procfs: ProcFS, pid: int, repeats: int) -> None:
    print(f"process {pid}: benchmarks/many_regions.c, median of {repeats} runs each")
    print("worker thread (reading /proc, diff):")
    n = len(take_snapshot(procfs, pid, smaps=False).regions)
    keep_text = n <= sampler.KEEP_SMAPS_TEXT_REGIONS  # as the sampler reads it
    t_maps, maps_snap = timed(
        lambda: take_snapshot(procfs, pid, smaps=False, keep_text=keep_text), repeats
    )
    held = "" if keep_text else ", in pieces, as columns"
    report(f"maps read + parse + classify ({n} regions{held})", t_maps)
    t_smaps, smaps_snap = timed(
        lambda: take_snapshot(procfs, pid, smaps=True, keep_text=keep_text), repeats
    )
    report("smaps read + parse + classify" + ("" if keep_text else " (in pieces)"), t_smaps)
    report("  of which the kernel's read of smaps", smaps_snap.read_seconds)
    t_carry, carried = timed(lambda: sampler.carry_smaps(maps_snap, smaps_snap), repeats)
    report("carry resident figures (maps-only tick)", t_carry)
    prev = carried
    cur = carried._replace(taken_at=carried.taken_at + 1)
    t_events, _ = timed(lambda: diff.diff_snapshots(prev, cur), repeats)
    report("diff: events", t_events)
    t_changes, _ = timed(lambda: sampler.region_changes(prev, cur), repeats)
    report("diff: per-region changes (for the view)", t_changes)
    t_unmapped, _ = timed(lambda: unmapped_ranges(prev, cur), repeats)
    report("diff: unmapped ranges", t_unmapped)
    index = {r.start: r for r in smaps_snap.regions} if keep_text else None
    again = sampler.carry_smaps(
        take_snapshot(procfs, pid, smaps=False, keep_text=keep_text), smaps_snap, index
    )
    t_same, same = timed(lambda: carried.regions == again.regions, repeats)
    report(f"unchanged? (compare with the last tick: {same})", t_same)
    worker_maps_tick = t_maps + t_carry + t_events + t_changes + t_unmapped
    worker_smaps_tick = t_smaps + t_events + t_changes + t_unmapped
    report("worker total, maps-only tick", worker_maps_tick)
    report("worker total, smaps tick", worker_smaps_tick)

    print("UI thread (per refresh):")
    regions = cur.regions
    t_rows, _ = timed(lambda: build_rows(regions, {}), repeats)
    report("table rows, by address", t_rows)
    t_sorted, _ = timed(lambda: build_rows(regions, {}, sort="rss", descending=True), repeats)
    report("table rows, sorted by RSS", t_sorted)
    t_filter, _ = timed(lambda: build_rows(regions, {}, filter_text="rw-p"), repeats)
    report("table rows, filtered", t_filter)
    t_grouped, _ = timed(lambda: build_rows(regions, {}, grouped=True), repeats)
    report("table rows, grouped by object", t_grouped)
    user = bl.user_regions(regions)
    top = bl.user_top(regions)
    t_compact, _ = timed(lambda: bl.compact_layout(user, top, 160), repeats)
    report("bar layout, compact (worker thread, now)", t_compact)
    t_scale, _ = timed(lambda: bl.scale_layout(user, top, 160), repeats)
    report("bar layout, true scale (worker thread, now)", t_scale)
    t_kinds, _ = timed(lambda: kind_totals(regions), repeats)
    report("kind summary (worker thread, now)", t_kinds)
    t_starts, _ = timed(lambda: {r.start for r in regions}, repeats)
    report("highlight bookkeeping (set of starts; before)", t_starts)
    highlights = [regions[i].start for i in range(0, len(regions), max(1, len(regions) // 5))]
    t_lookup, _ = timed(lambda: [_starts_at(regions, s) for s in highlights], repeats)
    report("highlight bookkeeping (5 looked up; now)", t_lookup)
    recent = {s: "new" for s in highlights}
    set_data, draw, drawn, t_prepare, t_show = asyncio.run(draw_screenful(regions, {}, recent))
    report("table: set data (rows + keep selection)", set_data)
    report(f"table: draw one screenful ({drawn} lines)", draw)
    report("bar + summary laid out (worker thread, now)", t_prepare)
    report("bar + summary taken over and drawn (UI thread)", t_show)
    before = set_data + draw + t_compact + t_kinds + t_starts
    report("UI total per refresh, before issue 10's move", before)
    ui = set_data + draw + t_lookup + t_show
    report("UI total per refresh (address order, compact)", ui)
    idle = t_maps + t_carry + t_same
    report("idle process (nothing changed), per tick", idle)
    print(
        f"per tick: {idle * 1000:.0f} ms when nothing changed (maps-only, the table, bar and "
        f"summary are not rebuilt), {(worker_maps_tick + ui) * 1000:.0f} ms when something "
        f"changed, {(worker_smaps_tick + ui) * 1000:.0f} ms on a smaps tick (plus "
        f"{t_prepare * 1000:.0f} ms in the worker for the bar and summary).\n"
        "The screen spaces samples so that sampling stays under 20 % of one core (the "
        "header then says 'slowed to …')."
    )


if __name__ == "__main__":
    main()
