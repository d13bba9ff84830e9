"""Totals per region kind: how many regions, and their size, RSS, PSS, private dirty
and swap (the figures the header totals, named the same).

Memory in hugetlb pages is in no RSS: where the process has some, the RSS column counts
it too and is titled "RSS+H" (a line under the totals says so), as the bar draws it
resident; PostgreSQL's shared buffers with huge_pages=on read "shm 277M RSS 84K" under
a bar drawn 90 % resident.

Kinds come grouped to answer "where does my RSS go" (vmtop.model.kind_groups): heaps
(heap + arenas + big anonymous blocks), stacks, JIT, the program image, files, shared
memory, devices, reserved (virtual only). A group with more than one kind present gets
a subtotal line ("▸heaps") above its kinds.

Each kind line is in its kind's colour (the same as the bar and the table); clicking a
line asks the screen to filter the table to that kind.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import ne
from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from vmtop.model.column_steps import where_value
from vmtop.model.columns import CHUNK, FIGURES, RegionColumns, field_values
from vmtop.model.hugetlb_regions import hugetlb_by_kind
from vmtop.model.kind_groups import group_of, summary_order
from vmtop.model.region import Region
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes


class KindTotals(NamedTuple):
    kind: str
    count: int
    size: int
    rss: int | None
    pss: int | None
    private_dirty: int | None
    swap: int | None
    hugetlb: int | None = None  # memory in hugetlb pages, in no RSS (None: none known)

    @property
    def resident(self) -> int | None:
        """RSS with the memory in hugetlb pages: what the RSS+H column shows."""
        return _add(self.rss, self.hugetlb)


def _add(a: int | None, b: int | None) -> int | None:
    if b is None:
        return a
    return (a or 0) + b


def kind_totals(regions: Sequence[Region], hugetlb=None) -> list[KindTotals]:
    """Per kind present, group by group (vmtop.model.kind_groups); ``hugetlb``: the
    snapshot's memory in hugetlb pages (Snapshot.hugetlb), added up by kind."""
    if isinstance(regions, RegionColumns):
        acc = _column_totals(regions)
    else:
        acc = _row_totals(regions)
    order = {k: i for i, k in enumerate(summary_order())}
    ordered = sorted(acc.items(), key=lambda kv: order.get(kv[0], 99))
    in_hugetlb = hugetlb_by_kind(regions, hugetlb)
    return [KindTotals(k, *v[:6], in_hugetlb.get(k)) for k, v in ordered]


def _column_totals(regions: RegionColumns) -> dict[str, list]:
    """_row_totals for columns. One kind usually holds most regions (a million pages of
    one anonymous mapping): the others are added up row by row, the biggest one is the
    whole map's totals (sums in C) less theirs."""
    counts: Counter = Counter()  # of kind indexes, a chunk at a time (the GIL)
    kind_indexes = regions.names[3]
    for lo in range(0, len(kind_indexes), CHUNK):
        counts.update(kind_indexes[lo : lo + CHUNK])
    if not counts:
        return {}
    table = regions.distinct("kind")
    biggest = counts.most_common(1)[0][0]
    others = where_value(ne, regions.names[3], biggest)
    acc = _row_totals([regions[i] for i in others])
    whole = [len(regions), regions.total("end") - regions.total("start")]
    rest = whole + [None] * 4
    for k, name in enumerate(("rss", "pss", "private_dirty", "swap"), 2):
        known = len(regions) - _count_missing(regions, name)
        # A kind's figure is None when none of its regions has one.
        if known - sum(t[k + 4] for t in acc.values()) > 0:
            rest[k] = regions.total(name) - sum(t[k] or 0 for t in acc.values())
    rest[0] -= sum(t[0] for t in acc.values())
    rest[1] -= sum(t[1] for t in acc.values())
    acc[table[biggest]] = rest
    return acc


def _count_missing(regions: RegionColumns, name: str) -> int:
    """Regions without this figure (None)."""
    if regions.figures is None:
        return len(regions)
    if not regions.mixed:  # every region has its figures
        return 0
    column = regions.figures[FIGURES.index(name)]
    return column.count(-1) if isinstance(column, array) else column.tolist().count(-1)


def _row_totals(regions: Iterable[Region]) -> dict[str, list]:
    """Per kind: count, size, RSS, PSS, private dirty, swap (None: none known), and how
    many regions had each of the four figures."""
    acc: dict[str, list] = {}
    # Field by field: columns of a huge map answer without making a Region per row.
    rows = zip(
        *(field_values(regions, f) for f in ("kind", "start", "end", "rss", "pss")),
        *(field_values(regions, f) for f in ("private_dirty", "swap")),
        strict=True,
    )
    for kind, start, end, rss, pss, private_dirty, swap in rows:
        t = acc.get(kind)
        if t is None:
            t = acc[kind] = [0, 0, None, None, None, None, 0, 0, 0, 0]
        t[0] += 1
        t[1] += end - start
        t[2] = _add(t[2], rss)
        t[3] = _add(t[3], pss)
        t[4] = _add(t[4], private_dirty)
        t[5] = _add(t[5], swap)
        # how many had each figure (for the biggest kind in _column_totals)
        t[6] += rss is not None
        t[7] += pss is not None
        t[8] += private_dirty is not None
        t[9] += swap is not None
    return acc


class SummaryLine(NamedTuple):
    totals: KindTotals  # of the kind, or of the group (kind = group name)
    group: bool
    member: bool = False  # a kind under its group's subtotal (drawn indented)


def summary_lines(totals: list[KindTotals]) -> list[SummaryLine]:
    """The kind lines, each group of more than one kind preceded by its subtotal."""
    out: list[SummaryLine] = []
    i = 0
    while i < len(totals):
        group = group_of(totals[i].kind)
        j = i
        while j < len(totals) and group_of(totals[j].kind) is group:
            j += 1
        members = totals[i:j]
        if len(members) > 1:
            sums: list[int | None] = [None] * 5
            for t in members:
                for k, v in enumerate((t.rss, t.pss, t.private_dirty, t.swap, t.hugetlb)):
                    sums[k] = _add(sums[k], v)
            subtotal = KindTotals(
                group.name, sum(t.count for t in members), sum(t.size for t in members), *sums
            )
            out.append(SummaryLine(subtotal, True))
        out.extend(SummaryLine(t, False, len(members) > 1) for t in members)
        i = j
    return out


class PreparedSummary(NamedTuple):
    """The summary's lines for one sample, worked out in the sampling worker."""

    totals: tuple[KindTotals, ...]
    lines: tuple[SummaryLine, ...]


def prepare_summary(regions: Sequence[Region], hugetlb=None) -> PreparedSummary:
    """Everything linear in regions that the summary needs (pure: runs in a worker);
    ``hugetlb``: the snapshot's memory in hugetlb pages (Snapshot.hugetlb)."""
    totals = kind_totals(regions, hugetlb)
    return PreparedSummary(tuple(totals), tuple(summary_lines(totals)))


# The kind column: a group's "▸" or a kind's swatch, and the name; a kind under its
# group's subtotal one further in (a group of one kind, "stack", was drawn as if it were
# the last member of the group above: the subtotal did not add up).
LABEL_WIDTH = 10


def _line(
    label: str, count: str, values: Sequence[int | None], style: Style, width: int = LABEL_WIDTH
) -> list[Segment]:
    segments = [
        Segment(f"{label:<{width}.{width}}", style),
        Segment(f"{count:>6}", theme.style("text") if count else theme.style("faint")),
    ]
    for v in values:
        segments.append(
            Segment(f"{format_bytes(v):>6}", theme.style("text") if v else theme.style("faint"))
        )
    return segments


class KindSummary(theme.ThemedLines, Widget):
    DEFAULT_CSS = """
    KindSummary {
        height: auto;
    }
    """

    class KindClicked(Message):
        def __init__(self, summary: KindSummary, kind: str) -> None:
            super().__init__()
            self.summary = summary
            self.kind = kind

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.totals: list[KindTotals] = []
        self.lines: list[SummaryLine] = []

    def set_regions(self, regions: Sequence[Region], hugetlb=None) -> None:
        """Total ``regions`` here, on the UI thread (the process screen hands over
        totals worked out in its sampling worker instead: ``set_prepared``)."""
        self.set_prepared(prepare_summary(regions, hugetlb))

    def set_prepared(self, prepared: PreparedSummary) -> None:
        old = len(self.lines)
        self.totals = list(prepared.totals)
        self.lines = list(prepared.lines)
        if len(self.lines) != old:
            self.refresh(layout=True)
        else:
            self.refresh()

    @property
    def with_hugetlb(self) -> bool:
        """Whether the RSS column counts memory in hugetlb pages (the process has some)."""
        return any(t.hugetlb for t in self.totals)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines) + 2 + self.with_hugetlb

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            segments = [
                Segment(f"{'Kind':<{LABEL_WIDTH}}{'Count':>6}", theme.style("soft", bold=True))
            ]
            rss = "RSS+H" if self.with_hugetlb else "RSS"
            segments += [
                Segment(f"{t:>6}", theme.style("soft", bold=True))
                for t in ("Size", rss, "PSS", "PrDty", "Swap")
            ]
            return Strip(segments).adjust_cell_length(width)
        i = y - 1
        if i < len(self.lines) and self.lines[i].group:
            t = self.lines[i].totals
            group = theme.style("strong", bold=True, italic=True)
            segments = [Segment("▸", group)] + _line(
                t.kind,
                str(t.count),
                (t.size, t.resident, t.pss, t.private_dirty, t.swap),
                group,
                LABEL_WIDTH - 1,
            )
            return Strip(segments).adjust_cell_length(width)
        if i < len(self.lines):
            line = self.lines[i]
            t = line.totals
            style = Style(color=theme.kind_color(t.kind), bold=True)
            indent = " " if line.member else ""
            segments = [Segment(indent + theme.kind_swatch(t.kind), style)] + _line(
                theme.kind_label(t.kind),
                str(t.count),
                (t.size, t.resident, t.pss, t.private_dirty, t.swap),
                style,
                LABEL_WIDTH - 1 - len(indent),
            )
            return Strip(segments).adjust_cell_length(width)
        if i == len(self.lines) and self.totals:
            sums: list[int | None] = [None] * 5
            for t in self.totals:
                for k, v in enumerate((t.size, t.resident, t.pss, t.private_dirty, t.swap)):
                    sums[k] = _add(sums[k], v)
            count = str(sum(t.count for t in self.totals))
            return Strip(
                _line("total", count, sums, theme.style("strong", bold=True))
            ).adjust_cell_length(width)
        if i == len(self.lines) + 1 and self.with_hugetlb:
            note = "RSS+H: RSS and hugetlb pages (in no RSS)"
            return Strip([Segment(note, theme.style("muted"))]).adjust_cell_length(width)
        return Strip.blank(width)

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        i = offset.y - 1
        if 0 <= i < len(self.lines) and not self.lines[i].group:
            self.post_message(self.KindClicked(self, self.lines[i].totals.kind))
