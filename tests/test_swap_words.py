"""A region's resident memory that went to swap is said so, not "freed".

MADV_PAGEOUT of 64 MiB and MADV_DONTNEED of the same 64 MiB made the very same
rss_changed words ("pages freed, reclaimed or swapped out"), though smaps' Swap of the
region rose by 64 MiB in one and stayed 0 in the other. Hand-made snapshots for the
diff of two samples (watch, recordings) and the drift the TUI reports, then live with a
swap file (root; skipped where swapon is refused) and MADV_PAGEOUT, ground truth smaps.
"""

from __future__ import annotations

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
from vmtop.model.diff import diff_snapshots
from vmtop.model.rss_drift import RssDrift

BASE = 0x7F30_0000_0000


def anon(rss: int, swap: int | None):
    return region(BASE, BASE + 64 * MiB, "rw-p", rss=rss)._replace(swap=swap)


def rss_event(before, after):
    a = snapshot(base_regions() + [before], taken_at=1.0)
    b = snapshot(base_regions() + [after], taken_at=2.0)
    (event,) = [e for e in diff_snapshots(a, b) if e.event == ev.RSS_CHANGED]
    return event


def test_pages_that_went_to_swap_are_swapped_out_not_freed():
    event = rss_event(anon(64 * MiB, 0), anon(0, 64 * MiB))
    assert event.delta == -64 * MiB
    assert event.detail == "pages swapped out, not freed: now 0 B resident, 64.0 MiB on swap"


def test_pages_given_back_with_no_swap_are_freed_or_reclaimed():
    event = rss_event(anon(64 * MiB, 0), anon(0, 0))
    assert event.detail == "pages freed or reclaimed: now 0 B resident"


def test_pages_read_back_from_swap_are_swapped_in():
    event = rss_event(anon(0, 64 * MiB), anon(64 * MiB, 0))
    assert event.detail == "pages swapped in: now 64.0 MiB resident"


def test_a_fall_beside_swap_that_did_not_rise_is_freed_not_swapped():
    # MADV_DONTNEED of 32 MiB while 16 MiB stayed on swap from before: the swap is
    # known not to have moved, so none of it went there.
    event = rss_event(anon(48 * MiB, 16 * MiB), anon(16 * MiB, 16 * MiB))
    assert event.detail == "pages freed or reclaimed: now 16.0 MiB resident, 16.0 MiB on swap"


def test_swap_moving_beside_a_small_resident_change_is_said_too():
    # Memory pressure: the RSS wobbles by 160 KiB (an rss_changed at the 64 KiB
    # threshold) while 16 MiB go to swap; the rss_changed's words do not say that.
    events = diff_snapshots(
        snapshot(base_regions() + [anon(63 * MiB, 32 * MiB)], taken_at=1.0),
        snapshot(base_regions() + [anon(63 * MiB + 160 * 1024, 48 * MiB)], taken_at=2.0),
    )
    assert [(e.event, e.delta) for e in events] == [
        (ev.RSS_CHANGED, 160 * 1024),
        (ev.SWAP_CHANGED, 16 * MiB),
    ]
    assert events[0].detail.startswith("pages faulted in")


def test_without_smaps_swap_figures_the_words_stay_unsure():
    event = rss_event(anon(64 * MiB, None), anon(0, None))
    assert event.detail == "pages freed, reclaimed or swapped out: now 0 B resident"


def test_the_drift_the_tui_reports_says_the_swap_the_region_has():
    drift = RssDrift(64 * 1024)
    drift.update(snapshot(base_regions() + [anon(64 * MiB, 0)], taken_at=1.0))
    (event,) = drift.update(snapshot(base_regions() + [anon(0, 64 * MiB)], taken_at=2.0))
    assert event.detail == "pages swapped out, not freed: now 0 B resident, 64.0 MiB on swap"
    # And back: swapped in, as watch says it (the TUI and recordings use this drift).
    (event,) = drift.update(snapshot(base_regions() + [anon(64 * MiB, 0)], taken_at=3.0))
    assert event.detail == "pages swapped in: now 64.0 MiB resident"


def test_the_tui_drift_says_swap_moving_beside_a_small_resident_change():
    drift = RssDrift(64 * 1024)
    drift.update(snapshot(base_regions() + [anon(63 * MiB, 32 * MiB)], taken_at=1.0))
    moved = anon(63 * MiB + 160 * 1024, 48 * MiB)
    events = drift.update(snapshot(base_regions() + [moved], taken_at=2.0))
    assert [e.event for e in events] == [ev.RSS_CHANGED, ev.SWAP_CHANGED]


@pytest.mark.parametrize("swap", [None, 0])
def test_drift_without_swap_says_no_swap(swap):
    drift = RssDrift(64 * 1024)
    drift.update(snapshot(base_regions() + [anon(64 * MiB, swap)], taken_at=1.0))
    (event,) = drift.update(snapshot(base_regions() + [anon(0, swap)], taken_at=2.0))
    assert "on swap" not in event.detail


def test_swap_climbing_under_pressure_with_the_rss_flat_is_a_swap_changed():
    # A 200 MiB writer in a 100 MiB cgroup: old pages go out as new ones come in.
    event_list = diff_snapshots(
        snapshot(base_regions() + [anon(99 * MiB, 31 * MiB)], taken_at=1.0),
        snapshot(base_regions() + [anon(98 * MiB, 102 * MiB)], taken_at=2.0),
        rss_threshold=2 * MiB,
    )
    assert [(e.event, e.delta) for e in event_list] == [(ev.SWAP_CHANGED, 71 * MiB)]
    assert event_list[0].detail.startswith("pages went to swap")
    assert "now 102.0 MiB on swap" in event_list[0].detail


def test_a_swap_move_an_rss_changed_said_is_not_said_twice():
    event_list = diff_snapshots(
        snapshot(base_regions() + [anon(64 * MiB, 0)], taken_at=1.0),
        snapshot(base_regions() + [anon(0, 64 * MiB)], taken_at=2.0),
    )
    assert [e.event for e in event_list] == [ev.RSS_CHANGED]


def test_the_tui_drift_adds_swap_up_until_the_threshold():
    drift = RssDrift(4 * MiB)
    drift.update(snapshot(base_regions() + [anon(50 * MiB, 0)], taken_at=1.0))
    # 1 MiB a sample: nothing, nothing, nothing, then the 4 MiB since it was told.
    said = [
        drift.update(snapshot(base_regions() + [anon(50 * MiB, k * MiB)], taken_at=1.0 + k))
        for k in range(1, 5)
    ]
    assert said[:3] == [[], [], []]
    (event,) = said[3]
    assert (event.event, event.delta) == (ev.SWAP_CHANGED, 4 * MiB)


def test_comparing_two_moments_says_the_swap_that_moved():
    from vmtop.model.moments import net_change

    a = snapshot(base_regions() + [anon(99 * MiB, 31 * MiB)], taken_at=1.0)
    b = snapshot(base_regions() + [anon(98 * MiB, 102 * MiB)], taken_at=2.0)
    (item,) = net_change(a, b, rss_threshold=2 * MiB)
    assert (item.event, item.delta) == (ev.SWAP_CHANGED, 71 * MiB)
    assert item.detail == "on swap 31.0 MiB -> 102.0 MiB"


# -- live ----------------------------------------------------------------------------------


@pytest.fixture
def swap_file(tmp_path_factory):
    """A 64 MiB swap file, on while the test runs (root only; skipped where refused:
    a container, a file system swap cannot use)."""
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0 or not shutil.which("swapon") or not shutil.which("mkswap"):
        pytest.skip("needs root, swapon and mkswap")
    where = tmp_path_factory.mktemp("swap") / "swapfile"
    with open(where, "wb") as f:
        f.write(b"\0" * (64 * MiB))
    os.chmod(where, 0o600)
    made = subprocess.run(["mkswap", str(where)], capture_output=True, text=True)
    on = made.returncode == 0 and subprocess.run(["swapon", str(where)], capture_output=True)
    if not on or on.returncode != 0:
        pytest.skip(f"swapon refused here: {getattr(on, 'stderr', made.stderr)!r}")
    try:
        yield where
    finally:
        subprocess.run(["swapoff", str(where)], capture_output=True)


def smaps_of(pid: int, address: int) -> dict[str, int]:
    return smaps_figures(pid, address, "Rss", "Swap")


@pytest.mark.live
def test_watch_tells_a_page_out_from_a_free(swap_file, compile_c):
    import time

    from helpers_elf import C_DIR

    exe = compile_c(C_DIR / "pageout.c")
    child = commanded(exe)
    watch = None
    try:
        address = int(child.stdout.readline().split()[1], 16)
        watch = WatchProcess(child.pid, interval=0.2)
        watch.wait_ready()

        def command(word: str) -> dict[str, int]:
            child.stdin.write(word + "\n")
            assert child.stdout.readline().strip() == f"DONE {word}"
            time.sleep(0.8)  # a few samples
            return smaps_of(child.pid, address)

        out = command("out")
        if out["Swap"] < 8 * MiB:
            pytest.skip(f"the kernel put {out['Swap']} bytes on swap (MADV_PAGEOUT)")
        back = command("in")
        freed = command("free")
        assert freed == {"Rss": 0, "Swap": 0}  # ground truth: freed, none of it on swap
    finally:
        if watch is not None:
            watch.stop()
        child.kill()
        child.wait()
    events = watch.events
    mine = [e for e in events if e["event"] == "rss_changed" and e["start"] == f"{address:#x}"]
    words = [e["detail"].split(":")[0] for e in mine]
    assert words[0] == "pages swapped out, not freed", mine
    assert f"{out['Swap'] / MiB:.1f} MiB on swap" in mine[0]["detail"]
    assert "pages swapped in" in words and back["Rss"] >= 8 * MiB
    assert words[-1] == "pages freed or reclaimed", mine
    # Each move said once: by the rss_changed, no swap_changed beside it.
    assert not [
        e for e in events if e["event"] == "swap_changed" and e["start"] == mine[0]["start"]
    ]
