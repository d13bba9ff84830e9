"""Text the watched process controls: make it safe wherever it leaves vmtop.

Region names, ELF section and symbol names, command lines, a copied tree's file names:
the target (or whoever made the tree) chooses them. The kernel turns a newline in a
path into the four characters ``\\012``; every other byte arrives raw: ESC, CR, BEL,
DEL, C1 controls, bidi overrides, invalid UTF-8. Names are decoded with
``surrogateescape`` (nothing is lost) and escaped here only at the moment they are
shown, by one rule for every output:

- a C0 control, DEL or C1 control becomes ``\\xNN`` (ESC is ``\\x1b``);
- a byte that was not UTF-8 (a lone surrogate U+DC80..U+DCFF) becomes ``\\xNN`` too;
- bidi controls (U+200E/U+200F, U+061C, U+202A..U+202E, U+2066..U+2069) and the line
  and paragraph separators become ``\\uNNNN``: they reorder or break what a terminal
  shows;
- everything else, backslash included, is kept (the kernel's own ``\\012`` is shown as
  printed), so the escaped text is not meant to be decoded back.

Text formats (the TUI, pmap, CSV, ``where``, ``watch``, reports, error messages) show
``display_name(text)``. JSON keeps the exact value instead: the surrogateescape'd
string serialised with ``ensure_ascii=True``, so an invalid byte 0xff is ``"\\udcff"``
and a program gets the original bytes back with
``json.loads(doc)[...].encode("utf-8", "surrogateescape")`` (see ``exact_bytes``).
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, the lone surrogates surrogateescape produced for bytes
# that were not UTF-8, bidi marks, embeddings, overrides and isolates, and the Unicode
# line/paragraph separators.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\udc80-\udcff]"
)


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


def display_command(text: str) -> str:
    """A command line fit for one terminal line: newlines and tabs between or inside
    arguments (common in ``python -c`` scripts) become spaces, other control
    characters are escaped as ``display_name`` does."""
    return display_name(text.replace("\n", " ").replace("\t", " "))


def fit_command(command: str, room: int) -> str:
    """A command line (``display_command``'s) in at most ``room`` cells, what names it
    kept in sight: the directories of its program, then of its other absolute paths,
    become "…/" before its end is cut with "…". ``/root/.pyenv/versions/3.11.9/bin/python3
    /srv/app/grow.py`` in 24 cells: "…/python3 …/grow.py", not "/root/.pyenv/versions/3.…"
    (as htop shows the program's base name, not its directory)."""
    if len(command) <= room:
        return command
    words = command.split(" ")
    for i, word in enumerate(words):
        if (i and not word.startswith("/")) or word.startswith("["):
            continue  # (an argument not a path; a kernel thread's name: [kworker/0:1])
        head, slash, base = word.rpartition("/")
        if not slash or not base or not head:
            continue
        words[i] = "…/" + base
        shorter = " ".join(words)
        if len(shorter) <= room:
            return shorter
    command = " ".join(words)
    if len(command) <= room:
        return command
    return command[: max(0, room - 1)] + "…" if room > 1 else command[:room]


def is_safe(text: str) -> bool:
    """True when ``display_name`` would leave ``text`` as it is."""
    return _UNSAFE.search(text) is None


def decode_name(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def encode_name(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def display_bytes(raw: bytes) -> str:
    """Raw bytes (a name read from a file, a line of a copied tree) as safe text."""
    return display_name(decode_name(raw))


def exact_bytes(json_value: str) -> bytes:
    """The original bytes of a name read back from vmtop's JSON (see the module doc)."""
    return encode_name(json_value)
