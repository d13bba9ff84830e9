"""An address as a person types or pastes it: ``0x7f12…``, ``7f12…`` and ``00401000``
as maps, pmap and nm print it, ``7f12_3456``, or decimal. Shared by the CLI (``where``)
and the TUI's ``g``."""

from __future__ import annotations

ADDRESS_LIMIT = 1 << 64


def parse_address_text(text: str) -> int | None:
    """The address, or None when ``text`` is not one. Hex with 0x; without it, hex when
    it has a letter a-f or a leading zero (maps, pmap and nm pad addresses with zeros;
    nobody writes a decimal number so), else decimal."""
    text = _plain(text)
    if not text:
        return None
    try:
        value = int(text, 16) if _is_hex(text) else int(text, 10)
    except ValueError:
        return None
    return value if 0 <= value < ADDRESS_LIMIT else None


def hex_reading(text: str) -> int | None:
    """For digits alone, read as decimal (``401000``): what they would be as hex, for
    saying so when the decimal address is not mapped; None for any other text."""
    text = _plain(text)
    if not text.isdigit() or _is_hex(text) or len(text) < 2:
        return None
    value = int(text, 16)
    return value if value < ADDRESS_LIMIT else None


def _plain(text: str) -> str:
    return text.strip().replace("_", "").lower()


def _is_hex(text: str) -> bool:
    return (
        text.startswith("0x")
        or any(c in "abcdef" for c in text)
        or (len(text) > 1 and text.startswith("0") and text.isdigit())
    )
