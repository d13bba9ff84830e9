"""Each region's memory in hugetlb pages, from an smaps text.

Memory in hugetlb pages (MAP_HUGETLB, hugetlbfs files, SysV SHM_HUGETLB: PostgreSQL with
huge_pages=on, DPDK, JVMs with large pages) is in no Rss and no Pss: smaps counts it in
``Shared_Hugetlb`` and ``Private_Hugetlb``, which ``parse_smaps`` leaves to the lazy
fields. Without these figures a backend faulting in 254 MiB of shared buffers made no
event at all. They are found here only for a process that has such pages (its status
says ``HugetlbPages``): a search of the whole text costs a fifth of the parse. No I/O.
"""

from __future__ import annotations

import re

# A field line with a figure that is not 0 (the kernel prints every block's two lines).
_NONZERO = re.compile(rb"\n(?:Shared|Private)_Hugetlb: *([1-9][0-9]*) kB")
# A block's header: the first line at or before a position that starts with an address
# (field lines start with a capital).
_HEADER = re.compile(rb"(?:^|\n)([0-9a-f]+)-[0-9a-f]+ ")
# Further back than any block reaches from its header to its hugetlb lines (a header is
# at most ~4 KiB with its name, the field lines before them ~600 bytes).
_REACH = 16 << 10


def hugetlb_figures(text) -> tuple[tuple[int, int], ...]:
    """(region start, Shared_Hugetlb + Private_Hugetlb in bytes) of each region with
    memory in hugetlb pages, in the order printed. ``text``: bytes or a buffer."""
    found: dict[int, int] = {}
    for m in _NONZERO.finditer(text):
        at = m.start()
        window = bytes(text[max(0, at - _REACH) : at])
        headers = _HEADER.findall(window)
        if not headers:
            continue  # a field line with no block before it: not the kernel's text
        start = int(headers[-1], 16)
        found[start] = found.get(start, 0) + int(m.group(1)) * 1024
    return tuple(found.items())
