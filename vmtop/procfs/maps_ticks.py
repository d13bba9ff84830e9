"""Snapshots read from ``maps`` between two smaps reads, for what samples a process
over time (``vmtop watch``): what ``take_snapshot(smaps=False)`` and then
``carry_smaps`` give, for a fraction of the cost when little changed.

At 60 000 regions a maps-only snapshot cost ~170 ms of CPU (read 28 ms, parse 60-115,
classify 23, carry 30, diff 10), a sixth of a core taken from the watched process
every second. Here only the lines that changed since the last maps read are parsed and
classified (``maps_delta``), and only their regions get the figures of the last smaps
read; every other region is the very object of the last snapshot, so the diff that
follows skips it by a pointer comparison.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from operator import attrgetter

from vmtop.model.region import Region, Snapshot
from vmtop.procfs.errors import AccessDenied, PidReused
from vmtop.procfs.facts import read_classify_facts
from vmtop.procfs.maps_delta import MapsRead, read_again
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_budget import carry_smaps
from vmtop.procfs.snapshot import (
    _check_still_there,
    check_maps_parsed,
    compute_totals,
    read_process_info,
)

_START = attrgetter("start")


def _sums(regions) -> tuple[int, int, int, int, int]:
    """size, pss, private dirty, shared dirty, uss: the totals carry_smaps sums."""
    size = pss = private_dirty = shared_dirty = private_clean = 0
    for r in regions:
        size += r.end - r.start
        pss += r.pss or 0
        private_dirty += r.private_dirty or 0
        shared_dirty += r.shared_dirty or 0
        private_clean += r.private_clean or 0
    return size, pss, private_dirty, shared_dirty, private_clean + private_dirty


class MapsTicks:
    """Snapshots of one process from maps, each carrying the figures of the smaps read
    it is given. Keeps the last maps text and what it gave (a few MB at 60 000 regions:
    one snapshot's worth, never more)."""

    def __init__(self, procfs: ProcFS, pid: int, start_time: int | None) -> None:
        self.procfs = procfs
        self.pid = pid
        self.start_time = start_time
        self.state: MapsRead | None = None
        self.carried: list[Region] | None = None  # state.classified, figures carried
        self.carried_from: Snapshot | None = None  # the smaps read they came from
        self.sums = (0, 0, 0, 0, 0)  # _sums(carried)
        self.whole_reads = 0  # reads parsed and classified whole (for the curious)

    def take(self, smaps: Snapshot | None) -> Snapshot | None:
        """A snapshot read from maps, with the resident figures of ``smaps`` (the last
        smaps read, or None) carried as ``carry_smaps`` carries them. Raises ProcError
        as take_snapshot does. None when there is no maps text with regions in it (a
        copied tree without maps, a zombie main thread): take_snapshot knows what to
        do then."""
        procfs, pid = self.procfs, self.pid
        c0 = time.process_time()
        t0 = time.perf_counter()
        info, status, stat = read_process_info(procfs, pid)
        if self.start_time and stat is not None and info.start_time != self.start_time:
            raise PidReused(pid)
        try:
            text = procfs.read_optional(pid, "maps")
        except AccessDenied as e:  # read before: an exec of a setuid program, or gone
            raise procfs.denied_again(pid, e, self.start_time or 0) from None
        if text is None or not bytes(text).strip():
            return self._give_up()  # a copied tree without maps, a zombie, ...
        text = bytes(text)
        t1 = time.perf_counter()
        state, classified, change = read_again(
            self.state, text, lambda regions: read_classify_facts(procfs, pid, regions)
        )
        if not classified:
            return self._give_up()
        if change.whole:
            self.whole_reads += 1
            if not procfs.is_live:  # a copied tree's lines can be malformed: say which
                check_maps_parsed(procfs.path(pid, "maps"), pid, text, classified)
        if stat is not None and procfs.is_live:
            _check_still_there(procfs, pid, stat, None)
        self.state = state
        t2 = time.perf_counter()
        totals = compute_totals((), status, False)
        snap = Snapshot(
            info=info,
            taken_at=time.time(),
            regions=(),
            totals=totals,
            has_smaps=False,
            status=status,
            read_seconds=t1 - t0,
            parse_seconds=t2 - t1,
            cpu_seconds=time.process_time() - c0,
        )
        if smaps is None:
            self.carried = None
            size = sum(r.end - r.start for r in classified)
            return snap._replace(regions=tuple(classified), totals=totals._replace(size=size))
        if (
            state is None
            or change.whole
            or self.carried is None
            or self.carried_from is not smaps
            or len(self.carried) != change.old_hi + len(classified) - change.new_hi
        ):
            carried = carry_smaps(snap._replace(regions=classified), smaps).regions
            self.carried = list(carried)
            self.sums = _sums(carried)
        else:
            lo, old_hi, new_hi = change.lo, change.old_hi, change.new_hi
            window = self._carry_window(snap, classified[lo:new_hi], smaps)
            before = _sums(self.carried[lo:old_hi])
            after = _sums(window)
            self.sums = tuple(s - b + a for s, b, a in zip(self.sums, before, after, strict=True))
            carried_list = self.carried[:lo]
            carried_list.extend(window)
            carried_list.extend(self.carried[old_hi:])
            self.carried = carried_list
            carried = tuple(carried_list)
        self.carried_from = smaps
        if state is None:  # nothing to start from next time
            self.carried = None
        size, pss, private_dirty, shared_dirty, uss = self.sums
        totals = totals._replace(
            size=size, pss=pss, private_dirty=private_dirty, shared_dirty=shared_dirty, uss=uss
        )
        return snap._replace(
            regions=tuple(carried),
            totals=totals,
            raw_smaps=smaps.raw_smaps,
            has_smaps=True,
            hugetlb=smaps.hugetlb,
            ksm=smaps.ksm,
            smaps_read_at=smaps.figures_read_at,
        )

    @staticmethod
    def _carry_window(snap: Snapshot, window: list[Region], smaps: Snapshot) -> list[Region]:
        """carry_smaps of the window alone, against the smaps regions its range overlaps
        (a changed region takes its figures from the old lines it covers, which may
        start below it)."""
        if not window:
            return []
        regions = smaps.regions
        i = max(0, bisect_right(regions, window[0].start, key=_START) - 1)
        j = bisect_left(regions, window[-1].end, key=_START)
        sub = smaps._replace(regions=regions[i:j])
        return list(carry_smaps(snap._replace(regions=tuple(window)), sub).regions)

    def _give_up(self) -> None:
        self.state = self.carried = self.carried_from = None
        return None
