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
from textual.containers import ScrollableContainer, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static

from vmtop.model.classify import HUGETLB
from vmtop.model.file_facts import PROCESS_EXITED
from vmtop.model.region import Region, Snapshot
from vmtop.procfs import pagemap as pm
from vmtop.procfs.errors import ProcError
from vmtop.procfs.pieces import read_smaps_block
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_blocks import parse_smaps_fields, region_fields
from vmtop.tui import theme
from vmtop.tui.formatting import format_bytes
from vmtop.tui.region_follow import CHANGED, GREW, RESTARTS, SAME, Found, find_again
from vmtop.tui.screens.detail_panels import (
    fields_table,
    flags_table,
    history_text,
    identity_table,
    sections_panel,
    title_text,
)
from vmtop.tui.widgets.page_strip import strip_text

PAGEMAP_SECONDS = 2.0
STACK_BELOW = 150  # columns: narrower than this, the two panes are stacked
HUGE_REREAD_SECONDS = 10.0  # a snapshot without smaps text: re-read the block this often
NOT_RECORDED = "not recorded: a recording holds each region's figures, not its pages"
STRIP_ROWS_MAX = 6
STRIP_ROWS_PER_PAGE = 8
HISTORY_POINTS_MAX = 600  # a followed region's RSS history, bounded as the process's is


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


class RegionDetailScreen(Screen):
    """The smaps drill-down for one region. Esc / q go back."""

    CSS_PATH = str(Path(__file__).with_name("detail.tcss"))  # absolute: subclasses live elsewhere

    BINDINGS = [
        Binding("escape,q", "back", "Back"),
        Binding("r", "reread_pages", "Re-read pages"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    # What the RSS history shown is of, once the region followed merged or split
    # (region_follow's rules); empty while it is simply the region opened.
    history_note: reactive[str] = reactive("", init=False)

    def __init__(
        self,
        *,
        procfs: ProcFS,
        snapshot: Snapshot,
        region: Region,
        rss_history: list[tuple[float, int]] | None = None,
        interval: float = PAGEMAP_SECONDS,
        live: bool = True,
        smaps_at: float | None = None,
        recorded: bool = False,
        moment: str | None = None,
    ) -> None:
        """``live``: follow the region, reading its pages every ``interval``.
        ``recorded``: a replayed sample's region, whose pages no file holds; ``moment``:
        that sample's time as the replay says it (with the tenths that tell it apart)."""
        super().__init__()
        self.procfs = procfs
        self.snapshot = snapshot
        # When the figures shown were read (a maps-only tick carries older ones).
        self.smaps_at = snapshot.taken_at if smaps_at is None else smaps_at
        self.lost: str | None = None  # why the region is no longer followed
        self._fields_read_at = 0.0  # when this screen last read smaps itself
        self.memory_region = region
        self.opened = (region.start, region.end)  # the memory the person opened
        self.rss_history = list(rss_history or [])
        # The history shown starts here (a split restarts it) and begins with these
        # points of before the region grew (the process files a region's history under
        # its start: one that merged with the memory below starts a new one).
        self._history_since = float("-inf")
        self._history_before: list[tuple[float, int]] = []
        self.interval = interval
        self.live = live and not recorded
        self.recorded = recorded
        self.moment = moment
        self.fields: dict[str, int | str] = region_fields(snapshot, region)
        self._reading_pages = False
        self._timer = None  # reads the pages every interval while live

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="detail-title", classes="screen-title")
        yield Static(self._status(), id="detail-status")
        with ScrollableContainer(id="detail-body"):
            with VerticalScroll(id="detail-left"):
                yield Static(self._identity(), id="detail-identity")
                yield Static("ELF sections", classes="section-title")
                yield Static(Text("looking up…", style="dim"), id="detail-sections")
                yield Static("RSS history", classes="section-title")
                yield Static(id="detail-history-note")
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
        self._fit_layout()
        self._dismiss_go_to_notice()
        source = getattr(self, "source", None)
        exited_at = getattr(source, "exited_at", None)
        if exited_at is not None and self.lost is None:
            # Opened after the process exited (or could no longer be read): the same
            # words as a detail that was open when it did, and nothing is read again.
            self.live = False
            lost_why = getattr(source, "lost_why", None)
            self.lose(lost_why or f"process {self.snapshot.pid} exited at {_clock(exited_at)}")
            # Its files were reached through /proc/PID, and its pages read there: gone.
            gone = PROCESS_EXITED
            if getattr(source, "unreadable", False):
                gone = "the process still runs, but may no longer be read"
            self._show_sections(([], gone))
            self._show_pages(("unavailable", f"pages not read: {gone}"))
            return
        self._load_sections()
        # No fields: a maps-only tick, or a huge snapshot that did not keep its smaps text.
        if not self.fields and (self.procfs.is_live or self.snapshot.has_smaps):
            self._fields_read_at = getattr(self.app, "clock", time.time)()
            self._load_fields()
        # After the first layout, so the strip knows its width.
        self.call_after_refresh(self.action_reread_pages)
        self._timer = (
            self.set_interval(self.interval, self.action_reread_pages) if self.live else None
        )

    def _dismiss_go_to_notice(self) -> None:
        """The process screen's `g` notice said where an address is, naming its region's
        range; the detail of that region is open now, so the notice has served (and it
        would cover the VmFlags)."""
        region = self.memory_region
        said = f"({region.start:x}-{region.end:x} "  # as located_sentence / describe_address
        notifications = getattr(self.app, "_notifications", None)  # Textual keeps no handle
        for notification in list(notifications or ()):
            if notification.severity == "information" and said in notification.message:
                self.app._unnotify(notification)

    def on_screen_suspend(self) -> None:
        # pagemap is read only while this screen is what the person looks at.
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()

    def on_resize(self) -> None:
        self._fit_layout()
        history = self.query_one("#detail-history")
        if isinstance(history, Static):
            history.update(self._history())

    def _fit_layout(self) -> None:
        """Side by side when both panes get a useful width, else one above the other
        (scrolled together)."""
        stacked = 0 < self.size.width < STACK_BELOW
        self.set_class(stacked, "stacked")
        if self.focused is None or self.focused.id in ("detail-body", "detail-right"):
            self.query_one("#detail-body" if stacked else "#detail-right").focus()

    # -- following the region live -----------------------------------------------------

    def follow(
        self,
        snapshot: Snapshot,
        rss_history: list[tuple[float, int]],
        *,
        smaps_at: float,
        fresh: bool = True,
    ) -> None:
        """A new sample of the process (from the process screen): find the region in it
        and show its figures now, or say that it changed or went away."""
        if self.lost is not None or snapshot.pid != self.snapshot.pid:
            return
        found = find_again(snapshot, self.memory_region, self.opened)
        if found.status in (SAME, CHANGED):
            self._follow_history(found, snapshot.taken_at)
            self.snapshot = snapshot
            self.memory_region = found.region
            self._set_history(rss_history)
            self.smaps_at = smaps_at
            if found.status == CHANGED:
                stamp = _clock(snapshot.taken_at)
                self.change_note = f"{found.note} (at {stamp})"
                self.query_one("#detail-title", Static).update(self._title())
                self.query_one("#detail-identity", Static).update(self._identity())
                self._load_sections()
            fields = region_fields(snapshot, found.region)
            if fields:
                self._show_fields(fields)
            elif fresh and snapshot.has_smaps:
                # A huge snapshot keeps no smaps text: reading the whole file again for
                # one block costs as much as the sample, so at most every few seconds.
                now = getattr(self.app, "clock", time.time)()
                if now - self._fields_read_at >= HUGE_REREAD_SECONDS:
                    self._fields_read_at = now
                    self._load_fields()
                self.smaps_at = self._fields_read_at
            self._update_history()
        else:
            self.lose(f"{found.note} (seen at {_clock(snapshot.taken_at)})")
            return
        self.query_one("#detail-status", Static).update(self._status())

    def _follow_history(self, found: Found, t: float) -> None:
        """What the history shown so far is worth for the region followed now."""
        old, new = self.memory_region, found.region
        if found.history == GREW:
            self._history_before = list(self.rss_history)
            self.history_note = (
                f"since {_clock(t)} of {new.start:#x}–{new.end:#x} ({format_bytes(new.size)}), "
                f"merged with the memory next to it or grown; before, of "
                f"{old.start:#x}–{old.end:#x} ({format_bytes(old.size)})"
            )
        elif found.history == RESTARTS:
            self._history_since = t
            self._history_before = []
            self.history_note = (
                f"restarted at {_clock(t)}: the region was split, cut or moved "
                f"({old.start:#x}–{old.end:#x} before); the history is of "
                f"{new.start:#x}–{new.end:#x} ({format_bytes(new.size)}) alone"
            )

    def _set_history(self, points: list[tuple[float, int]]) -> None:
        points = [p for p in points if p[0] >= self._history_since]
        first = points[0][0] if points else float("inf")
        earlier = [p for p in self._history_before if p[0] < first]
        self.rss_history = (earlier + points)[-HISTORY_POINTS_MAX:]

    def watch_history_note(self, note: str) -> None:
        widget = self.query_one("#detail-history-note", Static)
        widget.update(Text(note))
        widget.display = bool(note)

    def lose(self, why: str) -> None:
        """The region (or its process) is gone: keep its last figures, say so, and
        stop reading its pages."""
        self.lost = why
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.query_one("#detail-status", Static).update(self._status())
        self.refresh_bindings()  # r (re-read pages) goes

    def _status(self) -> Text:
        text = Text()
        if self.lost is not None:
            text.append(" ✗ ", style=theme.style("exited", bold=True))
            text.append(self.lost, style=theme.style("exited", bold=True))
            text.append(f" · figures below as read at {_clock(self.smaps_at)}", style="dim")
            return text
        if self.recorded:  # a replay: the figures of one recorded sample, nothing read
            text.append(" ● ", style=theme.style("baseline", bold=True))
            text.append(f"recorded at {self.moment or _clock(self.smaps_at)}", style="bold")
            text.append(" · the figures of that sample; a recording holds no pages", style="dim")
            return text
        text.append(" ● ", style=theme.style("live", bold=True))
        text.append(f"smaps read {_clock(self.smaps_at)}", style="bold")
        # Short enough for one line at 80 columns: a wrapped line starts at column 0,
        # under the marker. The note of a change gets a line of its own, indented.
        text.append(
            f" · follows the region each sample; pages every {self.interval:g} s", style="dim"
        )
        note = getattr(self, "change_note", None)
        if note:
            text.append(f"\n   {note}", style=theme.style("baseline"))
        return text

    def _update_history(self) -> None:
        widget = self.query_one("#detail-history")
        points = [(t, rss) for t, rss in self.rss_history if rss is not None]
        if isinstance(widget, Static):
            widget.update(self._history())
        elif hasattr(widget, "set_points"):
            widget.title = self._history_title()
            widget.set_points(points)

    def _history_title(self) -> str:
        """What the history graph plots: a region in hugetlb pages has them counted
        (its Rss leaves them out: the history of a database's shared buffers stayed at
        0 while hundreds of MiB faulted in)."""
        return "Region RSS + hugetlb" if self._in_hugetlb_pages() else "Region RSS"

    def _in_hugetlb_pages(self) -> bool:
        region = self.memory_region
        if region.object == HUGETLB:
            return True
        return any(start == region.start and size for start, size in self.snapshot.hugetlb or ())

    # -- what the region is -------------------------------------------------------------

    def _title(self) -> Text:
        return title_text(self.memory_region, self.snapshot.info)

    def _identity(self) -> Table:
        return identity_table(self.memory_region, self.fields)

    # -- ELF sections ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detail-sections")
    def _load_sections(self) -> None:
        try:
            from vmtop.model.elf import region_sections
            from vmtop.procfs.elf_files import ProcessElfFiles

            elf_files = ProcessElfFiles(self.procfs)
            result = region_sections(self.snapshot, self.memory_region, elf_files)
        except Exception:  # noqa: BLE001 - the overlay is optional; never break the screen
            result = None
        self.app.call_from_thread(self._show_sections, result)

    def _show_sections(self, result) -> None:
        self.query_one("#detail-sections", Static).update(
            sections_panel(result, self.memory_region.kind)
        )

    # -- RSS history ----------------------------------------------------------------------

    def _history_widget(self):
        """The process screen's RSS graph widget when there is one, else a sparkline."""
        points = [(t, rss) for t, rss in self.rss_history if rss is not None]
        if len(points) >= 2:
            try:
                from vmtop.tui.widgets.rss_graph import RssGraph

                graph = RssGraph(self._history_title(), id="detail-history")
                graph.set_points(points)
                return graph
            except Exception:  # noqa: BLE001 - fall back to the built-in sparkline
                pass
        return Static(self._history(), id="detail-history")

    def _history(self) -> Text:
        try:
            width = max(8, self.query_one("#detail-history").content_region.width)
        except Exception:  # noqa: BLE001 - before layout
            width = 56
        label = "RSS + hugetlb" if self._in_hugetlb_pages() else ""
        return history_text(self.rss_history, self.memory_region, width, label)

    # -- smaps fields -------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detail-fields")
    def _load_fields(self) -> None:
        """The snapshot has no smaps text: read smaps up to this region's block (a
        piece at a time, never the whole text) for its fields."""
        region = self.memory_region
        try:
            block = read_smaps_block(self.procfs, self.snapshot.pid, region.start, region.end)
        except ProcError:
            return
        if block:
            fields = parse_smaps_fields(block)
            self.app.call_from_thread(self._show_fields, fields)

    def _show_fields(self, fields: dict[str, int | str]) -> None:
        self.fields = fields
        # What the fields say about huge pages goes with the region's identity.
        self.query_one("#detail-identity", Static).update(self._identity())
        self.query_one("#detail-fields", Static).update(self._fields_table())
        self.query_one("#detail-flags", Static).update(self._flags_table())

    def _fields_table(self) -> Table | Text:
        return fields_table(self.fields, recorded=self.recorded)

    def _flags_table(self) -> Table | Text:
        return flags_table(self.fields, recorded=self.recorded)

    # -- pages --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reread_pages":
            # A replay has no pages to read again; a region or process gone has none.
            return not self.recorded and self.lost is None
        return True

    def action_reread_pages(self) -> None:
        if self.lost is not None:
            return  # (the first read, scheduled before the loss)
        if self.recorded:
            self._show_pages(("unavailable", NOT_RECORDED))
            return
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
        pages = region.size // pm.PAGE_SIZE
        # One cell per page while that fits in STRIP_ROWS_PER_PAGE rows, else buckets.
        cells = pages if pages <= width * STRIP_ROWS_PER_PAGE else width * STRIP_ROWS_MAX
        try:
            result = pm.read_page_strip(
                self.procfs, self.snapshot.pid, region.start, region.end, cells
            )
        except pm.PagemapUnavailable:
            result = ("unavailable", "pagemap not available (this /proc tree has none)")
        except ProcError as e:
            result = ("unavailable", f"pagemap not available: {e}")
        self.app.call_from_thread(self._show_pages, result)

    def _show_pages(self, result) -> None:
        self._reading_pages = False
        widget = self.query_one("#detail-pages", Static)
        if result[0] == "unavailable":
            widget.update(Text(result[1], style="dim"))
            return
        entries = result[1]
        if not entries:
            widget.update(
                Text(
                    "pagemap has no entries for this range: it lies outside user space "
                    "(like [vsyscall])",
                    style="dim",
                )
            )
            return
        now = getattr(self.app, "clock", time.time)()
        page = self.fields.get("KernelPageSize")
        huge_page = page if isinstance(page, int) and page > pm.PAGE_SIZE else None
        swap = self.fields.get("Swap")
        # A shared mapping's pages on swap leave no swap entry in its page table: smaps
        # counts them, pagemap shows them not mapped.
        shared_swap = (
            swap if isinstance(swap, int) and self.memory_region.perms[3:4] == "s" else None
        )
        # A PFN map (a device's memory, a perf ring): the kernel's page walk skips it, so
        # every entry reads as nothing there, whatever is.
        pfn_map = "pf" in str(self.fields.get("VmFlags", "")).split()
        widget.update(
            strip_text(result, self._strip_width(), now, huge_page, shared_swap, pfn_map=pfn_map)
        )

    # -- keys ---------------------------------------------------------------------------

    def action_back(self) -> None:
        go_back = getattr(self.app, "go_back", None)
        if go_back is not None:
            go_back()
        else:
            self.app.pop_screen()
