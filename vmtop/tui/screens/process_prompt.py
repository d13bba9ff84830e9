"""The process screen's prompt: filter the regions as you type (/), go to an address
(g) and select the region holding it, said the way `vmtop where` says it, or set the
log's threshold (t, process_pace).

A mixin of ``ProcessScreen``; the lookup of an address (which may parse ELF files)
runs in a worker.
"""

from __future__ import annotations

from textual import work
from textual.message import Message
from textual.widgets import Input

from vmtop.commands.where import format_where_lines
from vmtop.model.address_text import parse_address_text
from vmtop.model.names import display_name
from vmtop.model.region import Region, Snapshot
from vmtop.model.where import hex_instead, where
from vmtop.output.demangle import demangle
from vmtop.procfs.elf_files import ProcessElfFiles
from vmtop.procfs.reader import ProcFS
from vmtop.tui.formatting import format_bytes
from vmtop.tui.widgets.prompt_input import PromptInput
from vmtop.tui.widgets.region_table import RegionTable


class ProcessPrompt:
    """The prompt line under the region table."""

    _input_mode: str | None = None  # "filter" | "goto" | "threshold"

    def _prompt_focused(self) -> bool:
        try:
            return self.focused is self.query_one("#prompt", Input)
        except Exception:  # not composed yet
            return False

    def action_filter(self) -> None:
        self._open_prompt(
            "filter",
            "filter: name, kind, perms or 0xADDRESS",
            self.query_one(RegionTable).filter_text,
        )

    def action_goto(self) -> None:
        self._open_prompt(
            "goto",
            "go to address (hex: 0x…, or as maps prints it; digits alone: decimal), Enter",
            "",
        )

    def _open_prompt(self, mode: str, placeholder: str, value: str) -> None:
        prompt = self.query_one("#prompt", Input)
        self._input_mode = mode
        prompt.placeholder = placeholder
        prompt.value = value
        if isinstance(prompt, PromptInput):
            prompt.reopen()
        prompt.display = True
        # At once, not with focus() (which waits its turn in the message queue).
        self.set_focus(prompt)
        self._update_bindings()  # Esc closes it: "Back" in the footer

    def _close_prompt(self, *, clear: bool = False) -> None:
        prompt = self.query_one("#prompt", Input)
        if clear and self._input_mode == "filter":
            self.query_one(RegionTable).set_filter("")
            self._update_table_title()
            self._update_header()
        self._input_mode = None
        prompt.display = False
        self.query_one(RegionTable).focus()
        self._update_bindings()

    def on_input_changed(self, message: Input.Changed) -> None:
        if self._input_mode == "filter":
            self.query_one(RegionTable).set_filter(message.value)
            self._update_table_title()
            self._update_header()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        if self._input_mode == "goto":
            self._close_prompt()
            self.go_to_address(message.value)
        elif self._input_mode == "threshold":
            self._close_prompt()
            self.set_threshold(message.value)  # (process_pace)
        else:
            self._close_prompt()

    def go_to_address(self, text: str) -> None:
        """Find the region holding an address (in a worker: `where` may parse ELF files)."""
        address = parse_address_text(text)
        if address is None:
            self.notify(f"not an address: {text!r}", severity="warning", markup=False)
            return
        if self.snapshot is None:
            return
        self._where_worker(self.snapshot, address, text)

    class Located(Message):
        def __init__(self, region: Region | None, text: str) -> None:
            super().__init__()
            self.region = region
            self.text = text

    @work(thread=True, group="where", exclusive=True, exit_on_error=False)
    def _where_worker(self, snap: Snapshot, address: int, typed: str = "") -> None:
        region, text = describe_address(snap, address, self.procfs)
        if region is None and hex_instead(snap, typed) is not None:
            text += f"; read as decimal: as hex, 0x{typed.strip()} is mapped (type it so)"
        self.post_message(self.Located(region, text))

    def on_process_prompt_located(self, message: Located) -> None:
        if message.region is None:
            # markup=False: the text holds names the target chose ("[b]" is no style).
            self.notify(message.text, severity="warning", timeout=8, markup=False)
            return
        table = self.query_one(RegionTable)
        if not table.select_region(message.region):
            table.set_filter("")
            self._update_table_title()
            self._update_header()
            table.select_region(message.region)
        self.notify(message.text, timeout=8, markup=False)


def describe_address(snap: Snapshot, address: int, procfs: ProcFS) -> tuple[Region | None, str]:
    """The region holding ``address`` in ``snap`` and one line saying where it is
    (kind, section, symbol: ``vmtop where``'s line)."""
    try:
        result = where(snap, address, ProcessElfFiles(procfs))
        if not result.mapped:
            return None, format_where_lines([result])[0]  # (and the regions around it)
        return result.region, located_sentence(result)
    except Exception:  # noqa: BLE001 - an ELF problem must not lose the plain answer
        pass
    region = snap.region_at(address)
    if region is None:
        return None, f"{address:#x} is not mapped"
    offset = address - region.start
    return region, (
        f"{address:#x} is in {region.start:x}-{region.end:x} {region.perms} "
        f"{region.kind} {region.safe_path} (+{offset:#x}, {format_bytes(offset)} in)"
    )


def located_sentence(result) -> str:
    """What ``g`` found, in words (``vmtop where``'s columns need its header):
    ``0x7f…100: in text of /usr/lib/libc.so.6, section .text, malloc+0x10 (7f…000-7f…000
    r-xp, +0x100 in)``."""
    region = result.region
    what = [display_name(result.kind or region.kind)]
    if result.object:
        what[0] += f" of {display_name(result.object)}"
    elif region.path:
        what[0] += f" {display_name(region.path)}"
    if region.tid is not None:
        what.append(f"thread {region.tid}")
    if result.section:
        what.append(f"section {display_name(result.section)}")
    if result.symbol is not None:
        what.append(f"{display_name(demangle(result.symbol))}+{result.symbol_offset or 0:#x}")
    elif result.reason:
        what.append(display_name(result.reason))
    offset = result.address - region.start
    return (
        f"{result.address:#x}: {', '.join(what)} "
        f"({region.start:x}-{region.end:x} {region.perms}, +{offset:#x} in)"
    )
