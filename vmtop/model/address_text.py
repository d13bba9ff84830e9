"""An address as a person types or pastes it: ``0x7f12…``, ``7f12…`` as maps and pmap
print it, ``7f12_3456``, or decimal. Shared by the CLI (``where``) and the TUI's ``g``."""

from __future__ import annotations

ADDRESS_LIMIT = 1 << 64


def parse_address_text(text: str) -> int | None:
    """The address, or None when ``text`` is not one. Hex with 0x; without it, hex when
    it has a letter a-f, else decimal (digits alone could be either)."""
    text = text.strip().replace("_", "").lower()
    if not text:
        return None
    is_hex = text.startswith("0x") or any(c in "abcdef" for c in text)
    try:
        value = int(text, 16) if is_hex else int(text, 10)
    except ValueError:
        return None
    return value if 0 <= value < ADDRESS_LIMIT else None
