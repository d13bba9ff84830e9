"""A region cut in three with the same permissions is no mprotect's doing.

mlock, mseal, MADV_DONTDUMP or MADV_NOHUGEPAGE of the middle of a region splits it in
three rw-p lines (only their VmFlags differ), and munlock merges them back; vmtop said
"mprotect or madvise of part of it" and then "permissions match again", though the
permissions never changed. Hand-made snapshots: the diff of two samples (watch, the
TUI) and the comparison of two moments.
"""

from __future__ import annotations

from helpers_diff import MiB, base_regions, region, snapshot

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.model.moments import net_change

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
        "3 regions became one region: their VmFlags match again (munlock, madvise)",
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
