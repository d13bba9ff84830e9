"""A whole region mlocked, munlocked, sealed or madvised: flags_changed.

mlock (mlockall, MAP_LOCKED), munlock, mseal or madvise(MADV_DONTDUMP, MADV_HUGEPAGE,
...) of all of a mapping leaves its maps line as it was: only its VmFlags change, and
vmtop said nothing. Hand-made pairs of snapshots with smaps texts (the VmFlags and
Locked of each region written by hand): one flags_changed per region whose flags
changed, nothing where either sample's text is missing or carried (smaps not read),
the words of a region mapped locked, and the fold of many alike (mlockall) in the log
and in `watch`'s text. Live, a C program that mlocks, munlocks, madvises and mseals
whole mappings on command, under `vmtop watch --json` and the TUI's sampler, each
event checked against the kernel's own VmFlags and Locked in /proc/PID/smaps.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers_diff import KiB, MiB, WatchProcess, base_regions, commanded, region, snapshot

from vmtop.model import event_runs
from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.procfs.vm_flag_changes import said_with_vm_flags

BASE = 0x6_0000_0000
PLAIN = "rd wr mr mw me ac"
KEYS = region(BASE, BASE + 64 * KiB, "rw-p")


def smaps_text(regions, flags: dict[int, str], locked: dict[int, int]) -> bytes:
    """An smaps text of ``regions`` as the kernel prints it (header, a few fields,
    VmFlags), with ``flags`` and ``locked`` (bytes) by start; the rest PLAIN, 0."""
    out = []
    for r in regions:
        out.append(
            f"{r.start:08x}-{r.end:08x} {r.perms} {r.offset:08x} {r.dev} {r.inode} "
            f"{r.path}\n"
            f"Size: {(r.end - r.start) >> 10} kB\nRss: {(r.rss or 0) >> 10} kB\n"
            f"Locked: {locked.get(r.start, 0) >> 10} kB\n"
            f"VmFlags: {flags.get(r.start, PLAIN)} \n"
        )
    return "".join(out).encode()


def pair(a, b, flags_a=None, flags_b=None, locked_a=None, locked_b=None):
    before = snapshot(base_regions() + a, taken_at=1.0)
    now = snapshot(base_regions() + b, taken_at=2.0)
    before = before._replace(raw_smaps=smaps_text(before.regions, flags_a or {}, locked_a or {}))
    now = now._replace(raw_smaps=smaps_text(now.regions, flags_b or {}, locked_b or {}))
    return before, now


def told(before, now):
    return said_with_vm_flags(diff_snapshots(before, now), before, now)


def flags_changed(before, now):
    return [e for e in told(before, now) if e.event == ev.FLAGS_CHANGED]


def test_a_whole_region_mlocked_is_said_with_its_locked_memory():
    before, now = pair([KEYS], [KEYS], {}, {BASE: "rd wr mr mw me lo ac"}, {}, {BASE: 64 * KiB})
    assert diff_snapshots(before, now) == []  # the map says nothing: the same line
    (e,) = flags_changed(before, now)
    assert (e.start, e.end, e.size) == (BASE, BASE + 64 * KiB, 64 * KiB)
    assert e.delta == 64 * KiB  # the region's Locked, 0 -> 64 kB
    assert e.detail.startswith("mlock or mlockall(MCL_CURRENT) (VmFlags lo set)")
    assert "never swapped out" in e.detail


def test_munlock_gives_the_locked_memory_back():
    before, now = pair([KEYS], [KEYS], {BASE: "rd wr mr mw me lo ac"}, {}, {BASE: 64 * KiB}, {})
    (e,) = flags_changed(before, now)
    assert e.delta == -64 * KiB
    assert e.detail.startswith("munlock or munlockall (VmFlags lo cleared)")


def test_mlock_on_fault_is_one_call_not_two():
    before, now = pair([KEYS], [KEYS], {}, {BASE: "rd wr mr mw me lo ac lf"}, {}, {})
    (e,) = flags_changed(before, now)
    assert e.detail.startswith("mlock2(MLOCK_ONFAULT) or mlockall(MCL_CURRENT | MCL_ONFAULT) (")
    assert "VmFlags lf set)" in e.detail and "lo set" not in e.detail
    assert e.delta == 0  # nothing faulted in yet: Locked 0 on both


@pytest.mark.parametrize(
    ("flag", "call"),
    [
        ("sl", "mseal (VmFlags sl set): sealed: it can no longer be unmapped"),
        ("dd", "madvise(MADV_DONTDUMP) (VmFlags dd set): left out of core dumps"),
        ("hg", "madvise(MADV_HUGEPAGE) (VmFlags hg set)"),
        ("nh", "madvise(MADV_NOHUGEPAGE) (VmFlags nh set)"),
        ("dc", "madvise(MADV_DONTFORK) (VmFlags dc set)"),
        ("wf", "madvise(MADV_WIPEONFORK) (VmFlags wf set)"),
        ("zz", "a change of VmFlag zz (VmFlags zz set)"),
    ],
)
def test_each_flag_set_names_its_call(flag, call):
    before, now = pair([KEYS], [KEYS], {}, {BASE: f"{PLAIN} {flag}"})
    (e,) = flags_changed(before, now)
    assert e.detail.startswith(call)
    assert (e.size, e.delta) == (64 * KiB, 0)


def test_a_flag_cleared_names_the_call_that_clears_it():
    before, now = pair([KEYS], [KEYS], {BASE: f"{PLAIN} dd"}, {})
    (e,) = flags_changed(before, now)
    assert e.detail == "madvise(MADV_DODUMP) (VmFlags dd cleared): in core dumps again"


def test_soft_dirty_alone_is_no_call_of_the_program():
    # clear_refs (CRIU) clears sd; a mapping made or grown sets it: bookkeeping.
    before, now = pair([KEYS], [KEYS], {BASE: f"{PLAIN} sd"}, {})
    assert flags_changed(before, now) == []


def test_without_smaps_read_on_both_samples_nothing_is_said():
    before, now = pair([KEYS], [KEYS], {}, {BASE: f"{PLAIN} sl"})
    assert len(flags_changed(before, now)) == 1  # (the pair as it is: said)
    # One side without a text: smaps not read, or its text not kept (a huge map).
    assert flags_changed(before._replace(raw_smaps=None), now) == []
    assert flags_changed(before, now._replace(raw_smaps=None)) == []
    assert said_with_vm_flags([], None, now) == []
    # A read of maps alone, the last smaps read's figures and text carried.
    carried = now._replace(raw_smaps=before.raw_smaps, smaps_read_at=1.0)
    assert flags_changed(before, carried) == []
    assert flags_changed(before, now._replace(smaps_read_at=1.0)) == []


def test_a_region_mapped_again_in_its_place_is_no_flags_change():
    before, now = pair([KEYS], [KEYS], {}, {BASE: f"{PLAIN} lo"}, {}, {BASE: 64 * KiB})
    replaced = diff_snapshots(before, now) + [
        ev.Event(2.0, ev.MAPPED, BASE, BASE + 64 * KiB, "anon", 64 * KiB, 64 * KiB)
    ]
    assert [e.event for e in said_with_vm_flags(replaced, before, now)] == [ev.MAPPED]


def test_another_process_or_program_is_never_compared():
    before, now = pair([KEYS], [KEYS], {}, {BASE: f"{PLAIN} sl"})
    other = now._replace(info=now.info._replace(start_time=2000))
    assert flags_changed(before, other) == []


def test_other_permissions_are_protection_changed_not_flags_changed():
    before, now = pair([KEYS], [KEYS._replace(perms="r--p")], {}, {BASE: "rd mr mw me ac"})
    assert [e.event for e in told(before, now)] == [ev.PROTECTION_CHANGED]


def test_a_region_mapped_locked_says_so():
    # mlockall(MCL_FUTURE), MAP_LOCKED: a new mapping has lo from its first sample.
    block = region(BASE, BASE + 256 * KiB, "rw-p", rss=256 * KiB)
    before, now = pair([], [block], {}, {BASE: f"{PLAIN} lo"}, {}, {BASE: 256 * KiB})
    (e,) = told(before, now)
    assert e.event == ev.MAPPED
    assert "; locked in memory (VmFlags lo: mapped with MAP_LOCKED" in e.detail
    # Before the resident size its words end in (which a fold of alike takes off).
    assert e.detail.endswith("; 256.0 KiB resident")
    # Not locked: not said.
    before, now = pair([], [block], {}, {}, {}, {})
    (e,) = told(before, now)
    assert "locked" not in e.detail


def many_regions(n: int):
    """``n`` regions of three kinds (anonymous, a file's, a stack-like named one)."""
    out = []
    for k in range(n):
        start = BASE + k * 2 * MiB
        path = ("", "/opt/data.bin", "[anon:keys]")[k % 3]
        out.append(region(start, start + 64 * KiB, "rw-p", path, offset=k * 64 * KiB))
    return out


def test_mlockall_of_many_regions_is_one_line():
    regions = many_regions(30)
    locked = {r.start: 64 * KiB for r in regions}
    # Every region of the sample locked, the base regions (code, stack) too.
    before, now = pair(regions, regions)
    all_now = {r.start: f"{PLAIN} lo" for r in now.regions}
    all_locked = {r.start: min(r.end - r.start, 64 * KiB) for r in now.regions} | locked
    now = now._replace(raw_smaps=smaps_text(now.regions, all_now, all_locked))
    events = told(before, now)
    assert len(events) == len(now.regions) == 38
    assert {e.event for e in events} == {ev.FLAGS_CHANGED}
    (line,) = event_runs.sample_lines(events)
    assert event_runs.regions(line) == 38
    assert line.event.delta == sum(all_locked.values())
    assert line.event.kind == "" and line.event.path == ""  # of several kinds and files
    runs: list = []
    event_runs.add_events(runs, events, limit=100)
    assert len(runs) == 1 and runs[0].regions == 38

    from vmtop.commands.watch import human_lines

    (text,) = human_lines(events)
    assert "flags_changed" in text and "in 38 regions" in text
    assert "locked +" in text and "[regions of several kinds]" in text


def test_the_names_are_known_everywhere():
    from vmtop.commands.watch import event_record, human_line

    before, now = pair([KEYS], [KEYS], {}, {BASE: f"{PLAIN} lo"}, {}, {BASE: 64 * KiB})
    (e,) = flags_changed(before, now)
    assert event_record(e)["event"] == "flags_changed"
    assert "locked +64.0 KiB" in human_line(e)
    assert "mseal" in ev.EVENT_DESCRIPTIONS[ev.FLAGS_CHANGED]
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `event` |"))
    assert "`flags_changed`" in row
    fmt = (root / "docs" / "recording-format.md").read_text()
    assert "`flags_changed` (added later" in fmt


# -- live: the kernel's VmFlags and Locked against what vmtop says ------------------------

C_PROGRAM = r"""
/* Maps two 64 KiB anonymous regions (with a no-access page below, between and above
 * them, so the kernel merges them with nothing), writes them, prints their addresses, then on command (a
 * word a line on stdin) changes a whole region's VmFlags: "lock A", "unlock A",
 * "dontdump B", "dodump B", "seal B" (mseal, syscall 462, Linux 6.10+); "future N"
 * (mlockall(MCL_FUTURE), then a new 64 KiB mapping, whose address it prints).
 * Answers "ok WORD", or "err WORD ERRNO" where the call failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KiB 1024UL

int main(void) {
    char *p = mmap(NULL, 140 * KiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    char *a = p + 4 * KiB, *b = p + 72 * KiB;
    if (mprotect(a, 64 * KiB, PROT_READ | PROT_WRITE)) return 1;
    if (mprotect(b, 64 * KiB, PROT_READ | PROT_WRITE)) return 1;
    memset(a, 1, 64 * KiB);
    memset(b, 1, 64 * KiB);
    /* Each call made once before: the pages of libc's code and data they fault in
     * are in before vmtop looks, and a command later changes its region's flags and
     * nothing else (the map then reads the same: only VmFlags tell). */
    char word[32], which[8];
    sscanf("warm A", "%31s %7s", word, which);
    if (!mlock(a, 64 * KiB)) munlock(a, 64 * KiB);
    madvise(b, 64 * KiB, MADV_DODUMP);
    printf("%p %p\n", (void *)a, (void *)b);
    fflush(stdout);
    while (scanf("%31s %7s", word, which) == 2) {
        char *r = which[0] == 'A' ? a : b;
        long rc = 0;
        if (!strcmp(word, "lock")) rc = mlock(r, 64 * KiB);
        else if (!strcmp(word, "unlock")) rc = munlock(r, 64 * KiB);
        else if (!strcmp(word, "dontdump")) rc = madvise(r, 64 * KiB, MADV_DONTDUMP);
        else if (!strcmp(word, "dodump")) rc = madvise(r, 64 * KiB, MADV_DODUMP);
        else if (!strcmp(word, "seal")) rc = syscall(462, r, 64 * KiB, 0);
        else if (!strcmp(word, "future")) {
            rc = mlockall(MCL_FUTURE);
            char *n = rc ? MAP_FAILED
                         : mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (!rc && n == MAP_FAILED) rc = -1;
            if (!rc) {
                printf("new %p\n", (void *)n);
                fflush(stdout);
            }
        }
        if (rc) printf("err %s %d\n", word, errno);
        else printf("ok %s\n", word);
        fflush(stdout);
    }
    return 0;
}
"""


def kernel_block(pid: int, address: int) -> tuple[frozenset[str], int]:
    """The VmFlags and Locked (bytes) of the region at ``address``, as the kernel
    prints them in /proc/PID/smaps."""
    flags, locked, inside = frozenset(), 0, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()[0] if line.strip() else ""
            if "-" in head and not head.endswith(":"):
                inside = int(head.split("-")[0], 16) == address
            elif inside and head == "Locked:":
                locked = int(line.split()[1]) * 1024
            elif inside and head == "VmFlags:":
                flags = frozenset(line.split()[1:])
    return flags, locked


def wait_until(check, timeout: float = 30.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.live
def test_watch_and_the_tui_say_whole_regions_locked_sealed_and_madvised(compile_c):
    from vmtop.procfs.reader import ProcFS
    from vmtop.tui.sampler import Sampler

    child = commanded(compile_c(C_PROGRAM))
    watch = None
    try:
        a, b = (int(x, 16) for x in child.stdout.readline().split())
        watch = WatchProcess(child.pid, interval=0.2)
        watch.wait_ready()
        sampler = Sampler(ProcFS(), child.pid)
        sampler.sample()
        sampler.sample()
        tui: list = []

        def command(word: str, which: str, address: int, flag: str, on: bool):
            """Send it, check the kernel's VmFlags, and wait for both vmtops to say
            it: the watch's event and the TUI's (a sample each, until it comes)."""
            seen = len(watch.events)  # (before the call: the watch may say it at once)
            child.stdin.write(f"{word} {which}\n")
            answer = child.stdout.readline().split()
            if answer[0] != "ok":
                return answer  # (the caller skips: EPERM, ENOMEM, ENOSYS)
            flags, locked = kernel_block(child.pid, address)
            if word == "seal" and flag not in flags:
                return ["noflag"]  # (a kernel that seals but does not print sl)
            assert (flag in flags) == on, flags  # the kernel's own word on it

            def in_watch():
                return [
                    e
                    for e in watch.events[seen:]
                    if e["event"] == "flags_changed" and e["start"] == f"{address:#x}"
                ]

            said = wait_until(in_watch, what=f"watch to say {word}")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                got = [
                    e
                    for e in sampler.sample().events
                    if e.event == ev.FLAGS_CHANGED and e.start == address
                ]
                if got:
                    tui.append(got[0])
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"the TUI's sampler did not say {word}")
            return said[0], tui[-1], locked

        got = command("lock", "A", a, "lo", True)
        if got[0] == "err":
            pytest.skip(f"mlock of 64 KiB failed: errno {got[2]} (RLIMIT_MEMLOCK)")
        said, in_tui, locked = got
        assert locked == 64 * KiB  # the kernel's Locked: all of it, faulted in
        assert said["delta"] == in_tui.delta == locked
        assert "(VmFlags lo set)" in said["detail"] and said["detail"] == in_tui.detail
        assert said["size"] == 64 * KiB

        said, in_tui, locked = command("unlock", "A", a, "lo", False)
        assert locked == 0 and said["delta"] == in_tui.delta == -64 * KiB
        assert said["detail"].startswith("munlock")

        said, in_tui, _ = command("dontdump", "B", b, "dd", True)
        assert said["detail"].startswith("madvise(MADV_DONTDUMP) (VmFlags dd set)")
        assert said["delta"] == 0
        said, _, _ = command("dodump", "B", b, "dd", False)
        assert said["detail"].startswith("madvise(MADV_DODUMP) (VmFlags dd cleared)")

        got = command("seal", "B", b, "sl", True)
        if got[0] == "err":
            pytest.skip(f"mseal failed: errno {got[2]} (Linux 6.10+, CONFIG_64BIT)")
        if got[0] == "noflag":
            pytest.skip("this kernel seals but prints no VmFlag sl")
        said, in_tui, _ = got
        assert said["detail"].startswith("mseal (VmFlags sl set)")
        assert in_tui.detail == said["detail"]

        # mlockall(MCL_FUTURE): a mapping made after it is locked from the start.
        seen = len(watch.events)
        child.stdin.write("future N\n")
        answer = child.stdout.readline().split()
        if answer[0] != "new":
            pytest.skip(f"mlockall(MCL_FUTURE) and a mapping failed: {answer}")
        new = int(answer[1], 16)
        assert child.stdout.readline().split()[0] == "ok"
        flags, locked = kernel_block(child.pid, new)
        assert "lo" in flags and locked == 64 * KiB  # (MCL_FUTURE faults it in)

        def mapped_in_watch():
            return [
                e
                for e in watch.events[seen:]
                if e["event"] == "mapped" and e["start"] == f"{new:#x}"
            ]

        (mapped,) = wait_until(mapped_in_watch, what="watch to say the new mapping")
        if "rss" in mapped:  # (seen where smaps was read: else its flags are not known)
            assert "locked in memory (VmFlags lo" in mapped["detail"]
    finally:
        if watch is not None:
            watch.stop()
        child.kill()
        child.wait()
