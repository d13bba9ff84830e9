"""A JSON object read from a file a value at a time, one of its arrays an element at a
time: a snapshot of a million regions is 650 MB of JSON, which ``json.loads`` turned
into 3.8 GB of dicts before the first region was used (``vmtop diff A.json B.json``).

Only the object's own keys and the elements of the array streamed are parsed apart
here; every value is ``json``'s ``raw_decode`` (in C), so what is accepted is what
``json.loads`` accepts, whatever the spacing and the key order.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from typing import BinaryIO

READ = 1 << 20  # bytes read at a time
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Text:
    """The file's text from ``pos`` on, read a piece at a time as values need it."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.ended = False

    def more(self) -> bool:
        """Read on (what was parsed is dropped); False at the end of the file."""
        if self.ended:
            return False
        # As much again as is held: a value that does not parse is read on to the end
        # of the file, and a piece at a time that was quadratic (a syntax error early
        # in 650 MB).
        data = self.f.read(max(READ, len(self.text) - self.pos))
        self.ended = not data
        self.text = self.text[self.pos :] + self.decoder.decode(data, final=self.ended)
        self.pos = 0
        return True

    def next_char(self) -> str:
        """The next character that is not white space ('' at the end), not taken."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos : self.pos + 1]

    def take(self, expected: str) -> str:
        """The next character, which must be one of ``expected``."""
        char = self.next_char()
        if not char or char not in expected:
            raise ValueError(f"expected one of {expected!r} at character {self.pos}")
        self.pos += 1
        return char

    def value(self):
        """The next JSON value. One that may go on past the text read so far (a number
        cut at a piece's end) is parsed again with more of it; so is one that does not
        parse, until the file ends."""
        self.next_char()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except ValueError:
                if not self.more():
                    raise
                continue
            if self.ended or not _may_go_on(value, self.text, end) or not self.more():
                self.pos = end
                return value


def _may_go_on(value, text: str, end: int) -> bool:
    """Whether a value parsed up to ``end`` may be the start of a longer one: a number
    whose text runs to the end of what was read in characters a number holds ("12" of
    "12.5", "0." of "0.25")."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return _NUMBER_TAIL.match(text, end).end() == len(text)


_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")


def read_object(f: BinaryIO, streamed: str, each: Callable[[object], None]) -> dict:
    """The JSON object in ``f``, but for its array ``streamed``: each of its elements is
    handed to ``each`` as it is read, and the object holds how many there were (a
    ``Streamed``). Raises
    ValueError where the file is not one JSON object (UnicodeDecodeError is one)."""
    text = _Text(f)
    text.take("{")
    out: dict = {}
    if text.next_char() == "}":
        text.pos += 1
    else:
        while True:
            key = text.value()
            if not isinstance(key, str):
                raise ValueError("an object's key is not a string")
            text.take(":")
            if key == streamed and text.next_char() == "[":
                out[key] = _stream_array(text, each)
            else:
                out[key] = text.value()
            if text.take(",}") == "}":
                break
    if text.next_char():
        raise ValueError(f"extra data at character {text.pos}")
    return out


class Streamed(int):
    """How many elements the array streamed had: what the object holds in its place,
    told apart from a number the file has there."""


def _stream_array(text: _Text, each: Callable[[object], None]) -> Streamed:
    text.take("[")
    if text.next_char() == "]":
        text.pos += 1
        return Streamed(0)
    count = 0
    while True:
        each(text.value())
        count += 1
        if text.take(",]") == "]":
            return Streamed(count)
