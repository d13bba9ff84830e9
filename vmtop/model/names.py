"""Region names come from the watched process: make them safe to show.

The kernel already turns a newline in a path into the four characters ``\\012``; every
other byte arrives raw: ESC, CR, BEL, invalid UTF-8. Names are decoded with
``surrogateescape`` (so nothing is lost), and escaped here only at the moment they are
shown: a control character becomes ``\\xNN``, an undecodable byte ``\\xNN`` too, and a
backslash stays a backslash (the kernel's own ``\\012`` is shown as printed).
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the lone surrogates surrogateescape produced for
# bytes that were not UTF-8. Unicode line/paragraph separators and bidi controls too:
# they reorder or break what a terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def display_name(name: str) -> str:
    """``name`` with every character that could change a terminal's state escaped."""
    if _UNSAFE.search(name) is None:
        return name
    return _UNSAFE.sub(_escape, name)


def decode_name(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def encode_name(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")
