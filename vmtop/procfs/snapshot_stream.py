"""A snapshot read and handed out in pieces, for outputs that write as they read.

``take_snapshot`` holds the whole smaps text and one Region per region: at a million
regions that is 700 MB of text and 250 MB of tuples. ``StreamedSnapshot.pieces()``
reads smaps (or maps) a few MiB at a time and yields each run of complete blocks as a
small Snapshot of its own (its regions, classified, and its text for the per-region
smaps fields), so a headless output writes each piece and forgets it: memory stays
that of one piece, whatever the region count. Totals and the time the read finished
are known once the last piece is out.

Classification needs neighbours (an object's regions, the .bss after its data, a
thread stack above its guard), so a piece ends only between two regions that are both
outside any file (no object or .bss spans that cut). Where this differs from
``take_snapshot``, and only when there is more than one piece (a text over
``CHUNK``): an object mapped in two places far apart is classified per place; thread
stacks are found from the threads' stack pointers only, not guessed from their guard
pages; a region printed again after a torn read is cut to what was not written yet.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from vmtop.model.facts import ClassifyFacts
from vmtop.model.region import Region, Snapshot, Totals
from vmtop.procfs.background_read import CHUNK
from vmtop.procfs.errors import ProcError
from vmtop.procfs.noreserve_flags import mapped_without_noreserve
from vmtop.procfs.parse_maps import (
    parse_maps,
    parse_smaps,
)
from vmtop.procfs.parse_proc import parse_cmdline
from vmtop.procfs.pieces import cut, exists
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import (
    _check_still_there,
    _living_thread,
    check_maps_parsed,
    check_smaps_parsed,
    compute_totals,
    read_process_info,
)
from vmtop.procfs.torn_reads import _piece

# Past this much text without a place to cut (one huge object?), cut anyway.
MAX_CARRY = 64 << 20


class StreamedSnapshot:
    """One snapshot of ``pid``, read piece by piece: iterate ``pieces()`` once, then
    ``totals``, ``taken_at`` and ``region_count`` describe the whole. Raises ProcError
    subclasses as ``take_snapshot`` does (from the constructor or while iterating)."""

    def __init__(
        self,
        procfs: ProcFS,
        pid: int,
        *,
        smaps: bool = True,
        classify: bool = True,
        chunk: int = CHUNK,
    ) -> None:
        self.chunk = chunk
        self.procfs = procfs
        self.pid = pid
        self.smaps = smaps
        self.classify = classify
        self.info, self.status, self._stat = read_process_info(procfs, pid)
        self.has_smaps = smaps
        self.taken_at: float | None = None
        self.totals: Totals | None = None
        self.region_count = 0
        self.read_seconds = 0.0
        # size, rss, pss, private_dirty, shared_dirty, swap, uss
        self._sums = [0, 0, 0, 0, 0, 0, 0]
        self._emitted_end = 0
        self._task: int | None = None
        self._stack_pointers: dict[int, int | None] | None = None
        self._sysv: dict | None = None  # /proc/sysvipc/shm, read once
        self._reading = "smaps"  # the file the pieces come from (for error messages)

    # -- the pieces ----------------------------------------------------------------------

    def pieces(self) -> Iterator[Snapshot]:
        t0 = time.perf_counter()
        yield from self._pieces_of(None)
        stat = self._stat
        if self.region_count == 0 and stat is not None and stat.state == "Z":
            living = _living_thread(self.procfs, self.pid)
            if living is not None:
                self._task, thread_stat = living
                self.info = self.info._replace(state=thread_stat.state)
                argv = parse_cmdline(
                    self.procfs.read_task_file(self.pid, self._task, "cmdline") or b""
                )
                if argv:
                    self.info = self.info._replace(command=" ".join(argv))
                yield from self._pieces_of(self._task)
        if self.region_count == 0:
            raise self.procfs.explain_empty_maps(self.pid, stat)
        if stat is not None and self.procfs.is_live:
            _check_still_there(self.procfs, self.pid, stat, self._task)
        self.read_seconds = time.perf_counter() - t0
        self.taken_at = time.time()
        self.totals = self._totals()

    def _texts(self, task: int | None) -> Iterator[bytes]:
        """The smaps text in pieces (maps when smaps is not asked for or not there)."""
        prefix = "" if task is None else f"task/{task}/"
        if self.smaps:
            name = self._reading = prefix + "smaps"
            try:
                yield from self.procfs.read_pieces(self.pid, name, self.chunk)
                return
            except ProcError:
                if not (self.procfs.exists(self.pid) and not exists(self.procfs, self.pid, name)):
                    raise
        self.has_smaps = False
        name = self._reading = prefix + "maps"
        if not self.smaps and not exists(self.procfs, self.pid, name):
            smaps_name = prefix + "smaps"
            if self.procfs.exists(self.pid) and exists(self.procfs, self.pid, smaps_name):
                # Asked for maps alone, and a copied tree has only smaps (as take_snapshot).
                self.has_smaps = True
                self._reading = smaps_name
                yield from self.procfs.read_pieces(self.pid, smaps_name, self.chunk)
                return
        try:
            yield from self.procfs.read_pieces(self.pid, name, self.chunk)
        except ProcError:
            if self.procfs.exists(self.pid) and not exists(self.procfs, self.pid, name):
                raise ProcError(
                    self.pid, f"{self.procfs.path(self.pid)} has neither smaps nor maps"
                ) from None
            raise

    def _pieces_of(self, task: int | None) -> Iterator[Snapshot]:
        carry = b""
        first = True
        texts = self._texts(task)
        pending = next(texts, None)
        while pending is not None:
            text = carry + pending if carry else pending
            pending = next(texts, None)
            final = pending is None
            if final:
                at = len(text)
            else:
                at = cut(text, self.classify and len(text) <= MAX_CARRY)
            if at <= 0:  # no place to cut yet: wait for more
                carry = text
                continue
            carry = text[at:]
            piece = text[:at]
            regions = self._parse(piece)
            if not regions and piece.strip():
                raise ProcError(self.pid, f"could not parse the memory map of process {self.pid}")
            if regions:
                yield self._piece(regions, piece, single=first and final)
                first = False

    def _parse(self, text: bytes) -> list[Region]:
        regions = parse_smaps(text) if self.has_smaps else parse_maps(text)
        if not self.procfs.is_live:  # the kernel prints no malformed line: a copy's is broken
            path = self.procfs.path(self.pid, self._reading)
            check = check_smaps_parsed if self.has_smaps else check_maps_parsed
            check(path, self.pid, text, regions)
        return regions

    def _piece(self, regions: list[Region], text: bytes, *, single: bool) -> Snapshot:
        regions = self._after_emitted(regions)
        if self.classify and regions:
            regions = self._classified(regions, text if self.has_smaps else None, single)
        if regions:
            self._emitted_end = regions[-1].end
        self.region_count += len(regions)
        totals = compute_totals(regions, self.status, self.has_smaps)
        sums = self._sums
        for i, value in enumerate(
            (totals.size, totals.rss, totals.pss, totals.private_dirty, totals.shared_dirty)
        ):
            sums[i] += value or 0
        sums[5] += totals.swap or 0
        sums[6] += totals.uss or 0
        return Snapshot(
            info=self.info,
            taken_at=time.time(),
            regions=tuple(regions),
            totals=totals,
            has_smaps=self.has_smaps,
            status=self.status,
            raw_smaps=text if self.has_smaps else None,
        )

    def _after_emitted(self, regions: list[Region]) -> list[Region]:
        """A torn read can go back to addresses already written: keep what is new."""
        floor = self._emitted_end
        if not regions or regions[0].start >= floor:
            return regions
        out = []
        for r in regions:
            if r.end <= floor:
                continue
            out.append(r if r.start >= floor else _piece(r, floor, r.end))
        return out

    def _classified(self, regions: list[Region], text, single: bool) -> list[Region]:
        """``regions`` classified; ``text``: the smaps text they were read from (None:
        from maps), for the facts read from it (VmFlags)."""
        from vmtop.model import classify
        from vmtop.procfs import facts as proc_facts

        if single:  # the whole map at once: exactly what take_snapshot does
            facts = proc_facts.read_classify_facts(self.procfs, self.pid, regions, text)
            return classify.classify_regions(regions, facts)
        if self._stack_pointers is None:
            pointers = proc_facts.thread_stack_pointers(self.procfs, self.pid)
            # Guessing stacks from guard pages needs the whole map: known pointers only.
            self._stack_pointers = {t: sp for t, sp in pointers.items() if sp is not None}
        if self._sysv is None:
            self._sysv = proc_facts.read_sysv_table(self.procfs, self.pid)
        facts = ClassifyFacts(
            stack_pointers=self._stack_pointers,
            bss_after_data=proc_facts.bss_after_data(self.procfs, self.pid, regions),
            relro_below_data=proc_facts.relro_below_data(self.procfs, self.pid, regions),
            sysv=self._sysv,
            mapped_without_noreserve=mapped_without_noreserve(self.procfs, self.pid, regions, text),
        )
        # A piece's first and last regions are classified without their neighbours in
        # the next piece: an arena or an object's gap cut there can get the general kind.
        return classify.classify_regions(regions, facts)

    def _totals(self) -> Totals:
        whole = compute_totals([], self.status, self.has_smaps)
        size, rss, pss, private_dirty, shared_dirty, swap, uss = self._sums
        if not self.has_smaps:
            return whole._replace(size=size)
        return whole._replace(
            size=size,
            rss=rss,
            pss=pss,
            private_dirty=private_dirty,
            shared_dirty=shared_dirty,
            swap=swap,
            uss=uss,
        )
