"""Human units for sizes and addresses, as every screen shows them."""

from __future__ import annotations

_UNITS = ("K", "M", "G", "T", "P", "E")


def format_bytes(n: int | None) -> str:
    """``4096`` → ``"4.0K"``, ``1258291`` → ``"1.2M"``, ``65536`` → ``"64K"``, None → ``"-"``.

    One decimal below 10 units, none above, so the width stays at most five characters.
    """
    if n is None:
        return "-"
    if n < 0:
        return "-" + format_bytes(-n)
    if n < 1024:
        return f"{n}B" if n else "0"
    value = float(n)
    for unit in _UNITS:
        value /= 1024.0
        if value < 9.95:
            return f"{value:.1f}{unit}"
        if value < 1023.5:
            return f"{value:.0f}{unit}"
    return f"{value:.0f}{_UNITS[-1]}"


def format_delta(n: int | None) -> str:
    """A signed change: ``"+1.0M"``, ``"-64K"``; ``""`` for None or zero."""
    if not n:
        return ""
    sign = "+" if n > 0 else "-"
    return sign + format_bytes(abs(n))


def format_estimated_delta(n: int | None) -> str:
    """A change worked out rather than read (``"~+32K"``), in the six columns a change
    has: ``"~+1.0M"`` for 1000K-1023K (``format_bytes`` shows those in K)."""
    text = format_delta(n)
    if len(text) > 5 and text[-1] in _NEXT_UNIT:
        unit, scale = _NEXT_UNIT[text[-1]]
        text = text[0] + f"{abs(n) / scale:.1f}{unit}"
    return "~" + text if text else ""


_NEXT_UNIT = {"K": ("M", 1024**2), "M": ("G", 1024**3), "G": ("T", 1024**4)}


def format_address(addr: int, width: int = 12) -> str:
    """Hex without ``0x``, zero-padded to ``width`` digits (12 for 47-bit, 14 for 56-bit)."""
    return f"{addr:0{width}x}"


def format_address_short(addr: int) -> str:
    """A compact axis label: ``0x7ffc…`` style, grouped by 4 digits: ``0x7ffc_a000_0000``."""
    if addr == 0:
        return "0x0"
    digits = f"{addr:x}"
    groups = []
    while digits:
        groups.append(digits[-4:])
        digits = digits[:-4]
    return "0x" + "_".join(reversed(groups))


def format_duration(seconds: float) -> str:
    """``0.0034`` → ``"3.4ms"``, ``1.5`` → ``"1.50s"``."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f}µs"
    if seconds < 1.0:
        ms = seconds * 1000
        return f"{ms:.1f}ms" if ms < 100 else f"{ms:.0f}ms"
    return f"{seconds:.2f}s"


def plural(count: int, one: str, many: str) -> str:
    """``1 process``, ``2 processes``, ``0 processes``."""
    return f"{count:,} {one if count == 1 else many}"
