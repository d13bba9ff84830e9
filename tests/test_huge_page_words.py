"""A resident rise that came as transparent huge pages is said so, not "faulted in".

One byte written every 2 MiB of a MADV_HUGEPAGE region brings 16 MiB: a 2 MiB page for
each fault (and khugepaged or MADV_COLLAPSE fill a sparse range with no fault at all).
vmtop said "pages faulted in", which sends one looking for code that touched 16 MiB.
The words are a function of the region's huge pages before and after (pure tests); the
figures come from the smaps text (live, ground truth the kernel's AnonHugePages).
"""

from __future__ import annotations

import time

import pytest
from helpers_diff import MiB, WatchProcess, commanded, smaps_figures

from vmtop.model import events as ev
from vmtop.model.event_words import IN_HUGE_PAGES, in_huge_pages
from vmtop.model.events import Event

RISE = Event(1.0, ev.RSS_CHANGED, 0x1000, 0x1001000, "anon", 16 * MiB, 16 * MiB, "", None,
             "pages faulted in: now 16.0 MiB resident")  # fmt: skip


def test_a_rise_in_huge_pages_is_said_so():
    said = in_huge_pages(RISE, 0, 16 * MiB)
    assert said.detail == f"{IN_HUGE_PAGES}: now 16.0 MiB resident, 16.0 MiB in huge pages"


def test_a_rise_of_small_pages_beside_old_huge_ones_is_faulted_in():
    assert in_huge_pages(RISE, 16 * MiB, 18 * MiB) is RISE  # (2 MiB of 16 MiB more)


def test_a_fall_or_a_swap_in_is_left_as_it_is():
    fall = RISE._replace(delta=-16 * MiB, detail="pages freed or reclaimed: now 0 B resident")
    assert in_huge_pages(fall, 16 * MiB, 0) is fall
    back = RISE._replace(detail="pages swapped in: now 16.0 MiB resident")
    assert in_huge_pages(back, 0, 16 * MiB) is back


def anon_huge_pages(pid: int, address: int) -> int:
    return smaps_figures(pid, address, "AnonHugePages").get("AnonHugePages", 0)


@pytest.mark.live
def test_watch_says_a_region_filled_by_huge_pages(compile_c):
    from helpers_elf import C_DIR

    exe = compile_c(C_DIR / "huge_page_touch.c")
    child = commanded(exe)
    watch = None
    try:
        address = int(child.stdout.readline().split()[1], 16)
        watch = WatchProcess(child.pid, interval=0.2)
        watch.wait_ready()
        child.stdin.write("touch\n")
        assert child.stdout.readline().strip() == "DONE touch"
        huge = anon_huge_pages(child.pid, address)
        time.sleep(1.0)
    finally:
        if watch is not None:
            watch.stop()
        child.kill()
        child.wait()
    if huge < 8 * MiB:
        pytest.skip(f"transparent huge pages gave {huge} bytes here (THP off, or none free)")
    (rise,) = [
        e for e in watch.events if e["event"] == "rss_changed" and e["start"] == f"{address:#x}"
    ]
    assert rise["detail"].startswith(IN_HUGE_PAGES + ":"), rise
    assert rise["delta"] >= huge


def test_a_rise_beside_resident_pages_collapsed_is_not_said_to_be_huge_pages():
    # MADV_COLLAPSE of 8 MiB already resident, and 4 MiB of small pages faulted in the
    # same sample: AnonHugePages +8 MiB, Rss +4 MiB. The rise was no huge pages.
    rise = RISE._replace(delta=4 * MiB, detail="pages faulted in: now 12.0 MiB resident")
    assert in_huge_pages(rise, 0, 8 * MiB) is rise
    # A sparse range filled by khugepaged: 32 KiB resident became 16 MiB of huge pages.
    sparse = RISE._replace(delta=16 * MiB - 32 * 1024)
    assert in_huge_pages(sparse, 0, 16 * MiB).detail.startswith(IN_HUGE_PAGES)
