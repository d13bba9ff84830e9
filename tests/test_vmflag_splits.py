"""A region cut in three with the same permissions is no mprotect's doing.

mlock, mseal, MADV_DONTDUMP or MADV_NOHUGEPAGE of the middle of a region splits it in
three rw-p lines (only their VmFlags differ), and munlock merges them back; vmtop said
"mprotect or madvise of part of it" and then "permissions match again", though the
permissions never changed. Hand-made snapshots: the diff of two samples (watch, the
TUI) and the comparison of two moments; with hand-made smaps texts, the flags that
differ read from them ("mlock of part of it (VmFlags lo)"); live, a C program that
mlocks, madvises and mseals part of a mapping on command, under `vmtop watch` and the
TUI's sampler.
"""

from __future__ import annotations

import time

import pytest
from conftest import C_DIR
from helpers_diff import MiB, base_regions, region, snapshot, watched_mapping

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.model.moments import net_change
from vmtop.procfs.vm_flag_changes import said_with_vm_flags

BASE = 0x6_0000_0000
WHOLE = [region(BASE, BASE + 4 * MiB, "rw-p")]
THIRDS = [
    region(BASE, BASE + MiB, "rw-p"),
    region(BASE + MiB, BASE + 2 * MiB, "rw-p"),  # mlock'ed: VmFlags lo
    region(BASE + 2 * MiB, BASE + 4 * MiB, "rw-p"),
]
PROTECTED = [THIRDS[0], THIRDS[1]._replace(perms="r--p"), THIRDS[2]]


def structure(a, b):
    events = diff_snapshots(snapshot(base_regions() + a, taken_at=1.0),
                            snapshot(base_regions() + b, taken_at=2.0))  # fmt: skip
    return [(e.event, e.detail) for e in events if e.event in (ev.SPLIT, ev.MERGED)]


def test_a_split_with_the_same_permissions_names_the_flags_not_mprotect():
    ((name, detail),) = structure(WHOLE, THIRDS)
    assert name == ev.SPLIT
    assert detail == (
        "one region became 3: madvise, mlock or mseal of part of it (the same "
        "permissions: a VmFlag differs)"
    )


def test_the_merge_back_says_the_flags_match_again():
    ((name, detail),) = structure(THIRDS, WHOLE)
    assert (name, detail) == (
        ev.MERGED,
        "3 regions became one region: their VmFlags match again (munlock, madvise), or "
        "one was unmapped and memory mapped in its place between samples, which the "
        "kernel joined to its neighbour",
    )


def test_a_split_with_other_permissions_is_mprotect():
    assert structure(WHOLE, PROTECTED) == [
        (ev.SPLIT, "one region became 3: mprotect of part of it")
    ]
    assert (
        structure(PROTECTED, WHOLE)[0][1] == "3 regions became one region: permissions match again"
    )


def test_comparing_two_moments_says_the_same():
    a = snapshot(base_regions() + WHOLE, taken_at=1.0)
    b = snapshot(base_regions() + THIRDS, taken_at=2.0)
    (split,) = [e for e in net_change(a, b, []) if e.event == ev.SPLIT]
    assert split.detail.endswith(
        "madvise, mlock or mseal of part of it (the same permissions: a VmFlag differs)"
    )


# -- said by the flags themselves, read from the smaps texts kept ----------------------


def flags_text(regions: list, flags: dict[int, str]) -> bytes:
    """An smaps text of ``regions`` whose VmFlags are ``flags`` by start (the rest:
    "rd wr mr mw me ac")."""
    out = []
    for r in regions:
        out.append(
            f"{r.start:x}-{r.end:x} {r.perms} 00000000 00:00 0 \n"
            f"Size: {(r.end - r.start) >> 10} kB\nRss: 4 kB\n"
            f"VmFlags: {flags.get(r.start, 'rd wr mr mw me ac')} \n"
        )
    return "".join(out).encode()


def told(a, b, flags_a: dict[int, str], flags_b: dict[int, str]):
    before = snapshot(base_regions() + a, taken_at=1.0)
    now = snapshot(base_regions() + b, taken_at=2.0)
    before = before._replace(raw_smaps=flags_text(list(before.regions), flags_a))
    now = now._replace(raw_smaps=flags_text(list(now.regions), flags_b))
    events = said_with_vm_flags(diff_snapshots(before, now), before, now)
    return [(e.event, e.detail) for e in events if e.event in (ev.SPLIT, ev.MERGED)]


LOCKED = {BASE + MiB: "rd wr mr mw me lo ac"}


def test_a_split_by_mlock_is_said_so():
    assert told(WHOLE, THIRDS, {}, LOCKED) == [
        (ev.SPLIT, "one region became 3: mlock of part of it (VmFlags lo)")
    ]


def test_the_merge_by_munlock_is_said_so():
    assert told(THIRDS, WHOLE, LOCKED, {}) == [
        (
            ev.MERGED,
            "3 regions became one region: munlock: their VmFlags match again (lo cleared)",
        )
    ]


def test_a_merge_by_mlock_of_the_rest_is_said_so():
    everywhere = {BASE: "rd wr mr mw me lo ac"}
    assert told(THIRDS, WHOLE, LOCKED, everywhere) == [
        (
            ev.MERGED,
            "3 regions became one region: mlock of the rest: their VmFlags match again (lo set)",
        )
    ]


def test_two_flags_and_an_unknown_one_are_all_named():
    both = {BASE + MiB: "rd wr mr mw me dd sl ac", BASE + 2 * MiB: "rd wr mr mw me zz ac"}
    ((_, detail),) = told(WHOLE, THIRDS, {}, both)
    assert detail == (
        "one region became 3: madvise(MADV_DONTDUMP) and mseal and a change of VmFlag zz "
        "of part of it (VmFlags dd sl zz)"
    )


def test_without_a_text_or_a_differing_flag_the_diff_stays_as_it_was():
    generic = "madvise, mlock or mseal of part of it (the same permissions: a VmFlag differs)"
    # Flags all the same (the kernel cut the lines for what VmFlags do not show).
    ((_, detail),) = told(WHOLE, THIRDS, {}, {})
    assert detail.endswith(generic)
    # No text kept (a huge map; a read of maps alone).
    before = snapshot(base_regions() + WHOLE, taken_at=1.0)
    now = snapshot(base_regions() + THIRDS, taken_at=2.0)
    events = said_with_vm_flags(diff_snapshots(before, now), before, now)
    assert [e.detail for e in events if e.event == ev.SPLIT] == [f"one region became 3: {generic}"]
    # mprotect: not a flag's doing, left as it is.
    assert told(WHOLE, PROTECTED, {}, LOCKED) == [
        (ev.SPLIT, "one region became 3: mprotect of part of it")
    ]


@pytest.mark.live
def test_watch_and_the_tui_say_which_call_cut_a_live_mapping(compile_c):
    said_in_tui = []
    with watched_mapping(compile_c(C_DIR / "mapping_commands.c")) as mapped:
        child, address, watch, sampler = mapped
        answers = []
        for word in ("lock", "unlock", "dontdump", "dodump", "seal"):
            time.sleep(0.6)
            child.stdin.write(word + "\n")
            answers.append(child.stdout.readline().split()[0])
            time.sleep(0.6)
            said_in_tui += [e.detail for e in sampler.sample().events if e.start == address]
        time.sleep(0.6)
    assert answers[:4] == ["ok"] * 4  # mlock needs RLIMIT_MEMLOCK of 2 MiB: root here
    expected = [
        "one region became 3: mlock of part of it (VmFlags lo)",
        "3 regions became one region: munlock: their VmFlags match again (lo cleared)",
        "one region became 3: madvise(MADV_DONTDUMP) of part of it (VmFlags dd)",
        "3 regions became one region: madvise(MADV_DODUMP): their VmFlags match again (dd cleared)",
    ]
    if answers[4] == "ok":  # mseal (Linux 6.10+)
        expected.append("one region became 3: mseal of part of it (VmFlags sl)")
    said = [e["detail"] for e in watch.of(ev.SPLIT, ev.MERGED) if e["start"] == f"{address:#x}"]
    assert said == expected
    assert [d for d in said_in_tui if d in expected] == expected
