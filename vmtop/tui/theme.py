"""One colour per region kind, used everywhere: bar, table, legend, summary, help.

Colours are Rich colour strings (truecolor hex); Textual downgrades them on terminals
with fewer colours. They are chosen to stay distinct on a dark background and to group
by meaning: the program image in blues/ambers, dynamic memory in greens/magentas, the
stack in reds, kernel-provided pages in muted greys.
"""

from __future__ import annotations

from vmtop.model import kinds

KIND_COLORS: dict[str, str] = {
    kinds.TEXT: "#5f87ff",
    kinds.RODATA: "#87afd7",
    kinds.RELRO: "#afafd7",
    kinds.DATA: "#ffaf5f",
    kinds.BSS: "#d78700",
    kinds.GAP: "#767676",
    kinds.HEAP: "#5fd75f",
    kinds.ARENA: "#87d787",
    kinds.JIT: "#ff5fd7",
    kinds.STACK: "#ff5f5f",
    kinds.THREAD_STACK: "#ff87af",
    kinds.ANON: "#d787ff",
    kinds.NAMED_ANON: "#af5fd7",
    kinds.FILE: "#5fd7d7",
    kinds.SHM: "#ffd75f",
    kinds.DEVICE: "#00afaf",
    kinds.GUARD: "#a8a8a8",
    kinds.RESERVED: "#585858",
    kinds.VDSO: "#d7d7af",
    kinds.VVAR: "#afaf87",
    kinds.VSYSCALL: "#878787",
    kinds.KERNEL: "#bcbcbc",
}

FALLBACK_COLOR = "#bcbcbc"

# Short labels for the legend and narrow columns.
KIND_LABELS: dict[str, str] = {
    kinds.TEXT: "text",
    kinds.RODATA: "rodata",
    kinds.RELRO: "relro",
    kinds.DATA: "data",
    kinds.BSS: "bss",
    kinds.GAP: "gap",
    kinds.HEAP: "heap",
    kinds.ARENA: "arena",
    kinds.JIT: "jit",
    kinds.STACK: "stack",
    kinds.THREAD_STACK: "tstack",
    kinds.ANON: "anon",
    kinds.NAMED_ANON: "anon:name",
    kinds.FILE: "file",
    kinds.SHM: "shm",
    kinds.DEVICE: "device",
    kinds.GUARD: "guard",
    kinds.RESERVED: "reserved",
    kinds.VDSO: "vdso",
    kinds.VVAR: "vvar",
    kinds.VSYSCALL: "vsyscall",
    kinds.KERNEL: "kernel",
}

# Change highlights (bar and table).
CHANGE_NEW = "#00ff87"  # a region that appeared
CHANGE_GREW = "#ffff5f"  # a region that got bigger (or its RSS rose)
CHANGE_SHRANK = "#5fafff"  # a region that got smaller (or its RSS fell)
CHANGE_UNMAPPED = "#ff5f5f"  # trace of a range that was unmapped
GROWTH = "#ffaf00"
SHRINK = "#5fafff"


def kind_color(kind: str) -> str:
    return KIND_COLORS.get(kind, FALLBACK_COLOR)


def kind_style(kind: str) -> str:
    """The Rich style string for text of this kind (foreground colour)."""
    return kind_color(kind)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)
