"""Read a /proc file on another thread while this one looks at what has arrived.

Why: the kernel prints smaps 4 KiB per read() call, walking page tables as it goes, so
reading 60 000 regions takes ~11 000 calls and as long as parsing them. A Python thread
calling os.read() would need the GIL back after every call, and the parser holds it:
the read would crawl. So the reader thread makes one call into C, libc's fread() for
the whole file (ctypes lets go of the GIL for the call, and fread loops over read()
itself), into a zero-filled anonymous mapping.

How this thread knows how far the text has arrived without asking the reader: /proc
text never holds a NUL byte and the kernel writes each byte of the buffer once, so
everything before the first NUL still in the buffer is final text (each byte is either
still 0 or already its final value, whatever order the stores land in).

Regular files (a copied tree) and machines where libc cannot be reached are read
plainly, in one go: ``consume`` is then never called and the caller parses at the end.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import queue
import threading
from collections.abc import Callable, Iterator

# Address space set aside for the text. Only pages the kernel writes to cost memory;
# a text longer than this (more than ~300 000 regions) continues with plain reads.
RESERVE = 256 << 20
_POLL_SECONDS = 0.0002
_IONBF = 2  # setvbuf mode "unbuffered", the same in glibc and musl


def _load_libc():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        functions = (libc.fdopen, libc.fread, libc.ferror, libc.fclose, libc.setvbuf)
    except (OSError, AttributeError):
        return None
    fdopen, fread, ferror, fclose, setvbuf = functions
    fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
    fdopen.restype = ctypes.c_void_p
    fread.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
    fread.restype = ctypes.c_size_t
    ferror.argtypes = [ctypes.c_void_p]
    ferror.restype = ctypes.c_int
    fclose.argtypes = [ctypes.c_void_p]
    fclose.restype = ctypes.c_int
    setvbuf.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t]
    setvbuf.restype = ctypes.c_int
    return libc


_LIBC = _load_libc()

# consume(text, available, final) -> True when it did some work; see read_file.
Consume = Callable[[object, int, bool], bool]


class TooLong(Exception):
    """The file goes on past the limit it was read with."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"longer than {limit} bytes")
        self.limit = limit


def read_file(
    path: str, consume: Consume | None = None, limit: int | None = None
) -> bytes | memoryview:
    """The whole file, as bytes or a read-only memoryview (slice it and call bytes()).

    While it is read, ``consume(text, available, False)`` is called each time more has
    arrived: ``text[:available]`` is final, the rest is not to be looked at. It returns
    True when it did some work (then it is called again at once). Once the whole text
    is there, ``consume(text, length, True)`` is called once. ``text`` has ``find``,
    ``rfind`` and slicing, like bytes.

    A regular file (a copied tree) is read at once, without calls to ``consume``.
    Raises OSError as open() and read() would, TooLong past ``limit`` bytes.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return read_fd(fd, consume, limit)
    finally:
        os.close(fd)


def read_fd(fd: int, consume: Consume | None = None, limit: int | None = None):
    """``read_file`` on a file already open (the caller closes it)."""
    size = os.fstat(fd).st_size
    if limit is not None and size > limit:
        raise TooLong(limit)
    if consume is None or _LIBC is None or size > 0:
        return _read_rest(fd, limit)
    return _read_in_background(fd, consume, limit)


def _read_rest(fd: int, limit: int | None = None) -> bytes:
    chunks = []
    total = 0
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
        total += len(chunk)
        if limit is not None and total > limit:
            raise TooLong(limit)
    return b"".join(chunks)


def _read_in_background(fd: int, consume: Consume, limit: int | None) -> bytes | memoryview:
    try:
        buffer = mmap.mmap(-1, RESERVE)
    except (OSError, ValueError):  # no room for the reservation (strict overcommit)
        return _read_rest(fd, limit)
    stream = _LIBC.fdopen(os.dup(fd), b"r")  # fclose() closes the duplicate
    if not stream:
        buffer.close()
        return _read_rest(fd, limit)
    _LIBC.setvbuf(stream, None, _IONBF, 0)  # fread straight into our buffer, nothing held
    # fread's target: while this exists the mapping cannot be resized or closed.
    pin = [ctypes.c_char.from_buffer(buffer)]
    address = ctypes.addressof(pin[0])
    outcome: list[tuple[int, int]] = []
    done = threading.Event()

    def read_all() -> None:
        try:
            count = _LIBC.fread(address, 1, RESERVE, stream)
            error = ctypes.get_errno() if _LIBC.ferror(stream) else 0
            outcome.append((count, error))
        finally:
            done.set()

    reader = threading.Thread(target=read_all, name="vmtop-read", daemon=True)
    reader.start()
    text: bytes | memoryview | None = None
    try:
        arrived = 0
        while not done.is_set():
            found = buffer.find(b"\0", arrived)
            arrived = RESERVE if found < 0 else found
            if not consume(buffer, arrived, False):
                done.wait(_POLL_SECONDS)
        reader.join()
        if not outcome:  # the reader thread failed in Python
            raise OSError("background read failed")
        count, error = outcome[0]
        if error:
            raise OSError(error, os.strerror(error))
        if limit is not None and count > limit:
            raise TooLong(limit)
        if count == RESERVE:  # longer than the reservation: the rest, plainly
            rest = _read_rest(fd, None if limit is None else max(0, limit - count))
            text = buffer[:count] + rest
            consume(text, len(text), True)
            return text
        consume(buffer, count, True)
        if count == 0:
            return b""
        # No copy: the mapping shrinks to the text (mremap) and is handed out read-only.
        # Copying 45 MB into a new bytes object would cost a quarter of the read.
        pin.clear()
        try:
            buffer.resize(count)
        except (OSError, SystemError, ValueError):  # no mremap here: copy after all
            text = buffer[:count]
            return text
        text = memoryview(buffer).toreadonly()
        return text
    finally:
        reader.join()  # fread writes into the buffer until it returns
        _LIBC.fclose(stream)
        if not isinstance(text, memoryview):
            pin.clear()
            buffer.close()


# -- in pieces -------------------------------------------------------------------------

CHUNK = 4 << 20


# ends(text) -> where the complete units (lines, smaps blocks) of a text end, 0 when
# it holds none whole: the pieces of ``read_chunks`` then hold whole units only.
Ends = Callable[[bytes], int]

# The longest unit a piece may have to hold: past it the read fails (OSError EFBIG).
# A region's smaps block is under a KiB, and a few KiB with the longest path.
LONGEST_UNIT = 64 << 20

# What ``ends`` is shown from a full buffer: the end of it, where the last unit starts.
_TAIL = 16 << 10


def read_chunks(path: str, size: int = CHUNK, ends: Ends | None = None) -> Iterator[bytes]:
    """The file in pieces of about ``size`` bytes, for texts too long to hold (smaps of
    a million regions is 700 MB). A thread reads the next piece (fread, the GIL let
    go, as in read_file) while the caller looks at this one; at most two wait.
    With ``ends``, every piece ends where a unit ends (what follows is kept for the
    next piece, in the reader's buffer: no piece is copied again to be cut).
    Raises OSError as open() and read() would, from the call that reaches it."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield from read_fd_chunks(fd, size, ends)
    finally:
        os.close(fd)


def read_fd_chunks(fd: int, size: int = CHUNK, ends: Ends | None = None) -> Iterator[bytes]:
    """``read_chunks`` of a file already open (the caller closes it)."""
    if _LIBC is None or os.fstat(fd).st_size > 0:
        yield from _whole_units(_plain_chunks(fd, size), ends)
        return
    yield from _chunks_in_background(fd, size, ends)


def _plain_chunks(fd: int, size: int) -> Iterator[bytes]:
    while chunk := os.read(fd, size):
        yield chunk


def _whole_units(chunks: Iterator[bytes], ends: Ends | None) -> Iterator[bytes]:
    """The chunks re-cut where ``ends`` says (a copy each: the plain reads only)."""
    if ends is None:
        yield from chunks
        return
    carry = b""
    for chunk in chunks:
        text = carry + chunk if carry else chunk
        at = ends(text)
        if at <= 0:
            if len(text) > LONGEST_UNIT:
                raise _unit_too_long()
            carry = text
            continue
        yield text[:at]
        carry = text[at:]
    if carry:
        yield carry


def _unit_too_long() -> OSError:
    return OSError(errno.EFBIG, f"no line or block ends within {LONGEST_UNIT} bytes")


def _units_end(buffer, count: int, ends: Ends) -> int:
    """Where the complete units of the buffer's first ``count`` bytes end (0: none),
    looking at its tail first: copying out the whole buffer costs what reading it does."""
    base = ctypes.addressof(buffer)
    tail = min(count, _TAIL)
    at = ends(ctypes.string_at(base + count - tail, tail))
    if at > 0:
        return count - tail + at
    return ends(ctypes.string_at(base, count)) if tail < count else 0


def _chunks_in_background(fd: int, size: int, ends: Ends | None = None) -> Iterator[bytes]:
    stream = _LIBC.fdopen(os.dup(fd), b"r")
    if not stream:
        yield from _whole_units(_plain_chunks(fd, size), ends)
        return
    _LIBC.setvbuf(stream, None, _IONBF, 0)
    pieces: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def read_all() -> None:
        capacity = size
        buffer = ctypes.create_string_buffer(capacity)
        held = 0  # bytes of a unit begun, moved to the start of the buffer
        try:
            while not stop.is_set():
                base = ctypes.addressof(buffer)
                count = held + _LIBC.fread(base + held, 1, capacity - held, stream)
                final = count < capacity  # (end of file, or an error)
                at = count if final or ends is None else _units_end(buffer, count, ends)
                if at <= 0 and not final:  # one unit longer than the buffer: read on
                    if capacity >= LONGEST_UNIT:
                        raise _unit_too_long()
                    capacity *= 2
                    larger = ctypes.create_string_buffer(capacity)
                    ctypes.memmove(larger, buffer, count)
                    buffer, held = larger, count
                    continue
                if at:
                    pieces.put(ctypes.string_at(base, at))
                held = count - at
                if held:
                    ctypes.memmove(base, base + at, held)
                if final:
                    error = ctypes.get_errno() if _LIBC.ferror(stream) else 0
                    pieces.put(OSError(error, os.strerror(error)) if error else None)
                    return
        except OSError as e:
            pieces.put(e)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            pieces.put(OSError(f"background read failed: {e}"))

    reader = threading.Thread(target=read_all, name="vmtop-read-chunks", daemon=True)
    reader.start()
    try:
        while True:
            piece = pieces.get()
            if piece is None:
                return
            if isinstance(piece, OSError):
                raise piece
            yield piece
    finally:
        stop.set()
        while reader.is_alive():  # unblock a put() waiting for room
            try:
                pieces.get(timeout=0.05)
            except queue.Empty:
                pass
        _LIBC.fclose(stream)
