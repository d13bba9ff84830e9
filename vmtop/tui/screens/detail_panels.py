"""What the region detail shows, as Rich renderables made from data: its title, what
the region is, its ELF sections, its RSS history, its smaps fields and VmFlags. The
screen (``detail.py``) reads and follows; these only lay out."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from vmtop.model.explain import huge_pages_note, why_kind
from vmtop.model.kinds import KIND_DESCRIPTIONS, VDSO
from vmtop.model.names import display_name
from vmtop.model.region import ProcessInfo, Region
from vmtop.model.smaps_fields_doc import UNITLESS_FIELDS, describe_field, describe_flags
from vmtop.procfs.own_vdso import FROM_OWN_IMAGE
from vmtop.tui.formatting import format_bytes
from vmtop.tui.theme import few_colors, kind_color, kind_label, kind_swatch

NO_VMFLAGS_RECORDED = "not recorded: a recording keeps each region's figures, not its VmFlags"

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


def title_text(region: Region, info: ProcessInfo) -> Text:
    name = region.safe_path or "[anonymous]"
    text = Text()
    text.append("region detail", style="bold")
    text.append(f" · {region.start:#x}–{region.end:#x} · {format_bytes(region.size)} · ")
    # (Bold in 16 colours: a kind's colour could be the title bar's own.)
    text.append(name, style="bold" if few_colors() else kind_color(region.kind))
    text.append(f" · process {info.pid} {display_name(info.comm)}")
    return text


def identity_table(region: Region, fields: dict[str, int | str] | None = None) -> Table:
    """Range, permissions, offset, device, inode, name, kind and why, what its smaps
    ``fields`` say about huge pages, object, thread."""
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
    kind.append(f"{kind_swatch(region.kind)} ", style=kind_color(region.kind))
    kind.append(kind_label(region.kind), style=f"bold {kind_color(region.kind)}")
    description = KIND_DESCRIPTIONS.get(region.kind)
    if description:
        kind.append(f": {description}")
    table.add_row("kind", kind)
    why = why_kind(region)
    if why:
        table.add_row("why", Text(why))
    pages = huge_pages_note(fields) if fields else ""
    if pages:
        table.add_row("pages", Text(pages))
    table.add_row("object", Text(display_name(region.object or "-")))
    if region.tid is not None:
        table.add_row("thread", str(region.tid))
    return table


def sections_panel(result, kind: str | None = None) -> Table | Text | Group:
    """The ELF sections inside the region (``region_sections``' result), or why none;
    None when the overlay failed. ``kind``: the region's, to say where a vDSO's came
    from."""
    if result is None:
        return Text("sections: not available", style="dim")
    sections, reason = result if isinstance(result, tuple) else (result, None)
    if not sections:
        return Text(f"none: {reason}" if reason else "none", style="dim")
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for section in sections:
        name, start, end = section.name, section.start, section.end
        table.add_row(Text(display_name(name)), f"{start:#x}–{end:#x}", format_bytes(end - start))
    if kind == VDSO:
        return Group(table, Text(f"({FROM_OWN_IMAGE})", style="dim"))
    return table


def history_text(
    rss_history: list[tuple[float, int | None]], region: Region, width: int, label: str = ""
) -> Text:
    """The region's RSS over time as a sparkline ``width`` cells wide, and a line of
    now / min / max (the screen shows this when there is no graph widget); ``label``
    says what the figures are where not Rss alone ("RSS + hugetlb")."""
    points = [rss for _, rss in rss_history if rss is not None]
    if not points:
        if region.rss is None:
            return Text("no resident figures yet (smaps not read)", style="dim")
        points = [region.rss]
    text = Text()
    text.append(sparkline(points, width), style=kind_color(region.kind))
    text.append("\n")
    span = ""
    if len(rss_history) >= 2:
        seconds = rss_history[-1][0] - rss_history[0][0]
        span = f" · over {seconds:.0f} s ({len(points)} samples)"
    text.append(
        f"{label + ' ' if label else ''}now {format_bytes(points[-1])} · "
        f"min {format_bytes(min(points))} · "
        f"max {format_bytes(max(points))}{span}",
        style="dim",
    )
    return text


def fields_table(fields: dict[str, int | str], *, recorded: bool) -> Table | Text:
    """Every smaps field but VmFlags: value in human units, and what it means."""
    if not fields:
        return Text("smaps was not read for this region (maps only)", style="dim")
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold dim")
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("what it means", overflow="fold")
    for name, value in fields.items():
        if name == "VmFlags":
            continue
        if name in UNITLESS_FIELDS or not isinstance(value, int):
            shown = str(value)
        else:
            shown = format_bytes(value)
        style = "dim" if value == 0 else ""
        table.add_row(
            Text(display_name(name)),
            Text(display_name(shown), style=style),
            Text(describe_field(name, recorded=recorded)),
        )
    return table


def flags_table(fields: dict[str, int | str], *, recorded: bool) -> Table | Text:
    """VmFlags spelled out, two columns of code and words."""
    flags = fields.get("VmFlags")
    if not flags:
        return Text(NO_VMFLAGS_RECORDED if recorded else "none listed", style="dim")
    table = Table.grid(padding=(0, 1))
    for _ in range(2):
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
    pairs = [(Text(display_name(c)), Text(w)) for c, w in describe_flags(str(flags))]
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
