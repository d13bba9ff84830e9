"""Memory freed with MADV_FREE is said as it happens, and so is its reclaim.

jemalloc and mimalloc (and Go's runtime before 1.16) free memory with
madvise(MADV_FREE): the pages stay resident and in the RSS until the kernel needs
memory, so an RSS that does not fall after a big free reads as a leak, and vmtop said
nothing. Measured on 6.18:
the region's Private_Dirty moves to Private_Clean with Rss and Anonymous flat, and
smaps' LazyFree says it (up to a per-CPU batch of pages, 64 kB, late); writing the pages
again moves them back; reclaim takes Rss, Private_Clean and LazyFree down together.

Hand-made snapshots for the diff of two samples (watch) and the drift the TUI and
recordings report, hand-made smaps text for the LazyFree read from it, then live: a C
child that frees 32 MiB with MADV_FREE on command, ground truth the kernel's smaps; and
the reclaim forced through a memory cgroup (root).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers_diff import (
    KiB,
    MiB,
    WatchProcess,
    base_regions,
    commanded,
    region,
    smaps_figures,
    snapshot,
)

from vmtop.model import events as ev
from vmtop.model.columns import as_columns
from vmtop.model.diff import diff_snapshots
from vmtop.model.events import Event
from vmtop.model.lazy_free import (
    LAZY_FREED,
    NOT_MEASURED,
    RECLAIMED,
    REUSED,
    STILL_RESIDENT,
    as_measured,
    clean_anonymous_regions,
    said_reclaimed,
)
from vmtop.model.rss_drift import RssDrift
from vmtop.procfs.lazy_free_figures import lazy_free_figures, said_with_lazy_free

BASE = 0x7F30_0000_0000
SIZE = 32 * MiB


def block(clean: int, rss: int = SIZE, *, perms: str = "rw-p", path: str = "", swap: int = 0):
    """The 32 MiB private anonymous region (or another mapping), ``clean`` of its
    resident memory clean (what MADV_FREE leaves), the rest dirty."""
    r = region(BASE, BASE + SIZE, perms, path, rss=rss)
    return r._replace(private_clean=clean, private_dirty=rss - clean, anonymous=rss, swap=swap)


def smaps_text(regions, lazy: dict[int, int]) -> bytes:
    """An smaps text of ``regions`` as the kernel prints it, LazyFree from ``lazy``."""
    lines = []
    for r in regions:
        name = f"{'':<20}{r.path}" if r.path else ""
        lines.append(f"{r.start:x}-{r.end:x} {r.perms} {r.offset:08x} {r.dev} {r.inode} {name}")
        figures = {
            "Size": r.size, "Rss": r.rss or 0, "Private_Clean": r.private_clean or 0,
            "Private_Dirty": r.private_dirty or 0, "Anonymous": r.anonymous or 0,
            "LazyFree": lazy.get(r.start, 0), "Swap": r.swap or 0,
        }  # fmt: skip
        lines += [f"{key + ':':<16}{value // KiB:>8} kB" for key, value in figures.items()]
        lines.append("VmFlags: rd wr mr mw me ac ")
    return ("\n".join(lines) + "\n").encode()


def take(b, at: float = 1.0, lazy: int | None = None, columns: bool = False):
    """A small process's snapshot with ``b``; with ``lazy``, its smaps text kept, the
    region's LazyFree that."""
    snap = snapshot(base_regions() + [b], taken_at=at)
    if lazy is not None:
        snap = snap._replace(raw_smaps=smaps_text(snap.regions, {BASE: lazy}))
    if columns:
        snap = snap._replace(regions=as_columns(snap.regions))
    return snap


def mine(events, name: str = ev.LAZYFREE_CHANGED) -> list[Event]:
    return [e for e in events if e.event == name and e.start == BASE]


# -- the diff of two samples (watch) -------------------------------------------------------


def test_memory_freed_with_madv_free_is_said_though_the_rss_is_flat():
    # 32 MiB freed: Private_Dirty 32 -> 0, Private_Clean 0 -> 32 MiB, Rss unmoved.
    events = diff_snapshots(take(block(0)), take(block(SIZE), 2.0))
    (event,) = events
    assert (event.event, event.delta, event.size) == (ev.LAZYFREE_CHANGED, SIZE, SIZE)
    assert event.detail == (
        f"32.0 MiB {LAZY_FREED}: {STILL_RESIDENT}; now 32.0 MiB lazily freed{NOT_MEASURED}"
    )
    assert event.detail.startswith(
        "32.0 MiB freed with MADV_FREE: still resident and counted in RSS until the kernel "
        "needs memory or the program reuses it"
    )


def test_memory_written_again_is_reused():
    events = diff_snapshots(take(block(SIZE)), take(block(24 * MiB), 2.0))
    (event,) = mine(events)
    assert event.delta == -8 * MiB
    assert event.detail.startswith(f"8.0 MiB {REUSED}; now 24.0 MiB lazily freed")


def test_under_the_threshold_nothing_is_said():
    events = diff_snapshots(take(block(0)), take(block(60 * KiB), 2.0))
    assert events == []


def test_lazily_freed_pages_that_went_are_the_rss_fall_not_a_reuse():
    # Reclaimed: Rss and Private_Clean fell together. The rss_changed says it.
    events = diff_snapshots(take(block(SIZE)), take(block(8 * MiB, rss=8 * MiB), 2.0))
    assert [e.event for e in events] == [ev.RSS_CHANGED]


def test_pages_read_back_from_swap_come_clean_and_are_no_free():
    # Read faults of swapped pages map them clean, from the swap cache: Rss up, clean
    # up, swap down. Nothing was freed.
    was = block(0, rss=0, swap=16 * MiB)
    back = block(16 * MiB, rss=16 * MiB, swap=0)
    assert not mine(diff_snapshots(take(was), take(back, 2.0)))


@pytest.mark.parametrize(
    "perms, path",
    [("rw-p", "/var/lib/data.bin"), ("rw-s", "/dev/shm/segment"), ("rw-s", "")],
    ids=["private file", "shared file", "shared anonymous"],
)
def test_madv_free_is_only_for_private_anonymous_memory(perms, path):
    # The kernel refuses MADV_FREE elsewhere (EINVAL, measured): clean pages of a file
    # are its page cache, read in.
    events = diff_snapshots(
        take(block(0, perms=perms, path=path)), take(block(SIZE, perms=perms, path=path), 2.0)
    )
    assert not mine(events)


def test_a_region_whose_lines_changed_is_told_over_them_together():
    # The kernel merged a new 4 MiB mapping into the region while it was freed.
    grown = block(SIZE, rss=SIZE)._replace(end=BASE + SIZE + 4 * MiB)
    events = diff_snapshots(take(block(0)), take(grown, 2.0))
    (event,) = mine(events)
    assert (event.delta, event.end) == (SIZE, BASE + SIZE + 4 * MiB)


# -- LazyFree read from the text (procfs), the kernel's own figure -------------------------


def test_the_diffs_event_gets_the_kernels_lazyfree():
    # The last pages freed wait in a per-CPU batch: LazyFree 64 kB short of the free.
    before, now = take(block(0), lazy=0), take(block(SIZE), 2.0, lazy=SIZE - 64 * KiB)
    (event,) = said_with_lazy_free(diff_snapshots(before, now), before, now)
    assert (event.delta, event.size) == (SIZE - 64 * KiB, SIZE - 64 * KiB)
    assert event.detail == f"31.9 MiB {LAZY_FREED}: {STILL_RESIDENT}; now 31.9 MiB lazily freed"


def test_clean_memory_that_lazyfree_does_not_show_is_not_said():
    # Pages read back from swap (clean) and then written: Private_Clean fell, with the
    # Rss flat, but none of it was ever freed with MADV_FREE.
    before, now = take(block(16 * MiB), lazy=0), take(block(0), 2.0, lazy=0)
    events = diff_snapshots(before, now)
    assert mine(events)  # (what the clean memory alone suggests)
    assert said_with_lazy_free(events, before, now) == []


def test_nothing_is_said_where_the_text_was_not_kept():
    # A huge map's text is not kept (8 MiB in the TUI, 1 MiB in watch): no proof.
    before, now = take(block(0)), take(block(SIZE), 2.0)
    assert said_with_lazy_free(diff_snapshots(before, now), before, now) == []


def test_the_rss_falling_as_lazily_freed_pages_go_says_the_kernel_reclaimed_them():
    before = take(block(SIZE), lazy=SIZE)
    now = take(block(8 * MiB, rss=8 * MiB), 2.0, lazy=8 * MiB)
    (event,) = said_with_lazy_free(diff_snapshots(before, now), before, now)
    assert event.event == ev.RSS_CHANGED and event.delta == -24 * MiB
    assert event.detail == f"{RECLAIMED}: now 8.0 MiB resident"


def test_a_fall_of_pages_that_were_not_lazily_freed_keeps_its_words():
    # Clean pages read back from swap, freed with MADV_DONTNEED (LazyFree 0 throughout).
    before = take(block(SIZE), lazy=0)
    now = take(block(0, rss=0), 2.0, lazy=0)
    (event,) = said_with_lazy_free(diff_snapshots(before, now), before, now)
    assert event.detail == "pages freed or reclaimed: now 0 B resident"


def test_the_words_of_a_fall():
    fall = Event(1.0, ev.RSS_CHANGED, BASE, BASE + SIZE, "anon", SIZE, -SIZE, "", None,
                 "pages freed or reclaimed: now 0 B resident")  # fmt: skip
    assert said_reclaimed(fall, SIZE, 0).detail == f"{RECLAIMED}: now 0 B resident"
    assert said_reclaimed(fall, SIZE, SIZE) is fall  # LazyFree did not move
    assert said_reclaimed(fall, None, 0) is fall  # not read
    swapped = fall._replace(detail="pages swapped out, not freed: now 0 B resident")
    assert said_reclaimed(swapped, SIZE, 0) is swapped


def test_measured_or_not():
    event = diff_snapshots(take(block(0)), take(block(SIZE), 2.0))[0]
    assert as_measured(event, 0, SIZE).delta == SIZE
    assert as_measured(event, None, SIZE).delta == SIZE  # mapped since: the clean figure
    assert as_measured(event, None, None) is None
    assert as_measured(event, 0, 4 * MiB) is None  # not half of it: not MADV_FREE's
    assert as_measured(event, SIZE, 0) is None  # the other way


@pytest.mark.parametrize("count", [1, 3, 30], ids=["first block", "searched", "indexed"])
def test_lazyfree_is_read_from_the_block_of_each_region_that_may_hold_some(count):
    # A few regions are found by a search of the text, many by an index of its blocks.
    regions = [
        region(BASE + k * MiB, BASE + (k + 1) * MiB, rss=MiB)._replace(
            private_clean=MiB if k < count else 0, private_dirty=0 if k < count else MiB
        )
        for k in range(32)
    ]
    snap = snapshot(regions)
    lazy = {r.start: (k + 1) * 4 * KiB for k, r in enumerate(regions)}
    snap = snap._replace(raw_smaps=smaps_text(snap.regions, lazy))
    expected = [(r.start, lazy[r.start]) for r in regions[:count]]
    assert lazy_free_figures(snap) == expected


@pytest.mark.parametrize("count", [1, 30], ids=["searched", "indexed"])
def test_a_region_printed_twice_by_a_torn_read_gives_its_newest_block(count):
    regions = [
        region(BASE + k * MiB, BASE + (k + 1) * MiB, rss=MiB)._replace(private_clean=MiB)
        for k in range(count)
    ]
    snap = snapshot(base_regions() + regions)
    text = smaps_text(snap.regions, {})  # (LazyFree 0 in every block) ...
    text += smaps_text([regions[0]], {BASE: 8 * KiB})  # ... one printed again
    figures = dict(lazy_free_figures(snap._replace(raw_smaps=memoryview(text))))
    assert figures[BASE] == 8 * KiB


# -- the drift (TUI, recordings) -----------------------------------------------------------


def drift_events(*steps, columns: bool = False, threshold: int = 64 * KiB):
    """The drift's events over one snapshot per (region, LazyFree) step, LazyFree read
    from its text as the sampler reads it, after the first."""
    drift = RssDrift(threshold)
    out = []
    for k, (b, lazy) in enumerate(steps):
        snap = take(b, 1.0 + k, lazy=lazy, columns=columns)
        said = drift.update(snap, None, lazy_free_figures(snap))
        out += said if k else []
    return out


@pytest.mark.parametrize("columns", [False, True], ids=["regions", "columns"])
def test_the_tui_says_the_free_and_the_reuse_with_the_kernels_figures(columns):
    events = drift_events(
        (block(0), 0),
        (block(SIZE), SIZE - 64 * KiB),
        (block(24 * MiB), 24 * MiB - 64 * KiB),
        columns=columns,
    )
    assert [(e.event, e.delta) for e in events] == [
        (ev.LAZYFREE_CHANGED, SIZE - 64 * KiB),
        (ev.LAZYFREE_CHANGED, -8 * MiB),
    ]
    assert events[0].detail.endswith("; now 31.9 MiB lazily freed")
    assert events[1].detail.startswith(f"8.0 MiB {REUSED}")


def test_the_tui_adds_small_frees_up_until_the_threshold():
    steps = [(block(k * MiB), k * MiB) for k in range(6)]
    events = drift_events(*steps, threshold=4 * MiB)
    assert [(e.delta, e.time) for e in events] == [(4 * MiB, 5.0)]


def test_the_tui_says_the_reclaim_once_in_the_rss_fall():
    events = drift_events(
        (block(0), 0), (block(SIZE), SIZE), (block(8 * MiB, rss=8 * MiB), 8 * MiB)
    )
    assert [(e.event, e.delta) for e in events] == [
        (ev.LAZYFREE_CHANGED, SIZE),
        (ev.RSS_CHANGED, -24 * MiB),  # (its words: procfs, from the texts)
    ]


def test_the_tui_says_nothing_where_the_text_was_not_kept():
    drift = RssDrift(64 * KiB)
    said = [
        drift.update(take(b, 1.0 + k), None, None) for k, b in enumerate((block(0), block(SIZE)))
    ]
    assert said == [[], []]


@pytest.mark.parametrize("columns", [False, True], ids=["regions", "columns"])
def test_only_private_anonymous_regions_with_clean_memory_are_looked_up(columns):
    file = region(BASE + SIZE, BASE + SIZE + MiB, "rw-p", "/var/lib/data.bin", rss=MiB)
    shm = region(BASE + 2 * SIZE, BASE + 2 * SIZE + MiB, "rw-s", "", rss=MiB)
    rows = [block(SIZE), file._replace(private_clean=MiB), shm._replace(shared_clean=MiB)]
    snap = snapshot(base_regions() + rows)
    if columns:
        snap = snap._replace(regions=as_columns(snap.regions))
    assert [r.start for r in clean_anonymous_regions(snap)] == [BASE]


# -- what else says it -----------------------------------------------------------------------


def test_comparing_two_moments_says_the_clean_memory_that_moved():
    from vmtop.model.moments import net_change

    (item,) = net_change(take(block(0)), take(block(SIZE), 2.0))
    assert (item.event, item.delta) == (ev.LAZYFREE_CHANGED, SIZE)
    assert item.detail == (
        "clean anonymous memory (freed with MADV_FREE and still resident, or read back "
        "from swap) 0 B -> 32.0 MiB"
    )


def test_watch_diff_and_the_log_name_it():
    from vmtop.commands.diff_lines import net_parts
    from vmtop.commands.watch import human_line
    from vmtop.model import event_runs
    from vmtop.tui.theme import EVENT_PALETTE, FALLBACK_EVENT

    event = diff_snapshots(take(block(0)), take(block(SIZE), 2.0))[0]
    assert "lazyfree +32.0 MiB" in human_line(event)
    assert net_parts([event]) == ["1 lazily freed (+32M)"]
    # Freed a sample after the other, the same region: one line of the log.
    runs: list = []
    event_runs.add_events(runs, [event, event._replace(time=3.0)], 100)
    assert [(r.count, r.event.delta) for r in runs] == [(2, 2 * SIZE)]
    assert EVENT_PALETTE[ev.LAZYFREE_CHANGED] != FALLBACK_EVENT


# -- live ------------------------------------------------------------------------------------


def lazy_figures(pid: int, address: int) -> dict[str, int]:
    """The kernel's figures of the region at ``address``: the ground truth."""
    return smaps_figures(
        pid, address, "Rss", "Private_Clean", "Private_Dirty", "Shared_Clean", "LazyFree"
    )


class Child:
    """The C child of tests/c/lazy_free.c, commanded a word at a time."""

    def __init__(self, compile_c) -> None:
        from helpers_elf import C_DIR

        self.proc = commanded(compile_c(C_DIR / "lazy_free.c"))
        self.pid = self.proc.pid
        self.address = int(self.proc.stdout.readline().split()[1], 16)

    def command(self, word: str, settle: float = 0.8) -> dict[str, int]:
        """Do ``word``, wait a few samples; the kernel's figures then."""
        self.proc.stdin.write(word + "\n")
        assert self.proc.stdout.readline().strip() == f"DONE {word}"
        figures = lazy_figures(self.pid, self.address)
        time.sleep(settle)
        return figures

    def touched_and_sampled(self):
        """Touch the 32 MiB, and a Sampler of this child past its first read (of maps
        only): its next sample compares smaps with smaps, as the TUI and record do."""
        from vmtop.procfs.reader import ProcFS
        from vmtop.tui.sampler import Sampler

        self.command("touch", settle=0)
        sampler = Sampler(ProcFS(), self.pid)
        sampler.sample()
        sampler.sample()
        return sampler

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.mark.live
def test_watch_says_the_free_and_the_reuse_with_the_kernels_lazyfree(compile_c):
    child = Child(compile_c)
    watch = None
    try:
        touched = child.command("touch", settle=0)
        watch = WatchProcess(child.pid, interval=0.2)
        watch.wait_ready()
        time.sleep(0.5)
        freed = child.command("free")
        reused = child.command("reuse")
    finally:
        if watch is not None:
            watch.stop()
        child.close()
    # Ground truth: the RSS did not move; LazyFree rose by (nearly) all of it, and fell
    # by the 8 MiB written again.
    assert touched["Rss"] == freed["Rss"] == reused["Rss"] == SIZE
    assert freed["LazyFree"] == SIZE  # (the child drained the kernel's page batches)
    assert reused["LazyFree"] == SIZE - 8 * MiB
    said = [e for e in watch.events if e["start"] == f"{child.address:#x}"]
    assert [(e["event"], e["delta"]) for e in said] == [
        ("lazyfree_changed", freed["LazyFree"]),
        ("lazyfree_changed", -8 * MiB),
    ]
    lazy_mib = freed["LazyFree"] / MiB
    assert said[0]["detail"] == (
        f"{lazy_mib:.1f} MiB {LAZY_FREED}: {STILL_RESIDENT}; now {lazy_mib:.1f} MiB lazily freed"
    )
    assert said[1]["detail"].endswith(f"now {reused['LazyFree'] / MiB:.1f} MiB lazily freed")


@pytest.mark.live
def test_the_sampler_says_it_too_as_the_tui_and_record_see_it(compile_c):
    child = Child(compile_c)
    try:
        sampler = child.touched_and_sampled()
        freed = child.command("free", settle=0)
        first = sampler.sample().events
        reused = child.command("reuse", settle=0)
        second = sampler.sample().events
    finally:
        child.close()
    assert [(e.event, e.delta) for e in first if e.start == child.address] == [
        (ev.LAZYFREE_CHANGED, freed["LazyFree"])
    ]
    assert [(e.event, e.delta) for e in second if e.start == child.address] == [
        (ev.LAZYFREE_CHANGED, reused["LazyFree"] - freed["LazyFree"])
    ]


class MemoryCgroup:
    """A memory cgroup of the test's own, to make the kernel reclaim: cgroup v2's
    memory.reclaim, or v1's limit lowered under the usage (this VM mounts v1's memory
    controller beside a v2 hierarchy without it)."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.v2 = False
        for line in Path("/proc/self/mounts").read_text().splitlines():
            _, where, kind, options = line.split()[:4]
            if kind == "cgroup2" and "memory" in self._read(Path(where, "cgroup.controllers")):
                self.path, self.v2 = Path(where), True  # (a child of the root: its
                break  # subtree has the controller, where a leaf's may not)
            if kind == "cgroup" and "memory" in options.split(","):
                own = [c for c in Path("/proc/self/cgroup").read_text().splitlines()
                       if "memory" in c.split(":")[1].split(",")]  # fmt: skip
                if own:
                    self.path = Path(where + own[0].split(":", 2)[2])
        if self.path is not None:
            self.path = self.path / f"vmtop-test-lazyfree-{os.getpid()}"

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text()
        except OSError:
            return ""

    def make(self) -> str | None:
        """Make it; why not, where it cannot be."""
        if os.geteuid() != 0:
            return "needs root (a memory cgroup of its own)"
        if self.path is None:
            return "no memory cgroup controller mounted (v1 or v2)"
        try:
            self.path.mkdir()
        except OSError as e:
            return f"cannot make a memory cgroup at {self.path}: {e}"
        return None

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def reclaim(self, amount: int) -> None:
        if self.v2:
            (self.path / "memory.reclaim").write_text(str(amount))
            return
        usage = int((self.path / "memory.usage_in_bytes").read_text())
        limit = self.path / "memory.limit_in_bytes"
        try:
            limit.write_text(str(usage - amount))
        finally:
            limit.write_text("-1")

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)  # (the child's exit still being reaped)


@pytest.mark.live
def test_watch_and_the_tui_say_the_kernel_reclaimed_the_lazily_freed_pages(compile_c):
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.sampler import Sampler

    group = MemoryCgroup()
    why = group.make()
    if why is not None:
        pytest.skip(why)
    child = watch = None
    try:
        child = Child(compile_c)
        group.add(child.pid)  # before it touches its memory: charged to the group
        child.command("touch", settle=0)
        freed = child.command("free", settle=0)
        watch = WatchProcess(child.pid, interval=0.2)
        watch.wait_ready()
        sampler = Sampler(ProcFS(), child.pid)
        sampler.sample()
        sampler.sample()  # (the first read maps only)
        time.sleep(0.5)
        group.reclaim(16 * MiB)
        time.sleep(0.8)
        reclaimed = lazy_figures(child.pid, child.address)
        in_the_tui = [e for e in sampler.sample().events if e.start == child.address]
    finally:
        if watch is not None:
            watch.stop()
        if child is not None:
            child.close()
        group.remove()
    # Ground truth: the kernel took lazily freed pages, and those only (no swap here).
    fell = freed["Rss"] - reclaimed["Rss"]
    if fell < 8 * MiB:
        pytest.skip(f"the kernel reclaimed {fell} bytes of the region")
    assert freed["LazyFree"] - reclaimed["LazyFree"] >= fell - 64 * KiB
    said = [e for e in watch.events if e["start"] == f"{child.address:#x}"]
    assert [(e["event"], e["delta"]) for e in said] == [("rss_changed", -fell)]
    assert said[0]["detail"] == f"{RECLAIMED}: now {reclaimed['Rss'] / MiB:.1f} MiB resident"
    assert [(e.event, e.delta, e.detail) for e in in_the_tui] == [
        (ev.RSS_CHANGED, -fell, said[0]["detail"])
    ]


@pytest.mark.live
def test_a_fork_and_the_childs_write_free_nothing_and_reuse_nothing(compile_c):
    """After a fork the lazily freed pages are the child's too: Shared_Clean, not
    Private_Clean, still lazily freed; the child's write copies them, and the parent's
    are private again. Told by Private_Clean alone, the fork read as 'written again: the
    program reused it' and the child's write as a new free (review), in the TUI, record
    and the diff of two moments."""
    from vmtop.model.moments import net_change
    from vmtop.procfs.reader import ProcFS
    from vmtop.procfs.snapshot import take_snapshot

    child = Child(compile_c)
    try:
        sampler = child.touched_and_sampled()
        time.sleep(0.3)  # (a read too soon after the last is of maps only)
        freed = child.command("free", settle=0.3)
        at_free = sampler.sample().events
        before = take_snapshot(ProcFS(), child.pid)
        forked = child.command("fork", settle=0.3)
        at_fork = sampler.sample().events
        after = take_snapshot(ProcFS(), child.pid)
        written = child.command("childwrite", settle=0.3)
        at_write = sampler.sample().events
    finally:
        child.close()
    # Ground truth: the kernel's LazyFree did not move; the fork made the pages shared.
    assert freed["LazyFree"] == forked["LazyFree"] == written["LazyFree"] > 16 * MiB
    assert forked["Shared_Clean"] >= 16 * MiB and forked["Private_Clean"] < MiB

    def lazy(events):
        return [e.delta for e in events if e.event == ev.LAZYFREE_CHANGED]

    assert lazy(at_free) == [freed["LazyFree"]]  # (what the fork is compared with)
    assert not lazy(at_fork) and not lazy(at_write), (at_fork, at_write)
    assert not [e for e in net_change(before, after) if e.event == ev.LAZYFREE_CHANGED]
