"""`vmtop watch` reads smaps on a budget; resident changes are still reported, from
one smaps read to the next, even when the map changed on a maps-only read between."""

from __future__ import annotations

import pytest

from vmtop.commands.watch import SmapsReads, _events
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
from vmtop.procfs.smaps_budget import smaps_every

KB = 1024
INFO = ProcessInfo(1, 10, "x", "x", "S", 0, 0, 1, None)


def snap(regions, *, smaps: bool, cost: float = 0.0) -> Snapshot:
    size = sum(r.end - r.start for r in regions)
    return Snapshot(
        INFO,
        0.0,
        tuple(regions),
        Totals(size, None, None, None, None, None),
        smaps,
        {},
        read_seconds=cost,
    )


def anon(start: int, end: int, rss: int | None) -> Region:
    return Region(start, end, "rw-p", 0, "00:00", 0, "", rss=rss, kind="anon")


def test_smaps_every_follows_the_cost() -> None:
    assert smaps_every(0.05, 1.0) == 1
    assert smaps_every(0.35, 1.0) == 4  # 10 % of a 1 s tick: every 4th
    assert smaps_every(0.35, 5.0) == 1


def test_reads_between_smaps_reads_carry_figures_and_changes_are_not_lost() -> None:
    budget = SmapsReads(1.0)
    first = budget.read(snap([anon(0x1000, 0x5000, 16 * KB)], smaps=True, cost=0.15))
    assert budget.every == 2 and not budget.due()
    # A maps-only read: the region split in two; no figures for either piece.
    split = [anon(0x1000, 0x3000, None), anon(0x3000, 0x5000, None)]
    second = budget.read(snap(split, smaps=False))
    events = _events(first, second, budget, 4 * KB)
    assert not [e for e in events if e.event == "rss_changed"]
    assert budget.due()  # every second tick: smaps again
    third = budget.read(snap([anon(0x1000, 0x5000, 4 * KB)], smaps=True, cost=0.15))
    events = _events(second, third, budget, 4 * KB)
    rss = [e for e in events if e.event == "rss_changed"]
    assert len(rss) == 1 and rss[0].delta == -12 * KB


def test_a_cheap_smaps_is_read_every_time_and_diffed_once() -> None:
    budget = SmapsReads(1.0)
    first = budget.read(snap([anon(0x1000, 0x5000, 16 * KB)], smaps=True, cost=0.01))
    assert budget.every == 1 and budget.due()
    second = budget.read(snap([anon(0x1000, 0x5000, 4 * KB)], smaps=True, cost=0.01))
    rss = [e for e in _events(first, second, budget, 4 * KB) if e.event == "rss_changed"]
    assert len(rss) == 1


def test_watch_help_says_what_watching_costs_with_the_figures_in_force(capsys):
    import pytest

    from vmtop.cli import main
    from vmtop.commands.watch import MAPS_BUDGET, WATCH_PIECES_FROM
    from vmtop.procfs.smaps_budget import SMAPS_BUDGET

    with pytest.raises(SystemExit) as exit_:
        main(["watch", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # (argparse wraps the lines)
    assert SMAPS_BUDGET == MAPS_BUDGET
    assert f"at most {SMAPS_BUDGET:.0%} of a core" in text
    assert f"more than {WATCH_PIECES_FROM:,} regions".replace(",", " ") in text
    assert "said on stderr" in text


def figured(start: int, end: int, rss: int, perms: str = "rw-p") -> Region:
    """An anonymous region as an smaps read gives it: every figure known."""
    return Region(
        start, end, perms, 0, "00:00", 0, "",
        rss=rss, pss=rss, shared_clean=0, shared_dirty=0, private_clean=0,
        private_dirty=rss, swap=0, anonymous=rss, kind="anon",
    )  # fmt: skip


@pytest.mark.parametrize("as_columns", [False, True])
def test_a_region_that_changed_between_smaps_reads_keeps_its_memory(as_columns) -> None:
    """On a big map smaps is read every few ticks; a region that changed on a maps-only
    tick counted as nothing resident, and the totals fell by two thirds (349M → 117M)
    until the next read. Its figures now come from the old lines it covers."""
    from vmtop.model.columns import RegionColumns
    from vmtop.procfs.smaps_budget import carry_smaps

    M = 1024 * KB  # noqa: N806
    a, b, c = 0x7F00_0000_0000, 0x7F10_0000_0000, 0x7F20_0000_0000
    read = [figured(a, a + 242 * M, 240 * M), figured(b, b + 8 * M, 8 * M), figured(c, c + M, M)]
    maps = [
        anon(a, a + 243 * M, None),  # a new 1 MiB mapping merged into it
        Region(b, b + 4 * M, "r--p", 0, "00:00", 0, "", kind="anon"),  # mprotect split
        anon(b + 4 * M, b + 8 * M, None),
        anon(c, c + M, None),  # unchanged
        anon(c + 2 * M, c + 3 * M, None),  # newly mapped: not read yet
    ]

    def held(regions):
        return RegionColumns.from_regions(regions) if as_columns else tuple(regions)

    old = snap(read, smaps=True)._replace(regions=held(read))
    new = snap(maps, smaps=False)._replace(regions=held(maps))
    carried = carry_smaps(new, old)
    rss = [r.rss for r in carried.regions]
    assert rss == [240 * M, 4 * M, 4 * M, M, None]
    assert [r.private_dirty for r in carried.regions] == [240 * M, 4 * M, 4 * M, M, None]
    assert carried.totals.pss == 249 * M  # all that was read, none of it lost


@pytest.mark.parametrize("as_columns", [False, True])
@pytest.mark.parametrize("unchanged", [True, False], ids=["same-map", "map-changed"])
def test_swap_between_smaps_reads_is_the_one_smaps_said(as_columns, unchanged) -> None:
    """A process with 16 MiB of anonymous memory and a 32 MiB memfd on swap: smaps
    says 48 MiB (shared memory's swap too), status' VmSwap 16 MiB (its own swap
    entries only). The header flipped 48M ↔ 16M from one tick to the next on an idle
    process, and `diff` of two samples of a recording said swap -32M of nothing."""
    from vmtop.model.columns import RegionColumns
    from vmtop.procfs.smaps_budget import carry_smaps

    M = 1024 * KB  # noqa: N806
    a, b = 0x7F00_0000_0000, 0x7F10_0000_0000
    read = [
        figured(a, a + 16 * M, 0)._replace(swap=16 * M),
        Region(b, b + 32 * M, "rw-s", 0, "00:01", 9, "/memfd:x (deleted)", rss=0, pss=0,
               shared_clean=0, shared_dirty=0, private_clean=0, private_dirty=0,
               swap=32 * M, anonymous=0, kind="shm"),
    ]  # fmt: skip
    maps = [r._replace(rss=None, pss=None, private_dirty=None, swap=None) for r in read]
    if not unchanged:
        maps.append(anon(b + 64 * M, b + 65 * M, None))

    def held(regions):
        return RegionColumns.from_regions(regions) if as_columns else tuple(regions)

    old = snap(read, smaps=True)._replace(regions=held(read))
    old = old._replace(totals=old.totals._replace(swap=48 * M))  # (as summed from smaps)
    new = snap(maps, smaps=False)._replace(regions=held(maps))
    new = new._replace(totals=new.totals._replace(swap=16 * M))  # status' VmSwap
    assert carry_smaps(new, old).totals.swap == 48 * M
