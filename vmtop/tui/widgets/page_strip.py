"""The region detail's page strip: which pages of a region are resident, from pagemap.

Pure text building, apart from the screen that reads pagemap: one glyph per page (or
per bucket of pages), a legend whose states partition the pages, and the kernel's
flag counts said in the same terms, so a shared page is counted the same way in both.
"""

from __future__ import annotations

import textwrap
import time

from rich.text import Text

from vmtop.procfs import pagemap as pm
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes

STATE_STYLE = {  # (glyph, theme role)
    pm.EXCL: ("█", "page-exclusive"),
    pm.RESIDENT: ("█", "page-resident"),
    pm.FILE: ("█", "page-file"),
    pm.SWAP: ("▒", "page-swap"),
    pm.GUARD: ("╳", "page-guard"),
    pm.NOT_PRESENT: ("·", "page-absent"),
}
PARTIAL = " ▁▂▃▄▅▆▇█"

# One line per strip state (guard pages only where there are some); the states partition
# the pages (pagemap.page_state). Short
# enough for one line of the side-by-side pane (LEGEND_INDENT + 47 ≤ its 63 columns).
LEGEND = (
    (pm.EXCL, "present, anonymous, mapped only here"),
    (pm.RESIDENT, "present, anonymous, shared with another process"),
    (pm.FILE, "present, file or shared memory (page cache)"),
    (pm.SWAP, "swapped out"),
    (pm.GUARD, "guard (MADV_GUARD_INSTALL): a fault on access"),
    (pm.NOT_PRESENT, "not mapped here: not touched here, or dropped"),
)
LEGEND_INDENT = 14  # " █ " and a count of nine digits and two spaces


def legend_label(label: str, width: int) -> str:
    """``label`` wrapped under itself (never back to the glyph column) when the strip is
    too narrow for it on one line."""
    room = width - LEGEND_INDENT
    if len(label) <= room or room < 12:
        return label
    return ("\n" + " " * LEGEND_INDENT).join(textwrap.wrap(label, room))


def file_pages_mapped_only_here(entries: list[int]) -> int:
    """Present file/shared-memory pages that carry the exclusive bit as well."""
    both = pm.PRESENT | pm.FILE_SHARED | pm.EXCLUSIVE
    return sum(1 for e in entries if e & both == both)


HUGETLB_LABEL = "present, hugetlb page of a shared mapping"


SHARED_SWAP_LABEL = "not mapped here: not touched here, dropped, or on swap"
PFN_MAP_LABEL = "not said: pagemap leaves out PFN maps (device memory, perf rings)"


def strip_text(
    result: tuple,
    width: int,
    now: float,
    huge_page: int | None = None,
    shared_swap: int | None = None,
    *,
    pfn_map: bool = False,
) -> Text:
    """The strip, its scale, the legend and the kernel bits, for a pagemap read
    (``("full" | "sampled", entries, strip cells, total pages)``). ``huge_page``: the
    size of the hugetlb pages backing the region, if it is in them (pagemap still has
    an entry per base page). ``shared_swap``: smaps' Swap of a shared mapping, whose
    swapped pages pagemap shows as not mapped (the kernel clears their entries: no
    swap entry is left in this process's page table). ``pfn_map``: the region is one
    (VmFlags pf), whose pages pagemap never reports."""
    how, entries, strip, total_pages = result
    counts = pm.count_pages(entries)
    text = Text()
    for i, cell in enumerate(strip):
        if i and i % width == 0:
            text.append("\n")
        glyph, role = STATE_STYLE[cell.state]
        color = theme.color(role)
        if cell.state in (pm.EXCL, pm.RESIDENT, pm.FILE) and cell.present < cell.pages:
            level = max(1, round(cell.present / cell.pages * 8))
            glyph = PARTIAL[level]
        text.append(glyph, style=color)
    text.append("\n")
    per_cell = total_pages / max(1, len(strip))
    scale = (
        "one cell per page"
        if per_cell <= 1
        else f"one cell ≈ {per_cell:.3g} pages ({format_bytes(int(per_cell * pm.PAGE_SIZE))})"
    )
    pages = "page" if total_pages == 1 else "pages"
    text.append(f"{total_pages:,} {pages} of {format_bytes(pm.PAGE_SIZE)} · {scale}", style="dim")
    if how == "sampled":
        text.append(f" · sampled {counts.pages:,} pages", style="dim")
    if huge_page:
        per_huge = max(1, huge_page // pm.PAGE_SIZE)
        text.append(
            f"\nin {format_bytes(huge_page)} hugetlb pages: "
            f"{counts.present // per_huge:,} of {total_pages // per_huge:,} present",
            style="dim",
        )
    text.append("\n")
    tally = pm.tally_states(entries)
    for state, label in LEGEND:
        if state == pm.GUARD and not tally[state]:
            continue  # (a kernel feature few regions use: said only where there are some)
        if huge_page and state == pm.FILE:
            # Shared hugetlb pages carry the file/shared bit: they are no page cache.
            label = HUGETLB_LABEL
        if shared_swap and state == pm.NOT_PRESENT:
            label = SHARED_SWAP_LABEL
        if pfn_map and state == pm.NOT_PRESENT:
            label = PFN_MAP_LABEL
        glyph, role = STATE_STYLE[state]
        text.append(f" {glyph} ", style=theme.color(role))
        text.append(f"{tally[state]:>9,}  {legend_label(label, width)}\n")
    # The kernel's bits overlap (a file page mapped only here is both "file/shared" and
    # "exclusive"): say them in the legend's terms so the two never disagree.
    file_excl = file_pages_mapped_only_here(entries)
    text.append(
        f"kernel bits: present {counts.present:,} = file/shared {tally[pm.FILE]:,} "
        f"({file_excl:,} of them mapped only here) + anonymous "
        f"{tally[pm.EXCL] + tally[pm.RESIDENT]:,} ({tally[pm.EXCL]:,} exclusive) · "
        f"swapped {counts.swapped:,}"
        + (f" · guard {counts.guard:,}" if counts.guard else "")
        + f" · not present {counts.not_present:,}",
        style="dim",
    )
    text.append("\n")
    if shared_swap:
        text.append(
            f"shared memory on swap: {format_bytes(shared_swap)} by smaps, which pagemap "
            "shows as not mapped here (no swap entry is left in this process's page table)\n",
            style="dim",
        )
    resident = counts.present * pm.PAGE_SIZE
    leave_out = " (Rss leaves hugetlb pages out)" if huge_page else ""
    text.append(
        f"resident {format_bytes(resident)} by pagemap{leave_out} · read "
        f"{time.strftime('%H:%M:%S', time.localtime(now))}",
        style="dim",
    )
    return text
