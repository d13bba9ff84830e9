"""`vmtop snapshot`: read the map a piece at a time and write each piece as it comes.

Peak memory is that of one piece (a few MiB of text), not of the whole map, so a
process with a million regions costs what pmap costs. The output is held back until
it passes ``HOLD_BACK`` characters: a small process that exits or whose PID is reused
while it is read then gives an error and no output at all, as before; a huge one can
give part of its output before the error (stderr says so, the exit status is 1).
"""

from __future__ import annotations

from typing import TextIO

from vmtop.procfs.background_read import CHUNK
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot_stream import StreamedSnapshot

HOLD_BACK = 4 << 20


class HeldBack:
    """A text sink that keeps what is written until there is more than ``limit``,
    then writes it all through to ``out``, and everything after it at once."""

    def __init__(self, out: TextIO, limit: int = HOLD_BACK) -> None:
        self.out = out
        self.limit = limit
        self.held: list[str] | None = []
        self.size = 0

    def write(self, text: str) -> None:
        if self.held is None:
            self.out.write(text)
            return
        self.held.append(text)
        self.size += len(text)
        if self.size > self.limit:
            self.release()

    def release(self) -> None:
        if self.held is not None:
            self.out.write("".join(self.held))
            self.held = None

    @property
    def released(self) -> bool:
        return self.held is None


def write_snapshot(
    procfs: ProcFS, pid: int, fmt: str, out: TextIO, *, smaps: bool = True, chunk: int = CHUNK
) -> None:
    """One snapshot of ``pid`` in ``fmt`` (pmap, json or csv), streamed to ``out``, read
    ``chunk`` bytes at a time. Raises ProcError subclasses as take_snapshot does; see
    the module's note."""
    stream = StreamedSnapshot(procfs, pid, smaps=smaps, classify=fmt != "pmap", chunk=chunk)
    sink = HeldBack(out)
    try:
        _write(stream, fmt, sink, procfs)
    except BaseException:
        if sink.released:
            out.flush()
        raise
    sink.release()


def _write(stream: StreamedSnapshot, fmt: str, sink: HeldBack, procfs: ProcFS) -> None:
    # The first lines wait for the first piece: reading through another thread (the
    # main one exited) can change the command they show.
    first = True
    if fmt == "pmap":
        from vmtop.output.pmap import PmapRows, pmap_head

        rows = PmapRows(stream.info.start_stack)
        for piece in stream.pieces():
            if first:
                sink.write(pmap_head(stream.info))
                first = False
            sink.write(rows.text(piece.regions))
        sink.write(rows.foot(stream.has_smaps, stream.totals.rss if stream.totals else None))
        return
    if fmt == "json":
        from vmtop.output.json_out import JsonWriter

        writer = JsonWriter(sink, procfs)
        for piece in stream.pieces():
            if first:
                writer.head(stream.info)
                first = False
            writer.piece(piece)
        writer.tail(stream.taken_at, stream.totals, stream.status)
        return
    from vmtop.output.csv_out import CsvWriter

    csv_writer: CsvWriter | None = None
    for piece in stream.pieces():
        if csv_writer is None:
            csv_writer = CsvWriter(sink, procfs)
        csv_writer.piece(piece)
