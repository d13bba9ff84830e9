"""Region detail: everything smaps and pagemap know about one region, explained.

Left: what the region is (range, permissions, offset, device, inode, name, kind,
object), the ELF sections inside it, its RSS history, and a page strip from
``/proc/PID/pagemap``. Right: every smaps field with its value in human units and one
line saying what it means, then VmFlags spelled out.

pagemap is read only while this screen is open, only for this region's range, in a
thread worker every ``PAGEMAP_SECONDS``; the ELF sections are looked up in a worker
too, so neither blocks the keyboard.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from vmtop.model.kinds import KIND_DESCRIPTIONS
from vmtop.model.names import display_name
from vmtop.model.region import Region, Snapshot
from vmtop.model.smaps_fields_doc import UNITLESS_FIELDS, describe_field, describe_flags
from vmtop.procfs import pagemap as pm
from vmtop.procfs.errors import ProcError
from vmtop.procfs.reader import ProcFS
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes
from vmtop.tui.theme import kind_color, kind_label

PAGEMAP_SECONDS = 2.0
# Above this many pages a region's pagemap is sampled per strip cell, not read whole
# (a 1 TiB PROT_NONE reservation would otherwise mean 2 GiB of pagemap).
MAX_PAGES_READ = 1 << 19
STRIP_ROWS_MAX = 6
STRIP_ROWS_PER_PAGE = 8

STATE_STYLE = {  # (glyph, theme role)
    pm.EXCL: ("█", "page-exclusive"),
    pm.RESIDENT: ("█", "page-resident"),
    pm.FILE: ("█", "page-file"),
    pm.SWAP: ("▒", "page-swap"),
    pm.NOT_PRESENT: ("·", "page-absent"),
}
PARTIAL = " ▁▂▃▄▅▆▇█"

PERM_WORDS = {0: ("r", "read"), 1: ("w", "write"), 2: ("x", "execute")}


def spell_perms(perms: str) -> str:
    words = [word for i, (letter, word) in PERM_WORDS.items() if perms[i : i + 1] == letter]
    if not words:
        words = ["no access"]
    sharing = "shared" if perms[3:4] == "s" else "private (copy-on-write)"
    return f"{perms}: {', '.join(words)}; {sharing}"


def sparkline(values: list[int], width: int) -> str:
    """``values`` resampled to ``width`` cells of ▁..█ (the last value on the right)."""
    if not values or width <= 0:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[min(len(values) - 1, int((i + 1) * step) - 1)] for i in range(width)]
    low, high = min(values), max(values)
    bars = "▁▂▃▄▅▆▇█"
    if high == low:
        return bars[3 if high else 0] * len(values)
    return "".join(bars[round((v - low) / (high - low) * (len(bars) - 1))] for v in values)


def smaps_block(raw: bytes, region: Region) -> bytes | None:
    """The smaps lines of one region (header to VmFlags) inside a whole smaps text."""
    for width in (8, 0):
        header = f"{region.start:0{width}x}-{region.end:0{width}x} ".encode()
        at = raw.find(header)
        if at == 0 or (at > 0 and raw[at - 1 : at] == b"\n"):
            flags = raw.find(b"\nVmFlags:", at)
            end = raw.find(b"\n", flags + 1) if flags >= 0 else -1
            return raw[at : end if end >= 0 else len(raw)]
    return None


class RegionDetailScreen(Screen):
    """The smaps drill-down for one region. Esc / q go back."""

    CSS_PATH = str(Path(__file__).with_name("detail.tcss"))  # absolute: subclasses live elsewhere

    BINDINGS = [
        Binding("escape,q", "back", "Back"),
        Binding("r", "reread_pages", "Re-read pages"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def __init__(
        self,
        *,
        procfs: ProcFS,
        snapshot: Snapshot,
        region: Region,
        rss_history: list[tuple[float, int]] | None = None,
        interval: float = PAGEMAP_SECONDS,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.procfs = procfs
        self.snapshot = snapshot
        self.memory_region = region
        self.rss_history = list(rss_history or [])
        self.interval = interval
        self.live = live
        self.fields: dict[str, int | str] = snapshot.smaps_fields(region)
        self._reading_pages = False

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="detail-title", classes="screen-title")
        with Horizontal(id="detail-body"):
            with VerticalScroll(id="detail-left"):
                yield Static(self._identity(), id="detail-identity")
                yield Static("ELF sections", classes="section-title")
                yield Static(Text("looking up…", style="dim"), id="detail-sections")
                yield Static("RSS history", classes="section-title")
                yield self._history_widget()
                yield Static("Pages (from /proc/PID/pagemap)", classes="section-title")
                yield Static(Text("reading…", style="dim"), id="detail-pages")
            with VerticalScroll(id="detail-right"):
                yield Static("smaps fields", classes="section-title first")
                yield Static(self._fields_table(), id="detail-fields")
                yield Static("VmFlags", classes="section-title")
                yield Static(self._flags_table(), id="detail-flags")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail-right").focus()
        self._load_sections()
        # No fields: a maps-only tick, or a huge snapshot that did not keep its smaps text.
        if not self.fields and (self.procfs.is_live or self.snapshot.has_smaps):
            self._load_fields()
        # After the first layout, so the strip knows its width.
        self.call_after_refresh(self.action_reread_pages)
        self._timer = (
            self.set_interval(self.interval, self.action_reread_pages) if self.live else None
        )

    def on_screen_suspend(self) -> None:
        # pagemap is read only while this screen is what the person looks at.
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()

    def on_resize(self) -> None:
        history = self.query_one("#detail-history")
        if isinstance(history, Static):
            history.update(self._history())

    # -- what the region is -------------------------------------------------------------

    def _title(self) -> Text:
        region = self.memory_region
        info = self.snapshot.info
        name = region.safe_path or "[anonymous]"
        text = Text()
        text.append("region detail", style="bold")
        text.append(f" · {region.start:#x}–{region.end:#x} · {format_bytes(region.size)} · ")
        text.append(name, style=kind_color(region.kind))
        text.append(f" · process {info.pid} {display_name(info.comm)}")
        return text

    def _identity(self) -> Table:
        region = self.memory_region
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        major, minor = region.dev_major_minor
        table.add_row("range", f"{region.start:#x} – {region.end:#x}")
        table.add_row("size", f"{format_bytes(region.size)} ({region.size:,} bytes)")
        table.add_row("perms", spell_perms(region.perms))
        table.add_row("offset", f"{region.offset:#x}")
        table.add_row("device", f"{region.dev} (major {major}, minor {minor})")
        table.add_row("inode", str(region.inode))
        table.add_row("name", Text(region.safe_path or "(none: anonymous memory)"))
        kind = Text()
        kind.append("■ ", style=kind_color(region.kind))
        kind.append(kind_label(region.kind), style=f"bold {kind_color(region.kind)}")
        description = KIND_DESCRIPTIONS.get(region.kind)
        if description:
            kind.append(f": {description}")
        table.add_row("kind", kind)
        table.add_row("object", Text(display_name(region.object or "-")))
        if region.tid is not None:
            table.add_row("thread", str(region.tid))
        return table

    # -- ELF sections ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detail-sections")
    def _load_sections(self) -> None:
        try:
            from vmtop.model.elf import region_sections

            result = region_sections(self.snapshot, self.memory_region, self.procfs)
        except Exception:  # noqa: BLE001 - the overlay is optional; never break the screen
            result = None
        self.app.call_from_thread(self._show_sections, result)

    def _show_sections(self, result) -> None:
        widget = self.query_one("#detail-sections", Static)
        if result is None:
            widget.update(Text("sections: not available", style="dim"))
            return
        sections, reason = result if isinstance(result, tuple) else (result, None)
        if not sections:
            widget.update(Text(f"none: {reason}" if reason else "none", style="dim"))
            return
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        for section in sections:
            name, start, end = section.name, section.start, section.end
            table.add_row(
                Text(display_name(name)), f"{start:#x}–{end:#x}", format_bytes(end - start)
            )
        widget.update(table)

    # -- RSS history ----------------------------------------------------------------------

    def _history_widget(self):
        """The process screen's RSS graph widget when there is one, else a sparkline."""
        points = [(t, rss) for t, rss in self.rss_history if rss is not None]
        if len(points) >= 2:
            try:
                from vmtop.tui.widgets.rss_graph import RssGraph

                graph = RssGraph("Region RSS", id="detail-history")
                graph.set_points(points)
                return graph
            except Exception:  # noqa: BLE001 - fall back to the built-in sparkline
                pass
        return Static(self._history(), id="detail-history")

    def _history(self) -> Text:
        points = [rss for _, rss in self.rss_history if rss is not None]
        if not points:
            if self.memory_region.rss is None:
                return Text("no resident figures yet (smaps not read)", style="dim")
            points = [self.memory_region.rss]
        try:
            width = max(8, self.query_one("#detail-history").content_region.width)
        except Exception:  # noqa: BLE001 - before layout
            width = 56
        text = Text()
        text.append(sparkline(points, width), style=kind_color(self.memory_region.kind))
        text.append("\n")
        span = ""
        if len(self.rss_history) >= 2:
            seconds = self.rss_history[-1][0] - self.rss_history[0][0]
            span = f" · over {seconds:.0f} s ({len(points)} samples)"
        text.append(
            f"now {format_bytes(points[-1])} · min {format_bytes(min(points))} · "
            f"max {format_bytes(max(points))}{span}",
            style="dim",
        )
        return text

    # -- smaps fields -------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detail-fields")
    def _load_fields(self) -> None:
        """The snapshot has no smaps text: read smaps once for this region's fields."""
        from vmtop.procfs.parse_maps import parse_smaps_fields

        try:
            raw = self.procfs.read_bytes(self.snapshot.pid, "smaps")
        except ProcError:
            return
        block = smaps_block(raw, self.memory_region)
        if block:
            fields = parse_smaps_fields(block)
            self.app.call_from_thread(self._show_fields, fields)

    def _show_fields(self, fields: dict[str, int | str]) -> None:
        self.fields = fields
        self.query_one("#detail-fields", Static).update(self._fields_table())
        self.query_one("#detail-flags", Static).update(self._flags_table())

    def _fields_table(self) -> Table | Text:
        if not self.fields:
            return Text("smaps was not read for this region (maps only)", style="dim")
        table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold dim")
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", justify="right", no_wrap=True)
        table.add_column("what it means", overflow="fold")
        for name, value in self.fields.items():
            if name == "VmFlags":
                continue
            if name in UNITLESS_FIELDS or not isinstance(value, int):
                shown = str(value)
            else:
                shown = format_bytes(value)
            style = "dim" if value == 0 else ""
            table.add_row(Text(name), Text(shown, style=style), Text(describe_field(name)))
        return table

    def _flags_table(self) -> Table | Text:
        flags = self.fields.get("VmFlags")
        if not flags:
            return Text("none listed", style="dim")
        table = Table.grid(padding=(0, 1))
        for _ in range(2):
            table.add_column(style="bold", no_wrap=True)
            table.add_column()
        pairs = [(Text(c), Text(w)) for c, w in describe_flags(str(flags))]
        half = (len(pairs) + 1) // 2
        left, right = pairs[:half], pairs[half:]
        for i, (code, words) in enumerate(left):
            row = [code, words]
            if i < len(right):
                row += list(right[i])
            else:
                row += ["", ""]
            table.add_row(*row)
        return table

    # -- pages --------------------------------------------------------------------------

    def action_reread_pages(self) -> None:
        if self._reading_pages:
            return
        self._reading_pages = True
        width = self._strip_width()
        self._read_pages(width)

    def _strip_width(self) -> int:
        try:
            return max(16, self.query_one("#detail-pages").content_region.width)
        except Exception:  # noqa: BLE001 - before layout
            return 56

    @work(thread=True, exclusive=True, group="detail-pages")
    def _read_pages(self, width: int) -> None:
        region = self.memory_region
        pid = self.snapshot.pid
        pages = region.size // pm.PAGE_SIZE
        # One cell per page while that fits in STRIP_ROWS_PER_PAGE rows, else buckets.
        cells = pages if pages <= width * STRIP_ROWS_PER_PAGE else width * STRIP_ROWS_MAX
        try:
            if pages <= MAX_PAGES_READ:
                entries = pm.read_pagemap(self.procfs, pid, region.start, region.end)
                result = ("full", entries, pm.bucket(entries, cells), len(entries))
            else:
                result = self._sampled(pid, pages, cells)
        except pm.PagemapUnavailable:
            result = ("unavailable", "pagemap not available (this /proc tree has none)")
        except ProcError as e:
            result = ("unavailable", f"pagemap not available: {e}")
        self.app.call_from_thread(self._show_pages, result)

    def _sampled(self, pid: int, pages: int, cells: int):
        """Read a window of pages at the start of each strip cell's bucket."""
        per_cell = max(1, MAX_PAGES_READ // cells)
        strip = []
        sampled: list[int] = []
        for i in range(cells):
            lo = i * pages // cells
            hi = (i + 1) * pages // cells
            take = min(hi - lo, per_cell)
            start = self.memory_region.start + lo * pm.PAGE_SIZE
            entries = pm.read_pagemap(self.procfs, pid, start, start + take * pm.PAGE_SIZE)
            sampled.extend(entries)
            cell = pm.bucket(entries, 1)
            if cell:
                strip.append(cell[0]._replace(first_page=lo, pages=hi - lo))
        return ("sampled", sampled, strip, pages)

    def _show_pages(self, result) -> None:
        self._reading_pages = False
        widget = self.query_one("#detail-pages", Static)
        if result[0] == "unavailable":
            widget.update(Text(result[1], style="dim"))
            return
        how, entries, strip, total_pages = result
        if not entries:
            widget.update(
                Text(
                    "pagemap has no entries for this range: it lies outside user space "
                    "(like [vsyscall])",
                    style="dim",
                )
            )
            return
        counts = pm.count_pages(entries)
        width = self._strip_width()
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
        text.append(f"{total_pages:,} pages of {format_bytes(pm.PAGE_SIZE)} · {scale}", style="dim")
        if how == "sampled":
            text.append(f" · sampled {counts.pages:,} pages", style="dim")
        text.append("\n")
        tally = pm.tally_states(entries)
        legend = [
            (pm.EXCL, "exclusive: present, mapped only here", tally[pm.EXCL]),
            (pm.RESIDENT, "present, anonymous shared (fork)", tally[pm.RESIDENT]),
            (pm.FILE, "present, file page or shared anonymous", tally[pm.FILE]),
            (pm.SWAP, "swapped out", tally[pm.SWAP]),
            (pm.NOT_PRESENT, "not present (never touched, or dropped)", tally[pm.NOT_PRESENT]),
        ]
        for state, label, count in legend:
            glyph, role = STATE_STYLE[state]
            color = theme.color(role)
            text.append(f" {glyph} ", style=color)
            text.append(f"{count:>9,}  {label}\n")
        text.append(
            f"kernel bits: present {counts.present:,} · swapped {counts.swapped:,} · "
            f"file/shared {counts.file_shared:,} · exclusive {counts.exclusive:,} · "
            f"not present {counts.not_present:,}",
            style="dim",
        )
        text.append("\n")
        resident = counts.present * pm.PAGE_SIZE
        text.append(
            f"resident {format_bytes(resident)} by pagemap · read "
            f"{time.strftime('%H:%M:%S', time.localtime(getattr(self.app, 'clock', time.time)()))}",
            style="dim",
        )
        widget.update(text)

    # -- keys ---------------------------------------------------------------------------

    def action_back(self) -> None:
        go_back = getattr(self.app, "go_back", None)
        if go_back is not None:
            go_back()
        else:
            self.app.pop_screen()
