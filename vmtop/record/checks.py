"""The gzip checksums of a recording opened by its index, checked when read back.

The scan (``record.scan``) decompresses every gzip member of a file once, when it
opens it, and checks it against its CRC-32 and length. Opening by the file's index
(``record.index``) reads none of them: each member is checked whole instead the first
time a sample is read from it, before anything read from it is used. A member of sample
lines is checked as it is read back (``record.read_back``: zlib checks the CRC-32 and
length of the data it decompresses for the lines, and the samples are used once the
member was read to its end and matched: ``chunk_sound``), so it is decompressed once;
the keyframe and deltas a map is rebuilt from are checked before the rebuild
(``span``). A member that does not check out (changed or damaged since it was written,
after its index) makes the samples that depend on it a ``RecordingError`` saying so,
never a wrong sample.
"""

from __future__ import annotations

import threading
from bisect import bisect_right

from vmtop.record.format import RecordingError
from vmtop.record.members import Damage, inflate_member
from vmtop.record.sample_index import SampleIndex

_UNCHECKED, _SOUND, _DAMAGED = 0, 1, 2


class MemberChecks:
    """Which gzip members of a file opened by its index were checked, and how they
    fared (a byte per chunk and per keyframe). Thread-safe."""

    def __init__(self, path: str, shown_path: str, index: SampleIndex, keyframe_offsets) -> None:
        self.path = path
        self.shown_path = shown_path
        self.index = index
        self.keyframe_offsets = keyframe_offsets
        self._lock = threading.Lock()
        self._chunks = bytearray(len(index.chunk_first))
        self._keyframes = bytearray(len(index.keyframes))
        self._why: dict[int, str] = {}  # member offset -> what is wrong with it

    def chunk(self, j: int) -> None:
        """Before chunk ``j``'s sample lines are read back: its member checked."""
        label = f"sample {self.index.number(self.index.chunk_first[j]) + 1}"
        self._check(self._chunks, j, self.index.chunk_offset[j], label)

    def chunk_unchecked(self, j: int) -> bool:
        """Whether chunk ``j``'s member was not checked yet: then reading it back whole
        checks it (``chunk_sound``), else ``chunk``."""
        with self._lock:
            return self._chunks[j] == _UNCHECKED

    def chunk_sound(self, j: int) -> None:
        """Chunk ``j``'s member was read back to its end, and its checksum and length
        matched the data decompressed for its lines: not checked again."""
        with self._lock:
            if self._chunks[j] == _UNCHECKED:
                self._chunks[j] = _SOUND

    def keyframe(self, keyframe: int, label: str) -> None:
        """The member of sample ``keyframe``'s keyframe alone (``span`` checks the
        samples' member too, which reading them back checks anyway: ``chunk_sound``)."""
        k = bisect_right(self.index.keyframes, keyframe) - 1
        self._check(self._keyframes, k, self.keyframe_offsets[keyframe], label)

    def span(self, keyframe: int, target: int, label: str) -> None:
        """Before sample ``target`` is rebuilt from the keyframe of sample ``keyframe``:
        the keyframe's member and the members of the samples from it to ``target``."""
        index = self.index
        k = bisect_right(index.keyframes, keyframe) - 1
        self._check(self._keyframes, k, self.keyframe_offsets[keyframe], label)
        for j in range(index.chunk_of(keyframe), index.chunk_of(target) + 1):
            self._check(self._chunks, j, index.chunk_offset[j], label)

    def _check(self, states: bytearray, k: int, offset: int, label: str) -> None:
        with self._lock:
            if states[k] == _UNCHECKED:
                try:
                    why = self._checked(offset)
                except OSError as e:  # not the file's fault: checked again next time
                    raise RecordingError(f"{self.shown_path}: {e.strerror or e}") from None
                states[k] = _SOUND if why is None else _DAMAGED
                if why is not None:
                    self._why[offset] = why
            if states[k] == _SOUND:
                return
            why = self._why.get(offset, "damaged")
        raise RecordingError(
            f"{self.shown_path}: {label} cannot be read back ({why}; the file changed or was "
            "damaged after it was written)"
        )

    def _checked(self, offset: int) -> str | None:
        """What is wrong with the gzip member at ``offset``, or None: it decompresses
        whole and matches its checksum."""
        try:
            with open(self.path, "rb") as f:
                member = inflate_member(f, offset, keep=False)
                while True:
                    next(member)
        except StopIteration as stop:
            result = stop.value
        except Damage as e:
            return e.place()
        if result is None:
            return f"the file ends inside its part from byte {offset}"
        if not result[1]:
            return f"the part of the file from byte {offset} to {result[0]} does not match its checksum"
        return None
