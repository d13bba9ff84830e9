"""Parse smaps while the kernel is still printing it.

Reading smaps is the kernel walking every page table of the process (about as long as
parsing the text in Python); the two can run at once on two cores. ``SmapsStream``
is fed the text as it arrives and parses each run of complete blocks with the same
fixed-layout pattern as ``parse_smaps``, in place; ``finish`` gets the whole text.

The result is always exactly ``parse_smaps(whole text)``: the runs parsed on the way
are used only when each of them tiled its text exactly and together they reach the end
of the text. Anything else (a wider value, an unknown layout, garbage, text that does
not end in a VmFlags line) stops the stream, and ``finish`` parses the whole text the
careful way; a torn read is resolved as parse_smaps resolves it. Pure: no I/O, so it is
tested by feeding any text cut anywhere.
"""

from __future__ import annotations

from vmtop.model.region import Region
from vmtop.procfs.parse_maps import (
    cycle_collector_paused,
    parse_smaps,
    parse_smaps_tiled,
)
from vmtop.procfs.torn_reads import dedupe_regions

# Parse in runs of at least this much: each run costs a layout lookup and a few list
# operations, and the last run is what is left to parse once the read has ended.
MIN_RUN = 256 << 10
# Complete blocks end with their VmFlags line. A text that shows none this far in
# is not laid out as expected: stop looking, finish() parses it whole.
_NO_FLAGS_LIMIT = 4 << 20
_BLOCK_END = b"\nVmFlags:"


class SmapsStream:
    """Feed it the smaps text as it grows; ``finish`` returns ``parse_smaps(text)``.

    Use it as a context manager around the read: the cycle collector stays paused
    while regions pile up (see ``parse_smaps``).
    """

    def __init__(self, min_run: int = MIN_RUN) -> None:
        self.min_run = min_run
        self.parsed = 0  # the text before this offset is parsed into self._runs
        self.streaming = True  # False once something did not fit: finish() parses all
        self.in_order = True  # every region so far starts where or after the last ended
        self._runs: list[list[Region]] = []
        self._pause = cycle_collector_paused()

    def __enter__(self) -> SmapsStream:
        self._pause.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._pause.__exit__(*exc)

    def feed(self, text, available: int, final: bool = False) -> bool:
        """Parse the complete blocks in ``text[parsed:available]``; True if it did.

        ``text`` is anything with find, rfind and slicing (bytes, mmap): only its first
        ``available`` bytes are looked at, the rest may still be changing. Unless
        ``final`` (the whole text is there), runs shorter than ``min_run`` wait for more.
        """
        start = self.parsed
        if not self.streaming or available - start < (1 if final else self.min_run):
            return False
        flags = text.rfind(_BLOCK_END, start, available)
        end = text.find(b"\n", flags + 1, available) if flags >= 0 else -1
        if end < 0:
            if available - start > _NO_FLAGS_LIMIT or final:
                self.streaming = False
            return False
        run = parse_smaps_tiled(text, start, end + 1)
        if run is None:
            self.streaming = False
            return False
        regions, in_order = run
        if regions:
            self.in_order = (
                self.in_order
                and in_order
                and (not self._runs or self._runs[-1][-1].end <= regions[0].start)
            )
            self._runs.append(regions)
        self.parsed = end + 1
        return True

    def finish(self, data) -> list[Region]:
        """All regions of ``data`` (bytes-like), the whole text whose beginning was fed.

        Regions parsed on the way are used when they cover the whole text (the last
        feed was ``final``); otherwise the text is parsed whole.
        """
        runs, self._runs = self._runs, []
        with cycle_collector_paused():
            if self.streaming and self.parsed == len(data) and runs:
                regions = runs[0]
                for run in runs[1:]:
                    regions.extend(run)
                # A torn read (the kernel went back to an earlier address) is resolved
                # as parse_smaps does it.
                return regions if self.in_order else dedupe_regions(regions)
            return parse_smaps(bytes(data))
