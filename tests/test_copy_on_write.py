"""Memory shared after a fork, and copied on write, is said: the Rss does not show it.

A child writing 8 MiB it shares with its parent moves neither process's Rss: each copy
replaces a shared page in the writer, and the other's page becomes its own. Only smaps'
Shared_Dirty of the private mapping moves (16 MiB -> 8 MiB, in both), and vmtop said
nothing. Hand-made snapshots for the TUI's drift (watch and recordings share it) and
the comparison of two moments, then live: a C parent that forks on command and a child
that writes half of a region they share, ground truth the kernel's smaps of both.
"""

from __future__ import annotations

import time

import pytest
from helpers_diff import (
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
from vmtop.model.facts import KsmStat
from vmtop.model.moments import net_change
from vmtop.model.rss_drift import RssDrift
from vmtop.model.sharing_events import (
    EITHER_COPIED,
    EITHER_SHARED,
    FORK_COPIED,
    FORK_SHARED,
    KSM_MERGED,
    KSM_UNMERGED,
)
from vmtop.procfs.ksm_stat import parse_ksm_stat

BASE = 0x7F30_0000_0000


def block(shared: int, rss: int = 16 * MiB, perms: str = "rw-p", path: str = ""):
    return region(BASE, BASE + 16 * MiB, perms, path, rss=rss)._replace(shared_dirty=shared)


def drift_events(*blocks, columns: bool = False, threshold: int = 64 * 1024, ksm=None):
    """The events of the TUI's drift over one snapshot per block (beside a small
    process's regions), after the first; ``ksm``: the process's KSM counts at each."""
    drift = RssDrift(threshold)
    out = []
    for k, b in enumerate(blocks):
        snap = snapshot(base_regions() + [b], taken_at=1.0 + k)
        if ksm is not None:
            snap = snap._replace(ksm=ksm[k])
        if columns:
            snap = snap._replace(regions=as_columns(snap.regions))
        said = drift.update(snap)
        out += said if k else []
    return out


@pytest.mark.parametrize("columns", [False, True], ids=["regions", "columns"])
def test_a_fork_then_the_child_writing_half_is_said_in_the_parent(columns):
    events = drift_events(block(0), block(16 * MiB), block(8 * MiB), columns=columns)
    assert [(e.event, e.delta, e.start) for e in events] == [
        (ev.SHARED_CHANGED, 16 * MiB, BASE),
        (ev.SHARED_CHANGED, -8 * MiB, BASE),
    ]
    # KSM's counts not known (a kernel before 6.1): both causes named.
    assert events[0].detail == f"{EITHER_SHARED}: now 16.0 MiB shared, the Rss unchanged by it"
    assert events[1].detail == f"{EITHER_COPIED}: now 8.0 MiB shared, the Rss unchanged by it"


def test_with_no_pages_merged_by_ksm_it_is_the_fork():
    none = KsmStat(0, False)
    events = drift_events(block(0), block(16 * MiB), block(8 * MiB), ksm=[none] * 3)
    assert [e.detail.split(": now")[0] for e in events] == [FORK_SHARED, FORK_COPIED]


def test_ksm_merging_then_unmerging_is_said_as_ksm_not_a_fork():
    # KSM merges 8 MiB over two samples (ksmd scans slowly), then unmerges it; the
    # process never forked.
    counts = [KsmStat(n * MiB, True) for n in (0, 4, 8, 0)]
    events = drift_events(
        block(0), block(4 * MiB), block(8 * MiB), block(0), ksm=counts, threshold=8 * MiB
    )
    assert [(e.delta, e.detail.split(": now")[0]) for e in events] == [
        (8 * MiB, KSM_MERGED),
        (-8 * MiB, KSM_UNMERGED),
    ]


def test_a_private_file_mapping_whose_dirty_page_cache_is_written_back_is_no_copy():
    # One process maps a file MAP_SHARED rw and MAP_PRIVATE ro: the pages it writes are
    # shared dirty in the private mapping (mapped twice), and clean once written back
    # (sync). Nothing was copied, nothing forked: its anonymous memory is 0.
    path = "/tmp/data.bin"
    events = drift_events(
        block(8 * MiB, rss=8 * MiB, perms="r--p", path=path)._replace(anonymous=0),
        block(0, rss=8 * MiB, perms="r--p", path=path)._replace(anonymous=0),
    )
    assert events == []


def test_a_forked_file_mapping_counts_its_copies_only():
    # A library's data (rw-p) after a fork: its written pages are anonymous, shared.
    libc = "/usr/lib/libc.so.6"
    was = block(64 * 1024, rss=96 * 1024, path=libc)._replace(anonymous=64 * 1024, private_dirty=0)
    events = drift_events(was._replace(shared_dirty=0, private_dirty=64 * 1024), was)
    assert [(e.event, e.delta) for e in events] == [(ev.SHARED_CHANGED, 64 * 1024)]


def test_ksm_stat_as_the_kernel_prints_it():
    text = (
        b"ksm_rmap_items 2048\nksm_zero_pages 0\nksm_merging_pages 2048\n"
        b"ksm_process_profit 8257536\nksm_merge_any: no\nksm_mergeable: yes\n"
    )
    assert parse_ksm_stat(text, page_size=4096) == KsmStat(8 * MiB, True)
    # Before 6.10 there is no ksm_mergeable: whether memory may be merged is unknown.
    assert parse_ksm_stat(b"ksm_rmap_items 0\nksm_merging_pages 0\n", 4096) == KsmStat(0, None)
    assert parse_ksm_stat(b"garbage\n") is None


def test_the_diff_of_two_samples_says_the_copies_watch_prints():
    from vmtop.model.diff import diff_snapshots

    a = snapshot(base_regions() + [block(16 * MiB)], taken_at=1.0)
    b = snapshot(base_regions() + [block(8 * MiB)], taken_at=2.0)
    assert [(e.event, e.delta) for e in diff_snapshots(a, b)] == [(ev.SHARED_CHANGED, -8 * MiB)]
    # A heap that grew while its pages were copied: said over the lines together.
    heap = [r for r in base_regions() if r.path == "[heap]"][0]
    grown = heap._replace(end=heap.end + MiB, rss=heap.rss, shared_dirty=0)
    a = snapshot(base_regions() + [block(0)], taken_at=1.0)
    a = a._replace(regions=tuple(r._replace(shared_dirty=4 * MiB) if r == heap else r
                                 for r in a.regions))  # fmt: skip
    b = snapshot([grown if r == heap else r for r in base_regions()] + [block(0)], taken_at=2.0)
    said = [(e.event, e.delta, e.start) for e in diff_snapshots(a, b) if e.delta != MiB]
    assert said == [(ev.SHARED_CHANGED, -4 * MiB, heap.start)]


def test_copies_add_up_to_the_threshold_across_samples():
    # 1 MiB copied a sample, at a 4 MiB threshold: said once, when it adds up.
    blocks = [block((16 - k) * MiB) for k in range(6)]
    events = drift_events(*blocks, threshold=4 * MiB)
    assert [(e.event, e.delta, e.time) for e in events] == [(ev.SHARED_CHANGED, -4 * MiB, 5.0)]


def test_a_shared_mapping_whose_pages_others_touch_is_not_copy_on_write():
    # MAP_SHARED memory (SysV, /dev/shm) is shared by design: another process touching
    # its pages moves Shared_Dirty, and nothing was copied.
    shm = "/dev/shm/segment"
    events = drift_events(block(0, perms="rw-s", path=shm), block(16 * MiB, perms="rw-s", path=shm))
    assert [e.event for e in events] == []


def test_shared_pages_freed_are_an_rss_change_not_a_copy():
    # MADV_DONTNEED in the child of what it shares: the Rss fell, and says it.
    events = drift_events(block(16 * MiB), block(0, rss=0))
    assert [(e.event, e.delta) for e in events] == [(ev.RSS_CHANGED, -16 * MiB)]


def test_comparing_two_moments_says_the_shared_memory_that_moved():
    a = snapshot(base_regions() + [block(16 * MiB)], taken_at=1.0)
    b = snapshot(base_regions() + [block(2 * MiB)], taken_at=2.0)
    (item,) = net_change(a, b)
    assert (item.event, item.delta) == (ev.SHARED_CHANGED, -14 * MiB)
    assert item.detail == "anonymous memory shared (fork or KSM) 16.0 MiB -> 2.0 MiB"


# -- live ----------------------------------------------------------------------------------


def shared_dirty(pid: int, address: int) -> dict[str, int]:
    """The kernel's Rss and Shared_Dirty of the region at ``address``."""
    return smaps_figures(pid, address, "Rss", "Shared_Dirty")


@pytest.mark.live
def test_watch_says_the_fork_and_the_copies_in_parent_and_child(compile_c):
    from helpers_elf import C_DIR

    exe = compile_c(C_DIR / "copy_on_write.c")
    parent = commanded(exe)
    watches = []

    def command(word: str) -> str:
        parent.stdin.write(word + "\n")
        answer = parent.stdout.readline().strip()
        if answer != f"DONE {word}":
            tail = parent.stdout.readline().strip()
            assert tail == f"DONE {word}", (answer, tail)
        time.sleep(1.0)  # a few samples
        return answer

    try:
        address = int(parent.stdout.readline().split()[1], 16)
        watches.append(WatchProcess(parent.pid, interval=0.2))
        watches[0].wait_ready()
        child = int(command("fork").split()[1])
        forked = shared_dirty(parent.pid, address)
        watches.append(WatchProcess(child, interval=0.2))
        watches[1].wait_ready()
        time.sleep(0.5)
        command("write")
        copied = {pid: shared_dirty(pid, address) for pid in (parent.pid, child)}
        time.sleep(0.6)  # each watch samples the end of the writes too
    finally:
        for watch in watches:
            watch.stop()
        parent.kill()
        parent.wait()
    # Ground truth: the fork shared all 16 MiB, the child's writes copied 8 MiB, and
    # neither Rss moved.
    assert forked == {"Rss": 16 * MiB, "Shared_Dirty": 16 * MiB}
    assert copied[parent.pid] == copied[child] == {"Rss": 16 * MiB, "Shared_Dirty": 8 * MiB}

    def mine(watch):
        return [e for e in watch.events if e.get("start") == f"{address:#x}"]

    def copies(events) -> list[int]:
        """The falls of the shared memory, in order: a sample taken in the middle of
        the writes says part of them, the next the rest (CI under load)."""
        return [e["delta"] for e in events if e["event"] == "shared_changed" and e["delta"] < 0]

    in_parent = mine(watches[0])
    assert (in_parent[0]["event"], in_parent[0]["delta"]) == ("shared_changed", 16 * MiB)
    assert sum(copies(in_parent)) == -8 * MiB
    # This kernel's ksm_stat says no page was merged: the words name the fork alone.
    assert in_parent[0]["detail"].startswith(FORK_SHARED + ":")
    falls = [e for e in in_parent if e["event"] == "shared_changed" and e["delta"] < 0]
    assert all(e["detail"].startswith(FORK_COPIED + ":") for e in falls)
    assert sum(copies(mine(watches[1]))) == -8 * MiB
    # Neither Rss moved: no rss_changed of the region before the parent quit.
    assert not [e for e in mine(watches[1]) if e["event"] == "rss_changed"]


def test_a_file_mapping_holding_its_own_copies_and_shared_dirty_page_cache_is_no_fork():
    # 16 MiB of its own copies (Anonymous = Private_Dirty = 16 MiB) and, after another
    # process wrote the file, 16 MiB of dirty page cache mapped by both (Shared_Dirty),
    # cleaned by writeback: no fork, nothing copied.
    path = "/tmp/data.bin"
    own = dict(anonymous=16 * MiB, private_dirty=16 * MiB)
    blocks = [block(shared, rss=32 * MiB, path=path)._replace(**own) for shared in (0, 16 * MiB, 0)]
    assert drift_events(*blocks) == []


@pytest.mark.parametrize("columns", [False, True], ids=["regions", "columns"])
def test_clean_anonymous_pages_shared_by_a_fork_count_as_shared(columns):
    # 2 MiB of the block freed with MADV_FREE before the fork (clean), 4 MiB dirty: at
    # the fork smaps had Shared_Clean 2048 kB, Shared_Dirty 4096 kB, and vmtop said
    # "now 4.0 MiB shared" (review); then the child wrote all of it.
    forked = block(4 * MiB, rss=6 * MiB)._replace(shared_clean=2 * MiB)
    events = drift_events(block(0, rss=6 * MiB), forked, block(0, rss=6 * MiB), columns=columns)
    assert [(e.event, e.delta) for e in events] == [
        (ev.SHARED_CHANGED, 6 * MiB),
        (ev.SHARED_CHANGED, -6 * MiB),
    ]
    assert events[0].detail.endswith("now 6.0 MiB shared, the Rss unchanged by it")
    # All of it clean (freed with MADV_FREE, then the fork): found by its Shared_Clean.
    clean = block(0, rss=6 * MiB)._replace(shared_clean=6 * MiB)
    events = drift_events(block(0, rss=6 * MiB), clean, columns=columns)
    assert [(e.event, e.delta) for e in events] == [(ev.SHARED_CHANGED, 6 * MiB)]


def test_a_librarys_clean_page_cache_is_no_fork_sharing():
    # A library's read-only text is Shared_Clean in every process that maps it: never
    # anonymous memory shared by a fork.
    libc = "/usr/lib/libc.so.6"
    text = block(0, rss=2 * MiB, perms="r-xp", path=libc)._replace(inode=7, anonymous=0)
    events = drift_events(text, text._replace(shared_clean=2 * MiB))
    assert events == []
